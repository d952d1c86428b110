//! `aigate lock`: hash and scan every declared artifact; write aigate.lock.

use anyhow::{Context, Result};

use aigate_fetch::source::redacted;
use aigate_integrity::lock::{Approval, LockedArtifact, Lockfile, Status};
use aigate_report::{ArtifactState, Report};
use aigate_scan::ScanOptions;

use crate::Finished;
use crate::cli::LockArgs;
use crate::output::note;
use crate::project::{begin_writing, outcome, read_lock, scan_files, tool, walked, write_lock};
use crate::settings::Settings;
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
            approval: Approval::pending(),
            scan,
            files,
        };
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
        let mut this = outcome(&artifact, state);
        this.note = note;
        report.artifact(this);
        lock.artifacts.push(artifact);
    }
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
