//! `aigate deps` and `aigate deps diff`: the resolved Python dependencies, and what a change of
//! lock or requirements brings in.

use anyhow::Result;

use aigate_python::{DependencySet, IndexKind, InputFormat, Source};
use aigate_report::{DependencyChange, Location, Report, Severity};

use crate::Finished;
use crate::cli::{DepsArgs, DiffArgs};
use crate::dependencies::{self, dependency, source_of};
use crate::project::tool;
use crate::settings::Settings;

/// The indexes a set's packages without one of their own resolve from.
fn default_indexes(set: &DependencySet, format: InputFormat) -> Vec<String> {
    if format == InputFormat::Environment {
        return Vec::new();
    }
    let declared: Vec<String> = set
        .indexes
        .iter()
        .filter(|i| matches!(i.kind, IndexKind::Primary | IndexKind::Extra))
        .map(|i| i.url.clone())
        .collect();
    let has_primary = set.indexes.iter().any(|i| i.kind == IndexKind::Primary);
    if has_primary || !set.no_index.is_empty() {
        declared
    } else {
        std::iter::once(aigate_policy::PYPI.to_owned())
            .chain(declared)
            .collect()
    }
}

/// Runs `aigate deps`.
pub fn list(args: &DepsArgs, settings: &Settings) -> Result<Finished> {
    let inputs = dependencies::read(&args.inputs, settings, false);
    let mut report = Report::builder(tool(), "deps");
    let mut files = 0;
    for input in &inputs.read {
        files += input.set.inputs.len() as u64;
        let indexes = default_indexes(&input.set, input.format);
        report.dependencies(
            input
                .set
                .packages
                .iter()
                .filter(|p| !p.constraint_only)
                .map(|p| dependency(p, &indexes)),
        );
    }
    for error in inputs.errors {
        report.error(error);
    }
    report.files(files);
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Critical,
    })
}

fn change(
    kind: &str,
    name: &str,
    old: Option<String>,
    new: Option<String>,
    location: Location,
) -> DependencyChange {
    DependencyChange {
        change: kind.into(),
        name: name.into(),
        old,
        new,
        location,
    }
}

fn subject(name: &str, version: Option<&aigate_python::pep::Version>) -> String {
    match version {
        Some(v) => format!("pkg:pypi/{name}@{v}"),
        None => format!("pkg:pypi/{name}"),
    }
}

fn source(s: &Source) -> String {
    source_of(s).0
}

/// Records what a dependency change brings in, in the project's custody log (when it keeps
/// one): the two files and how many packages were added, removed, upgraded, downgraded, moved
/// to another source, or republished with other hashes.
fn record_change(settings: &Settings, args: &DiffArgs, diff: &aigate_python::DependencyDiff) {
    let counts = [
        ("added", diff.added.len()),
        ("removed", diff.removed.len()),
        ("upgraded", diff.upgraded.len()),
        ("downgraded", diff.downgraded.len()),
        ("source-changed", diff.source_changed.len()),
        ("hashes-changed", diff.hashes_changed.len()),
    ];
    if settings.config_path.is_none() || counts.iter().all(|(_, n)| *n == 0) {
        return;
    }
    let lock = crate::project::read_lock(settings).ok().flatten();
    let by = crate::custody::actor(settings, None);
    let mut event = aigate_integrity::custody::NewEvent::new(
        aigate_integrity::custody::Action::DepsChange,
        &by,
        &crate::settings::now_rfc3339(),
    )
    .detail("old", dependencies::shown(&args.old).display().to_string())
    .detail("new", dependencies::shown(&args.new).display().to_string());
    for (what, n) in counts {
        if n > 0 {
            event = event.detail(what, n.to_string());
        }
    }
    crate::custody::record_if_kept(settings, lock.as_ref(), &[event]);
}

/// Runs `aigate deps diff`.
pub fn diff(args: &DiffArgs, settings: &Settings) -> Result<Finished> {
    let mut report = Report::builder(tool(), "deps-diff");
    let old = dependencies::read_one(&args.old);
    let new = dependencies::read_one(&args.new);
    let (old, new) = match (old, new) {
        (Ok(old), Ok(new)) => (old, new),
        (old, new) => {
            for error in [old.err(), new.err()].into_iter().flatten() {
                report.error(error);
            }
            return Ok(Finished {
                report: report.build(),
                threshold: args.fail_on,
            });
        }
    };
    let diff = aigate_python::diff(&old, &new);
    let at = |origin: &aigate_python::Origin, s: String| {
        aigate_policy::location_of(origin).with_subject(s)
    };
    let mut changes = Vec::new();
    for p in &diff.added {
        changes.push(change(
            "added",
            &p.name,
            None,
            p.version.as_ref().map(ToString::to_string),
            at(&p.origin, subject(&p.name, p.version.as_ref())),
        ));
    }
    for p in &diff.removed {
        changes.push(change(
            "removed",
            &p.name,
            p.version.as_ref().map(ToString::to_string),
            None,
            at(&p.origin, subject(&p.name, p.version.as_ref())),
        ));
    }
    for c in &diff.upgraded {
        changes.push(change(
            "upgraded",
            &c.name,
            Some(c.old.to_string()),
            Some(c.new.to_string()),
            at(&c.origin, subject(&c.name, Some(&c.new))),
        ));
    }
    for c in &diff.downgraded {
        changes.push(change(
            "downgraded",
            &c.name,
            Some(c.old.to_string()),
            Some(c.new.to_string()),
            at(&c.origin, subject(&c.name, Some(&c.new))),
        ));
    }
    for c in &diff.source_changed {
        changes.push(change(
            "source-changed",
            &c.name,
            Some(source(&c.old)),
            Some(source(&c.new)),
            at(&c.origin, subject(&c.name, c.version.as_ref())),
        ));
    }
    for c in &diff.hashes_changed {
        let list = |h: &[aigate_python::Hash]| {
            h.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        changes.push(change(
            "hashes-changed",
            &c.name,
            Some(list(&c.removed)),
            Some(list(&c.added)),
            at(&c.origin, subject(&c.name, Some(&c.version))),
        ));
    }
    changes.sort_by(|a, b| (&a.name, &a.change).cmp(&(&b.name, &b.change)));
    record_change(settings, args, &diff);
    let mut findings = aigate_policy::diff_findings(&diff);
    dependencies::add_source_lines(&mut findings);
    report
        .findings(findings)
        .changes(changes)
        .files((old.inputs.len() + new.inputs.len()) as u64);
    let rules: Vec<_> = aigate_policy::DIFF_RULES.iter().collect();
    settings.rule_levels().apply(&mut report, &rules);
    Ok(Finished {
        report: report.build(),
        threshold: args.fail_on,
    })
}
