//! The audit: every dependency with a fixed version matched against the advisories of its
//! name, records linked by aliases merged into one finding, `[audit]` ignores applied (expired
//! and unused ones reported, as the policy check reports unused entries), and dependencies that
//! cannot be checked reported rather than passed.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use aigate_python::pep::{Version, is_exact_pin};
use aigate_python::{Package, Source};
use aigate_report::{Finding, Level, Location, Severity, Span, line_column};

use crate::Meta;
use crate::index::{DecodeError, Index};
use crate::matching::{Verdict, check};
use crate::osv::Advisory;
use crate::rules::{
    AUDIT_ADVISORY_UNEVALUABLE, AUDIT_DB_MALFORMED_RECORDS, AUDIT_DB_STALE, AUDIT_IGNORE_EXPIRED,
    AUDIT_IGNORE_UNUSED, AUDIT_MALICIOUS_PACKAGE, AUDIT_NOT_CHECKED, AUDIT_VULNERABILITY,
};

/// `[audit]` in `aigate.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuditConfig {
    /// Warn when the database is older than this: days as a number, or `"12h"`, `"7d"`, `"2w"`.
    pub max_db_age: Option<Spanned<AgeText>>,
    /// Advisories not to report, each with a reason and an optional expiry.
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
}

/// An age as written: a number of days, or a string with a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AgeText {
    /// Days.
    Days(u64),
    /// `12h`, `7d`, `2w`.
    Text(String),
}

impl AgeText {
    /// The age in seconds, or why it is no age.
    pub fn seconds(&self) -> Result<u64, String> {
        match self {
            AgeText::Days(d) => Ok(d.saturating_mul(86_400)),
            AgeText::Text(t) => {
                let t = t.trim();
                let (n, unit) = t.split_at(t.len().saturating_sub(1));
                let per = match unit {
                    "h" => 3_600,
                    "d" => 86_400,
                    "w" => 7 * 86_400,
                    _ => {
                        return Err(format!(
                            "`{t}` is no age: write a number of days, or `12h`, `7d`, `2w`"
                        ));
                    }
                };
                n.parse::<u64>()
                    .map(|n| n.saturating_mul(per))
                    .map_err(|_| {
                        format!("`{t}` is no age: write a number of days, or `12h`, `7d`, `2w`")
                    })
            }
        }
    }
}

/// One `[[audit.ignore]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IgnoreEntry {
    /// An advisory id or alias (`GHSA-…`, `PYSEC-…`, `CVE-…`).
    pub id: Spanned<String>,
    /// Why it does not apply (required: an ignore without a reason cannot be reviewed).
    pub reason: String,
    /// `YYYY-MM-DD`: from the day after, the advisory is reported again.
    pub until: Option<String>,
}

/// Whether `text` is a `YYYY-MM-DD` date.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && matches!(text[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(text[8..10].parse::<u8>(), Ok(1..=31))
}

impl AuditConfig {
    /// Checks the values serde cannot: ages and dates. The error names the line in `text`.
    pub fn validate(&self, text: &str) -> Result<(), String> {
        if let Some(age) = &self.max_db_age {
            age.get_ref().seconds().map_err(|e| {
                format!(
                    "line {}: [audit] max-db-age: {e}",
                    line_column(text, age.span().start).0
                )
            })?;
        }
        for entry in &self.ignore {
            let line = line_column(text, entry.id.span().start).0;
            if entry.id.get_ref().trim().is_empty() {
                return Err(format!(
                    "line {line}: [[audit.ignore]] needs an advisory id"
                ));
            }
            if entry.reason.trim().is_empty() {
                return Err(format!(
                    "line {line}: [[audit.ignore]] `{}` needs a reason",
                    entry.id.get_ref()
                ));
            }
            if let Some(until) = &entry.until
                && !is_date(until)
            {
                return Err(format!(
                    "line {line}: [[audit.ignore]] until = \"{until}\" is no date: write YYYY-MM-DD"
                ));
            }
        }
        Ok(())
    }
}

/// One dependency to audit, with where it was declared (its subject the package URL).
#[derive(Debug, Clone)]
pub struct AuditInput<'a> {
    /// The package.
    pub package: &'a Package,
    /// Where findings about it point.
    pub location: Location,
}

