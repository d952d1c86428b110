//! The walker over paths: files as given, directories recursively in a stable order, and inputs
//! that are not regular files (standard input as `-`, pipes, devices) as streams. Nothing is
//! dropped silently: every entry is scanned, or is an error, or is a finding.
//!
//! Links to files are followed (a loader would follow them). Links to directories are followed
//! when they lead inside the tree being scanned, each directory once (so a link cycle ends);
//! a link that leads out of the tree is a finding, its content not analysed.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use aigate_report::{Finding, InputError, Location};

use crate::rules::{WALK_LINK_NOT_FOLLOWED, WALK_SPECIAL_FILE};

/// How an input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A regular file, read with positional reads.
    File,
    /// Read once from start to end: standard input, a pipe, a device.
    Stream,
}

/// An input to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// Where it is (`-` for standard input).
    pub path: PathBuf,
    /// How findings name it.
    pub display: String,
    /// Its size, where known (0 for streams).
    pub size: u64,
    /// How it is read.
    pub kind: InputKind,
}

impl Walked {
    /// A regular file.
    pub fn file(path: PathBuf, display: String, size: u64) -> Self {
        Walked {
            path,
            display,
            size,
            kind: InputKind::File,
        }
    }
}

/// What a walk found: inputs, paths that could not be read, and entries it did not follow.
#[derive(Debug, Default)]
pub struct Walk {
    /// Inputs to scan, in a stable order.
    pub files: Vec<Walked>,
    /// Paths that could not be read.
    pub errors: Vec<InputError>,
    /// Links not followed and special files inside folders.
    pub findings: Vec<Finding>,
}

/// Directories no loader reads models from and that only duplicate the tree's content.
const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn"];

/// The name standard input goes by.
pub const STDIN: &str = "-";

/// Lists the inputs under `roots`: each one given, and every file below each directory given,
/// sorted by path.
pub fn walk(roots: &[PathBuf]) -> Walk {
    let mut walk = Walk::default();
    for root in roots {
        if root.as_os_str() == STDIN {
            walk.files.push(Walked {
                path: root.clone(),
                display: "<stdin>".into(),
                size: 0,
                kind: InputKind::Stream,
            });
            continue;
        }
        let mut visited = HashSet::new();
        let tree = fs::canonicalize(root).ok();
        visit(root, tree.as_deref(), true, &mut visited, &mut walk);
    }
    walk
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn error(walk: &mut Walk, path: &Path, message: String) {
    walk.errors.push(InputError::new(display(path), message));
}

fn visit(
    path: &Path,
    tree: Option<&Path>,
    given: bool,
    visited: &mut HashSet<PathBuf>,
    walk: &mut Walk,
) {
    let link = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) => return error(walk, path, err.to_string().to_lowercase()),
    };
    let is_link = link.file_type().is_symlink();
    let meta = if is_link {
        match fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) => {
                return error(
                    walk,
                    path,
                    format!("broken symbolic link: {}", err.to_string().to_lowercase()),
                );
            }
        }
    } else {
        link
    };
    if meta.is_file() {
        walk.files
            .push(Walked::file(path.to_path_buf(), display(path), meta.len()));
        return;
    }
    if !meta.is_dir() {
        if given {
            walk.files.push(Walked {
                path: path.to_path_buf(),
                display: display(path),
                size: 0,
                kind: InputKind::Stream,
            });
        } else {
            walk.findings.push(Finding::new(
                &WALK_SPECIAL_FILE,
                "a special file (pipe, socket or device) inside the tree; it was not read",
                Location::file(display(path)),
            ));
        }
        return;
    }
    let Ok(canonical) = fs::canonicalize(path) else {
        return error(walk, path, "cannot resolve the folder's real path".into());
    };
    if is_link && !given && !tree.is_some_and(|t| canonical.starts_with(t)) {
        walk.findings.push(
            Finding::new(
                &WALK_LINK_NOT_FOLLOWED,
                format!(
                    "a link to a folder outside the tree being scanned ({}); its content was not analysed",
                    canonical.display()
                ),
                Location::file(display(path)),
            )
            .with_hint(format!("scan {} itself if its content matters", canonical.display())),
        );
        return;
    }
    if !visited.insert(canonical) {
        return; // reached through another link: already walked
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(err) => return error(walk, path, err.to_string().to_lowercase()),
    };
    let mut children = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => children.push(entry.path()),
            Err(err) => error(walk, path, err.to_string().to_lowercase()),
        }
    }
    children.sort();
    for child in children {
        let skipped = child
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SKIPPED_DIRS.contains(&n));
        if skipped && child.is_dir() {
            continue;
        }
        visit(&child, tree, false, visited, walk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(walk: &Walk, root: &Path) -> Vec<String> {
        walk.files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn walks_sorted_and_reports_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.pkl", "a.pkl", "sub/c.pt", ".git/objects/x"] {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, b"x").unwrap();
        }
        let walk = walk(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        assert_eq!(names(&walk, dir.path()), ["a.pkl", "b.pkl", "sub/c.pt"]);
        assert_eq!(walk.errors.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn links_to_folders_inside_the_tree_are_followed_once_and_outside_ones_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("models");
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(root.join("real")).unwrap();
        fs::create_dir_all(&elsewhere).unwrap();
        fs::write(root.join("real/w.pkl"), b"x").unwrap();
        fs::write(elsewhere.join("evil.pkl"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("alias")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("real/loop")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("out")).unwrap();
        let walk = walk(std::slice::from_ref(&root));
        // `alias` and `real` are one folder: walked once, under the first name met.
        assert_eq!(names(&walk, &root), ["alias/w.pkl"]);
        let rules: Vec<(&str, &str)> = walk
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.location.path.as_str()))
            .collect();
        let out = root.join("out").to_string_lossy().into_owned();
        assert_eq!(rules, [("walk-link-not-followed", out.as_str())]);
        // Named on the command line, the outside folder is scanned.
        let given = super::walk(&[root.join("out")]);
        assert_eq!(given.files.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn inputs_that_are_not_regular_files_are_streams_and_inside_folders_findings() {
        let walk = walk(&[PathBuf::from("/dev/null"), PathBuf::from(STDIN)]);
        let kinds: Vec<InputKind> = walk.files.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [InputKind::Stream, InputKind::Stream]);
        assert_eq!(walk.files[1].display, "<stdin>");
    }
}
