//! A cache of SHA-256 digests of files, keyed by what `stat` says about each file, so that
//! `verify` re-reads only what changed — the scheme git's index uses to skip unchanged files.
//!
//! A cached digest is used only when the file's device, inode, size, modification time and
//! status-change time (`ctime`, nanoseconds) all match what they were when it was hashed.
//! Rewriting a file's bytes changes its `ctime`, and no unprivileged call can set `ctime` back
//! (`utimensat` can restore `mtime`, and sets `ctime` to now), so a file cannot be altered and keep
//! its entry. Two guards close the gaps that remain:
//!
//! - *racy entries* (git's term): a file whose `mtime` or `ctime` is within [`RACY_SECONDS`] of the
//!   moment it was hashed could be written again within the same timestamp tick and keep its
//!   fingerprint, so it is never cached;
//! - a file whose fingerprint changed while it was being hashed is not cached either.
//!
//! The cache lives in the user's cache folder, not in the project: whoever can write there can
//! already run code as the user. A missing, unreadable, oversized or malformed cache file is an
//! empty cache (the cost is re-hashing, never a wrong answer), and `verify --rehash` ignores it.
//! Outside Unix there is no `ctime` in `std`, and nothing is cached.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::hash::{Algorithm, Digest, Hashed, hash_files};

/// Files changed this close (seconds) to the moment they were hashed are not cached.
pub const RACY_SECONDS: i64 = 2;
/// The cache file is read only up to this size; a larger one is treated as empty.
pub const MAX_CACHE_BYTES: u64 = 64 << 20;
/// At most this many entries are kept; the least recently used go first.
pub const MAX_ENTRIES: usize = 200_000;
const FORMAT_VERSION: u32 = 1;

/// What `stat` says about a file; equal fingerprints mean unchanged bytes (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status-change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
}

impl Fingerprint {
    /// The fingerprint of the file at `path` (following symbolic links, as hashing does), or
    /// `None` where the platform has no `ctime` or the file cannot be stat-ed.
    pub fn of(path: &Path) -> Option<Fingerprint> {
        fingerprint(path)
    }

    /// Whether the file changed within [`RACY_SECONDS`] of `now_ns`.
    fn is_racy(&self, now_ns: i64) -> bool {
        let since = now_ns.saturating_sub(RACY_SECONDS * 1_000_000_000);
        self.mtime_ns > since || self.ctime_ns > since
    }
}

#[cfg(unix)]
fn fingerprint(path: &Path) -> Option<Fingerprint> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).ok()?;
    if !m.is_file() {
        return None;
    }
    // Nanoseconds since the epoch fit an i64 until 2262; saturate rather than wrap beyond.
    let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
    Some(Fingerprint {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime_ns: ns(m.mtime(), m.mtime_nsec()),
        ctime_ns: ns(m.ctime(), m.ctime_nsec()),
    })
}

#[cfg(not(unix))]
fn fingerprint(_path: &Path) -> Option<Fingerprint> {
    None
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    fingerprint: Fingerprint,
    sha256: Digest,
    /// When the entry last answered or was written, seconds since the epoch.
    used: u64,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: HashMap<PathBuf, Entry>,
}

#[derive(Serialize)]
struct CacheFileRef<'a> {
    version: u32,
    entries: &'a HashMap<PathBuf, Entry>,
}

/// Drops the least recently used entries beyond `max`.
fn prune(entries: &mut HashMap<PathBuf, Entry>, max: usize) {
    if entries.len() <= max {
        return;
    }
    let mut by_use: Vec<(u64, PathBuf)> =
        entries.iter().map(|(p, e)| (e.used, p.clone())).collect();
    by_use.sort_unstable();
    let excess = entries.len() - max;
    for (_, path) in by_use.into_iter().take(excess) {
        entries.remove(&path);
    }
}

/// What one call to [`DigestCache::hash_files`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Files answered from the cache.
    pub hits: usize,
    /// Files read and hashed.
    pub hashed: usize,
}

