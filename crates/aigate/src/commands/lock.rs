//! `aigate lock`: hash and scan every declared artifact; write aigate.lock.

use anyhow::{Context, Result};

use aigate_fetch::source::redacted;
use aigate_integrity::custody::Action;
use aigate_integrity::lock::{Approval, LockedArtifact, Lockfile, Status, VersionRecord};
use aigate_report::{ArtifactState, Report};
use aigate_scan::ScanOptions;

use crate::Finished;
use crate::cli::LockArgs;
use crate::custody;
use crate::output::note;
use crate::project::{begin_writing, outcome, read_lock, scan_files, tool, walked, write_lock};
use crate::settings::{Settings, now_rfc3339};
use crate::sources;

/// Runs `aigate lock`.
pub fn run(args: &LockArgs, settings: &Settings) -> Result<Finished> {
    let _writing = begin_writing(settings)?;
    let previous = if args.rebuild {
        let (lock, dropped) =
            aigate_integrity::lock::load_lenient(&settings.lock_path())?.unwrap_or_default();
        for name in dropped {
            note(&format!(
                "{name}: not a valid artifact record in aigate.lock; it is pinned afresh, pending approval"
            ));
        }
        lock
    } else {
        read_lock(settings)?.unwrap_or_default()
    };
    let previous_by_name = previous.by_name();
    let threshold = settings.scan_threshold(None);
    let scanner = settings.scanner(ScanOptions::default())?;
    let mut lock = Lockfile::new();
    let mut report = Report::builder(tool(), "lock");
    let store = if custody::pushes(settings) && !args.no_store {
        Some(custody::store(settings)?)
    } else {
        None
    };
    let by = custody::actor(settings, args.by.as_deref());
    let at = now_rfc3339();
    let mut events = Vec::new();
    for (kind, decl) in settings.config.artifacts() {
        let name = decl.name.get_ref();
        let path = decl.path.get_ref();
        let files = aigate_integrity::pin(&settings.root, path)
            .with_context(|| format!("cannot pin {} {name}", kind.as_str()))?;
        let (scan, _) = scan_files(&scanner, threshold, &walked(settings, &files))?;
        let mut artifact = LockedArtifact {
            name: name.clone(),
            kind,
            path: path.clone(),
            source: decl.source.as_ref().map(|s| redacted(s.get_ref())),
            owner: decl.owner.clone(),
            version: 1,
            approval: Approval::pending(),
            scan,
            history: Vec::new(),
            highest_version: None,
            files,
        };
        if let Some(prev) = previous_by_name.get(name.as_str()) {
            artifact.history = prev.history.clone();
            let digest = artifact.content_digest();
            artifact.version = if prev.same_content(&artifact) {
                prev.version
            } else if let Some(seen) = prev.history.iter().find(|r| r.digest == digest) {
                seen.version
            } else {
                prev.latest_version() + 1
            };
            artifact.settle_highest_version(prev.latest_version());
        }
        let mut note = None;
        let state = match previous_by_name.get(name.as_str()) {
            Some(prev) if prev.same_content(&artifact) => {
                if prev.approval.status == Status::Approved {
                    match prev.approval.is_worse(&artifact.scan) {
                        Some(why) => note = Some(format!("back to pending: {why}")),
                        None => artifact.approval = prev.approval.clone(),
                    }
                }
                ArtifactState::Unchanged
            }
            Some(_) => ArtifactState::Changed,
            None => ArtifactState::New,
        };
        if let Some(revoked) = artifact.revoked(&artifact.content_digest()) {
            report.finding(revoked_finding(&artifact, revoked));
        }
        if matches!(state, ArtifactState::New | ArtifactState::Changed) {
            events.push(custody::event_about(Action::Lock, &by, &at, &artifact));
        }
        if let Some(store) = &store {
            custody::push(settings, store.as_ref(), &artifact)?;
        }
        let mut this = outcome(&artifact, state);
        this.note = note;
        report.artifact(this);
        lock.artifacts.push(artifact);
    }
    lock.custody = previous.custody;
    custody::record_in_lock(settings, &mut lock, &events)?;
    report
        .findings(sources::check(settings))
        .findings(sources::nothing_declared(settings));
    write_lock(settings, &lock)?;
    let rules: Vec<_> = aigate_fetch::RULES.iter().collect();
    settings.rule_levels().apply(&mut report, &rules);
    Ok(Finished {
        report: report.build(),
        threshold,
    })
}

/// The finding for files that are a revoked version.
pub fn revoked_finding(
    artifact: &LockedArtifact,
    revoked: &VersionRecord,
) -> aigate_report::Finding {
    aigate_report::Finding::new(
        &aigate_integrity::rules::REVOKED_VERSION,
        format!(
            "{} {} is version {}, which was revoked{}{}",
            artifact.kind.as_str(),
            artifact.name,
            revoked.version,
            revoked
                .revoked_by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default(),
            revoked
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        aigate_report::Location::file(artifact.path.clone()),
    )
    .with_detail("artifact", artifact.name.clone())
    .with_detail("version", revoked.version.to_string())
    .with_hint(format!(
        "restore the last approved version with `aigate rollback {}`",
        artifact.name
    ))
}
