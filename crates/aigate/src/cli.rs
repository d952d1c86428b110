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
    /// Hash and scan every model and dataset in aigate.toml; write aigate.lock.
    ///
    /// Artifacts whose files, path and source are unchanged keep their approval; new and
    /// changed ones are pending until approved. The scan verdict of each is recorded; `verify`
    /// and `approve` act on it. Exit status: 0 when the lock was written, 2 on errors.
    Lock(LockArgs),
    /// Record who approved an artifact's pinned bytes, and when.
    ///
    /// Refused (exit 1) when the files on disk differ from aigate.lock, or when the recorded
    /// scan found unsafe content, unless --force gives a reason, which is recorded.
    Approve(ApproveArgs),
    /// Re-hash what aigate.lock pins and report every difference.
    ///
    /// Modified, added, removed and retyped files, unapproved artifacts, and pins outside the
    /// project are findings. Exit status: 0 when none reaches --fail-on, 1 when one does, 2 on
    /// errors.
    Verify(VerifyArgs),
    /// Download a model or dataset from a trusted source, check it, scan it, pin it.
    ///
    /// SOURCE is an https URL under a [sources] trusted prefix, or
    /// hf://[datasets/]ORG/REPO@REVISION[/FILE]. Every redirect must stay trusted. The download
    /// is streamed to a staging folder while it is hashed; a wrong --sha256, an untrusted source
    /// or an unsafe scan leaves nothing behind (exit 1). On success the files move into place,
    /// and the artifact is added to aigate.toml and pinned in aigate.lock, pending approval.
    Fetch(FetchArgs),
}

/// Where and how a command writes its report.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print only findings: no summary, no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `aigate scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files and directories to scan.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Lowest severity that fails the run [default: medium, or [scan] fail-on].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// List every global each pickle imports, safe ones included (in JSON: `scanned[].globals`).
    #[arg(long)]
    pub list_globals: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// Read a lock that does not parse artifact by artifact, keeping what is still valid (and
    /// every approval whose bytes still match), instead of refusing it.
    #[arg(long)]
    pub rebuild: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Lowest severity that fails the run.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "low")]
    pub fail_on: Severity,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The artifact's name in aigate.toml.
    pub name: String,
    /// Who approves (a name or an e-mail address).
    #[arg(long, value_name = "WHO")]
    pub by: String,
    /// Approve despite unsafe scan findings, for this recorded reason.
    #[arg(long, value_name = "REASON")]
    pub force: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// An https URL, or hf://[datasets/]ORG/REPO@REVISION[/FILE].
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The artifact's name in aigate.toml.
    #[arg(long)]
    pub name: String,
    /// The SHA-256 the file must have (a single file only).
    #[arg(long, value_name = "HEX", value_parser = parse_sha256)]
    pub sha256: Option<aigate_integrity::hash::Digest>,
    /// Declare it as a [[dataset]] rather than a [[model]].
    #[arg(long)]
    pub dataset: bool,
    /// Where to put it [default: models/NAME or datasets/NAME].
    #[arg(long, value_name = "DIR")]
    pub dest: Option<String>,
    /// Retries after a failed attempt (server errors, dropped connections).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retries: u32,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: findings grouped by file, with what to do.
    Human,
    /// The report as JSON (its schema: docs/report.schema.json).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|e: aigate_report::UnknownSeverity| e.to_string())
}

fn parse_sha256(text: &str) -> Result<aigate_integrity::hash::Digest, String> {
    aigate_integrity::hash::Digest::from_hex(text)
        .ok_or_else(|| format!("`{text}` is not a SHA-256: expected 64 hexadecimal digits"))
}