/// SHA-256 digests of files, remembered across runs (see the module docs).
#[derive(Debug)]
pub struct DigestCache {
    file: Option<PathBuf>,
    entries: HashMap<PathBuf, Entry>,
    dirty: bool,
}

impl DigestCache {
    /// A cache that remembers nothing and saves nothing: every file is hashed.
    pub fn disabled() -> DigestCache {
        DigestCache {
            file: None,
            entries: HashMap::new(),
            dirty: false,
        }
    }

    /// The cache kept in `file`. Whatever cannot be read as a cache of this version is an empty
    /// cache, overwritten on [`save`](DigestCache::save).
    pub fn open(file: PathBuf) -> DigestCache {
        let entries = read_entries(&file).unwrap_or_default();
        DigestCache {
            file: Some(file),
            entries,
            dirty: false,
        }
    }

    /// The SHA-256 of each file, in the order given: from the cache where the fingerprint still
    /// matches, else read and hashed in parallel (and remembered unless racy).
    pub fn hash_files(&mut self, paths: &[PathBuf]) -> (Vec<io::Result<Hashed>>, CacheStats) {
        self.hash_files_at(paths, now_ns())
    }

    /// [`hash_files`](DigestCache::hash_files) as if the clock read `now` (nanoseconds since the
    /// epoch): the racy window is measured from it.
    fn hash_files_at(
        &mut self,
        paths: &[PathBuf],
        now: i64,
    ) -> (Vec<io::Result<Hashed>>, CacheStats) {
        let mut stats = CacheStats::default();
        let used = u64::try_from(now / 1_000_000_000).unwrap_or(0);
        let caching = self.file.is_some();
        let mut results: Vec<Option<io::Result<Hashed>>> = Vec::with_capacity(paths.len());
        let mut misses: Vec<(usize, PathBuf, Option<Fingerprint>)> = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let key = absolute(path);
            let before = if caching { fingerprint(&key) } else { None };
            let hit = before.and_then(|fp| {
                let entry = self.entries.get_mut(&key)?;
                (entry.fingerprint == fp && !fp.is_racy(now)).then(|| {
                    entry.used = used;
                    Hashed {
                        size: fp.size,
                        digest: entry.sha256,
                    }
                })
            });
            match hit {
                Some(hashed) => {
                    stats.hits += 1;
                    self.dirty = true;
                    results.push(Some(Ok(hashed)));
                }
                None => {
                    results.push(None);
                    misses.push((i, key, before));
                }
            }
        }
        stats.hashed = misses.len();
        let to_hash: Vec<PathBuf> = misses.iter().map(|(i, _, _)| paths[*i].clone()).collect();
        let hashed = hash_files(&to_hash, Algorithm::Sha256);
        for ((i, key, before), result) in misses.into_iter().zip(hashed) {
            if let (Ok(h), Some(before)) = (&result, before) {
                let after = fingerprint(&key);
                let stable = after == Some(before) && before.size == h.size;
                if stable && !before.is_racy(now) {
                    self.entries.insert(
                        key,
                        Entry {
                            fingerprint: before,
                            sha256: h.digest,
                            used,
                        },
                    );
                    self.dirty = true;
                } else if self.entries.remove(&key).is_some() {
                    self.dirty = true;
                }
            }
            results[i] = Some(result);
        }
        let results = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(io::Error::other("not hashed"))))
            .collect();
        (results, stats)
    }

    /// Writes the cache back (atomically: a temporary file renamed over the old one), keeping the
    /// [`MAX_ENTRIES`] most recently used entries. Nothing to do for a disabled or unchanged cache.
    pub fn save(&mut self) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        prune(&mut self.entries, MAX_ENTRIES);
        if let Some(dir) = file.parent() {
            fs::create_dir_all(dir)?;
        }
        let body = serde_json::to_vec(&CacheFileRef {
            version: FORMAT_VERSION,
            entries: &self.entries,
        })
        .map_err(io::Error::other);
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = file.with_file_name(format!(
            ".{}.{}.tmp",
            name.unwrap_or_default(),
            std::process::id()
        ));
        let written = body.and_then(|body| {
            fs::write(&tmp, body)?;
            fs::rename(&tmp, file)
        });
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        self.dirty = false;
        written
    }

    /// How many files the cache remembers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache remembers nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads a cache file; `None` for anything but a readable cache of this version within bounds.
