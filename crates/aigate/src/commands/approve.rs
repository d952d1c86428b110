//! `aigate approve NAME --by WHO [--force REASON]`.

use anyhow::Result;

use aigate_integrity::lock::{Approval, Status, Verdict};
use aigate_integrity::rules::{APPROVE_FILES_CHANGED, APPROVE_UNSAFE_VERDICT};
use aigate_report::{ArtifactState, Finding, Location, Report, Severity};

use crate::Finished;
use crate::cli::ApproveArgs;
use crate::failure::fail;
use crate::project::{locked, outcome, require_lock, tool, write_lock};
use crate::settings::{Settings, now_rfc3339};

/// Runs `aigate approve`.
pub fn run(args: &ApproveArgs, settings: &Settings) -> Result<Finished> {
    if args.by.trim().is_empty() {
        fail!("--by must name who approves");
    }
    let mut lock = require_lock(settings)?;
    let artifact = locked(&mut lock, &args.name)?;
    let mut report = Report::builder(tool(), "approve");
    let finished = |report: aigate_report::ReportBuilder| Finished {
        report: report.build(),
        threshold: Severity::Info,
    };
    let files = aigate_integrity::pin(&settings.root, &artifact.path)?;
    if files != artifact.files {
        report.finding(
            Finding::new(
                &APPROVE_FILES_CHANGED,
                format!(
                    "refused: the files of {} {} differ from aigate.lock; approval covers pinned bytes only",
                    artifact.kind.as_str(),
                    artifact.name
                ),
                Location::file(artifact.path.clone()),
            )
            .with_detail("artifact", artifact.name.clone())
            .with_hint("run `aigate lock`, review the change, then approve"),
        );
        return Ok(finished(report));
    }
    let forced = match (artifact.scan.verdict, &args.force) {
        (Verdict::Clean, _) => None,
        (Verdict::Unsafe, Some(reason)) if !reason.trim().is_empty() => Some(reason.clone()),
        (Verdict::Unsafe, _) => {
            let rules: Vec<String> = artifact
                .scan
                .rules
                .iter()
                .map(|(r, n)| format!("{r} ×{n}"))
                .collect();
            report.finding(
                Finding::new(
                    &APPROVE_UNSAFE_VERDICT,
                    format!(
                        "refused: the scan recorded for {} found unsafe content ({})",
                        artifact.name,
                        rules.join(", ")
                    ),
                    Location::file(artifact.path.clone()),
                )
                .with_detail("artifact", artifact.name.clone())
                .with_hint(format!(
                    "run `aigate scan {}` to see it; to approve anyway, pass --force \"REASON\"; the reason is recorded",
                    artifact.path
                )),
            );
            return Ok(finished(report));
        }
    };
    artifact.approval = Approval {
        status: Status::Approved,
        by: Some(args.by.clone()),
        at: Some(now_rfc3339()),
        forced,
    };
    let mut approved = outcome(artifact, ArtifactState::Approved);
    if artifact.approval.forced.is_some() {
        approved.note = Some("forced despite unsafe scan findings; the reason is recorded".into());
    }
    write_lock(settings, &lock)?;
    report.artifact(approved);
    Ok(finished(report))
}
