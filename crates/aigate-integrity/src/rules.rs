//! Every rule `aigate verify`, `aigate approve` and `aigate log verify` report.

aigate_report::rules! {
    /// Every rule of `aigate verify`.
    RULES;
    FILE_MODIFIED = "verify-file-modified", Critical,
        "a pinned file's content differs from aigate.lock",
        "if the change is intended, run `aigate lock` and have the artifact approved again; otherwise restore the file";
    FILE_ADDED = "verify-file-added", High,
        "a file inside a pinned artifact is not in aigate.lock",
        "remove it, or run `aigate lock` and have the artifact approved again";
    FILE_REMOVED = "verify-file-removed", High,
        "a file pinned in aigate.lock is missing",
        "restore it, or run `aigate lock` and have the artifact approved again";
    FILE_TYPE_CHANGED = "verify-file-type-changed", Critical,
        "a pinned regular file is now a symbolic link or a special file",
        "a link can point anywhere; restore the file";
    NOT_APPROVED = "verify-not-approved", High,
        "an artifact in aigate.lock is not approved",
        "review it, then record who approved it with `aigate approve`";
    APPROVAL_INVALID = "verify-approval-invalid", Critical,
        "an approval in aigate.lock does not stand: it lacks who, when, which bytes or which verdict, or those do not match the lock",
        "approvals are written by `aigate approve`, never by hand; have the artifact approved again";
    SOURCE_CHANGED = "verify-source-changed", High,
        "an artifact's source in aigate.toml is not the source aigate.lock pinned it from",
        "if the new source is intended, run `aigate lock` and have the artifact approved again";
    NAME_NOT_UTF8 = "verify-name-not-utf8", High,
        "a file inside a pinned artifact has a name that is not UTF-8, so it cannot be pinned",
        "rename the file to a UTF-8 name, then run `aigate lock` and have the artifact approved again";
    APPROVAL_FORCED = "verify-approval-forced", Info,
        "an artifact was approved despite unsafe scan findings, with a recorded reason",
        "review the reason in aigate.lock";
    NOT_LOCKED = "verify-not-locked", High,
        "an artifact declared in aigate.toml is not in aigate.lock, or its path changed",
        "run `aigate lock`";
    NOT_DECLARED = "verify-not-declared", Medium,
        "aigate.lock pins an artifact that aigate.toml no longer declares",
        "run `aigate lock` to drop it";
    APPROVE_FILES_CHANGED = "approve-files-changed", High,
        "an approval was refused: the artifact's files differ from what aigate.lock pins",
        "an approval covers pinned bytes only; run `aigate lock`, review the change, then approve";
    APPROVE_UNSAFE_VERDICT = "approve-unsafe-verdict", High,
        "an approval was refused: the artifact's scan found unsafe content",
        "see the findings with `aigate scan`; approve anyway only with --force and a reason, which is recorded";
    REVOKED_VERSION = "verify-revoked-version", Critical,
        "an artifact's files are a version that was revoked (`aigate revoke`): it was marked bad and must not be used",
        "restore the last approved version with `aigate rollback NAME`, or lock and approve a new one";
    CUSTODY_LOG_BROKEN = "custody-log-broken", Critical,
        "the custody log is not what was written: an event was changed, removed or moved, or events were cut off its end",
        "the log is append-only; restore it from version control or a backup, and find out who changed it";
    CUSTODY_LOG_TORN = "custody-log-torn", Medium,
        "the custody log ends in an incomplete event: a write was interrupted (a crash, a full disk)",
        "look at the last line; `aigate log repair` sets the torn bytes aside in a file beside the log and records that it did";
    CUSTODY_EVENT_SIGNATURE_INVALID = "custody-event-signature-invalid", Critical,
        "a custody event's signature does not verify with the trusted key it names: the event was changed after it was signed, or the signature was forged",
        "the log is append-only; restore it from version control or a backup, and find out who changed it";
    CUSTODY_EVENT_SIGNER_UNKNOWN = "custody-event-signer-unknown", High,
        "a custody event is signed by a key that `[trust] keys` does not list",
        "if the key is the project's, add its public key to `[trust] keys`; otherwise find out who recorded the event";
    CUSTODY_EVENT_UNSIGNED = "custody-event-unsigned", High,
        "`[custody] require-signed` is set and a custody event from the first signed one on has no signature",
        "record events with the project's key (`[custody] key` or AIGATE_CUSTODY_KEY); an unsigned event after signing began was not written by a signer";
    PATH_OUTSIDE_PROJECT = "lock-path-outside-project", Critical,
        "aigate.lock or aigate.toml points outside the project (an absolute path, `..`, or a link that leaves it)",
        "pins must stay inside the project; fix the entry and run `aigate lock`";
}