fn read_entries(file: &Path) -> Option<HashMap<PathBuf, Entry>> {
    let handle = fs::File::open(file).ok()?;
    let mut bytes = Vec::new();
    handle
        .take(MAX_CACHE_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    parse(&bytes)
}

/// Parses a cache file's bytes; exposed for the fuzz target.
pub fn parse_cache(bytes: &[u8]) -> Option<usize> {
    parse(bytes).map(|e| e.len())
}

fn parse(bytes: &[u8]) -> Option<HashMap<PathBuf, Entry>> {
    if bytes.len() as u64 > MAX_CACHE_BYTES {
        return None;
    }
    let cache: CacheFile = serde_json::from_slice(bytes).ok()?;
    (cache.version == FORMAT_VERSION).then_some(cache.entries)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use crate::hash::hash_reader;
    use std::fs::File;
    use std::time::Duration;

    const MINUTE_NS: i64 = 60_000_000_000;

    fn digest_of(bytes: &[u8]) -> Digest {
        hash_reader(bytes, Algorithm::Sha256).unwrap().digest
    }

    fn setup(bytes: &[u8]) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.bin");
        fs::write(&file, bytes).unwrap();
        let cache = dir.path().join("cache").join("digests.json");
        (dir, file, cache)
    }

    #[test]
    fn a_file_just_written_is_hashed_but_not_cached() {
        let (_dir, file, cache_file) = setup(b"weights");
        let mut cache = DigestCache::open(cache_file);
        let (results, stats) = cache.hash_files(std::slice::from_ref(&file));
        assert_eq!(stats, CacheStats { hits: 0, hashed: 1 });
        assert_eq!(results[0].as_ref().unwrap().digest, digest_of(b"weights"));
        assert!(cache.is_empty(), "a racy file was cached");
    }

    #[test]
    fn an_unchanged_file_is_answered_from_the_saved_cache() {
        let (_dir, file, cache_file) = setup(b"weights");
        let later = now_ns() + MINUTE_NS;
        let mut cache = DigestCache::open(cache_file.clone());
        let (_, first) = cache.hash_files_at(std::slice::from_ref(&file), later);
        assert_eq!(first, CacheStats { hits: 0, hashed: 1 });
        cache.save().unwrap();
        let mut reopened = DigestCache::open(cache_file);
        assert_eq!(reopened.len(), 1);
        // A digest the file does not have: getting it back proves the file was not re-read.
        let planted = Digest([7; 32]);
        for entry in reopened.entries.values_mut() {
            entry.sha256 = planted;
        }
        let (results, second) = reopened.hash_files_at(std::slice::from_ref(&file), later);
        assert_eq!(second, CacheStats { hits: 1, hashed: 0 });
        assert_eq!(results[0].as_ref().unwrap().digest, planted);
    }

    #[test]
    fn an_entry_is_not_trusted_within_the_racy_window() {
        let (_dir, file, cache_file) = setup(b"weights");
        let mut cache = DigestCache::open(cache_file);
        cache.hash_files_at(std::slice::from_ref(&file), now_ns() + MINUTE_NS);
        for entry in cache.entries.values_mut() {
            entry.sha256 = Digest([7; 32]);
        }
        let (results, stats) = cache.hash_files(std::slice::from_ref(&file));
        assert_eq!(stats, CacheStats { hits: 0, hashed: 1 });
        assert_eq!(results[0].as_ref().unwrap().digest, digest_of(b"weights"));
    }

    #[test]
    fn rewriting_a_file_and_restoring_its_mtime_is_a_miss() {
        let (_dir, file, cache_file) = setup(b"weights");
        let mut cache = DigestCache::open(cache_file);
        let before = fingerprint(&file).unwrap();
        let later = now_ns() + MINUTE_NS;
        cache.hash_files_at(std::slice::from_ref(&file), later);
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&file, b"WEIGHTS").unwrap();
        let old = UNIX_EPOCH + Duration::from_nanos(u64::try_from(before.mtime_ns).unwrap());
        File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let after = fingerprint(&file).unwrap();
        assert_eq!((after.mtime_ns, after.size), (before.mtime_ns, before.size));
        let (results, stats) = cache.hash_files_at(std::slice::from_ref(&file), later);
        assert_eq!(stats, CacheStats { hits: 0, hashed: 1 });
        assert_eq!(results[0].as_ref().unwrap().digest, digest_of(b"WEIGHTS"));
    }

    #[test]
    fn a_file_replaced_by_another_with_the_same_times_is_a_miss() {
        let (dir, file, cache_file) = setup(b"weights");
        let mut cache = DigestCache::open(cache_file);
        let later = now_ns() + MINUTE_NS;
        cache.hash_files_at(std::slice::from_ref(&file), later);
        let other = dir.path().join("other.bin");
        fs::write(&other, b"WEIGHTS").unwrap();
        fs::rename(&other, &file).unwrap();
        let (results, stats) = cache.hash_files_at(std::slice::from_ref(&file), later);
        assert_eq!(stats.hits, 0);
        assert_eq!(results[0].as_ref().unwrap().digest, digest_of(b"WEIGHTS"));
    }

    #[test]
    fn a_missing_file_is_an_error_not_a_cached_answer() {
        let (_dir, file, cache_file) = setup(b"weights");
        let mut cache = DigestCache::open(cache_file);
        let later = now_ns() + MINUTE_NS;
        cache.hash_files_at(std::slice::from_ref(&file), later);
        fs::remove_file(&file).unwrap();
        let (results, stats) = cache.hash_files_at(std::slice::from_ref(&file), later);
        assert_eq!(stats, CacheStats { hits: 0, hashed: 1 });
        assert!(results[0].is_err());
    }

    #[test]
    fn a_malformed_or_foreign_cache_file_is_an_empty_cache() {
        let (_dir, _file, cache_file) = setup(b"weights");
        fs::create_dir_all(cache_file.parent().unwrap()).unwrap();
        for body in [
            &b"not json"[..],
            br#"{"version": 99, "entries": {}}"#,
            br#"{"version": 1, "entries": {"/x": {"sha256": "zz"}}}"#,
        ] {
            fs::write(&cache_file, body).unwrap();
            assert!(DigestCache::open(cache_file.clone()).is_empty());
        }
    }

    #[test]
    fn a_disabled_cache_hashes_everything_and_writes_nothing() {
        let (dir, file, _cache_file) = setup(b"weights");
        let mut cache = DigestCache::disabled();
        let later = now_ns() + MINUTE_NS;
        for _ in 0..2 {
            let (_, stats) = cache.hash_files_at(std::slice::from_ref(&file), later);
            assert_eq!(stats, CacheStats { hits: 0, hashed: 1 });
        }
        cache.save().unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn pruning_keeps_the_most_recently_used_entries() {
        let (_dir, file, _cache_file) = setup(b"weights");
        let fp = fingerprint(&file).unwrap();
        let mut entries: HashMap<PathBuf, Entry> = (0..10u64)
            .map(|i| {
                let entry = Entry {
                    fingerprint: fp,
                    sha256: Digest([0; 32]),
                    used: (i * 7) % 10,
                };
                (PathBuf::from(format!("/f{}", entry.used)), entry)
            })
            .collect();
        prune(&mut entries, 4);
        let mut kept: Vec<u64> = entries.values().map(|e| e.used).collect();
        kept.sort_unstable();
        assert_eq!(kept, [6, 7, 8, 9]);
    }

    #[test]
    fn saving_twice_keeps_every_entry() {
        let (_dir, file, cache_file) = setup(b"weights");
        let mut cache = DigestCache::open(cache_file.clone());
        cache.hash_files_at(std::slice::from_ref(&file), now_ns() + MINUTE_NS);
        cache.save().unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(DigestCache::open(cache_file).len(), 1);
    }
}
