//! `aigate scan PATH...`

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use aigate_report::{Report, Severity, Tool};
use aigate_scan::{Progress, ScanLimits, Scanner, walk};

use crate::cli::ScanArgs;
use crate::config::Config;
use crate::{ExitStatus, Output, render_report};

/// Work below which no progress bar is shown: it would flash and vanish.
const PROGRESS_MIN_BYTES: u64 = 256 << 20;
const PROGRESS_MIN_FILES: usize = 200;

struct Bar(ProgressBar);

impl Progress for Bar {
    fn file_done(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

fn progress_bar(total: u64, files: usize, quiet: bool) -> Option<Bar> {
    let wanted = !quiet
        && std::io::stderr().is_terminal()
        && (total >= PROGRESS_MIN_BYTES || files >= PROGRESS_MIN_FILES);
    if !wanted {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} scanning [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(Bar(bar))
}

/// Runs the scan and writes its report.
pub fn run(args: &ScanArgs, config: &Config, out: &mut Output) -> Result<ExitStatus> {
    let threshold = args
        .fail_on
        .or(config.scan.fail_on.map(|s| s.0))
        .unwrap_or(Severity::Medium);
    let scanner = Scanner::new(&config.scan.allow, &config.scan.deny, ScanLimits::default())
        .context("invalid [scan] patterns")?;
    let (files, mut errors) = walk(&args.paths);
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = progress_bar(total, files.len(), args.quiet);
    let results = match &bar {
        Some(bar) => scanner.scan_files(&files, bar),
        None => scanner.scan_files(&files, &aigate_scan::NoProgress),
    };
    if let Some(bar) = bar {
        bar.0.finish_and_clear();
    }
    let mut findings = Vec::new();
    let mut scanned = Vec::new();
    for (file, result) in files.iter().zip(results) {
        match result {
            Ok(scan) => {
                findings.extend(scan.findings);
                scanned.extend(scan.scanned);
            }
            Err(err) => errors.push(aigate_report::InputError {
                path: file.display.clone(),
                message: err.to_string().to_lowercase(),
            }),
        }
    }
    let report = Report::new(
        Tool::aigate(env!("CARGO_PKG_VERSION")),
        findings,
        scanned,
        errors,
        files.len() as u64,
    );
    render_report(
        &report,
        aigate_scan::RULES,
        args.format,
        threshold,
        args.quiet,
        "scanned",
        out,
    )?;
    Ok(if report.count_at_least(threshold) > 0 {
        ExitStatus::Findings
    } else if !report.errors.is_empty() {
        ExitStatus::Error
    } else {
        ExitStatus::Clean
    })
}
