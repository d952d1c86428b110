//! SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one run, every rule of aigate with
//! `security-severity`, one result per finding with a stable partial fingerprint, the line of
//! text findings as their region, and file names as RFC 3986 URI references.

use std::io::{self, Write};

use serde_json::{Value, json};

use aigate_report::{CheckStatus, Finding, Level, Report, Severity};

use crate::registry;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's scale: 9.0+ critical, 7.0+ high, 4.0+ medium, above 0 low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// FNV-1a, 64 bits: a stable fingerprint that does not depend on the Rust version.
fn fingerprint(finding: &Finding) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!(
        "{}|{}|{}|{}",
        finding.rule,
        finding.location.path,
        finding.location.steps_display(),
        finding.message
    );
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A relative URI reference for a path: every byte outside RFC 3986's unreserved set and `/`
/// is percent-encoded (a backslash is a character of the name, not a separator).
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn result_level(finding: &Finding) -> &'static str {
    match finding.level {
        Some(Level::Deny) => "error",
        Some(Level::Warn) => "warning",
        _ => level(finding.severity),
    }
}

fn result(finding: &Finding, rule_index: Option<usize>) -> Value {
    let mut message = finding.message.clone();
    if !finding.location.steps.is_empty() {
        message.push_str(&format!(" (in {})", finding.location.steps_display()));
    }
    if let Some(offset) = finding.location.offset {
        message.push_str(&format!(" at byte offset {offset}"));
    }
    if let Some(hint) = &finding.hint {
        message.push_str(&format!(". Hint: {hint}"));
    }
    let mut region = json!({ "startLine": 1 });
    if let Some(span) = finding.location.span {
        region = json!({ "startLine": span.line, "startColumn": span.column });
        if let (Some(line), Some(column)) = (span.end_line, span.end_column) {
            region["endLine"] = json!(line);
            region["endColumn"] = json!(column);
        }
    }
    let mut result = json!({
        "ruleId": finding.rule,
        "level": result_level(finding),
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&finding.location.path) },
                "region": region
            }
        }],
        "partialFingerprints": { "aigateFinding/v1": fingerprint(finding) },
        "properties": {
            "severity": finding.severity,
            "details": finding.details,
        }
    });
    let properties = &mut result["properties"];
    if !finding.location.steps.is_empty() {
        properties["steps"] = json!(finding.location.steps);
    }
    if let Some(offset) = finding.location.offset {
        properties["offset"] = json!(offset);
    }
    if let Some(subject) = &finding.location.subject {
        properties["subject"] = json!(subject);
    }
    if let Some(hint) = &finding.hint {
        properties["hint"] = json!(hint);
    }
    if let Some(level) = finding.level {
        properties["level"] = json!(level);
    }
    if let Some(check) = &finding.check {
        properties["check"] = json!(check);
    }
    if let (Some(index), Some(obj)) = (rule_index, result.as_object_mut()) {
        obj.insert("ruleIndex".into(), json!(index));
    }
    result
}

/// The advisory a finding is about, when it is an `audit` vulnerability or malware finding.
fn advisory_rule(finding: &Finding) -> Option<&str> {
    let ids = [
        aigate_advisory::rules::AUDIT_VULNERABILITY.id,
        aigate_advisory::rules::AUDIT_MALICIOUS_PACKAGE.id,
    ];
    if !ids.contains(&finding.rule.as_str()) {
        return None;
    }
    finding.details.get("advisory").map(String::as_str)
}

fn advisory_rule_object(finding: &Finding, id: &str) -> Value {
    let summary = finding
        .details
        .get("summary")
        .cloned()
        .unwrap_or_else(|| id.to_owned());
    let ids = finding.details.get("ids").cloned().unwrap_or_default();
    let help = registry::get(&finding.rule).map(|r| r.help).unwrap_or("");
    let mut tags = vec!["security", "vulnerability", "dependency"];
    if finding.rule == aigate_advisory::rules::AUDIT_MALICIOUS_PACKAGE.id {
        tags.push("malware");
    }
    json!({
        "id": id,
        "name": finding.rule,
        "shortDescription": { "text": summary },
        "fullDescription": { "text": format!("{summary} ({ids})") },
        "help": { "text": help },
        "helpUri": finding.details.get("url").cloned().unwrap_or_else(|| format!("https://osv.dev/vulnerability/{id}")),
        "defaultConfiguration": { "level": level(finding.severity) },
        "properties": {
            "security-severity": finding.details.get("score").cloned().unwrap_or_else(|| security_severity(finding.severity).to_owned()),
            "tags": tags,
        }
    })
}

/// The SARIF log for a report.
pub fn to_value(report: &Report) -> Value {
    let rules = registry::all();
    let rule_objects: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.summary },
                "help": { "text": r.help },
                "helpUri": format!("https://github.com/aigate-dev/aigate/blob/main/docs/rules.md#{}", r.id),
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "security-severity": security_severity(r.severity),
                    "tags": ["security", "supply-chain"],
                }
            })
        })
        .collect();
    let mut rule_objects = rule_objects;
    // Advisory findings get a rule of their own per advisory, as code-scanning tools expect of
    // dependency scanners: its id is the advisory's, its help the advisory's page.
    let mut advisory_rules: Vec<String> = Vec::new();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let Some(id) = advisory_rule(f) else {
                return result(f, rules.iter().position(|r| r.id == f.rule));
            };
            let index = match advisory_rules.iter().position(|a| a == id) {
                Some(i) => rules.len() + i,
                None => {
                    advisory_rules.push(id.to_owned());
                    rule_objects.push(advisory_rule_object(f, id));
                    rules.len() + advisory_rules.len() - 1
                }
            };
            let mut r = result(f, Some(index));
            r["ruleId"] = json!(id);
            r["properties"]["aigateRule"] = json!(f.rule);
            r
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": match &e.hint {
                    Some(hint) => format!("{}: {}. Hint: {hint}", e.path, e.message),
                    None => format!("{}: {}", e.path, e.message),
                } },
            })
        })
        .collect();
    let mut notifications = notifications;
    for check in report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Missing)
    {
        let reason = check.reason.as_deref().unwrap_or("it could not run");
        let text = match &check.hint {
            Some(hint) => format!(
                "check `{}` could not run: {reason}. Hint: {hint}",
                check.name
            ),
            None => format!("check `{}` could not run: {reason}", check.name),
        };
        notifications.push(json!({
            "level": if check.allowed { "warning" } else { "error" },
            "message": { "text": text },
        }));
    }
    let mut invocation = json!({
        "executionSuccessful": report.errors.is_empty() && !report.checks.iter().any(|c| c.is_error()),
        "toolExecutionNotifications": notifications,
    });
    if !report.checks.is_empty() {
        invocation["properties"] = json!({ "checks": report.checks });
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "aigate",
                    "version": report.tool.version,
                    "semanticVersion": report.tool.version,
                    "informationUri": "https://github.com/aigate-dev/aigate",
                    "rules": rule_objects,
                }
            },
            "invocations": [invocation],
            "results": results,
        }]
    })
}

/// Writes the SARIF log.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("./models/a b.pkl"), "models/a%20b.pkl");
        assert_eq!(uri("dir\\x#y?.pt"), "dir%5Cx%23y%3F.pt");
        assert_eq!(uri("caf\u{e9}/%"), "caf%C3%A9/%25");
    }
}
