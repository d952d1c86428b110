//! The report for people: what happened to each artifact (`lock`, `approve`, `fetch`), then
//! findings grouped by file, most severe first, each with where it is (members, offsets, lines),
//! its own hint, and each rule's advice once per file; then one summary line. Names from the
//! inputs are escaped, so a file name cannot move the cursor or rewrite the terminal.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};

use aigate_report::{
    ArtifactOutcome, ArtifactState, CheckSection, CheckStatus, Finding, Level, Report, Severity,
};

use crate::registry;
use crate::render::RenderOptions;

/// `text` with control characters and bidirectional overrides escaped.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn place(finding: &Finding) -> String {
    let mut parts: Vec<String> = finding
        .location
        .steps
        .iter()
        .map(|s| printable(&s.to_string()).into_owned())
        .collect();
    if let Some(span) = finding.location.span {
        parts.insert(0, format!("line {}, column {}", span.line, span.column));
    }
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

/// `text` in `style` when colour is on.
fn paint(text: &str, style: anstyle::Style, color: bool) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_owned()
    }
}

fn severity_style(severity: Severity) -> anstyle::Style {
    use anstyle::{AnsiColor, Style};
    match severity {
        Severity::Critical => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        Severity::High => Style::new().fg_color(Some(AnsiColor::Red.into())),
        Severity::Medium => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Severity::Low => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        Severity::Info => Style::new().dimmed(),
    }
}

fn status_style(status: CheckStatus) -> anstyle::Style {
    use anstyle::{AnsiColor, Style};
    match status {
        CheckStatus::Passed => Style::new().fg_color(Some(AnsiColor::Green.into())),
        CheckStatus::Failed => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        CheckStatus::Error | CheckStatus::Missing => {
            Style::new().fg_color(Some(AnsiColor::Yellow.into()))
        }
        CheckStatus::Skipped => Style::new().dimmed(),
    }
}

fn severity_label(finding: &Finding) -> String {
    match finding.level {
        Some(Level::Warn) => format!("{} (warn)", finding.severity),
        Some(Level::Deny) => format!("{} (deny)", finding.severity),
        _ => finding.severity.to_string(),
    }
}

/// The inputs that could not be read, for standard error: they are not the report's findings,
/// and a reader piping the report on should still see them.
pub fn errors(report: &Report) -> String {
    let mut out = String::new();
    for err in &report.errors {
        out.push_str(&format!(
            "error: {}: {}\n",
            printable(&err.path),
            printable(&err.message)
        ));
        if let Some(hint) = &err.hint {
            out.push_str(&format!("  hint: {}\n", printable(hint)));
        }
    }
    out
}