/// What the audit needs beside the database and the dependencies.
#[derive(Debug, Clone, Copy)]
pub struct AuditContext<'a> {
    /// `[audit]`.
    pub config: &'a AuditConfig,
    /// The configuration file, as shown.
    pub config_path: &'a str,
    /// Its text, for the lines of ignore entries.
    pub config_text: &'a str,
    /// Today, `YYYY-MM-DD`.
    pub today: &'a str,
}

/// Findings, and how many ignores suppressed.
#[derive(Debug, Default)]
pub struct AuditOutcome {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Findings left out by ignore entries.
    pub suppressed: u64,
    /// Dependencies checked against the database.
    pub checked: u64,
}

/// The order ids are listed in: malware first, then the Python database's own ids, GitHub's,
/// CVE, others.
fn id_rank(id: &str) -> (u8, &str) {
    let rank = ["MAL-", "PYSEC-", "GHSA-", "CVE-"]
        .iter()
        .position(|p| id.starts_with(p))
        .unwrap_or(4);
    (rank as u8, id)
}

struct Group<'a> {
    ids: Vec<String>,
    members: Vec<(&'a Advisory, Option<Version>)>,
}

/// Why a package cannot be checked, if it cannot.
fn not_checkable(package: &Package) -> Option<String> {
    let from = match &package.source {
        Source::Url { url, .. } => Some(format!("a URL ({url})")),
        Source::Vcs { url, .. } => Some(format!("a repository ({url})")),
        Source::Path { path } | Source::Directory { path } => {
            Some(format!("a local path ({path})"))
        }
        Source::Editable { location } => Some(format!("an editable install ({location})")),
        _ => None,
    };
    if let Some(from) = from {
        return Some(format!(
            "{} comes from {from}, not an index release, so advisories about released versions say nothing about it",
            package.name
        ));
    }
    if package.version.is_none() {
        let spec = package
            .specifier
            .as_ref()
            .map(ToString::to_string)
            .filter(|s| !s.is_empty());
        return Some(match spec {
            Some(s) => format!(
                "{} {s} fixes no version, so it cannot be matched against advisories",
                package.name
            ),
            None => format!(
                "{} has no version, so it cannot be matched against advisories",
                package.name
            ),
        });
    }
    None
}

