//! The files of an artifact as they are on disk, without following symbolic links: a link is
//! reported as a link, never as the file it points to.

use std::fs;
use std::io;
use std::path::Path;

use crate::paths::{PROJECT_FILES, ROOT, display_name, join};

/// What a path on disk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A symbolic link (to anything).
    Symlink,
    /// A device, socket or pipe.
    Other,
    /// An entry whose name is not UTF-8; its listed name is escaped (`\xNN`), so it cannot
    /// be pinned, and is never skipped.
    NonUtf8Name,
}

impl EntryKind {
    /// A word for messages.
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::File => "a regular file",
            EntryKind::Symlink => "a symbolic link",
            EntryKind::Other => "a special file",
            EntryKind::NonUtf8Name => "an entry whose name is not UTF-8",
        }
    }
}

/// Every entry at or below `rel` (normalised, project-relative), sorted, directories
/// descended, links not followed. A missing path gives an empty list. At the project root the
/// files aigate keeps there ([`PROJECT_FILES`]) are left out: they are never an artifact's.
pub fn list(root: &Path, rel: &str) -> io::Result<Vec<(String, EntryKind)>> {
    let mut out = Vec::new();
    visit(root, rel, &mut out)?;
    out.sort();
    Ok(out)
}

fn visit(root: &Path, rel: &str, out: &mut Vec<(String, EntryKind)>) -> io::Result<()> {
    let meta = match fs::symlink_metadata(root.join(rel)) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        out.push((rel.to_owned(), EntryKind::Symlink));
    } else if ft.is_file() {
        out.push((rel.to_owned(), EntryKind::File));
    } else if ft.is_dir() {
        for entry in fs::read_dir(root.join(rel))? {
            let entry = entry?;
            match display_name(&entry.file_name()) {
                Ok(name) => {
                    if rel == ROOT && PROJECT_FILES.contains(&name.as_str()) {
                        continue;
                    }
                    visit(root, &join(rel, &name), out)?;
                }
                Err(escaped) => out.push((join(rel, &escaped), EntryKind::NonUtf8Name)),
            }
        }
    } else {
        out.push((rel.to_owned(), EntryKind::Other));
    }
    Ok(())
}

/// Whether `rel` resolves, through any links on the way, to a place inside `root`.
pub fn resolves_inside(root: &Path, rel: &str) -> bool {
    let (Ok(root), Ok(target)) = (fs::canonicalize(root), fs::canonicalize(root.join(rel))) else {
        return true; // missing paths are reported as missing, not as escapes
    };
    target.starts_with(root)
}