/// Writes the human report (errors go to standard error: see [`errors`]).
pub fn render(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    for artifact in &report.artifacts {
        writeln!(out, "{}", artifact_line(artifact))?;
        if let Some(note) = &artifact.note {
            writeln!(out, "  note: {}", printable(note))?;
        }
    }
    if !report.artifacts.is_empty() && !report.findings.is_empty() {
        writeln!(out)?;
    }
    render_dependencies(report, out)?;
    render_custody(report, out)?;
    // Findings are sorted by location, so each file's are together; formats are looked up once
    // per file. (Filtering the whole report per file made large reports quadratic.)
    let mut formats: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for s in &report.scanned {
        if s.location.steps.is_empty() {
            formats
                .entry(s.location.path.as_str())
                .or_default()
                .insert(s.format.as_str());
        }
    }
    for group in report
        .findings
        .chunk_by(|a, b| a.location.path == b.location.path)
    {
        let path = group[0].location.path.as_str();
        let mut findings: Vec<&Finding> = group.iter().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let formats = formats
            .get(path)
            .map(|f| f.iter().copied().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        if formats.is_empty() {
            writeln!(out, "{}", printable(path))?;
        } else {
            writeln!(out, "{} ({formats})", printable(path))?;
        }
        let mut advised = BTreeSet::new();
        for f in findings {
            let label = format!("{:<8}", severity_label(f));
            writeln!(
                out,
                "  {}  {}: {}",
                paint(&label, severity_style(f.severity), options.color),
                paint(&f.rule, anstyle::Style::new().bold(), options.color),
                printable(&f.message)
            )?;
            let place = place(f);
            if !place.is_empty() {
                writeln!(out, "            at {place}")?;
            }
            if let Some(source) = f.details.get("source") {
                writeln!(out, "            | {}", printable(source))?;
            }
            if let Some(hint) = &f.hint {
                writeln!(out, "            hint: {}", printable(hint))?;
            }
            if advised.insert(f.rule.as_str())
                && let Some(rule) = registry::get(&f.rule)
            {
                writeln!(out, "            help: {}", rule.help)?;
            }
        }
        writeln!(out)?;
    }
    // Commands whose result is a file they wrote say so on standard error; an empty report of
    // theirs has no summary to give.
    let wrote_a_file = matches!(report.command.as_str(), "sign" | "keygen");
    if options.quiet || (wrote_a_file && report.findings.is_empty()) {
        return Ok(());
    }
    if !report.checks.is_empty() {
        return write!(out, "{}", check_table(&report.checks, options.color));
    }
    writeln!(out, "{}", summary(report, options.threshold))
}

/// The summary of `aigate check`: one row per check (result, findings by severity, time), why
/// each one that did not run did not, and the verdict.
pub fn check_table(checks: &[CheckSection], color: bool) -> String {
    let mut out = String::new();
    let severities: Vec<Severity> = Severity::ALL.iter().rev().copied().collect();
    out.push_str(&format!(
        "{:<8}  {:<8}  {:<9}",
        "check", "result", "fails at"
    ));
    for s in &severities {
        out.push_str(&format!("  {:>8}", s.as_str()));
    }
    out.push_str("      time\n");
    for c in checks {
        let ran = matches!(
            c.status,
            CheckStatus::Passed | CheckStatus::Failed | CheckStatus::Error
        );
        let result = match (c.status, c.allowed) {
            (CheckStatus::Missing, true) => "missing*",
            (status, _) => status.as_str(),
        };
        let result = paint(&format!("{result:<8}"), status_style(c.status), color);
        out.push_str(&format!(
            "{:<8}  {result}  {:<9}",
            c.name,
            c.threshold.as_str()
        ));
        for s in &severities {
            let cell = if ran {
                c.findings.get(s).copied().unwrap_or(0).to_string()
            } else {
                "-".to_owned()
            };
            out.push_str(&format!("  {cell:>8}"));
        }
        if ran || c.status == CheckStatus::Missing {
            out.push_str(&format!("  {:>5} ms\n", c.duration_ms));
        } else {
            out.push_str("         -\n");
        }
    }
    let mut notes = String::new();
    for c in checks {
        if let Some(reason) = &c.reason {
            let what = match (c.status, c.allowed) {
                (CheckStatus::Missing, true) => "could not run (allowed by --allow-missing)",
                (CheckStatus::Missing, false) => "could not run",
                _ => "skipped",
            };
            notes.push_str(&format!("{}: {what}: {}\n", c.name, printable(reason)));
            if let Some(hint) = &c.hint {
                notes.push_str(&format!("  hint: {}\n", printable(hint)));
            }
        } else if c.status == CheckStatus::Error {
            notes.push_str(&format!(
                "{}: {} input(s) could not be read (see the errors above)\n",
                c.name, c.errors
            ));
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes);
    }
    let names = |status: CheckStatus| -> Vec<&str> {
        checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.name.as_str())
            .collect()
    };
    let failed = names(CheckStatus::Failed);
    let unconcluded: Vec<&str> = checks
        .iter()
        .filter(|c| c.is_error())
        .map(|c| c.name.as_str())
        .collect();
    let passed = names(CheckStatus::Passed);
    out.push('\n');
    if !failed.is_empty() {
        let failing: u64 = checks.iter().map(|c| c.failing).sum();
        out.push_str(&format!(
            "check failed: {} ({failing} finding(s) at or above their check's threshold)\n",
            failed.join(", ")
        ));
    } else if !unconcluded.is_empty() {
        out.push_str(&format!(
            "check could not conclude: {} did not run or could not read an input (--allow-missing CHECK lets a check that cannot run pass)\n",
            unconcluded.join(", ")
        ));
    } else {
        out.push_str(&format!(
            "check passed: {} of {} check(s) ran and passed\n",
            passed.len(),
            checks.len()
        ));
    }
    out
}

