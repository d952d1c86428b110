//! OSV records, as far as PyPI matching needs them, read leniently from a JSON value: unknown
//! fields are ignored, entries of other ecosystems dropped, fields of the wrong type skipped.
//! The schema is `../shared/schemas/osv/schema.json` (OSV 1.6).

use aigate_python::pep::normalize_name;
use serde_json::Value;

use crate::severity;

/// One advisory, reduced to what matching PyPI packages needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Advisory {
    /// `id`: `PYSEC-2021-1`, `GHSA-xxxx-xxxx-xxxx`, `MAL-2024-1`.
    pub id: String,
    /// `aliases`: the same issue under other ids (`CVE-…`, `GHSA-…`).
    pub aliases: Vec<String>,
    /// `summary`, else the first line of `details`, shortened.
    pub summary: String,
    /// The severity, when the record gives one.
    pub rating: Option<Rating>,
    /// Whether this is a known-malware record (`MAL-` id or alias).
    pub malicious: bool,
    /// The `affected` entries for PyPI packages.
    pub affected: Vec<Affected>,
}

/// A severity and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// aigate's severity.
    pub severity: aigate_report::Severity,
    /// The CVSS base score, when it came from a vector.
    pub score: Option<f64>,
    /// The vector, or `database_specific.severity: HIGH`.
    pub source: String,
}

/// One `affected` entry for a PyPI package.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    /// The PEP 503-normalised package name.
    pub name: String,
    /// `versions`: affected versions listed one by one.
    pub versions: Vec<String>,
    /// The `ECOSYSTEM` ranges.
    pub ranges: Vec<Range>,
    /// `GIT`, `SEMVER` and unknown ranges, skipped: they say nothing in PEP 440 terms.
    pub skipped_ranges: u32,
}

/// One `ECOSYSTEM` range: its events, in record order.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// The events.
    pub events: Vec<Event>,
}

/// One range event; the versions are as the record writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Affected from this version on (`"0"`: from the first).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
    /// The range ends below this version (`"*"`: no limit).
    Limit(String),
}

impl Event {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// What one record turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An advisory about at least one PyPI package.
    Advisory(Advisory),
    /// Withdrawn: ignored.
    Withdrawn,
    /// About other ecosystems only.
    OtherEcosystem,
    /// Not an OSV record: why.
    Malformed(String),
}

/// Longest summary kept.
const MAX_SUMMARY_CHARS: usize = 120;

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `text` cut at a word boundary to at most `max` characters, with `…` when it was cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([' ', ',', '.', ';', ':']))
}

/// Reads one record.
pub fn parse(record: &Value) -> Parsed {
    let Some(obj) = record.as_object() else {
        return Parsed::Malformed("the record is not an object".into());
    };
    let Some(id) = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Parsed::Malformed("the record has no `id`".into());
    };
    if obj
        .get("withdrawn")
        .is_some_and(|w| w.as_str().is_some_and(|s| !s.is_empty()))
    {
        return Parsed::Withdrawn;
    }
    let mut affected = Vec::new();
    let mut vectors: Vec<(String, String)> = Vec::new();
    let mut push_vectors = |v: Option<&Value>| {
        for s in v.and_then(Value::as_array).into_iter().flatten() {
            if let (Some(t), Some(score)) = (
                s.get("type").and_then(Value::as_str),
                s.get("score").and_then(Value::as_str),
            ) {
                vectors.push((t.to_owned(), score.to_owned()));
            }
        }
    };
    push_vectors(obj.get("severity"));
    for entry in obj
        .get("affected")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(package) = entry.get("package") else {
            continue;
        };
        if package.get("ecosystem").and_then(Value::as_str) != Some("PyPI") {
            continue;
        }
        let Some(name) = package.get("name").and_then(Value::as_str) else {
            continue;
        };
        push_vectors(entry.get("severity"));
        let mut ranges = Vec::new();
        let mut skipped_ranges = 0;
        for range in entry
            .get("ranges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if range.get("type").and_then(Value::as_str) != Some("ECOSYSTEM") {
                skipped_ranges += 1;
                continue;
            }
            let events: Vec<Event> = range
                .get("events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let e = e.as_object()?;
                    let get = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
                    get("introduced")
                        .map(Event::Introduced)
                        .or_else(|| get("fixed").map(Event::Fixed))
                        .or_else(|| get("last_affected").map(Event::LastAffected))
                        .or_else(|| get("limit").map(Event::Limit))
                })
                .collect();
            if !events.is_empty() {
                ranges.push(Range { events });
            }
        }
        affected.push(Affected {
            name: normalize_name(name),
            versions: strings(entry.get("versions")),
            ranges,
            skipped_ranges,
        });
    }
    if affected.is_empty() {
        return Parsed::OtherEcosystem;
    }
    let aliases = strings(obj.get("aliases"));
    let malicious = id.starts_with("MAL-") || aliases.iter().any(|a| a.starts_with("MAL-"));
    let fallback = obj
        .get("database_specific")
        .and_then(|d| d.get("severity"))
        .and_then(Value::as_str);
    let rating = severity::rate(&vectors, fallback);
    let summary = obj
        .get("summary")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            obj.get("details")
                .and_then(Value::as_str)
                .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
        })
        .unwrap_or("")
        .trim();
    let summary = shorten(summary, MAX_SUMMARY_CHARS);
    Parsed::Advisory(Advisory {
        id: id.to_owned(),
        aliases,
        summary,
        rating,
        malicious,
        affected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pypi_entries_are_kept_and_others_dropped() {
        let r = json!({"id": "X-1", "affected": [
            {"package": {"ecosystem": "npm", "name": "a"}},
            {"package": {"ecosystem": "PyPI", "name": "Foo_Bar"},
             "versions": ["1.0", 3],
             "ranges": [{"type": "GIT", "events": [{"introduced": "abc"}]},
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}, {"bogus": "x"}]}]}
        ], "unknown-field": {"x": 1}});
        let Parsed::Advisory(a) = parse(&r) else {
            panic!()
        };
        assert_eq!(a.affected.len(), 1);
        assert_eq!(a.affected[0].name, "foo-bar");
        assert_eq!(a.affected[0].versions, ["1.0"]);
        assert_eq!(a.affected[0].skipped_ranges, 1);
        assert_eq!(
            a.affected[0].ranges[0].events,
            [Event::Introduced("0".into()), Event::Fixed("1.2".into())]
        );
    }

    #[test]
    fn withdrawn_other_and_malformed_records_are_told_apart() {
        let withdrawn = json!({"id": "X", "withdrawn": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}}]});
        assert_eq!(parse(&withdrawn), Parsed::Withdrawn);
        let npm = json!({"id": "X", "affected": [{"package": {"ecosystem": "npm", "name": "a"}}]});
        assert_eq!(parse(&npm), Parsed::OtherEcosystem);
        assert!(matches!(parse(&json!([1])), Parsed::Malformed(_)));
        assert!(matches!(
            parse(&json!({"affected": []})),
            Parsed::Malformed(_)
        ));
    }

    #[test]
    fn mal_records_are_malicious_and_summaries_fall_back_to_details() {
        let r = json!({"id": "MAL-2024-1", "details": "\n  Malicious code in foo\nmore",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "foo"}}]});
        let Parsed::Advisory(a) = parse(&r) else {
            panic!()
        };
        assert!(a.malicious);
        assert_eq!(a.summary, "Malicious code in foo");
    }
}
