//! `aigate verify`: re-hash what aigate.lock pins; every difference is a finding.

use anyhow::Result;

use aigate_fetch::source::redacted;
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
    let verified = verify(&settings.root, &declared, &lock);
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
    Ok(Finished {
        report: report.build(),
        threshold: args.fail_on,
    })
}
