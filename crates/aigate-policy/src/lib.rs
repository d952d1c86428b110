//! The dependency policy of aigate: what `aigate policy` checks over the dependencies
//! aigate-python reads, configured under `[policy]` in `aigate.toml`.
//!
//! Checks (each a rule of [`RULES`], documented in `docs/rules.md`):
//!
//! - pins and hashes: unpinned requirements in requirements files, missing hashes when
//!   `require-hashes` is set or pip's hash-checking mode would refuse them;
//! - the allowlist (`[[policy.allow]]` and an `allowed_packages.json`) with version patterns and
//!   required sources, and the denylist (`[[policy.deny]]`);
//! - indexes: indexes and find-links not on `[policy] indexes`, extra indexes (the
//!   dependency-confusion hole; also in pip's own configuration, [`parse_pip_conf`]), plain http and `--trusted-host`, `${VAR}` references, direct
//!   URL/VCS/path references;
//! - dependency confusion: internal names that can resolve from a public index (critical) and
//!   internal names that exist on PyPI;
//! - typosquats against an embedded list of the most downloaded PyPI names ([`typosquat`]);
//! - licences: SPDX expressions against `[policy.licences]` allow and deny ([`licence`]);
//! - tampered installs: files that no longer match their RECORD, unlisted files, a missing
//!   RECORD.
//!
//! Configuration entries that matched nothing are reported (`policy-unused-entry`), as
//! cargo-deny does. [`diff_findings`] turns a lock diff into the findings of `aigate deps diff`.
//! Nothing here touches the network or prints.

#![forbid(unsafe_code)]

mod config;
mod diff;
mod error;
pub mod licence;
mod pip_conf;
mod policy;
pub mod rules;
pub mod typosquat;

pub use config::{
    AllowEntry, AllowlistFileEntry, DenyEntry, LicenceConfig, NotTyposquatEntry, PolicyConfig,
    parse_allowlist_file,
};
pub use diff::diff_findings;
pub use error::PolicyError;
pub use pip_conf::{
    MAX_PIP_CONF_BYTES, PipConfError, parse_pip_conf, pip_config_files, pip_environment,
};
pub use policy::{
    EntryOrigin, MAX_ALLOWLIST_BYTES, PYPI, Policy, PolicyInput, location_of, normalize_index, purl,
};
pub use rules::{DIFF_RULES, RULES};
