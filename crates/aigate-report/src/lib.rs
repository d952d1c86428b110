//! The shared vocabulary of aigate: [`Finding`], [`Severity`], [`Location`], [`Rule`] and the
//! serialisable [`Report`] that every renderer (human, JSON, SARIF, CycloneDX) reads.
//!
//! This crate does no I/O. Capability crates produce findings; the binary renders reports.
//! The JSON form of [`Report`] is a public interface: fields are added, never renamed.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run on its own unless asked.
    Info,
    /// Unusual but unlikely to be harmful.
    Low,
    /// Could not be shown safe: unknown code paths, unanalysable content.
    Medium,
    /// Likely harmful, or harmful once a second stage loads it.
    High,
    /// Runs attacker-chosen code when the artifact is loaded.
    Critical,
}

impl Severity {
    /// Every severity, from the least to the most severe.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lower-case name used in configuration, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error returned when a string names no severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSeverity(pub String);

impl fmt::Display for UnknownSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown severity `{}` (expected one of: info, low, medium, high, critical)",
            self.0
        )
    }
}

impl std::error::Error for UnknownSeverity {}

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

/// Where a finding is: a file, the chain of members inside containers, and a byte offset in the
/// innermost stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The file as it was named on the command line or found by the walker.
    pub path: String,
    /// Members inside containers, outermost first: `["archive/data.pkl"]`, or
    /// `["outer.zip", "inner.npz", "arr_0.npy"]`. Decompression and embedded pickles add a step too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Byte offset inside the innermost member (for pickles: the offset of the opcode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Location {
    /// A location naming a whole file.
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            members: Vec::new(),
            offset: None,
        }
    }

    /// The same location one member deeper.
    pub fn join(&self, member: impl Into<String>) -> Self {
        let mut members = self.members.clone();
        members.push(member.into());
        Location {
            path: self.path.clone(),
            members,
            offset: None,
        }
    }

    /// The same location at a byte offset in its innermost member.
    pub fn at(&self, offset: u64) -> Self {
        Location {
            offset: Some(offset),
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        for member in &self.members {
            write!(f, " > {member}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " @ {offset}")?;
        }
        Ok(())
    }
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule id, documented in `docs/rules.md`.
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// Lower-case sentence naming the thing found: the global, the member, the limit.
    pub message: String,
    /// Where it was found.
    pub location: Location,
    /// Extra facts, machine-readable (`global`, `opcode`, `limit`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

impl Finding {
    /// A finding with no details.
    pub fn new(
        rule: &str,
        severity: Severity,
        message: impl Into<String>,
        location: Location,
    ) -> Self {
        Finding {
            rule: rule.to_owned(),
            severity,
            message: message.into(),
            location,
            details: BTreeMap::new(),
        }
    }

    /// Adds one detail.
    #[must_use]
    pub fn with_detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// A rule: the id findings carry, its default severity, and the words a user needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// The severity findings of this rule usually carry.
    pub severity: Severity,
    /// One line: what was found.
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
}

/// Declares rule-id constants and a `RULES` table in one go, so that ids, severities and help
/// texts are written once:
///
/// ```
/// aigate_report::rules! {
///     /// Every rule of this check.
///     RULES;
///     FOO_FOUND = "foo-found", High, "a foo was found", "remove the foo";
/// }
/// assert_eq!(RULES[0].id, FOO_FOUND);
/// ```
#[macro_export]
macro_rules! rules {
    ($(#[$table_doc:meta])* $table:ident; $($konst:ident = $id:literal, $sev:ident, $summary:literal, $help:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $konst: &str = $id;
        )*
        $(#[$table_doc])*
        pub const $table: &[$crate::Rule] = &[
            $($crate::Rule { id: $id, severity: $crate::Severity::$sev, summary: $summary, help: $help },)*
        ];
    };
}

/// What a run looked at: one entry per file or member whose format was recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scanned {
    /// Where.
    pub location: Location,
    /// The format recognised from its content (`pickle`, `pytorch-zip`, `numpy`, …).
    pub format: String,
    /// Its size in bytes.
    pub size: u64,
}

/// An error that stopped the analysis of one input without stopping the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// The input.
    pub path: String,
    /// What went wrong, lower-case.
    pub message: String,
}

/// Counts of findings by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Files read.
    pub files: u64,
    /// Findings per severity name; severities with no finding are present with 0.
    pub findings: BTreeMap<Severity, u64>,
    /// Inputs that could not be read.
    pub errors: u64,
}

/// The result of one run: what was looked at, what was found, and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The tool and its version.
    pub tool: Tool,
    /// Findings, sorted by location then rule.
    pub findings: Vec<Finding>,
    /// Files and members analysed, with their format.
    pub scanned: Vec<Scanned>,
    /// Inputs that could not be read.
    pub errors: Vec<InputError>,
    /// Counts.
    pub summary: Summary,
}

/// Which tool made a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `aigate`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Tool {
    /// aigate at `version`.
    pub fn aigate(version: &str) -> Self {
        Tool {
            name: "aigate".into(),
            version: version.into(),
        }
    }
}

impl Report {
    /// Builds a report, sorting findings into a stable order and counting them.
    pub fn new(
        tool: Tool,
        mut findings: Vec<Finding>,
        mut scanned: Vec<Scanned>,
        errors: Vec<InputError>,
        files: u64,
    ) -> Self {
        findings.sort_by(|a, b| {
            (
                &a.location.path,
                &a.location.members,
                a.location.offset,
                &a.rule,
                &a.message,
            )
                .cmp(&(
                    &b.location.path,
                    &b.location.members,
                    b.location.offset,
                    &b.rule,
                    &b.message,
                ))
        });
        scanned.sort_by(|a, b| a.location.cmp(&b.location));
        let mut counts: BTreeMap<Severity, u64> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for finding in &findings {
            *counts.entry(finding.severity).or_default() += 1;
        }
        let errors_len = errors.len() as u64;
        Report {
            tool,
            findings,
            scanned,
            errors,
            summary: Summary {
                files,
                findings: counts,
                errors: errors_len,
            },
        }
    }

    /// The most severe finding, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// How many findings are at or above `threshold`.
    pub fn count_at_least(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= threshold)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Info < Severity::Low);
        assert!(Severity::High < Severity::Critical);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn location_displays_members_and_offset() {
        let loc = Location::file("m.pt").join("archive/data.pkl").at(12);
        assert_eq!(loc.to_string(), "m.pt > archive/data.pkl @ 12");
    }

    #[test]
    fn report_counts_and_sorts() {
        let f = |p: &str, s| Finding::new("r", s, "m", Location::file(p));
        let report = Report::new(
            Tool {
                name: "aigate".into(),
                version: "0".into(),
            },
            vec![f("b", Severity::Low), f("a", Severity::Critical)],
            vec![],
            vec![],
            2,
        );
        assert_eq!(report.findings[0].location.path, "a");
        assert_eq!(report.summary.findings[&Severity::Critical], 1);
        assert_eq!(report.summary.findings[&Severity::Medium], 0);
        assert_eq!(report.count_at_least(Severity::Medium), 1);
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["summary"]["findings"]["critical"], 1);
    }
}
