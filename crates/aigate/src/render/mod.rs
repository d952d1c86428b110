//! Renderers over the one [`Report`]: human text, JSON, SARIF 2.1.0 and CycloneDX VEX, through
//! one entry point.

pub mod human;
pub mod sarif;
pub mod vex;

use std::io::{self, Write};

use aigate_report::{Report, Severity};

use crate::cli::Format;

/// How a report is rendered.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Which renderer.
    pub format: Format,
    /// The severity from which findings fail the run (the human summary says so).
    pub threshold: Severity,
    /// Findings only: no summary.
    pub quiet: bool,
    /// Severities and results in colour (human output only).
    pub color: bool,
}

/// Renders `report` as `options` say.
pub fn render(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    match options.format {
        Format::Human => human::render(report, options, out),
        Format::Json => json(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::CyclonedxVex => vex::render(report, out),
    }
}

/// Renders into memory, so that a report reaches its destination whole or not at all.
pub fn to_bytes(report: &Report, options: &RenderOptions) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    render(report, options, &mut out)?;
    Ok(out)
}

/// Writes the report as pretty JSON, followed by a newline.
fn json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
