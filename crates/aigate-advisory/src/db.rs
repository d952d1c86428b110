//! The local database: records and their index, where `aigate db update` puts them and where
//! `aigate audit` (or `--db PATH`) finds them.
//!
//! A managed database is a folder (in the user's cache by default) holding `CURRENT`, the name
//! of the live generation, and that generation's folder `db-<stamp>/` with the records as
//! imported (`records.zip`, or `records/` for a folder), `meta.json` (source, date, SHA-256,
//! counts) and `index.bin` ([`crate::index`]). An update builds and verifies a whole new
//! generation beside the live one and only then replaces `CURRENT` (a rename, atomic on POSIX
//! file systems), so a failed or interrupted update leaves the old database in use.
//!
//! `--db PATH` may also name a records zip or folder directly; its index is then kept in the
//! cache under a name derived from the path. Either way the index records a fingerprint of the
//! records (size and modification time of each file) and is rebuilt when they change.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::index::{self, Index};
use crate::records::{self, hex};

/// The file naming the live generation of a managed database.
pub const CURRENT: &str = "CURRENT";
/// Largest `CURRENT` or `meta.json` read.
const MAX_SMALL_FILE: u64 = 1 << 20;
/// Largest index read.
const MAX_INDEX_BYTES: u64 = 2 << 30;

/// What is known of a database: where it came from and what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The URL it was downloaded from, or the path it was imported from.
    pub source: String,
    /// The SHA-256 of the records (of the zip; of the listing of files and digests of a folder).
    pub sha256: String,
    /// When it was downloaded or imported (RFC 3339), empty when unknown.
    pub updated: String,
    /// Records read.
    pub records: u64,
    /// Advisories about PyPI packages.
    pub advisories: u64,
    /// Withdrawn records (ignored).
    pub withdrawn: u64,
    /// Records about other ecosystems (skipped).
    pub other: u64,
    /// Records that could not be read (skipped).
    pub malformed: u64,
    /// The first few malformed records and why.
    #[serde(default)]
    pub malformed_examples: Vec<String>,
}

/// A loaded database: the index bytes, decoded on demand.
#[derive(Debug)]
pub struct Database {
    bytes: Vec<u8>,
    meta: Meta,
    /// The records it was built from.
    pub records: PathBuf,
    /// Whether the index was (re)built in this run rather than read.
    pub rebuilt: bool,
}

impl Database {
    /// Its metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The decoded index.
    pub fn index(&self) -> Result<Index<'_>, Error> {
        Index::decode(&self.bytes).map_err(|e| Error::BadIndex {
            path: self.records.display().to_string(),
            message: e.0,
        })
    }
}

fn mtime_of(meta: &std::fs::Metadata) -> String {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
        .unwrap_or_default()
}

/// The fingerprint of a records zip or folder: sizes and modification times, cheap to take.
pub fn fingerprint(records: &Path) -> Result<String, Error> {
    let meta = std::fs::metadata(records).map_err(|e| Error::io(records, e))?;
    if !meta.is_dir() {
        return Ok(format!("zip:{}:{}", meta.len(), mtime_of(&meta)));
    }
    let mut h = Sha256::new();
    for (rel, meta) in records::record_files(records)? {
        h.update(rel.to_string_lossy().as_bytes());
        h.update(format!("\0{}\0{}\n", meta.len(), mtime_of(&meta)).as_bytes());
    }
    Ok(format!("dir:{}", hex(&h.finalize())))
}

fn read_small(path: &Path) -> Result<String, Error> {
    use std::io::Read;
    let mut s = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SMALL_FILE).read_to_string(&mut s))
        .map_err(|e| Error::io(path, e))?;
    Ok(s)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers see the old file
/// or the new one, never a part.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::io(path, e))
}

/// Where a source's records, index and import metadata are.
struct Layout {
    records: PathBuf,
    index: Option<PathBuf>,
    meta: Option<PathBuf>,
}

fn layout(path: &Path, cache: Option<&Path>) -> Result<Layout, Error> {
    let current = path.join(CURRENT);
    if current.is_file() {
        let name = read_small(&current)?;
        let name = name.trim();
        if !name.starts_with("db-") || name.contains(['/', '\\']) || name.contains("..") {
            return Err(Error::BadIndex {
                path: current.display().to_string(),
                message: format!("`{name}` is no generation name"),
            });
        }
        let dir = path.join(name);
        let zip = dir.join("records.zip");
        let records = if zip.is_file() {
            zip
        } else {
            dir.join("records")
        };
        return Ok(Layout {
            records,
            index: Some(dir.join("index.bin")),
            meta: Some(dir.join("meta.json")),
        });
    }
    if !path.exists() {
        return Err(Error::NoDatabase {
            path: path.display().to_string(),
        });
    }
    let canonical = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    let key = hex(&Sha256::digest(canonical.to_string_lossy().as_bytes()));
    Ok(Layout {
        records: canonical,
        index: cache.map(|c| c.join("by-path").join(format!("{}.bin", &key[..32]))),
        meta: None,
    })
}

