//! Reading every record of an advisory source: an OSV `all.zip` (one JSON record per member)
//! or a folder (the PyPA layout `vulns/<package>/<ID>.yaml`, or OSV JSON files), walked to a
//! bounded depth without following links. Every read is bounded; a record that cannot be read
//! is counted, never fatal. A zip whose member names would climb out of a folder is refused
//! whole: such an archive was not written by an advisory database.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::osv::{self, Advisory, Parsed};
use crate::yaml;

/// Largest record read; real ones are under 100 KiB.
pub const MAX_RECORD_BYTES: u64 = 4 << 20;
/// Most records in one source (OSV's PyPI dump has some tens of thousands).
pub const MAX_RECORDS: u64 = 1 << 20;
/// Largest total of record bytes in one source.
pub const MAX_TOTAL_BYTES: u64 = 8 << 30;
/// Deepest folder walked.
const MAX_DEPTH: usize = 8;

/// What a source held.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The advisories about PyPI packages.
    pub advisories: Vec<Advisory>,
    /// Records read.
    pub records: u64,
    /// Withdrawn records (ignored).
    pub withdrawn: u64,
    /// Records about other ecosystems only (skipped).
    pub other: u64,
    /// Records that could not be read, with the first few reasons.
    pub malformed: u64,
    /// Up to ten `name: reason` of malformed records.
    pub malformed_examples: Vec<String>,
    /// The SHA-256 of the source: of the zip's bytes, or of the sorted list of every record
    /// file's path and SHA-256 for a folder.
    pub sha256: String,
}

impl Loaded {
    fn add(&mut self, name: &str, bytes: &[u8]) {
        self.records += 1;
        let parsed = parse_record(name, bytes);
        match parsed {
            Parsed::Advisory(a) => self.advisories.push(a),
            Parsed::Withdrawn => self.withdrawn += 1,
            Parsed::OtherEcosystem => self.other += 1,
            Parsed::Malformed(why) => {
                self.malformed += 1;
                if self.malformed_examples.len() < 10 {
                    self.malformed_examples.push(format!("{name}: {why}"));
                }
            }
        }
    }
}

/// Reads one record file: JSON when its name ends in `.json`, YAML otherwise.
pub fn parse_record(name: &str, bytes: &[u8]) -> Parsed {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Parsed::Malformed("not UTF-8".into());
    };
    let value = if name.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        yaml::to_json(text)
    };
    match value {
        Ok(value) => osv::parse(&value),
        Err(e) => Parsed::Malformed(e),
    }
}

/// Whether a name is a record's: `.json`, `.yaml` or `.yml`.
fn is_record_name(name: &str) -> bool {
    [".json", ".yaml", ".yml"].iter().any(|e| name.ends_with(e))
}

/// Whether a zip member name stays inside the folder it would be extracted to.
pub fn is_safe_member_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.starts_with('\\')
        && !name.contains('\0')
        && name.as_bytes().get(1).is_none_or(|b| *b != b':')
        && name.split(['/', '\\']).all(|part| part != "..")
}

/// Reads every record of `path`: a zip file or a folder.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        load_folder(path)
    } else {
        load_zip(path)
    }
}

/// Reads the records of an OSV zip.
pub fn load_zip(path: &Path) -> Result<Loaded, Error> {
    let shown = path.display().to_string();
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => hasher.update(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let zip_error = |e: zip::result::ZipError| Error::Zip {
        path: shown.clone(),
        message: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(file).map_err(zip_error)?;
    if archive.len() as u64 > MAX_RECORDS {
        return Err(Error::TooLarge {
            path: shown,
            what: "the number of members",
            limit: MAX_RECORDS,
        });
    }
    // Every name is checked before any record is read: the archive is refused whole.
    for name in archive.file_names() {
        let name = name.map_err(zip_error)?;
        if !is_safe_member_name(&name) {
            return Err(Error::UnsafeMemberName {
                path: shown,
                member: name.into_owned(),
            });
        }
    }
    let mut loaded = Loaded {
        sha256: hex(&hasher.finalize()),
        ..Loaded::default()
    };
    let mut total = 0u64;
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(zip_error)?;
        let name = member.name().map_err(zip_error)?.into_owned();
        if member.is_dir() || !is_record_name(&name) {
            continue;
        }
        if member.size() > MAX_RECORD_BYTES {
            loaded.records += 1;
            loaded.malformed += 1;
            continue;
        }
        buf.clear();
        let read = (&mut member)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Zip {
                path: shown.clone(),
                message: format!("{name}: {e}"),
            })?;
        total += read as u64;
        if total > MAX_TOTAL_BYTES {
            return Err(Error::TooLarge {
                path: shown,
                what: "the total size of the records",
                limit: MAX_TOTAL_BYTES,
            });
        }
        if read as u64 > MAX_RECORD_BYTES {
            loaded.records += 1;
            loaded.malformed += 1;
            continue;
        }
        loaded.add(&name, &buf);
    }
    Ok(loaded)
}

/// Every record file under `root`, sorted, relative; links are not followed.
pub fn record_files(root: &Path) -> Result<Vec<(PathBuf, std::fs::Metadata)>, Error> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if meta.is_file()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_record_name)
            {
                if found.len() as u64 >= MAX_RECORDS {
                    return Err(Error::TooLarge {
                        path: root.display().to_string(),
                        what: "the number of records",
                        limit: MAX_RECORDS,
                    });
                }
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                found.push((rel, meta));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Reads the records of a folder.
pub fn load_folder(root: &Path) -> Result<Loaded, Error> {
    let mut loaded = Loaded::default();
    let mut listing = Sha256::new();
    for (rel, meta) in record_files(root)? {
        let name = rel.to_string_lossy().replace('\\', "/");
        if meta.len() > MAX_RECORD_BYTES {
            loaded.records += 1;
            loaded.malformed += 1;
            continue;
        }
        let path = root.join(&rel);
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|f| f.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| Error::io(&path, e))?;
        listing.update(name.as_bytes());
        listing.update(b"\0");
        listing.update(hex(&Sha256::digest(&bytes)).as_bytes());
        listing.update(b"\n");
        loaded.add(&name, &bytes);
    }
    loaded.sha256 = hex(&listing.finalize());
    Ok(loaded)
}

/// Lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_that_climb_out_are_unsafe() {
        for bad in [
            "../x.json",
            "a/../../x.json",
            "/etc/x.json",
            "\\x.json",
            "C:x.json",
            "a\\..\\x",
        ] {
            assert!(!is_safe_member_name(bad), "{bad}");
        }
        for good in ["PYSEC-2021-1.json", "a/b.json", "a..b.json"] {
            assert!(is_safe_member_name(good), "{good}");
        }
    }
}
