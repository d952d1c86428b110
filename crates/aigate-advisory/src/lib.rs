//! OSV advisories for PyPI: the records, the local database, matching, CVSS scores.
//!
//! - **Records** follow the [OSV schema](https://ossf.github.io/osv-schema/) (`../shared/schemas/osv/`),
//!   read leniently from the two layouts PyPI advisories are published in: OSV's `PyPI/all.zip`
//!   (one JSON record per member) and the PyPA advisory database (`vulns/<package>/<ID>.yaml`).
//!   Unknown fields are ignored; records of other ecosystems, withdrawn records and malformed
//!   records are skipped and counted, never fatal ([`records`]).
//! - **The database** is the records plus a compact binary index beside them, keyed by PEP 503
//!   name, rebuilt when the records change, so that an audit decodes only the packages it asks
//!   about ([`index`], [`db`]).
//! - **Matching** is the OSV evaluation algorithm over PEP 440 versions (`pep440_rs`, as
//!   `aigate-python` reads them): `versions`, and `ECOSYSTEM` ranges of `introduced`, `fixed`,
//!   `last_affected` and `limit` events; `GIT` and `SEMVER` ranges are skipped ([`matching`]).
//! - **Severity** is the CVSS v3.x or v4.0 base score (RustSec's `cvss` crate), else the record's
//!   `database_specific.severity` ([`severity`]).
//! - **The audit** turns a dependency set into findings, records linked by aliases merged into
//!   one, with `[audit]` ignores ([`mod@audit`]).
//!
//! This crate does no network I/O: the binary downloads, this crate imports.

#![forbid(unsafe_code)]

pub mod audit;
pub mod db;
mod error;
pub mod index;
pub mod matching;
pub mod osv;
pub mod records;
pub mod rules;
pub mod severity;
mod yaml;

pub use audit::{AuditConfig, AuditInput, IgnoreEntry, audit};
pub use db::{Database, Meta};
pub use error::Error;
pub use osv::{Advisory, Affected, Event, Range, Rating};
pub use rules::RULES;
