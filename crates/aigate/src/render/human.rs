//! The report for people: findings grouped by file, most severe first, each with where it is
//! (members, offsets), and each rule's advice once per file.

use std::collections::BTreeSet;
use std::io::{self, Write};

use aigate_report::{Finding, Report, Rule, Severity};

fn rule<'r>(rules: &'r [Rule], id: &str) -> Option<&'r Rule> {
    rules.iter().find(|r| r.id == id)
}

fn place(finding: &Finding) -> String {
    let mut parts: Vec<String> = finding.location.members.clone();
    if let Some(offset) = finding.location.offset {
        let opcode = finding
            .details
            .get("opcode")
            .map(|op| format!(" ({op})"))
            .unwrap_or_default();
        parts.push(format!("offset {offset}{opcode}"));
    }
    parts.join(" > ")
}

/// Writes the human report. With `quiet`, only files with findings and no summary. `verb` says
/// what was done to the files (`scanned`, `verified`).
pub fn render(
    report: &Report,
    rules: &[Rule],
    threshold: Severity,
    quiet: bool,
    verb: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut paths: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.location.path.as_str())
        .collect();
    paths.dedup();
    for path in &paths {
        let mut findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.location.path == *path)
            .collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let formats: BTreeSet<&str> = report
            .scanned
            .iter()
            .filter(|s| s.location.path == *path && s.location.members.is_empty())
            .map(|s| s.format.as_str())
            .collect();
        let formats = formats.into_iter().collect::<Vec<_>>().join(", ");
        if formats.is_empty() {
            writeln!(out, "{path}")?;
        } else {
            writeln!(out, "{path} ({formats})")?;
        }
        let mut advised = BTreeSet::new();
        for f in findings {
            writeln!(out, "  {:<8}  {}: {}", f.severity, f.rule, f.message)?;
            let place = place(f);
            if !place.is_empty() {
                writeln!(out, "            at {place}")?;
            }
            if advised.insert(f.rule.as_str()) {
                if let Some(rule) = rule(rules, &f.rule) {
                    writeln!(out, "            help: {}", rule.help)?;
                }
            }
        }
        writeln!(out)?;
    }
    for err in &report.errors {
        writeln!(out, "error: {}: {}", err.path, err.message)?;
    }
    if quiet {
        return Ok(());
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = report.summary.findings.get(s).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let failing = report.count_at_least(threshold);
    let verdict = if !report.errors.is_empty() && failing == 0 {
        format!("{} input(s) could not be read", report.errors.len())
    } else if failing > 0 {
        format!("{failing} finding(s) at or above {threshold}")
    } else {
        format!("nothing at or above {threshold}")
    };
    writeln!(
        out,
        "{verb} {} file(s): {}; {verdict}",
        report.summary.files,
        if counts.is_empty() {
            "no findings".to_owned()
        } else {
            counts.join(", ")
        },
    )
}
