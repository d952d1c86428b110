//! aigate: the supply-chain gate for AI/ML projects. The only crate that prints.

// A binary has no public API: `pub` here means "used by other modules".
#![allow(unreachable_pub)]

mod cli;
mod commands;
mod config;
mod render;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{Cli, Command};

/// How a run ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing at or above the threshold.
    Clean = 0,
    /// Findings at or above the threshold.
    Findings = 1,
    /// Usage, configuration or I/O error: nothing could be concluded.
    Error = 2,
}

/// Where the report goes: standard output or `--output FILE`.
pub enum Output {
    /// Standard output, buffered.
    Stdout(BufWriter<io::Stdout>),
    /// A file.
    File(BufWriter<File>, PathBuf),
}

impl Output {
    /// Standard output, or a new file.
    fn open(path: Option<&PathBuf>) -> Result<Output> {
        Ok(match path {
            Some(path) => Output::File(
                BufWriter::new(
                    File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                ),
                path.clone(),
            ),
            None => Output::Stdout(BufWriter::new(io::stdout())),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File(w, _) => w,
        }
    }

    fn finish(mut self) -> Result<()> {
        match &mut self {
            Output::Stdout(w) => w.flush()?,
            Output::File(w, path) => w
                .flush()
                .with_context(|| format!("cannot write {}", path.display()))?,
        }
        Ok(())
    }
}

/// Renders a report in the chosen format.
pub fn render_report(
    report: &aigate_report::Report,
    rules: &[aigate_report::Rule],
    format: cli::Format,
    threshold: aigate_report::Severity,
    quiet: bool,
    verb: &str,
    out: &mut Output,
) -> Result<()> {
    let writer = out.writer();
    match format {
        cli::Format::Human => render::human::render(report, rules, threshold, quiet, verb, writer),
        cli::Format::Json => render::json(report, writer),
        cli::Format::Sarif => render::sarif::render(report, rules, writer),
    }?;
    Ok(())
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs a command that works on the project around `aigate.toml`, writing to `output`.
fn in_project(
    cli: &Cli,
    output: Option<&PathBuf>,
    command: impl FnOnce(&config::Project, &mut Output) -> Result<ExitStatus>,
) -> Result<ExitStatus> {
    let project = config::Project::find(cli.config.as_deref())?;
    let mut out = Output::open(output)?;
    let status = command(&project, &mut out)?;
    out.finish()?;
    Ok(status)
}

fn run(cli: Cli) -> Result<ExitStatus> {
    match &cli.command {
        Command::Scan(args) => {
            let config_path = match &cli.config {
                Some(path) => Some(path.clone()),
                None => std::env::current_dir()
                    .ok()
                    .and_then(|dir| config::discover(&dir)),
            };
            let config = match &config_path {
                Some(path) => config::load(path)?,
                None => config::Config::default(),
            };
            let mut out = Output::open(args.output.as_ref())?;
            let status = commands::scan::run(args, &config, &mut out)?;
            out.finish()?;
            Ok(status)
        }
        Command::Lock => in_project(&cli, None, |p, out| commands::lock::run(p, out.writer())),
        Command::Approve(args) => in_project(&cli, None, |p, out| {
            commands::approve::run(args, p, out.writer())
        }),
        Command::Fetch(args) => in_project(&cli, None, |p, out| {
            commands::fetch::run(args, p, out.writer())
        }),
        Command::Verify(args) => in_project(&cli, args.output.as_ref(), |p, out| {
            commands::verify::run(args, p, out)
        }),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(ExitStatus::Error as u8),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(ExitStatus::Error as u8)
        }
    }
}
