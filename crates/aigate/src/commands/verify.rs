//! `aigate verify`: re-hash what aigate.lock pins; every difference is a finding.

use anyhow::Result;

use aigate_fetch::source::redacted;
use aigate_integrity::custody::{Action, NewEvent};
use aigate_integrity::digest_cache::DigestCache;
use aigate_integrity::lock::Lockfile;
use aigate_integrity::verify::{Declared, verify};
use aigate_report::Report;

use crate::Finished;
use crate::cli::VerifyArgs;
use crate::project::{require_lock, tool};
use crate::settings::Settings;
use crate::sources;

/// Runs `aigate verify`.
pub fn run(args: &VerifyArgs, settings: &Settings) -> Result<Finished> {
    let lock = require_lock(settings)?;
    let artifacts = settings.config.artifacts();
    let sources: Vec<Option<String>> = artifacts
        .iter()
        .map(|(_, d)| d.source.as_ref().map(|s| redacted(s.get_ref())))
        .collect();
    let declared: Vec<Declared<'_>> = artifacts
        .iter()
        .zip(&sources)
        .map(|((kind, d), source)| Declared {
            kind: *kind,
            name: d.name.get_ref(),
            path: d.path.get_ref(),
            source: source.as_deref(),
        })
        .collect();
    let mut cache = if args.rehash {
        DigestCache::disabled()
    } else {
        digest_cache()
    };
    let verified = verify(&settings.root, &declared, &lock, &mut cache);
    // A cache that cannot be written costs time on the next run, never a wrong answer.
    let _ = cache.save();
    let mut report = Report::builder(tool(), "verify");
    for artifact in &lock.artifacts {
        if let Some(revoked) = artifact.revoked(&artifact.content_digest()) {
            report.finding(crate::commands::lock::revoked_finding(artifact, revoked));
        }
    }
    report
        .findings(verified.findings)
        .findings(sources::check(settings))
        .findings(sources::nothing_declared(settings))
        .findings(crate::signatures::check_lock(settings)?)
        .files(verified.files);
    for error in verified.errors {
        report.error(error);
    }
    let rules: Vec<_> = aigate_integrity::RULES
        .iter()
        .chain(aigate_fetch::RULES)
        .chain(aigate_attest::RULES)
        .collect();
    settings.rule_levels().apply(&mut report, &rules);
    let report = report.build();
    if !args.no_record {
        record(args, settings, &lock, &report);
    }
    Ok(Finished {
        report,
        threshold: args.fail_on,
    })
}

/// The user's digest cache (`digests.json` in the cache folder), or none where there is no
/// cache folder.
fn digest_cache() -> DigestCache {
    crate::trust::cache_dir()
        .map(|dir| DigestCache::open(dir.join("digests.json")))
        .unwrap_or_else(DigestCache::disabled)
}

/// Whether `path` (as a finding names it) is one of `artifact`'s files.
fn belongs(artifact: &aigate_integrity::lock::LockedArtifact, path: &str) -> bool {
    path == artifact.path
        || path
            .strip_prefix(artifact.path.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
        || artifact.files.iter().any(|f| f.path == path)
}

/// One custody event per locked artifact: verify passed, or failed with how many findings.
/// A failing finding about the lock itself (its signature) fails every artifact.
fn record(args: &VerifyArgs, settings: &Settings, lock: &Lockfile, report: &Report) {
    let failing: Vec<&aigate_report::Finding> = report.failing(args.fail_on).collect();
    let lock_wide = failing
        .iter()
        .filter(|f| !lock.artifacts.iter().any(|a| belongs(a, &f.location.path)))
        .count();
    let by = crate::custody::actor(settings, args.by.as_deref());
    let at = crate::settings::now_rfc3339();
    let events: Vec<NewEvent> = lock
        .artifacts
        .iter()
        .map(|artifact| {
            let own = failing
                .iter()
                .filter(|f| belongs(artifact, &f.location.path))
                .count();
            let action = if own + lock_wide > 0 {
                Action::VerifyFailed
            } else {
                Action::VerifyPassed
            };
            let mut event = crate::custody::event_about(action, &by, &at, artifact);
            if own > 0 {
                event = event.detail("findings", own.to_string());
            }
            if lock_wide > 0 {
                event = event.detail("lock-findings", lock_wide.to_string());
            }
            event
        })
        .collect();
    crate::custody::record_if_kept(settings, Some(lock), &events);
}
