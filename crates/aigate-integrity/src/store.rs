//! The content-addressed store: every locked file, once, keyed by its SHA-256, so that any
//! approved version can be restored later. [`Store`] is what every backend provides;
//! [`FileStore`] keeps objects in a folder (`file://.aigate/store` by default). The object-store
//! backend (S3 and compatibles) lives with the network code, in `aigate-fetch`.
//!
//! Every object is verified against its digest on the way in (a file that changed since it was
//! hashed is refused) and on the way out (a corrupted object is an error, never restored).
//! Besides files, the store keeps version manifests: the list of an artifact version's files,
//! as JSON, itself an object.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::hash::Digest;
use crate::lock::{LockedArtifact, LockedFile};
use crate::manifest::Kind;

/// The largest manifest read back: far above any real artifact's file list.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;
const CHUNK: usize = 1 << 20;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("{what}: {source}")]
    Io {
        /// The object or file.
        what: String,
        /// What failed.
        source: io::Error,
    },
    /// The store has no object with this digest.
    #[error("the store has no object sha256:{0}")]
    Missing(Digest),
    /// An object's bytes do not hash to its name.
    #[error(
        "object sha256:{expected} in the store is corrupted: its bytes hash to sha256:{actual}"
    )]
    Corrupt {
        /// Its name.
        expected: Digest,
        /// What its bytes hash to.
        actual: Digest,
    },
    /// A file changed between being hashed and being stored.
    #[error(
        "{path} changed since it was locked: it now hashes to sha256:{actual}, not sha256:{expected}"
    )]
    Changed {
        /// The file.
        path: String,
        /// What the lock says.
        expected: Digest,
        /// What it hashes to now.
        actual: Digest,
    },
    /// A manifest that is not one.
    #[error("manifest sha256:{digest} is not valid: {why}")]
    BadManifest {
        /// Its digest.
        digest: Digest,
        /// Why.
        why: String,
    },
    /// The backend refused or failed (network, permissions, a server error).
    #[error("{0}")]
    Backend(String),
}

impl StoreError {
    /// What to do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            StoreError::Missing(_) => Some(
                "the version was never pushed to this store: run `aigate store push` after `aigate lock`, or point [store] url at the store that has it",
            ),
            StoreError::Corrupt { .. } => Some(
                "the object was damaged or replaced in the store; restore it from a backup of the store or choose another version",
            ),
            StoreError::Changed { .. } => Some("run `aigate lock` again, review, then push"),
            _ => None,
        }
    }
}

/// Whether a put stored new bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The object was written.
    Stored,
    /// The store had it already (deduplicated by digest).
    AlreadyThere,
}

/// What every store backend provides.
pub trait Store: Sync {
    /// The store, for messages: its URL.
    fn describe(&self) -> String;
    /// Whether the object is there.
    fn contains(&self, digest: &Digest) -> Result<bool, StoreError>;
    /// Stores the file at `source`, which must hash to `expected`.
    fn put_file(&self, source: &Path, expected: &Digest) -> Result<Put, StoreError>;
    /// Stores `bytes` and returns their digest.
    fn put_bytes(&self, bytes: &[u8]) -> Result<Digest, StoreError>;
    /// Writes the object into the new file `dest`, verified; on any failure `dest` is removed.
    fn restore(&self, digest: &Digest, dest: &Path) -> Result<(), StoreError>;
    /// Reads a small object whole, verified, up to `max` bytes.
    fn get_bytes(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError>;
    /// Every object's digest.
    fn list(&self) -> Result<Vec<Digest>, StoreError>;
    /// Removes an object (absent is fine).
    fn remove(&self, digest: &Digest) -> Result<(), StoreError>;
    /// The custody log kept in the store ([`LOG_NAME`] beside the objects), up to `max` bytes,
    /// with the version a [`Store::replace_log`] names; `None` when the store keeps no log.
    fn read_log(&self, max: u64) -> Result<Option<(Vec<u8>, String)>, StoreError>;
    /// Replaces the custody log with `bytes` only if it is still at `version` (`None`: only if
    /// there is no log yet), atomically; `Ok(false)` when another writer replaced it first.
    fn replace_log(&self, bytes: &[u8], version: Option<&str>) -> Result<bool, StoreError>;
}

/// The custody log's name in a store, beside the `sha256/` objects.
pub const LOG_NAME: &str = "custody.jsonl";

/// One artifact version's files, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VersionManifest {
    /// Format marker.
    pub manifest: String,
    /// The artifact's name.
    pub name: String,
    /// Model or dataset.
    pub kind: Kind,
    /// Its project-relative path.
    pub path: String,
    /// Where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The version's content digest ([`LockedArtifact::content_digest`]).
    pub digest: Digest,
    /// Its files, sorted by path.
    pub files: Vec<LockedFile>,
}

