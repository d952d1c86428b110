//! Renderers over the one [`Report`]: human text, JSON, SARIF 2.1.0.

pub mod human;
pub mod sarif;

use std::io::{self, Write};

use aigate_report::Report;

/// Writes the report as pretty JSON, followed by a newline.
pub fn json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
