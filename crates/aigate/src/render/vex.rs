//! The advisories of a report as a CycloneDX 1.6 VEX document (JSON): one `components` entry per
//! affected package (its purl is its `bom-ref`) and one `vulnerabilities` entry per finding of
//! `audit-vulnerability` or `audit-malicious-package`, with every merged id, the rating and its
//! CVSS vector, the fixed version and the affected version. Consumers such as Dependency-Track
//! match the `bom-ref`s against the BOM they hold.
//!
//! The document is reproducible: entries are sorted, the serial number is derived from the
//! content and the timestamp comes from `SOURCE_DATE_EPOCH` when it is set.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use aigate_report::{Finding, Report, Severity};

use crate::settings::now_rfc3339;

/// The rules whose findings are advisories.
const ADVISORY_RULES: [&str; 2] = ["audit-vulnerability", "audit-malicious-package"];

/// Writes the VEX document for `report`.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let document = document(report, &now_rfc3339());
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// The advisories among `findings` as CycloneDX vulnerabilities (each `affects` its package's
/// purl, the `bom-ref` of its component), and those components, each sorted.
pub fn vulnerabilities(findings: &[Finding]) -> (Vec<Value>, Vec<Value>) {
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    let mut vulnerabilities: BTreeMap<(String, String), Value> = BTreeMap::new();
    for finding in findings
        .iter()
        .filter(|f| ADVISORY_RULES.contains(&f.rule.as_str()))
    {
        let Some(purl) = finding.location.subject.clone() else {
            continue;
        };
        components
            .entry(purl.clone())
            .or_insert_with(|| component(&purl));
        let id = detail(finding, "advisory").unwrap_or_default().to_owned();
        vulnerabilities.insert(
            (id.clone(), purl.clone()),
            vulnerability(finding, &id, &purl),
        );
    }
    (
        components.into_values().collect(),
        vulnerabilities.into_values().collect(),
    )
}

/// The document, stamped with `timestamp`.
fn document(report: &Report, timestamp: &str) -> Value {
    let (components, vulnerabilities) = vulnerabilities(&report.findings);
    let body = json!({
        "components": components,
        "vulnerabilities": vulnerabilities,
    });
    let serial = aigate_sbom::content_serial(body.to_string().as_bytes());
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{
                "type": "application",
                "name": report.tool.name,
                "version": report.tool.version,
            }]},
        },
        "components": body["components"],
        "vulnerabilities": body["vulnerabilities"],
    })
}

fn detail<'a>(finding: &'a Finding, key: &str) -> Option<&'a str> {
    finding.details.get(key).map(String::as_str)
}

/// A `pkg:pypi/NAME@VERSION` purl as a library component.
fn component(purl: &str) -> Value {
    let rest = purl.strip_prefix("pkg:pypi/").unwrap_or(purl);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (name, version) = rest.split_once('@').unwrap_or((rest, ""));
    let mut c = json!({
        "type": "library",
        "bom-ref": purl,
        "name": name,
        "purl": purl,
    });
    if !version.is_empty() {
        c["version"] = json!(percent_decoded(version));
    }
    c
}

/// The text a purl segment percent-encodes (`2.1.0%2Bcu118` is `2.1.0+cu118`).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn vulnerability(finding: &Finding, id: &str, purl: &str) -> Value {
    let malicious = finding.rule == "audit-malicious-package";
    let references: Vec<Value> = detail(finding, "ids")
        .unwrap_or_default()
        .split(", ")
        .filter(|other| !other.is_empty() && *other != id)
        .map(|other| json!({"id": other, "source": source_of(other)}))
        .collect();
    let mut rating = json!({
        "source": {"name": "OSV", "url": format!("https://osv.dev/vulnerability/{id}")},
        "severity": severity_name(finding.severity),
    });
    if let Some(score) = detail(finding, "score").and_then(|s| s.parse::<f64>().ok()) {
        rating["score"] = json!(score);
    }
    match detail(finding, "rating").map(cvss_method) {
        Some(Some((method, vector))) => {
            rating["method"] = json!(method);
            rating["vector"] = json!(vector);
        }
        _ => rating["method"] = json!("other"),
    }
    let mut v = json!({
        "bom-ref": format!("{id}/{purl}"),
        "id": id,
        "source": source_of(id),
        "ratings": [rating],
        "affects": [{
            "ref": purl,
            "versions": [{
                "version": detail(finding, "installed").unwrap_or_default(),
                "status": "affected",
            }],
        }],
        // Found by matching versions, not by analysing reachability: it is for people to triage.
        "analysis": {"state": "in_triage"},
    });
    if !references.is_empty() {
        v["references"] = json!(references);
    }
    if let Some(summary) = detail(finding, "summary") {
        v["description"] = json!(summary);
    }
    if let Some(hint) = &finding.hint {
        v["recommendation"] = json!(hint);
    }
    if malicious {
        v["cwes"] = json!([506]);
    }
    if let Some(fixed) = detail(finding, "fixed") {
        v["properties"] = json!([{"name": "aigate:fixed-version", "value": fixed}]);
    }
    v
}

/// Where an advisory id is published, by its prefix.
fn source_of(id: &str) -> Value {
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("CVE-") {
        json!({"name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{id}")})
    } else if upper.starts_with("GHSA-") {
        json!({"name": "GitHub", "url": format!("https://github.com/advisories/{id}")})
    } else {
        json!({"name": "OSV", "url": format!("https://osv.dev/vulnerability/{id}")})
    }
}

/// CycloneDX's severity names.
fn severity_name(severity: Severity) -> &'static str {
    // aigate's names are CycloneDX's.
    severity.as_str()
}

/// The CycloneDX rating method of a CVSS vector, and the vector.
fn cvss_method(vector: &str) -> Option<(&'static str, &str)> {
    let method = if vector.starts_with("CVSS:4.0/") {
        "CVSSv4"
    } else if vector.starts_with("CVSS:3.1/") {
        "CVSSv31"
    } else if vector.starts_with("CVSS:3.0/") {
        "CVSSv3"
    } else {
        return None;
    };
    Some((method, vector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_follow_the_vector_version() {
        assert_eq!(cvss_method("CVSS:3.0/AV:N").map(|m| m.0), Some("CVSSv3"));
        assert_eq!(cvss_method("CVSS:3.1/AV:N").map(|m| m.0), Some("CVSSv31"));
        assert_eq!(cvss_method("CVSS:4.0/AV:N").map(|m| m.0), Some("CVSSv4"));
        assert_eq!(cvss_method("database_specific.severity: HIGH"), None);
    }

    #[test]
    fn components_name_the_package_and_version_of_the_purl() {
        let c = component("pkg:pypi/demo-lib@1.0");
        assert_eq!(c["name"], "demo-lib");
        assert_eq!(c["version"], "1.0");
        assert_eq!(c["bom-ref"], "pkg:pypi/demo-lib@1.0");
        let local = component("pkg:pypi/torch@1%212.1.0%2Bcu118");
        assert_eq!(local["version"], "1!2.1.0+cu118");
    }
}
