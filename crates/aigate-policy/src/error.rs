//! Errors in the policy's configuration: each names the file and line, with what to do.

use std::path::PathBuf;

/// The `[policy]` section, or the allowlist file it names, cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// An entry of `[policy]` is invalid.
    #[error("{path}: line {line}: {message}")]
    Invalid {
        /// The configuration file.
        path: String,
        /// The entry's line.
        line: u32,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The `allowlist-file` cannot be read or parsed.
    #[error("allowlist file {}: {message}", path.display())]
    AllowlistFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line, for malformed JSON).
        message: String,
    },
}

impl PolicyError {
    /// What to do about it.
    pub fn hint(&self) -> Option<&str> {
        match self {
            PolicyError::Invalid { hint, .. } => Some(hint),
            PolicyError::AllowlistFile { .. } => Some(
                "[policy] allowlist-file names a JSON object from package name to {\"allowed_versions\": [...], \"source\": \"...\"}, relative to aigate.toml",
            ),
        }
    }
}