/// The marker of [`VersionManifest`]s this crate writes.
pub const MANIFEST_FORMAT: &str = "aigate-version-manifest-v1";

impl VersionManifest {
    /// The manifest of an artifact as the lock pins it.
    pub fn of(artifact: &LockedArtifact) -> Self {
        let mut files = artifact.files.clone();
        files.sort();
        VersionManifest {
            manifest: MANIFEST_FORMAT.to_owned(),
            name: artifact.name.clone(),
            kind: artifact.kind,
            path: artifact.path.clone(),
            source: artifact.source.clone(),
            digest: artifact.content_digest(),
            files,
        }
    }

    /// Canonical JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a manifest object, checking that its content digest matches its file list.
    pub fn from_bytes(digest: Digest, bytes: &[u8]) -> Result<Self, StoreError> {
        let bad = |why: String| StoreError::BadManifest { digest, why };
        let manifest: VersionManifest =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if manifest.manifest != MANIFEST_FORMAT {
            return Err(bad(format!("unknown format {:?}", manifest.manifest)));
        }
        for file in &manifest.files {
            crate::paths::normalize(&file.path).map_err(|e| bad(e.to_string()))?;
        }
        Ok(manifest)
    }
}

/// Pushes a locked artifact: every file not yet in the store, then its manifest. Returns the
/// manifest's digest and how many files were new.
pub fn push_artifact(
    store: &dyn Store,
    root: &Path,
    artifact: &LockedArtifact,
) -> Result<(Digest, usize), StoreError> {
    use rayon::prelude::*;
    // One upload per digest: files with the same bytes are one object, and two uploads of one
    // object at once would race for its resumable state.
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&LockedFile> = artifact
        .files
        .iter()
        .filter(|f| seen.insert(f.sha256))
        .collect();
    let results: Vec<Result<Put, StoreError>> = unique
        .par_iter()
        .map(|f| store.put_file(&root.join(&f.path), &f.sha256))
        .collect();
    let mut stored = 0;
    for r in results {
        if r? == Put::Stored {
            stored += 1;
        }
    }
    let manifest = store.put_bytes(&VersionManifest::of(artifact).to_bytes())?;
    Ok((manifest, stored))
}

/// Reads a version manifest from the store.
pub fn manifest(store: &dyn Store, digest: &Digest) -> Result<VersionManifest, StoreError> {
    let bytes = store.get_bytes(digest, MAX_MANIFEST_BYTES)?;
    VersionManifest::from_bytes(*digest, &bytes)
}

