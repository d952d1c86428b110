//! `RECORD` files (PyPA binary distribution format: CSV rows of path, `algorithm=<urlsafe
//! base64, no padding>`, size) and the check that installed files still match them.
//!
//! The check re-hashes every listed file and reports, as data, files whose hash or size differ,
//! listed files that are missing, files in the distribution's own folders that RECORD does not
//! list, and a missing RECORD. Bytecode caches are treated as pip treats them: `__pycache__/*.pyc`
//! files are neither required nor reported when unlisted, and listed bytecode that was never
//! written (virtualenv lists some) is not missing. Listed paths that lead outside the
//! environment are reported and never read.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use serde::Serialize;
use sha2::Digest;

use crate::environment::{dist_info_folders, find_site_packages};
use crate::error::{Error, ErrorKind, Origin, saturate};
use crate::limits::{Limits, read_bounded, text_from_bytes};
use crate::model::Hash;
use crate::pep::Version;

/// One row of a RECORD file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordEntry {
    /// The path, relative to `site-packages` (it may climb out with `..`, for scripts).
    pub path: String,
    /// The file's hash, with the digest converted to hex; none for RECORD itself and bytecode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<Hash>,
    /// The file's size in bytes, when listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// 1-based line in RECORD.
    pub line: u32,
}

/// Parses RECORD text (Python's `csv` default dialect: `,` separated, `"` quoted, `""` escapes a
/// quote). A row with a malformed hash or size is an error naming its line.
pub fn parse_record(path: &Path, text: &str) -> Result<Vec<RecordEntry>, Error> {
    let mut entries = Vec::new();
    for (index, row) in csv_rows(text).enumerate() {
        let line = saturate(index + 1);
        let origin = || Origin::line(path, line);
        let fields = row.map_err(|message| Error::new(origin(), ErrorKind::Syntax(message)))?;
        let mut fields = fields.into_iter();
        let Some(file) = fields.next().filter(|f| !f.is_empty()) else {
            continue;
        };
        let hash_field = fields.next().unwrap_or_default();
        let size_field = fields.next().unwrap_or_default();
        let hash = if hash_field.is_empty() {
            None
        } else {
            Some(record_hash(&hash_field).ok_or_else(|| {
                Error::new(
                    origin(),
                    ErrorKind::Syntax(format!(
                        "hash {hash_field:?} is not ALGORITHM=URLSAFE-BASE64"
                    )),
                )
            })?)
        };
        let size = if size_field.is_empty() {
            None
        } else {
            Some(size_field.trim().parse::<u64>().map_err(|_| {
                Error::new(
                    origin(),
                    ErrorKind::Syntax(format!("size {size_field:?} is not a number")),
                )
            })?)
        };
        entries.push(RecordEntry {
            path: file,
            hash,
            size,
            line,
        });
    }
    Ok(entries)
}

/// `sha256=<urlsafe base64 without padding>` → a hex [`Hash`].
fn record_hash(field: &str) -> Option<Hash> {
    let (algorithm, encoded) = field.split_once('=')?;
    // Some writers pad; the format says not to, and both decode the same.
    let encoded = encoded.trim_end_matches('=');
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    Hash::from_hex(algorithm, &hex(&digest))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// CSV rows, one per line (RECORD paths never hold newlines; a quoted field that would span
/// lines is reported as an unterminated quote).
fn csv_rows(text: &str) -> impl Iterator<Item = Result<Vec<String>, String>> + '_ {
    text.lines().filter(|l| !l.trim().is_empty()).map(|line| {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars().peekable();
        let mut quoted = false;
        let mut at_field_start = true;
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                '"' if at_field_start => quoted = true,
                ',' if !quoted => {
                    fields.push(std::mem::take(&mut field));
                    at_field_start = true;
                    continue;
                }
                c => field.push(c),
            }
            at_field_start = false;
        }
        if quoted {
            return Err("unterminated quoted field".to_string());
        }
        fields.push(field);
        Ok(fields)
    })
}

