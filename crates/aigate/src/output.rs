//! Where a report goes: standard output, or a file named with `--output`, written atomically.
//! A closed standard output (`aigate scan … | head`) is not an error: the run still exits with
//! its verdict.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::failure::Failure;

/// Where a report goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically.
    File(PathBuf),
}

impl Destination {
    /// `--output FILE`, or standard output.
    pub fn from_flag(path: Option<&PathBuf>) -> Self {
        match path {
            Some(path) => Destination::File(path.clone()),
            None => Destination::Stdout,
        }
    }

    /// Refuses a destination that is one of the inputs: the report would replace the model
    /// before, or instead of, it being read.
    pub fn check_not_an_input<'a>(&self, inputs: impl IntoIterator<Item = &'a Path>) -> Result<()> {
        let Destination::File(path) = self else {
            return Ok(());
        };
        let Ok(target) = std::fs::canonicalize(path) else {
            return Ok(()); // not there yet: it cannot be an input
        };
        for input in inputs {
            if std::fs::canonicalize(input).is_ok_and(|p| p == target) {
                return Err(Failure::new(format!(
                    "--output {} is one of the files to scan; the report would replace it",
                    path.display()
                ))
                .hint("write the report somewhere else")
                .into());
            }
        }
        Ok(())
    }

    /// Writes `bytes` there. A reader that went away (a closed pipe) is not an error.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self {
            Destination::Stdout => {
                let mut out = io::stdout().lock();
                match out.write_all(bytes).and_then(|()| out.flush()) {
                    Ok(()) => Ok(()),
                    Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                    Err(err) => Err(err).context("cannot write the report to standard output"),
                }
            }
            Destination::File(path) => aigate_integrity::files::write_atomic(path, bytes)
                .with_context(|| format!("cannot write the report to {}", path.display())),
        }
    }
}

/// A line for the person at the terminal, on standard error: progress and housekeeping that is
/// not part of the report.
pub fn note(message: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("note: {message}");
    }
}
