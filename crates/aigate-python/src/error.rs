//! Errors: each names the file and, where the input has one, the line (and column).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where something was read: a file and, where known, a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    /// The file, as the caller named it (or joined from an including file).
    pub file: PathBuf,
    /// 1-based line, when the format has lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column (in characters), where it was cheap to know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Origin {
    /// A whole file, without a line.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Origin {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// A line of a file.
    pub fn line(file: impl Into<PathBuf>, line: u32) -> Self {
        Origin {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }

    /// The same file, without line or column.
    pub fn file_only(&self) -> Self {
        Origin::file(self.file.clone())
    }

    /// A line and column of a file.
    pub fn at(file: impl Into<PathBuf>, line: u32, column: u32) -> Self {
        Origin {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// An input could not be read: where, and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct Error {
    /// The file and line the error is about.
    pub origin: Origin,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error at `origin`.
    pub fn new(origin: Origin, kind: ErrorKind) -> Self {
        Error { origin, kind }
    }

    /// An I/O error on `file`.
    pub fn io(file: &Path, source: std::io::Error) -> Self {
        Error::new(Origin::file(file), ErrorKind::Io(source))
    }
}

/// What went wrong while reading an input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    /// The file is larger than the reader accepts.
    #[error("the file is {size} bytes, over the {limit}-byte limit for this kind of input")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A line is longer than the reader accepts.
    #[error("the line is {length} bytes long, over the {limit}-byte limit")]
    LineTooLong {
        /// The line's length in bytes.
        length: usize,
        /// The limit in force.
        limit: usize,
    },
    /// More entries than the reader accepts.
    #[error("more than {limit} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit in force.
        limit: usize,
    },
    /// The bytes are not UTF-8 text.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// Malformed TOML.
    #[error("malformed TOML: {0}")]
    Toml(String),
    /// Malformed JSON.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A line of a requirements file, or a field, that is not what the format allows.
    #[error("{0}")]
    Syntax(String),
    /// An invalid PEP 440 version.
    #[error("invalid version {text:?}: {message}")]
    InvalidVersion {
        /// The text that was read.
        text: String,
        /// Why it is not a version.
        message: String,
    },
    /// An invalid PEP 440 version specifier.
    #[error("invalid version specifier {text:?}: {message}")]
    InvalidSpecifier {
        /// The text that was read.
        text: String,
        /// Why it is not a specifier.
        message: String,
    },
    /// An invalid PEP 508 environment marker.
    #[error("invalid environment marker {text:?}: {message}")]
    InvalidMarker {
        /// The text that was read.
        text: String,
        /// Why it is not a marker.
        message: String,
    },
    /// An invalid PEP 508 requirement.
    #[error("invalid requirement {text:?}: {message}")]
    InvalidRequirement {
        /// The text that was read.
        text: String,
        /// Why it is not a requirement.
        message: String,
    },
    /// An invalid package name.
    #[error("invalid package name {0:?}")]
    InvalidName(String),
    /// A requirements file includes a file that is already being read.
    #[error(
        "include cycle: {} is already being read ({})",
        included.display(),
        chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" -> ")
    )]
    IncludeCycle {
        /// The file named by `-r`/`-c` on this line.
        included: PathBuf,
        /// The chain of files from the first one read to the one that closes the cycle.
        chain: Vec<PathBuf>,
    },
    /// `-r`/`-c` includes nest deeper than the reader accepts.
    #[error("includes nest more than {limit} deep")]
    IncludeTooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// A lock file of a version this reader does not know.
    #[error("unsupported {format} version {found:?} (this reader knows {supported})")]
    UnsupportedVersion {
        /// The format, e.g. `uv.lock`.
        format: &'static str,
        /// The version the file declares.
        found: String,
        /// The versions this reader knows.
        supported: &'static str,
    },
}

/// A 1-based line (and column) for byte offsets in a text, found by binary search over line
/// starts computed once.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text.as_bytes()));
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_column(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line_index = self.starts.partition_point(|&start| start <= offset);
        let line_start = self
            .starts
            .get(line_index.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = text
            .get(line_start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        (saturate(line_index), saturate(column + 1))
    }

    /// An [`Origin`] for a byte offset.
    pub(crate) fn origin(&self, file: &Path, text: &str, offset: usize) -> Origin {
        let (line, column) = self.line_column(text, offset);
        Origin::at(file, line, column)
    }
}

/// Deserialises TOML; a syntax or shape error names its line and column.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
    index: &LineIndex,
) -> Result<T, Error> {
    toml::from_str(text).map_err(|e| {
        let origin = e.span().map_or_else(
            || Origin::file(path),
            |span| index.origin(path, text, span.start),
        );
        Error::new(origin, ErrorKind::Toml(e.message().trim().to_string()))
    })
}

/// A JSON error with the line and column serde_json reports.
pub(crate) fn json_error(path: &Path, e: &serde_json::Error) -> Error {
    let origin = if e.line() == 0 {
        Origin::file(path)
    } else {
        Origin::at(path, saturate(e.line()), saturate(e.column()))
    };
    let message = e.to_string();
    // serde_json appends "at line L column C", which the origin already says.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    Error::new(origin, ErrorKind::Json(message.to_string()))
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
}

/// A count or length as `u32`, saturating: line numbers never exceed it in bounded inputs.
pub(crate) fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_finds_lines_and_columns() {
        let text = "ab\ncdé\n\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.line_column(text, 0), (1, 1));
        assert_eq!(index.line_column(text, 1), (1, 2));
        assert_eq!(index.line_column(text, 3), (2, 1));
        // After "cdé": the é is two bytes but one column.
        assert_eq!(index.line_column(text, 7), (2, 4));
        assert_eq!(index.line_column(text, 8), (3, 1));
        assert_eq!(index.line_column(text, 9), (4, 1));
        assert_eq!(index.line_column(text, 999), (4, 2));
    }

    #[test]
    fn origin_displays_file_line_and_column() {
        assert_eq!(Origin::at("a.txt", 3, 7).to_string(), "a.txt:3:7");
        assert_eq!(Origin::line("a.txt", 3).to_string(), "a.txt:3");
        assert_eq!(Origin::file("a.txt").to_string(), "a.txt");
    }
}