/// The dependency list (`deps`) and the changes (`deps diff`), one line each.
fn render_dependencies(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut current_path = None;
    for d in &report.dependencies {
        if current_path != Some(d.location.path.as_str()) {
            if current_path.is_some() {
                writeln!(out)?;
            }
            writeln!(out, "{}", printable(&d.location.path))?;
            current_path = Some(d.location.path.as_str());
        }
        let version = d
            .version
            .as_deref()
            .or(d.specifier.as_deref())
            .unwrap_or("*");
        let mut facts = vec![printable(&d.source).into_owned()];
        if !d.hashes.is_empty() {
            facts.push(format!("{} hash(es)", d.hashes.len()));
        }
        if let Some(licence) = &d.licence {
            facts.push(printable(licence).into_owned());
        }
        facts.push(if d.direct { "direct" } else { "transitive" }.to_owned());
        let line = d
            .location
            .span
            .map(|s| format!(":{}", s.line))
            .unwrap_or_default();
        writeln!(
            out,
            "  {} {}  ({})  {}{line}",
            printable(&d.name),
            printable(version),
            facts.join(", "),
            printable(&d.location.path)
        )?;
    }
    if !report.dependencies.is_empty() {
        writeln!(out)?;
    }
    for c in &report.changes {
        let what = match (c.old.as_deref(), c.new.as_deref()) {
            (Some(old), Some(new)) => format!("{} -> {}", printable(old), printable(new)),
            (Some(old), None) => printable(old).into_owned(),
            (None, Some(new)) => printable(new).into_owned(),
            (None, None) => String::new(),
        };
        writeln!(out, "  {:<14} {} {what}", c.change, printable(&c.name))?;
    }
    if !report.changes.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// The inventory (`inventory`), the custody log's events (`log`) and the changes between two
/// versions (`diff`), as tables.
fn render_custody(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if !report.inventory.is_empty() {
        let rows: Vec<[String; 7]> = report
            .inventory
            .iter()
            .map(|e| {
                let mut status = e.status.clone();
                if e.current {
                    status.push_str(" (current)");
                }
                let approval = match (&e.approved_by, &e.approved_at) {
                    (Some(by), Some(at)) => format!("{} {}", printable(by), at),
                    (Some(by), None) => printable(by).into_owned(),
                    _ => "-".to_owned(),
                };
                [
                    printable(&e.name).into_owned(),
                    e.version.to_string(),
                    status,
                    approval,
                    e.digest.get(..16).unwrap_or(&e.digest).to_owned(),
                    printable(e.owner.as_deref().unwrap_or("-")).into_owned(),
                    printable(e.origin.as_deref().unwrap_or("-")).into_owned(),
                ]
            })
            .collect();
        table(
            out,
            [
                "NAME", "VERSION", "STATUS", "APPROVED", "DIGEST", "OWNER", "ORIGIN",
            ],
            &rows,
        )?;
        for e in report
            .inventory
            .iter()
            .filter(|e| e.revoked_reason.is_some())
        {
            writeln!(
                out,
                "  {}@{} revoked: {}",
                printable(&e.name),
                e.version,
                printable(e.revoked_reason.as_deref().unwrap_or(""))
            )?;
        }
        writeln!(out)?;
    }
    if !report.events.is_empty() {
        let rows: Vec<[String; 5]> = report
            .events
            .iter()
            .map(|e| {
                let what = match (&e.artifact, e.version) {
                    (Some(a), Some(v)) => format!("{}@{v}", printable(a)),
                    (Some(a), None) => printable(a).into_owned(),
                    _ => "-".to_owned(),
                };
                let details: Vec<String> = e
                    .details
                    .iter()
                    .map(|(k, v)| format!("{k}={}", printable(v)))
                    .collect();
                [
                    e.seq.to_string(),
                    e.at.clone(),
                    e.action.clone(),
                    what,
                    format!("{} {}", printable(&e.by), details.join(" "))
                        .trim_end()
                        .to_owned(),
                ]
            })
            .collect();
        table(
            out,
            ["#", "AT", "ACTION", "ARTIFACT", "BY / DETAILS"],
            &rows,
        )?;
        writeln!(out)?;
    }
    for c in &report.file_changes {
        let what = match (c.old.as_deref(), c.new.as_deref()) {
            (Some(old), Some(new)) => format!("{} -> {}", printable(old), printable(new)),
            (Some(old), None) => printable(old).into_owned(),
            (None, Some(new)) => printable(new).into_owned(),
            (None, None) => String::new(),
        };
        match &c.tensor {
            Some(t) => writeln!(
                out,
                "  {:<8} {} tensor {}  {what}",
                c.change,
                printable(&c.path),
                printable(t)
            )?,
            None => writeln!(out, "{:<10} {}  {what}", c.change, printable(&c.path))?,
        }
    }
    if !report.file_changes.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// A left-aligned table with a header row, columns as wide as their widest cell.
fn table<const N: usize>(
    out: &mut dyn Write,
    header: [&str; N],
    rows: &[[String; N]],
) -> io::Result<()> {
    let mut widths: [usize; N] = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// One line about what happened to an artifact.
fn artifact_line(a: &ArtifactOutcome) -> String {
    let name = printable(&a.name);
    let verdict = match a.verdict.as_deref() {
        Some("unsafe") => format!("scan UNSAFE ({} finding(s))", a.findings),
        Some(verdict) => format!("scan {verdict}"),
        None => "not scanned".to_owned(),
    };
    let approval = match (a.approval.as_deref(), &a.approved_by) {
        (Some("approved"), Some(by)) => format!("approved by {}", printable(by)),
        (Some("approved"), None) => "approved".to_owned(),
        _ => "pending approval".to_owned(),
    };
    let size = human_size(a.bytes);
    match a.state {
        ArtifactState::Approved => format!(
            "approved {} {name} ({} file(s)) by {}",
            a.kind,
            a.files,
            a.approved_by.as_deref().map(printable).unwrap_or_default()
        ),
        ArtifactState::Fetched => format!(
            "fetched {} {name} into {}: {} file(s), {size}, {verdict}, pinned pending approval",
            a.kind,
            printable(&a.path),
            a.files
        ),
        state => format!(
            "{} {name}: {} file(s), {size}, {verdict}, {approval} ({})",
            a.kind,
            a.files,
            state.as_str()
        ),
    }
}

/// The one-line verdict.
fn summary(report: &Report, threshold: Severity) -> String {
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = report.summary.findings.get(s).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let failing = report.count_failing(threshold);
    let errors = report.errors.len();
    let verdict = if failing > 0 {
        format!("{failing} finding(s) at or above {threshold}")
    } else if errors > 0 {
        format!("{errors} input(s) could not be read")
    } else {
        format!("nothing at or above {threshold}")
    };
    let suppressed = match report.summary.suppressed {
        0 => String::new(),
        n => format!(" ({n} allowed by [rules])"),
    };
    let (verb, what) = match report.command.as_str() {
        "verify" | "verify-sig" => ("verified", format!("{} file(s)", report.summary.files)),
        "lock" => ("locked", format!("{} artifact(s)", report.artifacts.len())),
        "approve" => (
            "approved",
            format!("{} artifact(s)", report.artifacts.len()),
        ),
        "fetch" => ("fetched", format!("{} file(s)", report.summary.files)),
        "deps" => (
            "read",
            format!(
                "{} package(s) from {} input(s)",
                report.dependencies.len(),
                report.summary.files
            ),
        ),
        "deps-diff" => ("compared", format!("{} change(s)", report.changes.len())),
        "policy" => ("checked", format!("{} input(s)", report.summary.files)),
        "inventory" => ("listed", format!("{} version(s)", report.inventory.len())),
        "log" => ("read", format!("{} event(s)", report.events.len())),
        "log-verify" => ("verified", format!("{} event(s)", report.summary.files)),
        "log-repair" => ("repaired", "the custody log".to_owned()),
        "rollback" => (
            "rolled back",
            format!("{} artifact(s)", report.artifacts.len()),
        ),
        "revoke" => ("revoked", "1 version".to_owned()),
        "deploy" => ("recorded", "1 deployment".to_owned()),
        "diff" => (
            "compared",
            format!("{} change(s)", report.file_changes.len()),
        ),
        "store-push" => ("pushed", format!("{} file(s)", report.summary.files)),
        "store-gc" => ("collected", "the store".to_owned()),
        _ => ("scanned", format!("{} file(s)", report.summary.files)),
    };
    format!(
        "{verb} {what}: {}{suppressed}; {verdict}",
        if counts.is_empty() {
            "no findings".to_owned()
        } else {
            counts.join(", ")
        },
    )
}

/// Bytes as people read them.
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain name.pkl"), "plain name.pkl");
        assert_eq!(printable("a\nb\x1b[2Jc"), "a\\nb\\x1b[2Jc");
        assert_eq!(printable("evil\u{202e}lkp.exe"), "evil\\u{202e}lkp.exe");
    }
}
