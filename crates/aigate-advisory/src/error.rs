//! Errors of the advisory database.

/// What went wrong reading, building or installing the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The records archive is no readable zip.
    #[error("{path}: not a readable zip archive: {message}")]
    Zip {
        /// The archive.
        path: String,
        /// The zip reader's words.
        message: String,
    },
    /// A member name would leave the folder it is extracted to (`../x`, `/etc/x`, `C:\x`).
    #[error(
        "{path}: member `{member}` has an unsafe name (absolute, or climbing out with `..`); the archive is refused"
    )]
    UnsafeMemberName {
        /// The archive.
        path: String,
        /// The member's name.
        member: String,
    },
    /// Over a bound (members, record size, total size).
    #[error("{path}: {what} is over the limit of {limit}")]
    TooLarge {
        /// The input.
        path: String,
        /// What was counted.
        what: &'static str,
        /// The bound.
        limit: u64,
    },
    /// Nothing in the input is an OSV record.
    #[error("{path}: no OSV record found ({malformed} malformed, {other} of other ecosystems)")]
    Empty {
        /// The input.
        path: String,
        /// Records that did not parse.
        malformed: u64,
        /// Records for other ecosystems.
        other: u64,
    },
    /// The binary index is damaged or of another version.
    #[error("{path}: the advisory index is damaged: {message}")]
    BadIndex {
        /// The index file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// There is no database at the path.
    #[error("no advisory database at {path}")]
    NoDatabase {
        /// Where it was looked for.
        path: String,
    },
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
