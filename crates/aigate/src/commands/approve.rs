//! `aigate approve NAME --by WHO [--force REASON]`.

use anyhow::Result;

use aigate_integrity::lock::{Approval, Verdict};
use aigate_integrity::rules::{APPROVE_FILES_CHANGED, APPROVE_UNSAFE_VERDICT};
use aigate_report::{ArtifactState, Finding, Location, Report, Severity};

use crate::Finished;
use crate::cli::ApproveArgs;
use crate::custody;
use crate::failure::fail;
use aigate_integrity::custody::Action;
use aigate_scan::ScanOptions;

use crate::project::{
    begin_writing, locked, outcome, require_lock, scan_files, tool, walked, write_lock,
};
use crate::settings::{Settings, now_rfc3339};

/// Runs `aigate approve`.
pub fn run(args: &ApproveArgs, settings: &Settings) -> Result<Finished> {
    if args.by.trim().is_empty() {
        fail!("--by must name who approves");
    }
    let _writing = begin_writing(settings)?;
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
    // The verdict recorded in the lock is not trusted: the bytes approved are scanned again
    // (a scan costs what the pickles cost, not the tensors), with today's configuration.
    let (scan, _) = scan_files(
        &settings.scanner(ScanOptions::default())?,
        settings.scan_threshold(None),
        &walked(settings, &artifact.files),
    )?;
    let rescanned = scan != artifact.scan;
    artifact.scan = scan;
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
            let refusal = Finding::new(
                &APPROVE_UNSAFE_VERDICT,
                format!(
                    "refused: the scan of {} found unsafe content ({})",
                    artifact.name,
                    rules.join(", ")
                ),
                Location::file(artifact.path.clone()),
            )
            .with_detail("artifact", artifact.name.clone())
            .with_hint(format!(
                "run `aigate scan {}` to see it; to approve anyway, pass --force \"REASON\"; the reason is recorded",
                artifact.path
            ));
            if rescanned {
                // The record is corrected, and an approval given on the old verdict lapses.
                artifact.approval = Approval::pending();
                write_lock(settings, &lock)?;
            }
            report.finding(refusal);
            return Ok(finished(report));
        }
    };
    if let Some(revoked) = artifact.revoked(&artifact.content_digest()) {
        report.finding(crate::commands::lock::revoked_finding(artifact, revoked));
        return Ok(finished(report));
    }
    let at = now_rfc3339();
    artifact.approval = Approval::of(artifact, &args.by, &at, forced);
    let manifest = if custody::pushes(settings) {
        let store = custody::store(settings)?;
        Some(custody::push(settings, store.as_ref(), artifact)?)
    } else {
        None
    };
    artifact.record_approval(manifest);
    let mut event = custody::event_about(Action::Approve, &args.by, &at, artifact);
    if let Some(reason) = &artifact.approval.forced {
        event = event.detail("forced", reason.clone());
    }
    let mut approved = outcome(artifact, ArtifactState::Approved);
    if artifact.approval.forced.is_some() {
        approved.note = Some("forced despite unsafe scan findings; the reason is recorded".into());
    } else if rescanned {
        approved.note = Some("scanned again; the scan record in aigate.lock is updated".into());
    }
    custody::record_in_lock(settings, &mut lock, &[event])?;
    write_lock(settings, &lock)?;
    report.artifact(approved);
    Ok(finished(report))
}
