//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use aigate_report::Severity;

/// The supply-chain gate for AI/ML projects.
#[derive(Debug, Parser)]
#[command(name = "aigate", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Read this configuration instead of the nearest aigate.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find code that runs on load in model files (pickle, PyTorch, NumPy, joblib, archives).
    ///
    /// Formats are recognised from content, never from names; directories are walked
    /// recursively. Nothing is ever loaded or run.
    ///
    /// Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when a file or
    /// the configuration could not be read and no finding reached --fail-on.
    Scan(ScanArgs),
}

/// `aigate scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files and directories to scan.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Lowest severity that fails the run [default: medium, or [scan] fail-on].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Print only findings: no summary, no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: findings grouped by file, with what to do.
    Human,
    /// The report as JSON.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|e: aigate_report::UnknownSeverity| e.to_string())
}
