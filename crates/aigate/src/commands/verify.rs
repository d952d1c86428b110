//! `aigate verify`: re-hash what aigate.lock pins; every difference is a finding.

use anyhow::{Context, Result};

use aigate_integrity::verify::{Declared, verify};
use aigate_report::{Report, Tool};

use crate::cli::ReportArgs;
use crate::commands::lock::read_lock;
use crate::config::Project;
use crate::{ExitStatus, Output, render_report};

/// Runs `aigate verify`.
pub fn run(args: &ReportArgs, project: &Project, out: &mut Output) -> Result<ExitStatus> {
    let lock =
        read_lock(project)?.context("there is no aigate.lock\nhint: run `aigate lock` first")?;
    let artifacts = project.config.artifacts();
    let declared: Vec<Declared<'_>> = artifacts
        .iter()
        .map(|(kind, d)| Declared {
            kind: *kind,
            name: d.name.get_ref(),
            path: d.path.get_ref(),
        })
        .collect();
    let findings = verify(&project.root, &declared, &lock).context("cannot verify")?;
    let files = lock.artifacts.iter().map(|a| a.files.len() as u64).sum();
    let report = Report::new(
        Tool::aigate(env!("CARGO_PKG_VERSION")),
        findings,
        Vec::new(),
        Vec::new(),
        files,
    );
    render_report(
        &report,
        aigate_integrity::RULES,
        args.format,
        args.fail_on,
        args.quiet,
        "verified",
        out,
    )?;
    Ok(if report.count_at_least(args.fail_on) > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}
