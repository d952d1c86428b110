//! `aigate scan PATH...`

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use aigate_report::Report;
use aigate_scan::{Progress, ScanOptions, walk};

use crate::Finished;
use crate::cli::ScanArgs;
use crate::output::Destination;
use crate::project::tool;
use crate::settings::Settings;

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

/// Runs the scan.
pub fn run(args: &ScanArgs, settings: &Settings) -> Result<Finished> {
    let threshold = settings.scan_threshold(args.fail_on);
    let scanner = settings.scanner(ScanOptions {
        list_globals: args.list_globals,
    })?;
    let walk = walk(&args.paths);
    let files = walk.files;
    Destination::from_flag(args.output.output.as_ref())
        .check_not_an_input(files.iter().map(|f| f.path.as_path()))?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = progress_bar(total, files.len(), args.output.quiet);
    let results = match &bar {
        Some(bar) => scanner.scan_files(&files, bar),
        None => scanner.scan_files(&files, &aigate_scan::NoProgress),
    };
    if let Some(bar) = bar {
        bar.0.finish_and_clear();
    }
    let mut report = Report::builder(tool(), "scan");
    report.findings(walk.findings);
    for error in walk.errors {
        report.error(error);
    }
    for scan in results {
        report.findings(scan.findings).scanned(scan.scanned);
        for error in scan.errors {
            report.error(error);
        }
    }
    report.files(files.len() as u64);
    let rules: Vec<_> = aigate_scan::RULES
        .iter()
        .chain(aigate_report::COMMON_RULES)
        .collect();
    settings.rule_levels().apply(&mut report, &rules);
    Ok(Finished {
        report: report.build(),
        threshold,
    })
}
