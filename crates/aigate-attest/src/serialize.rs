//! The model on disk as model-signing sees it: every regular file under the model root (or the
//! root itself, for a single file), hidden files included, ignored paths left out as whole
//! subtrees (matched as paths relative to the root, component by component), symbolic links
//! refused unless allowed; then hashed file by file or shard by shard with
//! `aigate-integrity`'s parallel hashing.

use std::fs;
use std::path::{Path, PathBuf};

use aigate_integrity::hash::{self, FileRange};

use crate::AttestError;
use crate::statement::{MAX_RESOURCES, Resource, Serialization};

/// The paths model-signing leaves out unless told not to, relative to the model root.
pub const DEFAULT_IGNORE_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

/// Deepest folder nesting walked.
const MAX_DEPTH: usize = 256;

/// Ignored paths, normalised to `/`-separated relative paths without `.` components.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ignore {
    paths: Vec<String>,
}

impl Ignore {
    /// Adds `path` (relative to the model root). Absolute paths and paths with `..` cannot
    /// name anything inside the model and are left out, as model-signing leaves them out; a
    /// path naming the root itself would ignore everything and is an error.
    pub(crate) fn add(&mut self, path: &str) -> Result<(), AttestError> {
        if path.starts_with('/') || path.split('/').any(|s| s == "..") {
            return Ok(());
        }
        let normal: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if normal.is_empty() {
            return Err(AttestError::Statement(format!(
                "ignore path `{path}` names the whole model"
            )));
        }
        let joined = normal.join("/");
        if !self.paths.contains(&joined) {
            self.paths.push(joined);
        }
        Ok(())
    }

    fn matches(&self, rel: &str) -> bool {
        self.paths.iter().any(|p| {
            rel == p
                || (rel.len() > p.len()
                    && rel.starts_with(p.as_str())
                    && rel.as_bytes()[p.len()] == b'/')
        })
    }

    /// The paths, sorted.
    pub(crate) fn sorted(&self) -> Vec<String> {
        let mut out = self.paths.clone();
        out.sort();
        out
    }
}

/// One regular file of the model.
#[derive(Debug, Clone)]
pub(crate) struct LocalFile {
    /// Relative to the root, `/`-separated; `.` when the model is this one file.
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
}

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub(crate) files: Vec<LocalFile>,
    /// Links (when not allowed) and special files, with what they are.
    pub(crate) not_regular: Vec<(String, &'static str)>,
    /// Whether the model is a single file.
    pub(crate) single_file: bool,
}

fn describe(ft: fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symbolic link"
    } else {
        "a special file (device, FIFO or socket)"
    }
}

