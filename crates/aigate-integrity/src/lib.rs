//! Pins models and datasets by SHA-256 and checks them before use. No network: downloads are
//! `aigate-fetch`'s.
//!
//! - [`manifest`]: the `[[model]]`, `[[dataset]]` and `[sources]` sections of `aigate.toml`,
//!   validated with line numbers.
//! - [`hash`]: SHA-256 and BLAKE3 of many files and byte ranges at once, on every core, as
//!   [`hash::Digest`] values.
//! - [`lock`]: `aigate.lock`, the reviewed record of every artifact's files, source, scan
//!   verdict and approval; loaded from regular files only, stored atomically.
//! - [`verify`]: the disk against the lock: modified, added, removed and retyped files,
//!   unapproved artifacts, pins that leave the project.
//! - [`custody`]: the hash-chained custody log of every artifact version's events.
//! - [`store`]: the content-addressed store of every locked file and version manifest.
//! - [`files`]: bounded reads and atomic, durable writes of the project's own files.
//!
//! Nothing here scans or prints: the binary runs `aigate-scan` and hands the verdict in.

#![forbid(unsafe_code)]

pub mod clock;
pub mod custody;
pub mod digest_cache;
pub mod files;
pub mod hash;
pub mod lock;
pub mod manifest;
pub mod paths;
pub mod rules;
pub mod store;
pub mod tree;
pub mod verify;

use std::path::Path;

pub use rules::RULES;

use lock::LockedFile;
use tree::EntryKind;

/// Why an artifact cannot be pinned.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The declared path does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// The path leaves the project.
    #[error("{0} resolves outside the project")]
    Outside(String),
    /// A name in the artifact is not UTF-8, so it cannot be written into the lock as it is.
    #[error("{0}: the name is not UTF-8, so aigate cannot pin it")]
    NonUtf8Name(String),
    /// The artifact holds a link or a special file.
    #[error("{path} is {}; aigate pins file contents", .kind.describe())]
    NotAFile {
        /// The entry.
        path: String,
        /// What it is.
        kind: EntryKind,
    },
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl PinError {
    /// What to do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            PinError::NotAFile { .. } => Some("replace it with the file it stands for"),
            PinError::Missing(_) => Some("fix the path in aigate.toml, or restore the artifact"),
            PinError::Outside(_) => Some("artifact paths must stay inside the project"),
            PinError::NonUtf8Name(_) => Some("rename the file to a UTF-8 name"),
            PinError::Io { .. } => None,
        }
    }
}

/// Lists and hashes the files of the artifact at `rel` (project-relative; normalised here).
pub fn pin(root: &Path, rel: &str) -> Result<Vec<LockedFile>, PinError> {
    let rel = &paths::normalize(rel).map_err(|_| PinError::Outside(rel.to_owned()))?;
    if !tree::resolves_inside(root, rel) {
        return Err(PinError::Outside(rel.to_owned()));
    }
    let entries = tree::list(root, rel).map_err(|source| PinError::Io {
        path: rel.to_owned(),
        source,
    })?;
    if entries.is_empty() && !root.join(rel).is_dir() {
        return Err(PinError::Missing(rel.to_owned()));
    }
    if let Some((path, kind)) = entries.iter().find(|(_, k)| *k != EntryKind::File) {
        return Err(match kind {
            EntryKind::NonUtf8Name => PinError::NonUtf8Name(path.clone()),
            _ => PinError::NotAFile {
                path: path.clone(),
                kind: *kind,
            },
        });
    }
    let paths: Vec<_> = entries.iter().map(|(p, _)| root.join(p)).collect();
    entries
        .into_iter()
        .zip(hash::hash_files(&paths, hash::Algorithm::Sha256))
        .map(|((path, _), result)| {
            let hashed = result.map_err(|source| PinError::Io {
                path: path.clone(),
                source,
            })?;
            Ok(LockedFile {
                path,
                size: hashed.size,
                sha256: hashed.digest,
            })
        })
        .collect()
}
