//! The rules `aigate audit` reports, with stable ids.

aigate_report::rules! {
    /// Every rule of `aigate audit`.
    RULES;
    AUDIT_VULNERABILITY = "audit-vulnerability", Medium,
        "the installed version of a dependency is affected by a known vulnerability (an OSV advisory); its severity is the advisory's CVSS base score, else its database's rating, else medium",
        "upgrade to the fixed version the finding names (and re-lock); if the vulnerable code is not reachable in this project, add an [[audit.ignore]] entry with the advisory id, a reason and an expiry date";
    AUDIT_MALICIOUS_PACKAGE = "audit-malicious-package", Critical,
        "the dependency is known malware (an OSV MAL- record from the OpenSSF malicious-packages feed): installing it runs the attacker's code",
        "remove the package at once, and treat every machine that installed it as compromised: rotate the credentials it could read";
    AUDIT_NOT_CHECKED = "audit-not-checked", Low,
        "a dependency could not be checked against the advisories: it fixes no version (a range, or no specifier), or it comes from a URL, a repository or a local path rather than an index release",
        "audit a lock file or the installed environment, where every version is fixed; for URL and path dependencies, review their source yourself";
    AUDIT_ADVISORY_UNEVALUABLE = "audit-advisory-unevaluable", Medium,
        "an advisory about this package has a version range that cannot be evaluated (a version that is no PEP 440 version), so whether this version is affected is unknown",
        "read the advisory and decide; report the malformed record to its database";
    AUDIT_IGNORE_EXPIRED = "audit-ignore-expired", Low,
        "an [[audit.ignore]] entry's `until` date has passed, so the advisory it named is reported again",
        "re-assess the advisory: upgrade, or renew the entry with a new date and reason";
    AUDIT_IGNORE_UNUSED = "audit-ignore-unused", Low,
        "an [[audit.ignore]] entry matched no finding in this run",
        "remove the entry if the dependency was upgraded or removed; it is reported so that ignores cannot outlive their reason unnoticed";
    AUDIT_DB_STALE = "audit-db-stale", Low,
        "the advisory database is older than [audit] max-db-age, so recent advisories are missing",
        "run `aigate db update`";
    AUDIT_DB_MALFORMED_RECORDS = "audit-db-malformed-records", Info,
        "some records of the advisory database could not be read and were skipped",
        "update the database (`aigate db update`); if it persists, the database has records aigate cannot read: report it";
}