/// Lists the model at `root`.
pub(crate) fn walk(
    root: &Path,
    allow_symlinks: bool,
    ignore: &Ignore,
) -> Result<Walk, AttestError> {
    let shown = root.display().to_string();
    let meta = fs::symlink_metadata(root).map_err(|e| AttestError::io(&shown, e))?;
    let mut out = Walk::default();
    let meta = if meta.file_type().is_symlink() {
        if !allow_symlinks {
            return Err(AttestError::Model {
                path: shown,
                message: "the model path is a symbolic link, and links are not allowed".into(),
            });
        }
        fs::metadata(root).map_err(|e| AttestError::io(&shown, e))?
    } else {
        meta
    };
    if meta.is_file() {
        out.single_file = true;
        out.files.push(LocalFile {
            name: ".".into(),
            path: root.to_path_buf(),
            size: meta.len(),
        });
        return Ok(out);
    }
    if !meta.is_dir() {
        return Err(AttestError::Model {
            path: shown,
            message: "is neither a file nor a folder".into(),
        });
    }
    let canonical_root = fs::canonicalize(root).map_err(|e| AttestError::io(&shown, e))?;
    // (folder on disk, its name relative to the root, canonical folders above it)
    let mut stack: Vec<(PathBuf, String, Vec<PathBuf>)> =
        vec![(root.to_path_buf(), String::new(), vec![canonical_root])];
    while let Some((dir, rel, ancestors)) = stack.pop() {
        let entries =
            fs::read_dir(&dir).map_err(|e| AttestError::io(dir.display().to_string(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| AttestError::io(dir.display().to_string(), e))?;
            let os_name = entry.file_name();
            let Some(name) = os_name.to_str() else {
                return Err(AttestError::Model {
                    path: entry.path().display().to_string(),
                    message: "the file name is not UTF-8, so no signature can name it".into(),
                });
            };
            let child_rel = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            if ignore.matches(&child_rel) {
                continue;
            }
            let path = entry.path();
            let ft = entry
                .file_type()
                .map_err(|e| AttestError::io(path.display().to_string(), e))?;
            let (is_file, is_dir, size) = if ft.is_symlink() {
                if !allow_symlinks {
                    out.not_regular.push((child_rel, describe(ft)));
                    continue;
                }
                match fs::metadata(&path) {
                    Ok(m) => (m.is_file(), m.is_dir(), m.len()),
                    Err(e) => return Err(AttestError::io(path.display().to_string(), e)),
                }
            } else if ft.is_file() {
                let m = entry
                    .metadata()
                    .map_err(|e| AttestError::io(path.display().to_string(), e))?;
                (true, false, m.len())
            } else {
                (false, ft.is_dir(), 0)
            };
            if is_file {
                out.files.push(LocalFile {
                    name: child_rel,
                    path,
                    size,
                });
            } else if is_dir {
                let canonical = fs::canonicalize(&path)
                    .map_err(|e| AttestError::io(path.display().to_string(), e))?;
                if ancestors.contains(&canonical) {
                    return Err(AttestError::Model {
                        path: path.display().to_string(),
                        message: "a symbolic link loops back to a folder above it".into(),
                    });
                }
                if ancestors.len() >= MAX_DEPTH {
                    return Err(AttestError::Model {
                        path: path.display().to_string(),
                        message: format!("folders nest deeper than {MAX_DEPTH} levels"),
                    });
                }
                let mut next = ancestors.clone();
                next.push(canonical);
                stack.push((path, child_rel, next));
            } else {
                out.not_regular.push((child_rel, describe(ft)));
            }
        }
    }
    out.files.sort_by(|a, b| a.name.cmp(&b.name));
    out.not_regular.sort();
    Ok(out)
}

/// Hashes the files as `serialization` says: one resource per file, or per shard (none for
/// an empty file, as model-signing writes). Resources come back sorted by name, the order the
/// OMS spec asks for.
pub(crate) fn hash_model(
    files: &[LocalFile],
    serialization: Serialization,
) -> Result<Vec<Resource>, AttestError> {
    let io_error = |f: &LocalFile, e| AttestError::io(f.path.display().to_string(), e);
    let mut resources = match serialization {
        Serialization::Files { hash } => {
            if files.len() > MAX_RESOURCES {
                return Err(AttestError::Options(format!(
                    "the model has {} files; a manifest holds at most {MAX_RESOURCES}",
                    files.len()
                )));
            }
            let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
            files
                .iter()
                .zip(hash::hash_files(&paths, hash))
                .map(|(f, got)| {
                    Ok(Resource {
                        file: f.name.clone(),
                        range: None,
                        digest: got.map_err(|e| io_error(f, e))?.digest.0.to_vec(),
                    })
                })
                .collect::<Result<Vec<_>, AttestError>>()?
        }
        Serialization::Shards { hash, shard_size } => {
            let count: u64 = files.iter().map(|f| f.size.div_ceil(shard_size)).sum();
            if count > MAX_RESOURCES as u64 {
                return Err(AttestError::Options(format!(
                    "{count} shards of {shard_size} bytes; a manifest holds at most {MAX_RESOURCES}"
                )));
            }
            let mut owners = Vec::new();
            let mut ranges = Vec::new();
            for (i, f) in files.iter().enumerate() {
                let mut start = 0;
                while start < f.size {
                    let end = f.size.min(start.saturating_add(shard_size));
                    owners.push((i, start, end));
                    ranges.push(FileRange {
                        path: f.path.clone(),
                        offset: start,
                        len: end - start,
                    });
                    start = end;
                }
            }
            owners
                .into_iter()
                .zip(hash::hash_ranges(&ranges, hash))
                .map(|((i, start, end), got)| {
                    let f = &files[i];
                    Ok(Resource {
                        file: f.name.clone(),
                        range: Some((start, end)),
                        digest: got.map_err(|e| io_error(f, e))?.0.to_vec(),
                    })
                })
                .collect::<Result<Vec<_>, AttestError>>()?
        }
    };
    resources.sort_by_cached_key(Resource::name);
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_matches_whole_components_from_the_root() {
        let mut ignore = Ignore::default();
        for p in [".git", "./cache/", "a/b", "/abs", "../up"] {
            assert!(ignore.add(p).is_ok());
        }
        assert_eq!(ignore.sorted(), vec![".git", "a/b", "cache"]);
        assert!(ignore.matches(".git"));
        assert!(ignore.matches(".git/HEAD"));
        assert!(!ignore.matches(".github"));
        assert!(!ignore.matches("sub/.git"));
        assert!(ignore.matches("cache/x"));
        assert!(!ignore.matches("a/bc"));
        assert!(ignore.add(".").is_err());
    }
}
