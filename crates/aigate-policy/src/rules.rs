//! The rules `aigate policy` and `aigate deps diff` report, with stable ids.

aigate_report::rules! {
    /// Every rule of the dependency policy (`aigate policy`).
    RULES;
    POLICY_UNPINNED = "policy-unpinned", Medium,
        "a requirement in a requirements file does not pin one version, so what is installed changes over time",
        "pin it with `==` (pip-compile, `uv pip compile` or `uv export` write pinned files), or set [policy] require-pins = false for files that are not meant to be locks";
    POLICY_MISSING_HASH = "policy-missing-hash", High,
        "hashes are required, but this entry has none: `pip install --require-hashes` refuses it, and without them a substituted artifact goes unnoticed",
        "regenerate the file with hashes (`pip-compile --generate-hashes`, `uv pip compile --generate-hashes`, `uv export`), or add `--hash=sha256:…` to the line";
    POLICY_NOT_ALLOWED = "policy-not-allowed", High,
        "the package is not on the allowlist ([[policy.allow]] or [policy] allowlist-file)",
        "remove the dependency, or add it to the allowlist after review, with a reason";
    POLICY_VERSION_NOT_ALLOWED = "policy-version-not-allowed", High,
        "the package is on the allowlist, but this version is outside the versions it allows (or no version is fixed to check)",
        "move to an allowed version, or widen the allowlist entry's versions after review";
    POLICY_SOURCE_NOT_ALLOWED = "policy-source-not-allowed", High,
        "the package resolves from another source than the one its allowlist entry requires",
        "resolve it from the required index (uv `[tool.uv.sources]` with an explicit index, pip `--index-url`), or correct the entry's source";
    POLICY_DENIED = "policy-denied", Critical,
        "the package (or this version of it) is on the denylist ([[policy.deny]])",
        "remove the dependency and whatever pulls it in; the entry's reason says why it is denied";
    POLICY_INDEX_NOT_ALLOWED = "policy-index-not-allowed", High,
        "an index or find-links location that is not on [policy] indexes is used",
        "use only the indexes the policy trusts, or add this one to [policy] indexes after review";
    POLICY_EXTRA_INDEX = "policy-extra-index", High,
        "an extra index is searched beside the primary one: pip takes the best version from every index, so anyone who registers an internal name on the public index wins (dependency confusion)",
        "serve everything from one index that proxies PyPI, or use uv, whose default first-index strategy (`index-strategy = \"first-index\"`) takes a name only from the first index that has it, and pin internal packages to their index ([tool.uv.sources])";
    POLICY_INSECURE_INDEX = "policy-insecure-index", High,
        "packages are fetched without verified HTTPS (an http:// index or a --trusted-host), so anyone on the path can substitute them",
        "serve the index over HTTPS with a valid certificate and remove --trusted-host; require hashes meanwhile";
    POLICY_ENV_REFERENCE = "policy-env-reference", Medium,
        "the requirements file uses a ${VAR} reference, so what it installs (often the index URL) depends on the environment of whoever installs",
        "write the value in the file, or make sure every environment that installs sets the variable to a trusted value";
    POLICY_DIRECT_REFERENCE = "policy-direct-reference", Medium,
        "the package comes from a URL, a repository or a local path rather than from a trusted index",
        "publish it to a trusted index, or pin it by commit (VCS) or hash (URL) and review its source";
    POLICY_INTERNAL_FROM_PUBLIC = "policy-internal-from-public", Critical,
        "an internal package ([policy] internal) can resolve from an index other than the internal one: the dependency-confusion attack, where a public package with the same name is installed instead",
        "resolve internal packages only from the internal index (uv: an explicit index in [tool.uv.sources]; pip: one proxying index that serves internal names first), then re-lock";
    POLICY_INTERNAL_NAME_PUBLIC = "policy-internal-name-public", Medium,
        "an internal package name is a name on the public index (it is among the popular PyPI projects aigate ships), so a misconfigured install gets the public one",
        "rename the internal package, or make sure the internal index is the only one that serves it; reserve names you use on PyPI";
    POLICY_TYPOSQUAT = "policy-typosquat", High,
        "the name is one small change from a popular PyPI project's name (an edit, a look-alike digit, a separator, reordered words, a py/python affix): a common way malware is installed by mistake",
        "check that this is the package you meant; if it is, list it in [[policy.not-typosquat]] with a reason";
    POLICY_LICENCE_DENIED = "policy-licence-denied", High,
        "the package's licence is on [policy.licences] deny",
        "replace the package, or obtain it under another licence and record why in [policy.licences]";
    POLICY_LICENCE_NOT_ALLOWED = "policy-licence-not-allowed", Medium,
        "the package's licence is not on [policy.licences] allow",
        "review the licence; add it to [policy.licences] allow if it is acceptable";
    POLICY_LICENCE_UNKNOWN = "policy-licence-unknown", Low,
        "the package's licence could not be determined from its metadata (no License-Expression, and a License field or classifiers that map to no SPDX id)",
        "read the licence in the package's files; ask the maintainers to declare License-Expression (PEP 639)";
    POLICY_INSTALLED_FILE_MODIFIED = "policy-installed-file-modified", High,
        "an installed file no longer matches the hash or size its RECORD lists: it was changed after installation",
        "reinstall the package (`pip install --force-reinstall --no-deps NAME==VERSION`) and find out what changed it";
    POLICY_INSTALLED_FILE_MISSING = "policy-installed-file-missing", High,
        "a file the package's RECORD lists is not on disk",
        "reinstall the package; find out what removed the file";
    POLICY_INSTALLED_FILE_UNLISTED = "policy-installed-file-unlisted", High,
        "a file inside an installed package's folders is listed in no RECORD: something added it after installation",
        "remove the file and reinstall the package; find out what added it";
    POLICY_RECORD_MISSING = "policy-record-missing", High,
        "an installed distribution has no RECORD, so what it installed cannot be checked",
        "reinstall the package with pip or uv, which write RECORD";
    POLICY_RECORD_UNVERIFIABLE = "policy-record-unverifiable", High,
        "an installed distribution's RECORD could not be checked (malformed, an unreadable or non-regular file, a path outside the environment, an unknown hash algorithm, or a walk limit)",
        "reinstall the package; a RECORD that points outside the environment is itself suspicious";
    POLICY_INPUT_NOT_CHECKED = "policy-input-not-checked", Info,
        "part of the policy cannot be checked for this input (an installed environment records no index)",
        "check the lock or requirements file the environment was installed from as well";
    POLICY_UNUSED_ENTRY = "policy-unused-entry", Low,
        "an entry of the [policy] configuration matched nothing in this run",
        "remove the entry if it is stale; it is reported so that policy cannot outlive its reason unnoticed";
}

aigate_report::rules! {
    /// The rules of `aigate deps diff`: what a lock change brings in that a reviewer must see.
    DIFF_RULES;
    DEPS_HASH_CHANGED = "deps-hash-changed", Critical,
        "the same version of a package has different artifact hashes in the new file: an artifact was republished or substituted",
        "find out why before merging: compare the artifacts with the index; PyPI never lets a file be replaced, so a different hash for the same file name means another source";
    DEPS_SOURCE_CHANGED = "deps-source-changed", High,
        "a package now resolves from another index, URL, repository or path",
        "check that the new source is trusted and intended; an index change is how dependency confusion lands";
    DEPS_DOWNGRADED = "deps-downgraded", Low,
        "a package's version went down",
        "check that the downgrade is intended: it can bring back fixed vulnerabilities";
    DEPS_ADDED = "deps-added", Info,
        "a package that was not there before is now a dependency",
        "review what the new package is, who publishes it and why it is needed";
}
