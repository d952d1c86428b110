//! The findings of `aigate deps diff`: what a change of lock or requirements brings in.

use aigate_python::{DependencyDiff, Source};
use aigate_report::{Finding, Location};

use crate::policy::{location_of, source_text_with};
use crate::rules::{DEPS_ADDED, DEPS_DOWNGRADED, DEPS_HASH_CHANGED, DEPS_SOURCE_CHANGED};
use crate::typosquat::popular;

fn source_text(source: &Source) -> String {
    source_text_with(source, true)
}

fn subject(name: &str, version: Option<&aigate_python::pep::Version>) -> String {
    match version {
        Some(v) => format!("pkg:pypi/{name}@{v}"),
        None => format!("pkg:pypi/{name}"),
    }
}

/// The findings a diff calls for: the same version with other hashes (critical when a hash
/// the old file accepted is gone), a changed source, a downgrade, and each added package (info,
/// with a typosquat note when its name resembles a popular one).
pub fn diff_findings(diff: &DependencyDiff) -> Vec<Finding> {
    let mut findings = Vec::new();
    for change in &diff.hashes_changed {
        let location: Location =
            location_of(&change.origin).with_subject(subject(&change.name, Some(&change.version)));
        let mut finding = Finding::new(
            &DEPS_HASH_CHANGED,
            format!(
                "{} {} has other artifact hashes than before: {} removed, {} added",
                change.name,
                change.version,
                change.removed.len(),
                change.added.len()
            ),
            location,
        );
        if change.removed.is_empty() {
            // Only new artifacts (a wheel for another platform): worth a look, not an alarm.
            finding = finding
                .with_severity(aigate_report::Severity::Medium)
                .with_hint("only new hashes were added (a new wheel, perhaps); no artifact the old file accepted was replaced");
        }
        for (i, hash) in change.removed.iter().enumerate() {
            finding = finding.with_detail(&format!("removed.{i}"), hash.to_string());
        }
        for (i, hash) in change.added.iter().enumerate() {
            finding = finding.with_detail(&format!("added.{i}"), hash.to_string());
        }
        findings.push(finding);
    }
    for change in &diff.source_changed {
        findings.push(
            Finding::new(
                &DEPS_SOURCE_CHANGED,
                format!(
                    "{} moved from {} to {}",
                    change.name,
                    source_text(&change.old),
                    source_text(&change.new)
                ),
                location_of(&change.origin)
                    .with_subject(subject(&change.name, change.version.as_ref())),
            )
            .with_detail("old", source_text(&change.old))
            .with_detail("new", source_text(&change.new)),
        );
    }
    for change in &diff.downgraded {
        findings.push(Finding::new(
            &DEPS_DOWNGRADED,
            format!(
                "{} went down from {} to {}",
                change.name, change.old, change.new
            ),
            location_of(&change.origin).with_subject(subject(&change.name, Some(&change.new))),
        ));
    }
    for added in &diff.added {
        let mut finding = Finding::new(
            &DEPS_ADDED,
            match &added.version {
                Some(v) => format!(
                    "{} {v} is new, from {}",
                    added.name,
                    source_text(&added.source)
                ),
                None => format!("{} is new, from {}", added.name, source_text(&added.source)),
            },
            location_of(&added.origin).with_subject(subject(&added.name, added.version.as_ref())),
        );
        if let Some(squat) = popular().typosquat_of(&added.name) {
            finding = finding.with_hint(format!(
                "the name looks like popular package {} ({}); check it is the one meant",
                squat.target,
                squat.resemblance.describe()
            ));
        }
        findings.push(finding);
    }
    findings
}
