//! SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one run, the rules with
//! `security-severity`, one result per finding with a stable partial fingerprint.

use std::io::{self, Write};

use serde_json::{Value, json};

use aigate_report::{Finding, Report, Rule, Severity};

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
        finding.location.members.join("|"),
        finding.message
    );
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    path.chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '%' => "%25".to_owned(),
            '#' => "%23".to_owned(),
            '?' => "%3F".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn result(finding: &Finding, rule_index: Option<usize>) -> Value {
    let mut message = finding.message.clone();
    if !finding.location.members.is_empty() {
        message.push_str(&format!(" (in {})", finding.location.members.join(" > ")));
    }
    if let Some(offset) = finding.location.offset {
        message.push_str(&format!(" at byte offset {offset}"));
    }
    let mut result = json!({
        "ruleId": finding.rule,
        "level": level(finding.severity),
        "message": { "text": message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&finding.location.path) },
                "region": { "startLine": 1 }
            }
        }],
        "partialFingerprints": { "aigateFinding/v1": fingerprint(finding) },
        "properties": {
            "severity": finding.severity,
            "members": finding.location.members,
            "offset": finding.location.offset,
            "details": finding.details,
        }
    });
    if let (Some(index), Some(obj)) = (rule_index, result.as_object_mut()) {
        obj.insert("ruleIndex".into(), json!(index));
    }
    result
}

/// The SARIF log for a report.
pub fn to_value(report: &Report, rules: &[Rule]) -> Value {
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
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, rules.iter().position(|r| r.id == f.rule)))
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": format!("{}: {}", e.path, e.message) },
            })
        })
        .collect();
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
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

/// Writes the SARIF log.
pub fn render(report: &Report, rules: &[Rule], out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report, rules))?;
    writeln!(out)
}
