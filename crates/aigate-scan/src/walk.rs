//! The walker over paths: files as given, directories recursively in a stable order.

use std::fs;
use std::path::{Path, PathBuf};

use aigate_report::InputError;

/// A file to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// Where it is.
    pub path: PathBuf,
    /// How findings name it.
    pub display: String,
    /// Its size.
    pub size: u64,
}

/// Directories no loader reads models from and that only duplicate the tree's content.
const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn"];

/// Lists the files under `roots`: each file given, and every file below each directory given,
/// sorted by path. Symbolic links to files are followed (a loader would follow them); links to
/// directories are not, so a link cycle cannot loop. Unreadable paths become errors.
pub fn walk(roots: &[PathBuf]) -> (Vec<Walked>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for root in roots {
        visit(root, true, &mut files, &mut errors);
    }
    (files, errors)
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn visit(path: &Path, given: bool, files: &mut Vec<Walked>, errors: &mut Vec<InputError>) {
    let link = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) => {
            errors.push(InputError::new(
                display(path),
                err.to_string().to_lowercase(),
            ));
            return;
        }
    };
    let meta = if link.file_type().is_symlink() {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() && !given => return,
            Ok(meta) => meta,
            Err(err) => {
                errors.push(InputError::new(
                    display(path),
                    format!("broken symbolic link: {}", err.to_string().to_lowercase()),
                ));
                return;
            }
        }
    } else {
        link
    };
    if meta.is_file() {
        files.push(Walked {
            path: path.to_path_buf(),
            display: display(path),
            size: meta.len(),
        });
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(InputError::new(
                display(path),
                err.to_string().to_lowercase(),
            ));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let skipped = child
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SKIPPED_DIRS.contains(&n));
        if skipped && child.is_dir() {
            continue;
        }
        visit(&child, false, files, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_and_reports_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.pkl", "a.pkl", "sub/c.pt", ".git/objects/x"] {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap_or(dir.path())).unwrap();
            fs::write(&p, b"x").unwrap();
        }
        let (files, errors) = walk(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(dir.path())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap()
            })
            .collect();
        assert_eq!(names, ["a.pkl", "b.pkl", "sub/c.pt"]);
        assert_eq!(errors.len(), 1);
    }
}
