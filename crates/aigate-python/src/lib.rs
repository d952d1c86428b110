//! Python packaging for aigate: what a Python project depends on, read from the files that say
//! so, into one data model ([`DependencySet`] of [`Package`]s) that the policy, audit and SBOM
//! crates consume.
//!
//! Readers, each keeping the file, line and (where cheap) column every entry came from:
//!
//! - pip's requirements file format, with pip's own line, comment, continuation and option rules
//!   (`pip/_internal/req/req_file.py`): [`read_requirements`];
//! - `uv.lock` ([`read_uv_lock`]), `poetry.lock` 1.x and 2.x ([`read_poetry_lock`]),
//!   `Pipfile.lock` ([`read_pipfile_lock`]), PEP 751 `pylock.toml` ([`read_pylock`]);
//! - `pyproject.toml`: PEP 621 dependencies and extras, PEP 735 dependency groups, uv and poetry
//!   indexes ([`read_pyproject`]);
//! - installed environments: `*.dist-info` `METADATA` (core metadata, PEP 639 licence fields),
//!   `RECORD` (PyPA binary distribution format), PEP 610 `direct_url.json`, `INSTALLER`
//!   ([`read_environment`]), and the RECORD check that re-hashes installed files
//!   ([`check_environment_records`]).
//!
//! Names are normalised per PEP 503; versions, specifiers and markers have PEP 440 and PEP 508
//! semantics ([`pep`]). [`discover`] finds a project's inputs; [`diff()`] compares two sets.
//!
//! Every input is untrusted: sizes, line lengths, include depth and counts are bounded
//! ([`Limits`]), `${VAR}` references are reported and never expanded, nothing is fetched, and a
//! malformed input is an [`Error`] naming its file and line, never a panic. The library reads no
//! environment variables and prints nothing.

#![forbid(unsafe_code)]

mod diff;
mod discover;
mod environment;
mod error;
mod limits;
mod model;
pub mod pep;
mod pipfile_lock;
mod poetry_lock;
mod pylock;
mod pyproject;
mod record;
mod requirement;
mod requirements;
mod uv_lock;

pub use diff::{DependencyDiff, HashChange, PackageRef, SourceChange, VersionChange, diff};
pub use discover::{DiscoveredInput, discover, format_of_path, read_all, read_input, read_path};
pub use environment::{
    EnvironmentLayout, dist_info_folders, find_site_packages, parse_direct_url, parse_metadata,
    read_distribution, read_environment,
};
pub use error::{Error, ErrorKind, Origin};
pub use limits::Limits;
pub use model::{
    DependencySet, EnvRef, Hash, Include, IndexKind, IndexRef, Input, InputFormat, Licence,
    Package, PipOption, Source, TrustedHost,
};
pub use pipfile_lock::{parse_pipfile_lock, read_pipfile_lock};
pub use poetry_lock::{parse_poetry_lock, read_poetry_lock};
pub use pylock::{parse_pylock, read_pylock};
pub use pyproject::{parse_pyproject, read_pyproject};
pub use record::{
    RecordCheck, RecordEntry, RecordIssue, check_environment_records, check_record, parse_record,
};
pub use requirements::{parse_requirements, read_requirements};
pub use uv_lock::{parse_uv_lock, read_uv_lock};