/// A store in a folder: objects at `sha256/AB/ABCDEF…`, written through a temporary file and a
/// rename, so a reader never sees half an object.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    /// The store in `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileStore { root: root.into() }
    }

    /// Where the object lives.
    pub fn object_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }

    fn io(&self, what: impl std::fmt::Display) -> impl Fn(io::Error) -> StoreError {
        let what = what.to_string();
        move |source| StoreError::Io {
            what: what.clone(),
            source,
        }
    }

    /// Copies `from` into the object `digest`, hashing on the way; a mismatch is reported as
    /// the reader's own error (`mismatch`).
    fn write_object(
        &self,
        from: &mut dyn Read,
        digest: &Digest,
        mismatch: impl FnOnce(Digest) -> StoreError,
    ) -> Result<Put, StoreError> {
        let dest = self.object_path(digest);
        if dest.is_file() {
            return Ok(Put::AlreadyThere);
        }
        let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent).map_err(self.io(parent.display()))?;
        let tmp = crate::files::temp_path(&dest);
        let result = (|| {
            let mut out = File::create(&tmp).map_err(self.io(tmp.display()))?;
            let actual = copy_hashing(from, &mut out).map_err(self.io(tmp.display()))?;
            if actual != *digest {
                return Err(mismatch(actual));
            }
            out.sync_all().map_err(self.io(tmp.display()))?;
            drop(out);
            fs::rename(&tmp, &dest).map_err(self.io(dest.display()))?;
            crate::files::sync_parent(&dest).map_err(self.io(dest.display()))?;
            Ok(Put::Stored)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

/// Copies `from` to `to` in chunks and returns the SHA-256 of what was copied.
fn copy_hashing(from: &mut dyn Read, to: &mut dyn Write) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
    Ok(Digest(hasher.finalize().into()))
}

impl Store for FileStore {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn contains(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.object_path(digest).is_file())
    }

    fn put_file(&self, source: &Path, expected: &Digest) -> Result<Put, StoreError> {
        if self.contains(expected)? {
            return Ok(Put::AlreadyThere);
        }
        let mut file = File::open(source).map_err(self.io(source.display()))?;
        self.write_object(&mut file, expected, |actual| StoreError::Changed {
            path: source.display().to_string(),
            expected: *expected,
            actual,
        })
    }

    fn put_bytes(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest(Sha256::digest(bytes).into());
        self.write_object(&mut &bytes[..], &digest, |actual| StoreError::Corrupt {
            expected: digest,
            actual,
        })?;
        Ok(digest)
    }

    fn restore(&self, digest: &Digest, dest: &Path) -> Result<(), StoreError> {
        let object = self.object_path(digest);
        let mut from = match File::open(&object) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::Missing(*digest));
            }
            Err(e) => return Err(self.io(object.display())(e)),
        };
        // A file already at `dest` is refused and left alone; only what was created here is
        // removed on failure.
        let mut out = File::create_new(dest).map_err(self.io(dest.display()))?;
        let result = (|| {
            let actual = copy_hashing(&mut from, &mut out).map_err(self.io(dest.display()))?;
            if actual != *digest {
                return Err(StoreError::Corrupt {
                    expected: *digest,
                    actual,
                });
            }
            out.sync_all().map_err(self.io(dest.display()))
        })();
        if result.is_err() {
            let _ = fs::remove_file(dest);
        }
        result
    }

    fn get_bytes(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError> {
        let object = self.object_path(digest);
        let bytes = match crate::files::read_regular_bytes(&object, max) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::Missing(*digest));
            }
            Err(e) => return Err(self.io(object.display())(e)),
        };
        let actual = Digest(Sha256::digest(&bytes).into());
        if actual != *digest {
            return Err(StoreError::Corrupt {
                expected: *digest,
                actual,
            });
        }
        Ok(bytes)
    }

    fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let base = self.root.join("sha256");
        let mut out = Vec::new();
        let shards = match fs::read_dir(&base) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(self.io(base.display())(e)),
        };
        for shard in shards {
            let shard = shard.map_err(self.io(base.display()))?;
            let Ok(objects) = fs::read_dir(shard.path()) else {
                continue;
            };
            for object in objects.flatten() {
                if let Some(d) = object.file_name().to_str().and_then(Digest::from_hex) {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, digest: &Digest) -> Result<(), StoreError> {
        let object = self.object_path(digest);
        match fs::remove_file(&object) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(object.display())(e)),
        }
    }

    fn read_log(&self, max: u64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let path = self.root.join(LOG_NAME);
        match crate::files::read_regular_bytes(&path, max) {
            Ok(bytes) => {
                let version = Digest(Sha256::digest(&bytes).into()).hex();
                Ok(Some((bytes, version)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(path.display())(e)),
        }
    }

    fn replace_log(&self, bytes: &[u8], version: Option<&str>) -> Result<bool, StoreError> {
        fs::create_dir_all(&self.root).map_err(self.io(self.root.display()))?;
        let path = self.root.join(LOG_NAME);
        // Writers of the same folder are serialised by a lock file beside the log; the log
        // itself is replaced by a rename, so a reader sees the old log or the new one.
        let guard_path = self.root.join(format!("{LOG_NAME}.lock"));
        let guard = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&guard_path)
            .map_err(self.io(guard_path.display()))?;
        guard.lock().map_err(self.io(guard_path.display()))?;
        let current = self
            .read_log(crate::custody::MAX_LOG_BYTES)?
            .map(|(_, v)| v);
        if current.as_deref() != version {
            return Ok(false);
        }
        crate::files::write_atomic(&path, bytes).map_err(self.io(path.display()))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    #[test]
    fn files_are_stored_once_and_restored_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("store"));
        let file = dir.path().join("w.bin");
        fs::write(&file, b"weights").unwrap();
        let d = digest_of(b"weights");
        assert_eq!(store.put_file(&file, &d).unwrap(), Put::Stored);
        assert_eq!(store.put_file(&file, &d).unwrap(), Put::AlreadyThere);
        assert_eq!(store.list().unwrap(), [d]);
        let out = dir.path().join("out.bin");
        store.restore(&d, &out).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"weights");
    }

    #[test]
    fn a_file_that_changed_since_it_was_hashed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("store"));
        let file = dir.path().join("w.bin");
        fs::write(&file, b"other").unwrap();
        let err = store.put_file(&file, &digest_of(b"weights")).unwrap_err();
        assert!(matches!(err, StoreError::Changed { .. }), "{err}");
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn a_corrupted_object_is_never_restored() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("store"));
        let d = store.put_bytes(b"weights").unwrap();
        fs::write(store.object_path(&d), b"tampered").unwrap();
        let out = dir.path().join("out.bin");
        assert!(matches!(
            store.restore(&d, &out),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(!out.exists(), "nothing half-restored");
        assert!(matches!(
            store.get_bytes(&d, 100),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store.restore(&digest_of(b"never"), &out),
            Err(StoreError::Missing(_))
        ));
    }
}