/// Opens the database at `path`: a managed database folder, or a records zip or folder. The
/// index is read when it matches the records, else rebuilt (and saved, into `cache` for a
/// records path; a save that fails only costs the next run a rebuild).
pub fn open(path: &Path, cache: Option<&Path>) -> Result<Database, Error> {
    let layout = layout(path, cache)?;
    let fp = fingerprint(&layout.records)?;
    if let Some(index_path) = &layout.index
        && let Ok(bytes) = read_index(index_path)
        && let Ok(index) = Index::decode(&bytes)
        && index.fingerprint == fp
        && let Ok(meta) = serde_json::from_str::<Meta>(index.meta)
    {
        return Ok(Database {
            bytes,
            meta,
            records: layout.records,
            rebuilt: false,
        });
    }
    let imported: Option<Meta> = layout
        .meta
        .as_deref()
        .and_then(|p| read_small(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    let (bytes, meta) = build(&layout.records, &fp, imported)?;
    if let Some(index_path) = &layout.index {
        if let Some(parent) = index_path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = write_atomic(index_path, &bytes);
    }
    Ok(Database {
        bytes,
        meta,
        records: layout.records,
        rebuilt: true,
    })
}

fn read_index(path: &Path) -> Result<Vec<u8>, Error> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_INDEX_BYTES {
        return Err(Error::TooLarge {
            path: path.display().to_string(),
            what: "the index",
            limit: MAX_INDEX_BYTES,
        });
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Reads every record of `records` and encodes the index.
fn build(records: &Path, fp: &str, imported: Option<Meta>) -> Result<(Vec<u8>, Meta), Error> {
    let loaded = records::load(records)?;
    if loaded.advisories.is_empty() && loaded.other == 0 && loaded.withdrawn == 0 {
        return Err(Error::Empty {
            path: records.display().to_string(),
            malformed: loaded.malformed,
            other: loaded.other,
        });
    }
    let imported = imported.unwrap_or_default();
    let meta = Meta {
        source: if imported.source.is_empty() {
            records.display().to_string()
        } else {
            imported.source
        },
        sha256: loaded.sha256.clone(),
        updated: imported.updated,
        records: loaded.records,
        advisories: loaded.advisories.len() as u64,
        withdrawn: loaded.withdrawn,
        other: loaded.other,
        malformed: loaded.malformed,
        malformed_examples: loaded.malformed_examples.clone(),
    };
    let meta_json = serde_json::to_string(&meta).unwrap_or_default();
    Ok((index::encode(&loaded.advisories, fp, &meta_json), meta))
}

/// Leftovers older than this are removed even where it cannot be told whether their process
/// still runs.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes what updates killed before they could clean up left under `root`: staging folders,
/// partial downloads and generations `CURRENT` does not name. Each carries the id of the
/// process that made it, and is removed once that process is gone (or, where that cannot be
/// told, after a day), so a concurrent update keeps its own. Returns what was removed.
pub fn sweep(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let current = read_small(&root.join(CURRENT)).ok();
    let current = current.as_deref().map(str::trim).unwrap_or("");
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = leftover_pid(&name, current) else {
            continue;
        };
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        if process_alive(pid) != Some(false) && age < ABANDONED_AFTER {
            continue;
        }
        let path = entry.path();
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// The process id in the name of an update's leftover (`.staging-NANOS-PID`,
/// `.download-PID.zip`, or `db-NANOS-PID` other than `current`).
fn leftover_pid(name: &str, current: &str) -> Option<u32> {
    let stamped = name
        .strip_prefix(".staging-")
        .or_else(|| name.strip_prefix("db-").filter(|_| name != current))
        .and_then(|rest| rest.rsplit_once('-'))
        .map(|(_, pid)| pid);
    let downloaded = name
        .strip_prefix(".download-")
        .and_then(|rest| rest.strip_suffix(".zip"));
    stamped.or(downloaded)?.parse().ok()
}

/// Whether process `pid` runs, where the system says (Linux's `/proc`); `None` elsewhere.
fn process_alive(pid: u32) -> Option<bool> {
    if pid == std::process::id() {
        return Some(true);
    }
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| proc.join(pid.to_string()).exists())
}

/// A fresh staging folder name under `root` for [`install`] (the caller may register it for
/// removal on interruption before installing).
pub fn new_staging(root: &Path) -> PathBuf {
    root.join(format!(".staging-{}", stamp()))
}

fn stamp() -> String {
    format!(
        "{}-{}",
        std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
        std::process::id()
    )
}

/// Installs the records at `from` (a zip or a folder) as the new generation of the managed
/// database at `root`, built in `staging` (see [`new_staging`]), recording `source` and `now`.
/// The old generation stays live until the new one is complete and its index built; on any
/// error nothing changes and `staging` is removed.
pub fn install(
    root: &Path,
    staging: &Path,
    from: &Path,
    source: &str,
    now: &str,
) -> Result<Meta, Error> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let stamp = stamp();
    let result = stage(staging, from, source, now);
    let meta = match result {
        Ok(meta) => meta,
        Err(e) => {
            let _ = std::fs::remove_dir_all(staging);
            return Err(e);
        }
    };
    let live = root.join(format!("db-{stamp}"));
    let previous = read_small(&root.join(CURRENT)).ok();
    let switched = std::fs::rename(staging, &live)
        .map_err(|e| Error::io(&live, e))
        .and_then(|()| write_atomic(&root.join(CURRENT), format!("db-{stamp}\n").as_bytes()));
    if let Err(e) = switched {
        let _ = std::fs::remove_dir_all(staging);
        let _ = std::fs::remove_dir_all(&live);
        return Err(e);
    }
    if let Some(old) = previous.as_deref().map(str::trim)
        && old.starts_with("db-")
        && !old.contains(['/', '\\'])
        && old != format!("db-{stamp}")
    {
        let _ = std::fs::remove_dir_all(root.join(old));
    }
    Ok(meta)
}

fn stage(staging: &Path, from: &Path, source: &str, now: &str) -> Result<Meta, Error> {
    std::fs::create_dir_all(staging).map_err(|e| Error::io(staging, e))?;
    let from_meta = std::fs::metadata(from).map_err(|e| Error::io(from, e))?;
    let records = if from_meta.is_dir() {
        let dest = staging.join("records");
        for (rel, _) in records::record_files(from)? {
            let to = dest.join(&rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::copy(from.join(&rel), &to).map_err(|e| Error::io(&to, e))?;
        }
        dest
    } else {
        let dest = staging.join("records.zip");
        std::fs::copy(from, &dest).map_err(|e| Error::io(&dest, e))?;
        dest
    };
    let fp = fingerprint(&records)?;
    let imported = Meta {
        source: source.to_owned(),
        updated: now.to_owned(),
        ..Meta::default()
    };
    let (bytes, meta) = build(&records, &fp, Some(imported))?;
    if meta.advisories == 0 {
        return Err(Error::Empty {
            path: from.display().to_string(),
            malformed: meta.malformed,
            other: meta.other,
        });
    }
    let meta_json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    write_atomic(&staging.join("meta.json"), &meta_json)?;
    write_atomic(&staging.join("index.bin"), &bytes)?;
    // Verified: the index written decodes.
    let written = read_index(&staging.join("index.bin"))?;
    Index::decode(&written).map_err(|e| Error::BadIndex {
        path: staging.display().to_string(),
        message: e.0,
    })?;
    Ok(meta)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_dead_updates_go_and_the_live_generation_stays() {
        let root = tempfile::tempdir().unwrap();
        let dead = u32::MAX - 7;
        let mine = std::process::id();
        for dir in [
            format!(".staging-1-{dead}"),
            format!(".staging-2-{mine}"),
            format!("db-3-{dead}"),
            format!("db-4-{dead}"),
        ] {
            std::fs::create_dir_all(root.path().join(dir).join("records")).unwrap();
        }
        std::fs::write(root.path().join(format!(".download-{dead}.zip")), b"PK").unwrap();
        std::fs::write(root.path().join(CURRENT), format!("db-4-{dead}\n")).unwrap();
        let removed: Vec<String> = sweep(root.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            removed,
            [
                format!(".download-{dead}.zip"),
                format!(".staging-1-{dead}"),
                format!("db-3-{dead}"),
            ]
        );
        assert!(root.path().join(format!("db-4-{dead}")).is_dir());
        assert!(root.path().join(format!(".staging-2-{mine}")).is_dir());
    }
}