/// A way an installed distribution differs from its RECORD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RecordIssue {
    /// The distribution has no RECORD: what it installed cannot be checked.
    RecordMissing,
    /// A listed file is not there.
    Missing {
        /// The path as RECORD lists it.
        path: String,
    },
    /// A listed file's content does not hash to the listed value.
    HashMismatch {
        /// The path as RECORD lists it.
        path: String,
        /// The hash RECORD lists.
        expected: Hash,
        /// The hash of the file on disk.
        actual: Hash,
    },
    /// A listed file's size differs from the listed size.
    SizeMismatch {
        /// The path as RECORD lists it.
        path: String,
        /// The size RECORD lists.
        expected: u64,
        /// The size on disk.
        actual: u64,
    },
    /// A listed path is a folder, a symbolic link or another non-regular file.
    NotAFile {
        /// The path as RECORD lists it.
        path: String,
    },
    /// A listed path leads outside the environment; it is not read.
    OutsideEnvironment {
        /// The path as RECORD lists it.
        path: String,
    },
    /// A listed hash uses an algorithm this check cannot compute.
    UnsupportedAlgorithm {
        /// The path as RECORD lists it.
        path: String,
        /// The algorithm named.
        algorithm: String,
    },
    /// A listed file could not be read.
    Unreadable {
        /// The path as RECORD lists it.
        path: String,
        /// Why.
        message: String,
    },
    /// RECORD exists but cannot be read as a RECORD (a malformed row, not UTF-8, too large).
    MalformedRecord {
        /// The reader's error, naming the line.
        message: String,
    },
    /// A file inside one of the distribution's own folders that no RECORD lists.
    Unlisted {
        /// The path relative to `site-packages`, with `/` separators.
        path: String,
    },
    /// The walk of the distribution's folders stopped at [`Limits::max_walked_files`].
    WalkLimitReached {
        /// The limit in force.
        limit: usize,
    },
}

/// The outcome of checking one distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordCheck {
    /// The distribution's normalised name, from its folder name.
    pub name: String,
    /// Its version, from its folder name, if valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// The `*.dist-info` folder.
    pub dist_info: PathBuf,
    /// What differs; empty when everything matches.
    pub issues: Vec<RecordIssue>,
}

/// Checks every distribution of an environment (a venv root or a `site-packages` folder)
/// against its RECORD. A file is unlisted only if no distribution's RECORD lists it, so
/// namespace packages that share a folder are not reported.
pub fn check_environment_records(path: &Path, limits: &Limits) -> Result<Vec<RecordCheck>, Error> {
    let layout = find_site_packages(path)?;
    let mut checks = Vec::new();
    for site_packages in &layout.site_packages {
        let site_packages =
            fs::canonicalize(site_packages).map_err(|e| Error::io(site_packages, e))?;
        let boundary = environment_boundary(&site_packages, layout.root.as_deref());
        let folders = dist_info_folders(&site_packages, limits)?;
        let mut records = Vec::new();
        let mut listed_everywhere = HashSet::new();
        for dist_info in &folders {
            let entries = read_record(dist_info, limits);
            if let Ok(Some(entries)) = &entries {
                for entry in entries {
                    if let Some(path) = resolve(&site_packages, &entry.path) {
                        listed_everywhere.insert(path);
                    }
                }
            }
            records.push(entries);
        }
        let work: Vec<_> = folders.iter().zip(records).collect();
        // The distributions are checked on every core (re-hashing is most of the time), each
        // thread taking the next one in turn; the results keep the folders' order.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(8)
            .min(work.len().max(1));
        let check_one = |i: usize, cache: &mut CheckCache| {
            let (dist_info, entries) = &work[i];
            // One unreadable RECORD is that distribution's issue; the others are still checked.
            let issues = match entries {
                Ok(entries) => check_entries(
                    &site_packages,
                    &boundary,
                    dist_info,
                    entries.as_deref(),
                    &listed_everywhere,
                    limits,
                    cache,
                ),
                Err(e) => vec![RecordIssue::MalformedRecord {
                    message: e.to_string(),
                }],
            };
            record_check(dist_info, issues)
        };
        let mut done: Vec<(usize, RecordCheck)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut cache = CheckCache::default();
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= work.len() {
                                return done;
                            }
                            done.push((i, check_one(i, &mut cache)));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        if done.len() != work.len() {
            // A checking thread failed: check the rest here rather than report less.
            let have: HashSet<usize> = done.iter().map(|(i, _)| *i).collect();
            let mut cache = CheckCache::default();
            for i in (0..work.len()).filter(|i| !have.contains(i)) {
                done.push((i, check_one(i, &mut cache)));
            }
        }
        done.sort_by_key(|(i, _)| *i);
        checks.extend(done.into_iter().map(|(_, check)| check));
    }
    Ok(checks)
}