/// Audits `inputs` against `index`.
pub fn audit(
    index: &Index<'_>,
    inputs: &[AuditInput<'_>],
    cx: &AuditContext<'_>,
) -> Result<AuditOutcome, DecodeError> {
    let mut out = AuditOutcome::default();
    let mut cache: HashMap<&str, Vec<Advisory>> = HashMap::new();
    let ignores = &cx.config.ignore;
    let mut used = vec![false; ignores.len()];
    let expired: Vec<bool> = ignores
        .iter()
        .map(|e| e.until.as_deref().is_some_and(|u| u < cx.today))
        .collect();
    for input in inputs {
        let package = input.package;
        if package.constraint_only || matches!(package.source, Source::Virtual { .. }) {
            continue;
        }
        if let Some(why) = not_checkable(package) {
            out.findings.push(Finding::new(
                &AUDIT_NOT_CHECKED,
                why,
                input.location.clone(),
            ));
            continue;
        }
        let Some(version) = &package.version else {
            continue;
        };
        out.checked += 1;
        if !cache.contains_key(package.name.as_str()) {
            cache.insert(package.name.as_str(), index.advisories(&package.name)?);
        }
        let advisories = cache
            .get(package.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut groups: Vec<Group<'_>> = Vec::new();
        let mut unknown: Vec<(&Advisory, String)> = Vec::new();
        for a in advisories {
            let mut hit = false;
            let mut fixes: Vec<Version> = Vec::new();
            let mut why = None;
            for entry in &a.affected {
                match check(entry, version) {
                    Verdict::Affected { fixes: f } => {
                        hit = true;
                        fixes.extend(f);
                    }
                    Verdict::Unknown(w) => why = Some(w),
                    Verdict::NotAffected => {}
                }
            }
            if !hit {
                if let Some(w) = why {
                    unknown.push((a, w));
                }
                continue;
            }
            let fix = fixes.into_iter().min();
            let ids: Vec<String> = std::iter::once(a.id.clone())
                .chain(a.aliases.iter().cloned())
                .collect();
            // Merge every group sharing an id with this record into one.
            let mut merged = Group {
                ids: ids.clone(),
                members: vec![(a, fix)],
            };
            let mut rest = Vec::new();
            for g in groups {
                if g.ids.iter().any(|i| merged.ids.contains(i)) {
                    merged.ids.extend(g.ids);
                    merged.members.extend(g.members);
                } else {
                    rest.push(g);
                }
            }
            merged.ids.sort_by(|a, b| id_rank(a).cmp(&id_rank(b)));
            merged.ids.dedup();
            rest.push(merged);
            groups = rest;
        }
        groups.sort_by(|a, b| id_rank(&a.ids[0]).cmp(&id_rank(&b.ids[0])));
        for group in groups {
            let matching: Vec<usize> = ignores
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    group
                        .ids
                        .iter()
                        .any(|i| i.eq_ignore_ascii_case(e.id.get_ref().trim()))
                })
                .map(|(i, _)| i)
                .collect();
            for &i in &matching {
                used[i] = true;
            }
            if matching.iter().any(|&i| !expired[i]) {
                out.suppressed += 1;
                continue;
            }
            out.findings
                .push(finding(package, version, &group, input.location.clone()));
        }
        for (a, why) in unknown {
            out.findings.push(
                Finding::new(
                    &AUDIT_ADVISORY_UNEVALUABLE,
                    format!(
                        "{} {version}: {} has a range that cannot be evaluated: {why}",
                        package.name, a.id
                    ),
                    input.location.clone(),
                )
                .with_detail("advisory", a.id.clone())
                .with_detail("url", format!("https://osv.dev/vulnerability/{}", a.id)),
            );
        }
    }
    for (i, entry) in ignores.iter().enumerate() {
        let (line, column) = line_column(cx.config_text, entry.id.span().start);
        let at = Location::file(cx.config_path).with_span(Span::point(line, column));
        let id = entry.id.get_ref();
        let mut f = if expired[i] {
            Finding::new(
                &AUDIT_IGNORE_EXPIRED,
                format!(
                    "[[audit.ignore]] `{id}` expired on {}, so it no longer applies",
                    entry.until.as_deref().unwrap_or("")
                ),
                at,
            )
        } else if !used[i] {
            Finding::new(
                &AUDIT_IGNORE_UNUSED,
                format!("[[audit.ignore]] `{id}` matched no finding in this run"),
                at,
            )
        } else {
            continue;
        };
        f = f
            .with_detail("id", id.clone())
            .with_detail("reason", entry.reason.clone());
        f.level = Some(Level::Warn);
        out.findings.push(f);
    }
    Ok(out)
}

