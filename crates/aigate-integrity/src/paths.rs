//! Project-relative paths, spelled one way: `/`-separated, no empty or `.` segments, no
//! trailing slash, the project root itself as `.`. Every path aigate pins is normalised here
//! once, so that `models/m/`, `./models/m` and `models//m` are one artifact, and a name is
//! judged by what it can do (climb out with `..`, be absolute), not by the characters it holds:
//! `:` and `\` are ordinary characters of a Unix file name.

use std::ffi::OsStr;

/// The project root, as a normalised path.
pub const ROOT: &str = ".";

/// Files aigate keeps at the project root. They are the project's configuration and state, never
/// part of an artifact, even one whose path is the whole project.
pub const PROJECT_FILES: &[&str] = &["aigate.toml", "aigate.lock", STATE_DIR];

/// The folder at the project root where aigate keeps its own state.
pub const STATE_DIR: &str = ".aigate";

/// The file, in [`STATE_DIR`], that `aigate` locks while it reads and rewrites `aigate.lock` or
/// `aigate.toml`.
pub const LOCK_GUARD: &str = "lock";

/// Why a path cannot be a project-relative path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// It is absolute, or names a drive or a network share.
    #[error("{0:?} is absolute; paths are relative to the project root")]
    Absolute(String),
    /// It climbs out with `..`.
    #[error("{0:?} contains `..`; paths must stay inside the project")]
    ParentSegment(String),
    /// It holds a NUL byte, which no file name can.
    #[error("{0:?} contains a NUL byte")]
    Nul(String),
    /// It is empty.
    #[error("the path is empty")]
    Empty,
}

/// Whether `segment` is a path separator on this platform besides `/`.
fn is_platform_separator(c: char) -> bool {
    cfg!(windows) && c == '\\'
}

/// The one spelling of `path`, or why it cannot be project-relative.
pub fn normalize(path: &str) -> Result<String, PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.contains('\0') {
        return Err(PathError::Nul(path.to_owned()));
    }
    let bytes = path.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    let unc = cfg!(windows) && (path.starts_with("\\\\") || path.starts_with('\\'));
    if path.starts_with('/') || drive || unc {
        return Err(PathError::Absolute(path.to_owned()));
    }
    let mut segments = Vec::new();
    for segment in path.split(|c| c == '/' || is_platform_separator(c)) {
        match segment {
            "" | "." => {}
            ".." => return Err(PathError::ParentSegment(path.to_owned())),
            other => segments.push(other),
        }
    }
    if segments.is_empty() {
        return Ok(ROOT.to_owned());
    }
    Ok(segments.join("/"))
}

/// Whether `path` is already in its one spelling.
pub fn is_normalized(path: &str) -> bool {
    normalize(path).is_ok_and(|n| n == path)
}

/// `base/name`, where `base` may be the root.
pub fn join(base: &str, name: &str) -> String {
    if base == ROOT {
        name.to_owned()
    } else {
        format!("{base}/{name}")
    }
}

/// Whether normalised `path` is `base` or below it.
pub fn is_within(path: &str, base: &str) -> bool {
    base == ROOT
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A file name as text: itself when it is UTF-8, else its bytes with every byte that is not part
/// of valid UTF-8 written `\xNN` (and `\` itself as `\\`), so that nothing is hidden or merged.
pub fn display_name(name: &OsStr) -> Result<String, String> {
    if let Some(text) = name.to_str() {
        return Ok(text.to_owned());
    }
    Err(escape_bytes(os_bytes(name).as_ref()))
}

#[cfg(unix)]
fn os_bytes(name: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(name))
}

#[cfg(not(unix))]
fn os_bytes(name: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Owned(name.to_string_lossy().into_owned().into_bytes())
}

fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(&valid.replace('\\', "\\\\"));
                break;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                out.push_str(&String::from_utf8_lossy(valid).replace('\\', "\\\\"));
                let bad = err.error_len().unwrap_or(after.len());
                for b in &after[..bad] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                rest = &after[bad..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respellings_are_one_path() {
        for spelling in [
            "models/m",
            "models/m/",
            "./models/m",
            "models//m",
            "models/./m",
        ] {
            assert_eq!(normalize(spelling).unwrap(), "models/m", "{spelling}");
        }
        assert_eq!(normalize(".").unwrap(), ".");
        assert_eq!(normalize("./").unwrap(), ".");
        assert!(is_normalized("models/m"));
        assert!(!is_normalized("models/m/"));
    }

    #[test]
    fn escapes_are_refused_and_odd_characters_are_not() {
        assert!(matches!(normalize("/etc"), Err(PathError::Absolute(_))));
        assert!(matches!(normalize("C:/x"), Err(PathError::Absolute(_))));
        assert!(matches!(
            normalize("a/../../b"),
            Err(PathError::ParentSegment(_))
        ));
        assert!(matches!(normalize(".."), Err(PathError::ParentSegment(_))));
        assert!(matches!(normalize(""), Err(PathError::Empty)));
        assert!(matches!(normalize("a\0b"), Err(PathError::Nul(_))));
        let printable: String = (0x20u8..0x7f)
            .map(char::from)
            .filter(|c| *c != '/')
            .collect();
        let name = format!("m/{printable}");
        if cfg!(unix) {
            assert_eq!(normalize(&name).unwrap(), name);
        }
        assert_eq!(normalize("m/a:b").unwrap(), "m/a:b");
    }

    #[test]
    fn containment_is_by_segment() {
        assert!(is_within("models/m/a.bin", "models/m"));
        assert!(is_within("models/m", "models/m"));
        assert!(!is_within("models/mx/a.bin", "models/m"));
        assert!(is_within("anything", ROOT));
        assert_eq!(join(ROOT, "a"), "a");
        assert_eq!(join("m", "a"), "m/a");
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_are_escaped_reversibly() {
        use std::os::unix::ffi::OsStrExt;
        let name = OsStr::from_bytes(b"x\xff\\.bin");
        assert_eq!(display_name(name), Err("x\\xff\\\\.bin".to_owned()));
        assert_eq!(display_name(OsStr::new("ok.bin")), Ok("ok.bin".into()));
    }
}