/// What one checking thread reuses from file to file: a read buffer, and the real path of
/// each folder it has resolved (files of one folder share it).
#[derive(Default)]
struct CheckCache {
    buffer: Vec<u8>,
    real_folders: std::collections::HashMap<PathBuf, Option<PathBuf>>,
}

impl CheckCache {
    /// Whether `path` (a regular file, not a link: its own metadata says so) really lies inside
    /// `boundary`: its folder's real path, with links on the way resolved, does.
    fn is_inside(&mut self, path: &Path, boundary: &Path) -> bool {
        let Some(parent) = path.parent() else {
            return false;
        };
        let real = self
            .real_folders
            .entry(parent.to_path_buf())
            .or_insert_with(|| fs::canonicalize(parent).ok());
        real.as_ref().is_some_and(|r| r.starts_with(boundary))
    }
}

/// Checks one `*.dist-info` folder (inside `site_packages`) against its RECORD. Listed paths may
/// lead anywhere inside `boundary` (the environment root; `site_packages` itself when there is no
/// known root). Files of other distributions sharing a folder count as unlisted here; use
/// [`check_environment_records`] to check a whole environment without that.
pub fn check_record(
    site_packages: &Path,
    dist_info: &Path,
    boundary: Option<&Path>,
    limits: &Limits,
) -> Result<RecordCheck, Error> {
    let site_packages = fs::canonicalize(site_packages).map_err(|e| Error::io(site_packages, e))?;
    let boundary = environment_boundary(&site_packages, boundary);
    let entries = read_record(dist_info, limits)?;
    let listed: HashSet<PathBuf> = entries
        .iter()
        .flatten()
        .filter_map(|e| resolve(&site_packages, &e.path))
        .collect();
    let issues = check_entries(
        &site_packages,
        &boundary,
        dist_info,
        entries.as_deref(),
        &listed,
        limits,
        &mut CheckCache::default(),
    );
    Ok(record_check(dist_info, issues))
}

fn record_check(dist_info: &Path, issues: Vec<RecordIssue>) -> RecordCheck {
    let folder = dist_info
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = folder.strip_suffix(".dist-info").unwrap_or(&folder);
    let (name, version) = match stem.split_once('-') {
        Some((name, version)) => (name, crate::pep::parse_version(version).ok()),
        None => (stem, None),
    };
    RecordCheck {
        name: crate::pep::normalize_name(name),
        version,
        dist_info: dist_info.to_path_buf(),
        issues,
    }
}

fn environment_boundary(site_packages: &Path, root: Option<&Path>) -> PathBuf {
    root.and_then(|r| fs::canonicalize(r).ok())
        .filter(|r| site_packages.starts_with(r))
        .unwrap_or_else(|| site_packages.to_path_buf())
}

/// RECORD's entries, or `None` when there is no RECORD.
fn read_record(dist_info: &Path, limits: &Limits) -> Result<Option<Vec<RecordEntry>>, Error> {
    let path = dist_info.join("RECORD");
    let bytes = match read_bounded(&path, limits.max_record_size) {
        Ok(bytes) => bytes,
        Err(Error {
            kind: ErrorKind::Io(e),
            ..
        }) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let text = text_from_bytes(&path, bytes)?;
    parse_record(&path, &text).map(Some)
}

/// `site_packages/relative`, normalised lexically (`..` resolved), or `None` if it climbs above
/// the file system root.
fn resolve(site_packages: &Path, relative: &str) -> Option<PathBuf> {
    let joined = site_packages.join(relative.replace('\\', "/"));
    let mut normalised = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                if !normalised.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => normalised.push(other.as_os_str()),
        }
    }
    Some(normalised)
}

