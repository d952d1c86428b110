//! Bounds on what the readers accept, and bounded file reading.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, ErrorKind, Origin};

/// The bounds every reader checks. Inputs are untrusted: a lock file in a pull request, a
/// downloaded environment. Exceeding a bound is an error naming it, never a truncated read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest lock, requirements, pyproject or JSON file read, in bytes.
    pub max_file_size: u64,
    /// Longest physical line of a requirements file, and longest logical line once `\`
    /// continuations are joined, in bytes; also the longest line of a lock or project file.
    pub max_line_length: usize,
    /// How deep `-r`/`-c` includes may nest.
    pub max_include_depth: usize,
    /// Most requirements files read through includes from one top-level file.
    pub max_included_files: usize,
    /// Most packages one input may declare.
    pub max_packages: usize,
    /// Largest `METADATA` header section read, in bytes (the long description after it is not
    /// read).
    pub max_metadata_size: u64,
    /// Largest `RECORD` file, in bytes.
    pub max_record_size: u64,
    /// Most `*.dist-info` folders read from one environment.
    pub max_distributions: usize,
    /// Most files walked in one package's folders when looking for files RECORD does not list.
    pub max_walked_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 64 * 1024 * 1024,
            max_line_length: 1024 * 1024,
            max_include_depth: 16,
            max_included_files: 256,
            max_packages: 100_000,
            max_metadata_size: 4 * 1024 * 1024,
            max_record_size: 64 * 1024 * 1024,
            max_distributions: 20_000,
            max_walked_files: 1_000_000,
        }
    }
}

/// Reads at most `limit` bytes of `path`; a larger file is [`ErrorKind::TooLarge`].
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it" without trusting the
    // size the file system reports (it can change under us, or be a pipe).
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limit {
        let size = std::fs::metadata(path).map_or(size, |m| m.len().max(size));
        return Err(Error::new(
            Origin::file(path),
            ErrorKind::TooLarge { size, limit },
        ));
    }
    Ok(bytes)
}

/// Reads a bounded UTF-8 text file as [`read_text`] does, and refuses one with a line over
/// [`Limits::max_line_length`] (the lock and project readers: a lock is many short lines, and a
/// line of megabytes is not one a tool wrote), naming the line.
pub(crate) fn read_input_text(path: &Path, limits: &Limits) -> Result<String, Error> {
    let text = read_text(path, limits.max_file_size)?;
    check_line_lengths(path, &text, limits.max_line_length)?;
    Ok(text)
}

/// The first line of `text` longer than `limit` bytes, as an error naming it.
pub(crate) fn check_line_lengths(path: &Path, text: &str, limit: usize) -> Result<(), Error> {
    for (number, line) in text.split('\n').enumerate() {
        if line.len() > limit {
            return Err(Error::new(
                Origin::line(path, crate::error::saturate(number + 1)),
                ErrorKind::LineTooLong {
                    length: line.len(),
                    limit,
                },
            ));
        }
    }
    Ok(())
}

/// Reads a bounded UTF-8 text file, without a leading byte-order mark.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, Error> {
    let bytes = read_bounded(path, limit)?;
    text_from_bytes(path, bytes)
}

/// UTF-8 text from bytes, without a leading byte-order mark; the error names the line of the
/// first invalid byte.
pub(crate) fn text_from_bytes(path: &Path, mut bytes: Vec<u8>) -> Result<String, Error> {
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e
            .as_bytes()
            .get(..valid)
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
            + 1;
        Error::new(
            Origin::line(path, crate::error::saturate(line)),
            ErrorKind::NotUtf8,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_limit_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_bounded(&path, 5).ok(), Some(b"12345".to_vec()));
        let err = read_bounded(&path, 4).err();
        assert!(
            matches!(
                err.map(|e| e.kind),
                Some(ErrorKind::TooLarge { size: 5, limit: 4 })
            ),
            "a 5-byte file over a 4-byte limit"
        );
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let err = text_from_bytes(Path::new("r.txt"), b"a\nb\n\xff".to_vec()).err();
        assert_eq!(err.map(|e| e.origin.line), Some(Some(3)));
        let text = text_from_bytes(Path::new("r.txt"), b"\xef\xbb\xbfabc".to_vec()).ok();
        assert_eq!(text.as_deref(), Some("abc"));
    }
}
