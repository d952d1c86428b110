//! Every rule `aigate fetch` and the source checks report.

aigate_report::rules! {
    /// Every rule of `aigate fetch` and of the rules sources must follow.
    RULES;
    FETCH_UNTRUSTED = "fetch-untrusted-source", High,
        "a download, or a redirect on its way, would leave the trusted sources",
        "nothing was downloaded; fetch only from [sources] trusted prefixes, over plain https";
    FETCH_HASH_MISMATCH = "fetch-hash-mismatch", Critical,
        "downloaded content does not have the pinned SHA-256",
        "nothing was kept; the file is not the one that was pinned";
    FETCH_UNSAFE_CONTENT = "fetch-unsafe-content", High,
        "the scan of a download found content at or above the threshold, so it was not kept",
        "see the scan findings listed with it; nothing was moved into place";
    SOURCE_REVISION_NOT_PINNED = "source-revision-not-pinned", High,
        "an hf:// source names a branch or tag rather than a commit, and [sources] require-pinned-revision is on",
        "name the 40-character commit id, so the bytes cannot change under the same name";
    SOURCE_CREDENTIALS = "source-credentials", High,
        "a source URL carries a user name or password",
        "remove the credentials from aigate.toml; aigate never sends credentials in URLs";
    SOURCE_INVALID = "source-invalid", Medium,
        "a declared source is not an https URL or an hf:// reference aigate understands",
        "write an https:// URL, or hf://ORG/REPO@REVISION[/FILE]";
}