/// Whether a listed path is bytecode or a bytecode folder, which installers list without having
/// written it: pip lists `__pycache__/*.pyc` it compiles (skipped with `--no-compile`), and
/// virtualenv's seeder lists `pkg/mod.cpython-311.pyc` and `pkg/__pycache__` rows for pip and
/// setuptools that it never writes. Absent bytecode cannot run; Python recompiles from source.
fn is_optional_bytecode(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "pyc" || e == "pyo")
        || path.file_name().is_some_and(|n| n == "__pycache__")
}

fn is_bytecode_cache(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "pyc")
        && path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "__pycache__")
}

fn check_entries(
    site_packages: &Path,
    boundary: &Path,
    dist_info: &Path,
    entries: Option<&[RecordEntry]>,
    listed_everywhere: &HashSet<PathBuf>,
    limits: &Limits,
    cache: &mut CheckCache,
) -> Vec<RecordIssue> {
    let Some(entries) = entries else {
        return vec![RecordIssue::RecordMissing];
    };
    let mut issues = Vec::new();
    // The distribution's own top-level folders inside site-packages.
    let mut own_folders = BTreeSet::new();
    if let Some(name) = dist_info.file_name() {
        own_folders.insert(site_packages.join(name));
    }
    for entry in entries {
        let Some(path) = resolve(site_packages, &entry.path).filter(|p| p.starts_with(boundary))
        else {
            issues.push(RecordIssue::OutsideEnvironment {
                path: entry.path.clone(),
            });
            continue;
        };
        if let Ok(relative) = path.strip_prefix(site_packages) {
            let mut components = relative.components();
            if let (Some(first), Some(_)) = (components.next(), components.next())
                && first.as_os_str() != "__pycache__"
            {
                own_folders.insert(site_packages.join(first));
            }
        }
        check_entry(entry, &path, boundary, &mut issues, cache);
    }
    find_unlisted(
        site_packages,
        &own_folders,
        listed_everywhere,
        limits,
        &mut issues,
    );
    issues
}

fn check_entry(
    entry: &RecordEntry,
    path: &Path,
    boundary: &Path,
    issues: &mut Vec<RecordIssue>,
    cache: &mut CheckCache,
) {
    let listed = || entry.path.clone();
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !is_optional_bytecode(path) {
                issues.push(RecordIssue::Missing { path: listed() });
            }
            return;
        }
        Err(e) => {
            issues.push(RecordIssue::Unreadable {
                path: listed(),
                message: e.to_string(),
            });
            return;
        }
    };
    if metadata.is_dir() && path.file_name().is_some_and(|n| n == "__pycache__") {
        // virtualenv lists the folder itself; its files are checked as bytecode caches.
        return;
    }
    if !metadata.file_type().is_file() {
        issues.push(RecordIssue::NotAFile { path: listed() });
        return;
    }
    // The path is inside the environment as written; a linked folder on the way could still
    // lead elsewhere, and what is outside is not read.
    if !cache.is_inside(path, boundary) {
        issues.push(RecordIssue::OutsideEnvironment { path: listed() });
        return;
    }
    if let Some(expected) = entry.size
        && expected != metadata.len()
    {
        issues.push(RecordIssue::SizeMismatch {
            path: listed(),
            expected,
            actual: metadata.len(),
        });
    }
    let Some(expected) = &entry.hash else {
        return;
    };
    match hash_file(path, &expected.algorithm, &mut cache.buffer) {
        Ok(Some(actual)) if actual != *expected => issues.push(RecordIssue::HashMismatch {
            path: listed(),
            expected: expected.clone(),
            actual,
        }),
        Ok(Some(_)) => {}
        Ok(None) => issues.push(RecordIssue::UnsupportedAlgorithm {
            path: listed(),
            algorithm: expected.algorithm.clone(),
        }),
        Err(e) => issues.push(RecordIssue::Unreadable {
            path: listed(),
            message: e.to_string(),
        }),
    }
}