fn finding(package: &Package, version: &Version, group: &Group<'_>, location: Location) -> Finding {
    let primary = &group.ids[0];
    let malicious = group.members.iter().any(|(a, _)| a.malicious);
    let best = group
        .members
        .iter()
        .filter_map(|(a, _)| a.rating.as_ref())
        .max_by(|a, b| {
            a.severity
                .cmp(&b.severity)
                .then(a.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)))
        });
    let summary = group
        .members
        .iter()
        .find(|(a, _)| a.id == *primary && !a.summary.is_empty())
        .or_else(|| group.members.iter().find(|(a, _)| !a.summary.is_empty()))
        .map(|(a, _)| a.summary.clone())
        .unwrap_or_default();
    // A version every merged record calls fixed: the largest of their smallest fixes.
    let fix = group.members.iter().filter_map(|(_, f)| f.clone()).max();
    let others: Vec<&str> = group.ids[1..].iter().map(String::as_str).collect();
    let named = if others.is_empty() {
        primary.clone()
    } else {
        format!("{primary} ({})", others.join(", "))
    };
    let (rule, severity) = if malicious {
        (&AUDIT_MALICIOUS_PACKAGE, Severity::Critical)
    } else {
        (
            &AUDIT_VULNERABILITY,
            best.map(|r| r.severity)
                .unwrap_or(AUDIT_VULNERABILITY.severity),
        )
    };
    let message = if malicious {
        format!("{} {version} is known malware: {named}", package.name)
    } else if summary.is_empty() {
        format!("{} {version} is affected by {named}", package.name)
    } else {
        format!(
            "{} {version} is affected by {named}: {summary}",
            package.name
        )
    };
    let mut f = Finding::new(rule, message, location)
        .with_severity(severity)
        .with_detail("advisory", primary.clone())
        .with_detail("ids", group.ids.join(", "))
        .with_detail("installed", version.to_string())
        .with_detail("url", format!("https://osv.dev/vulnerability/{primary}"));
    if !summary.is_empty() {
        f = f.with_detail("summary", summary);
    }
    match best {
        Some(r) => {
            if let Some(score) = r.score {
                f = f.with_detail("score", format!("{score:.1}"));
            }
            f = f.with_detail("rating", r.source.clone());
        }
        None => f = f.with_detail("rating", "none: the advisory gives no severity"),
    }
    let spec = package
        .specifier
        .as_ref()
        .filter(|s| !s.to_string().is_empty());
    match &fix {
        Some(fix) => {
            f = f.with_detail("fixed", fix.to_string());
            let allowed = spec.map(|s| !is_exact_pin(s) && s.contains(fix));
            if let Some(allowed) = allowed {
                f = f.with_detail("fix-allowed", if allowed { "yes" } else { "no" });
            }
            f = f.with_hint(match (allowed, spec) {
                (Some(false), Some(s)) => format!(
                    "upgrade to {} {fix} or later; the requirement `{s}` does not allow it, so change it too",
                    package.name
                ),
                _ => format!("upgrade to {} {fix} or later", package.name),
            });
        }
        None if malicious => {
            f = f.with_hint("remove it: no version of a malicious package is safe to install");
        }
        None => {
            f = f.with_hint(
                "no fixed version is known: remove or replace the dependency, or ignore the advisory with a reason if it does not apply",
            );
        }
    }
    f
}

/// Seconds since the epoch of an RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS…`).
pub fn epoch_of(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

/// Findings about the database itself: older than `[audit] max-db-age`, records skipped.
pub fn db_findings(meta: &Meta, db_path: &str, max_age: Option<u64>, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(max) = max_age {
        let age = epoch_of(&meta.updated).map(|t| now.saturating_sub(t));
        let stale = match age {
            Some(age) => age > i64::try_from(max).unwrap_or(i64::MAX),
            None => true,
        };
        if stale {
            let when = if meta.updated.is_empty() {
                "at an unknown date".to_owned()
            } else {
                format!("on {}", meta.updated)
            };
            let mut f = Finding::new(
                &AUDIT_DB_STALE,
                format!(
                    "the advisory database was updated {when}, longer ago than [audit] max-db-age"
                ),
                Location::file(db_path),
            );
            f.level = Some(Level::Warn);
            out.push(f);
        }
    }
    if meta.malformed > 0 {
        let mut f = Finding::new(
            &AUDIT_DB_MALFORMED_RECORDS,
            format!(
                "{} of {} records could not be read and were skipped",
                meta.malformed, meta.records
            ),
            Location::file(db_path),
        );
        if let Some(first) = meta.malformed_examples.first() {
            f = f.with_detail("first", first.clone());
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_dates_parse() {
        assert_eq!(AgeText::Days(2).seconds(), Ok(172_800));
        assert_eq!(AgeText::Text("12h".into()).seconds(), Ok(43_200));
        assert!(AgeText::Text("soon".into()).seconds().is_err());
        assert!(is_date("2027-01-31"));
        assert!(!is_date("2027-13-01"));
        assert!(!is_date("31/01/2027"));
    }

    #[test]
    fn epochs_agree_with_the_clock_module() {
        for secs in [0_i64, 951_782_400, 1_700_000_000, 4_102_444_800] {
            let text = aigate_integrity::clock::rfc3339(secs);
            assert_eq!(epoch_of(&text), Some(secs), "{text}");
        }
    }
}