/// The file's hash with `algorithm`, streamed; `None` for an algorithm this check cannot compute.
/// `buffer` is reused from file to file, so that no read zeroes a fresh one.
fn hash_file(path: &Path, algorithm: &str, buffer: &mut Vec<u8>) -> std::io::Result<Option<Hash>> {
    fn stream<D: Digest>(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
        let mut file = fs::File::open(path)?;
        let mut hasher = D::new();
        buffer.resize(64 * 1024, 0);
        loop {
            let n = file.read(buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(buffer.get(..n).unwrap_or_default());
        }
        Ok(hasher.finalize().to_vec())
    }
    let digest = match algorithm {
        "sha256" => stream::<sha2::Sha256>(path, buffer)?,
        "sha384" => stream::<sha2::Sha384>(path, buffer)?,
        "sha512" => stream::<sha2::Sha512>(path, buffer)?,
        _ => return Ok(None),
    };
    Ok(Hash::from_hex(algorithm, &hex(&digest)))
}

/// Files under `folders` that no RECORD lists (bytecode caches aside). Symbolic links are not
/// followed: a link is itself a file that should be listed.
fn find_unlisted(
    site_packages: &Path,
    folders: &BTreeSet<PathBuf>,
    listed: &HashSet<PathBuf>,
    limits: &Limits,
    issues: &mut Vec<RecordIssue>,
) {
    let mut walked = 0usize;
    let mut unlisted = Vec::new();
    let mut stack: Vec<PathBuf> = folders.iter().rev().cloned().collect();
    while let Some(folder) = stack.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        let mut children: Vec<_> = entries.filter_map(Result::ok).collect();
        children.sort_by_key(fs::DirEntry::file_name);
        for child in children.into_iter().rev() {
            walked += 1;
            if walked > limits.max_walked_files {
                issues.push(RecordIssue::WalkLimitReached {
                    limit: limits.max_walked_files,
                });
                return;
            }
            let path = child.path();
            let is_dir = child.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(path);
            } else if !listed.contains(&path) && !is_bytecode_cache(&path) {
                let relative = path.strip_prefix(site_packages).unwrap_or(&path);
                unlisted.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    unlisted.sort();
    issues.extend(
        unlisted
            .into_iter()
            .map(|path| RecordIssue::Unlisted { path }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_with_quotes_hashes_and_sizes() {
        let entries = parse_record(
            Path::new("RECORD"),
            "pkg/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\"pkg/a,b.py\",,\npkg-1.0.dist-info/RECORD,,\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[0].hash.as_ref().map(|h| h.hex.as_str()),
            // SHA-256 of the empty file.
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(entries[0].size, Some(0));
        assert_eq!(entries[1].path, "pkg/a,b.py");
        assert_eq!(entries[2].hash, None);
        assert_eq!(entries[2].line, 3);
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let e = parse_record(Path::new("RECORD"), "a,sha256=AA,1\nb,sha256=!!,2\n").err();
        assert_eq!(e.map(|e| e.origin.line), Some(Some(2)));
        let e = parse_record(Path::new("RECORD"), "a,,x\n").err();
        assert!(e.is_some_and(|e| e.to_string().contains("not a number")));
        let e = parse_record(Path::new("RECORD"), "\"a,,\n").err();
        assert!(e.is_some_and(|e| e.to_string().contains("unterminated")));
    }

    #[test]
    fn paths_resolve_lexically() {
        let base = Path::new("/env/lib/python3.11/site-packages");
        assert_eq!(
            resolve(base, "../../../bin/tool"),
            Some(PathBuf::from("/env/bin/tool"))
        );
        assert_eq!(resolve(base, "../../../../../../../../x"), None);
        assert!(is_bytecode_cache(Path::new(
            "pkg/__pycache__/a.cpython-311.pyc"
        )));
        assert!(!is_bytecode_cache(Path::new("pkg/a.pyc")));
    }
}
