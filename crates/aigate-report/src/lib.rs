//! The shared vocabulary of aigate: [`Finding`], [`Severity`], [`Level`], [`Location`] (typed
//! steps into containers, source spans, package subjects), [`Rule`] values and the serialisable
//! [`Report`] that every renderer (human, JSON, SARIF, CycloneDX) reads.
//!
//! This crate does no I/O. Capability crates produce findings; the binary renders reports.
//! The JSON form of [`Report`] is a public interface, described by the JSON Schema that
//! [`report_schema`] writes and versioned by [`SCHEMA_VERSION`]: fields are added within a
//! version, never renamed or retyped.

#![forbid(unsafe_code)]

mod location;
mod rule;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use location::{Location, Span, Step, line_column};
pub use rule::{COMMON_RULES, INTERNAL_ERROR, Level, Rule, UnknownLevel};

/// The version of the report's JSON shape. Bumped when a field is renamed, retyped or removed.
pub const SCHEMA_VERSION: u32 = 1;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
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

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable kebab-case rule id, documented in `docs/rules.md`.
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// The level a `[rules]` entry in `aigate.toml` gave this rule: `warn` (reported, never
    /// fails the run) or `deny` (fails the run whatever its severity). Absent: the severity
    /// decides against the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Lower-case sentence naming the thing found: the global, the member, the limit.
    pub message: String,
    /// Where it was found.
    pub location: Location,
    /// What to do about this finding in particular, beyond the rule's help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Extra facts, machine-readable (`global`, `opcode`, `limit`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// In a report of `aigate check`: the check that found it (`scan`, `verify`, `policy`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
}

impl Finding {
    /// A finding of `rule`, at the rule's default severity.
    pub fn new(rule: &Rule, message: impl Into<String>, location: Location) -> Self {
        Finding {
            rule: rule.id.to_owned(),
            severity: rule.severity,
            level: None,
            message: message.into(),
            location,
            hint: None,
            details: BTreeMap::new(),
            check: None,
        }
    }

    /// The same finding at another severity (a capped or raised one).
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds one detail.
    #[must_use]
    pub fn with_detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Adds advice specific to this finding.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this finding fails a run whose threshold is `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        match self.level {
            Some(Level::Deny) => true,
            Some(Level::Warn | Level::Allow) => false,
            None => self.severity >= threshold,
        }
    }

    /// Whether this finding is an analysis that went wrong rather than something found.
    pub fn is_internal_error(&self) -> bool {
        self.rule == INTERNAL_ERROR.id
    }
}

/// What a run looked at: one entry per file or member whose format was recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Scanned {
    /// Where.
    pub location: Location,
    /// The format recognised from its content (`pickle`, `pytorch-zip`, `numpy`, …).
    pub format: String,
    /// The version of the reader that analysed it; bumped when its semantics change.
    pub reader_version: u32,
    /// Its size in bytes, where known.
    pub size: u64,
    /// Every global a pickle imports, safe ones included, when the scan was asked to list them
    /// (`aigate scan --list-globals`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub globals: Vec<SeenGlobal>,
}

/// A global a pickle imports, as `--list-globals` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SeenGlobal {
    /// The module, as written in the pickle.
    pub module: String,
    /// The name inside the module, as written.
    pub name: String,
    /// How many times it is imported.
    pub imports: u64,
    /// How many times it is called or has `__setstate__` reached.
    pub calls: u64,
}

/// An error that stopped the analysis of one input without stopping the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InputError {
    /// The input.
    pub path: String,
    /// What went wrong, lower-case.
    pub message: String,
    /// How to fix it, when aigate knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl InputError {
    /// An error without a hint.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// What a command did to one model or dataset (`lock`, `approve`, `fetch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ArtifactOutcome {
    /// Its name in `aigate.toml`.
    pub name: String,
    /// `model` or `dataset`.
    pub kind: String,
    /// Its project-relative path.
    pub path: String,
    /// How many files it has.
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
    /// What happened to it in this run.
    pub state: ArtifactState,
    /// The scan verdict recorded for its bytes: `clean` or `unsafe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// How many findings the recorded scan had at or above its threshold.
    #[serde(default)]
    pub findings: u64,
    /// `pending` or `approved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// Who approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// Why its approval changed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What happened to an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactState {
    /// Pinned for the first time.
    New,
    /// Pinned again with other bytes.
    Changed,
    /// Pinned again with the same bytes.
    Unchanged,
    /// Approved in this run.
    Approved,
    /// Downloaded and pinned in this run.
    Fetched,
}

impl ArtifactState {
    /// The lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactState::New => "new",
            ArtifactState::Changed => "changed",
            ArtifactState::Unchanged => "unchanged",
            ArtifactState::Approved => "approved",
            ArtifactState::Fetched => "fetched",
        }
    }
}

/// An advisory database as `aigate db update` installed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdvisoryDatabase {
    /// The folder it was installed in.
    pub path: String,
    /// The URL it was downloaded from, or the path it was imported from.
    pub source: String,
    /// The SHA-256 of what was imported (the zip, or the listing of a folder's files and digests).
    pub sha256: String,
    /// When it was installed (RFC 3339).
    pub updated: String,
    /// Records read.
    pub records: u64,
    /// Advisories about PyPI packages.
    pub advisories: u64,
    /// Withdrawn records, ignored.
    pub withdrawn: u64,
    /// Records about other ecosystems, skipped.
    pub other: u64,
    /// Records that could not be read, skipped.
    pub malformed: u64,
}

/// Counts of findings by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Files read.
    pub files: u64,
    /// Findings per severity name; severities with no finding are present with 0.
    pub findings: BTreeMap<Severity, u64>,
    /// Findings that a `[rules]` entry set to `allow`, and so were left out.
    pub suppressed: u64,
    /// Inputs that could not be read.
    pub errors: u64,
}

/// The result of one run: what was looked at, what was found, and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// The version of this JSON shape: [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool and its version.
    pub tool: Tool,
    /// The command that made it: `scan`, `verify`, `lock`, `approve`, `fetch`.
    pub command: String,
    /// Findings, sorted by location then rule.
    pub findings: Vec<Finding>,
    /// Files and members analysed, with their format.
    pub scanned: Vec<Scanned>,
    /// Models and datasets the command pinned, approved or fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactOutcome>,
    /// The resolved dependencies a command read (`deps`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// What changed between two dependency files (`deps diff`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<DependencyChange>,
    /// The advisory database a command installed (`db update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<AdvisoryDatabase>,
    /// Every version of every model and dataset (`inventory`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<InventoryEntry>,
    /// Custody log events (`log`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<CustodyEvent>,
    /// What changed between two versions of an artifact (`diff`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_changes: Vec<FileChange>,
    /// One section per check `aigate check` ran or could not run; when present, the sections
    /// decide the outcome, each at its own threshold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckSection>,
    /// Inputs that could not be read.
    pub errors: Vec<InputError>,
    /// Counts.
    pub summary: Summary,
}

/// How one check of `aigate check` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Ran; nothing at or above its threshold.
    Passed,
    /// Ran; a finding at or above its threshold.
    Failed,
    /// Ran, but an input could not be read or analysed: nothing can be concluded.
    Error,
    /// Enabled but could not run (no lock yet, no advisory database): `reason` says what to run.
    Missing,
    /// Not enabled by the configuration, or skipped on request.
    Skipped,
}

impl CheckStatus {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "failed",
            CheckStatus::Error => "error",
            CheckStatus::Missing => "missing",
            CheckStatus::Skipped => "skipped",
        }
    }
}

/// One check of `aigate check`: how it ended, at which threshold, what it found, how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckSection {
    /// `scan`, `verify`, `policy`, `audit`, `custody` or `sbom`.
    pub name: String,
    /// How it ended.
    pub status: CheckStatus,
    /// Findings at or above this fail the check.
    pub threshold: Severity,
    /// For `missing`: whether `--allow-missing` named it, so that it does not fail the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
    /// Why it was skipped or could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What to run so that it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Its findings per severity (every severity present).
    pub findings: BTreeMap<Severity, u64>,
    /// How many of them fail it.
    pub failing: u64,
    /// Inputs it could not read.
    pub errors: u64,
    /// Files and inputs it read.
    pub files: u64,
    /// Wall-clock time, in milliseconds.
    pub duration_ms: u64,
}

impl CheckSection {
    /// Whether this section makes the run exit 2: an error, or a check that could not run and
    /// that `--allow-missing` did not name.
    pub fn is_error(&self) -> bool {
        match self.status {
            CheckStatus::Error => true,
            CheckStatus::Missing => !self.allowed,
            _ => false,
        }
    }
}

/// One version of a model or dataset, as `aigate inventory` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InventoryEntry {
    /// Its name in aigate.toml.
    pub name: String,
    /// `model` or `dataset`.
    pub kind: String,
    /// The version number.
    pub version: u64,
    /// Whether this is the version the lock pins now.
    pub current: bool,
    /// `approved`, `pending` or `revoked`.
    pub status: String,
    /// The version's content digest (SHA-256 over its files' paths, sizes and digests).
    pub digest: String,
    /// Where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_use: Option<String>,
    /// Who approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// Why it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
    /// Files and bytes, where the lock or the store's manifest says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Whether the store holds what a rollback to it needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restorable: Option<bool>,
}

/// One event of the custody log (`aigate log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CustodyEvent {
    /// Its position in the log, from 1.
    pub seq: u64,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub by: String,
    /// What: `lock`, `approve`, `fetch`, `verify-passed`, `verify-failed`, `sign`, `rollback`,
    /// `revoke`, `deps-change`, `deploy`, `repair`.
    pub action: String,
    /// The artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The version's content digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Anything else the event records.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// The id of the key that signed the event (its public key's SHA-256), when it is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
}

/// One difference between two versions of an artifact (`aigate diff`): a file, or a tensor of
/// a safetensors file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileChange {
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// The file's project-relative path.
    pub path: String,
    /// The tensor's name, for a change inside a safetensors file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    /// The old digest, or the old dtype and shape of a tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// One dependency entry as `aigate deps` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Dependency {
    /// The PEP 503-normalised name.
    pub name: String,
    /// The exact version, when the input fixes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The version specifiers, for requirements that do not fix one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specifier: Option<String>,
    /// Where it resolves from: an index URL, a direct URL, a repository, a path.
    pub source: String,
    /// The kind of source: `registry`, `url`, `vcs`, `path`, `directory`, `editable`, `virtual`,
    /// `unknown`.
    pub source_kind: String,
    /// Artifact hashes, `algorithm:hex`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
    /// The licence, where the input records one (installed environments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// The file and line that declared it; `subject` is its package URL.
    pub location: Location,
    /// Whether the project asks for it itself (as far as the input says).
    pub direct: bool,
    /// The groups, extras or sections it belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The environment marker under which it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// One change between an old and a new dependency file (`aigate deps diff`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DependencyChange {
    /// `added`, `removed`, `upgraded`, `downgraded`, `source-changed` or `hashes-changed`.
    pub change: String,
    /// The normalised name.
    pub name: String,
    /// The old version or source, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The new version or source, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// The entry in the new file (in the old one, for removals).
    pub location: Location,
}

/// Which tool made a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// How a run ends, before it is turned into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing failed the run.
    Clean,
    /// A finding failed the run.
    Findings,
    /// Nothing failed the run, but an input could not be read or analysed, so nothing can be
    /// concluded.
    Error,
}

/// Collects the parts of a [`Report`]; [`ReportBuilder::build`] sorts and counts them.
#[derive(Debug)]
pub struct ReportBuilder {
    tool: Tool,
    command: String,
    findings: Vec<Finding>,
    scanned: Vec<Scanned>,
    artifacts: Vec<ArtifactOutcome>,
    dependencies: Vec<Dependency>,
    changes: Vec<DependencyChange>,
    database: Option<AdvisoryDatabase>,
    inventory: Vec<InventoryEntry>,
    events: Vec<CustodyEvent>,
    file_changes: Vec<FileChange>,
    checks: Vec<CheckSection>,
    errors: Vec<InputError>,
    files: u64,
    suppressed: u64,
}

impl ReportBuilder {
    /// Adds findings.
    pub fn findings(&mut self, findings: impl IntoIterator<Item = Finding>) -> &mut Self {
        self.findings.extend(findings);
        self
    }

    /// Adds one finding.
    pub fn finding(&mut self, finding: Finding) -> &mut Self {
        self.findings.push(finding);
        self
    }

    /// Adds what was analysed.
    pub fn scanned(&mut self, scanned: impl IntoIterator<Item = Scanned>) -> &mut Self {
        self.scanned.extend(scanned);
        self
    }

    /// Adds an artifact's outcome.
    pub fn artifact(&mut self, outcome: ArtifactOutcome) -> &mut Self {
        self.artifacts.push(outcome);
        self
    }

    /// Adds dependencies to list.
    pub fn dependencies(
        &mut self,
        dependencies: impl IntoIterator<Item = Dependency>,
    ) -> &mut Self {
        self.dependencies.extend(dependencies);
        self
    }

    /// Records the advisory database the command installed.
    pub fn database(&mut self, database: AdvisoryDatabase) -> &mut Self {
        self.database = Some(database);
        self
    }

    /// Adds dependency changes.
    pub fn changes(&mut self, changes: impl IntoIterator<Item = DependencyChange>) -> &mut Self {
        self.changes.extend(changes);
        self
    }

    /// Adds inventory entries.
    pub fn inventory(&mut self, entries: impl IntoIterator<Item = InventoryEntry>) -> &mut Self {
        self.inventory.extend(entries);
        self
    }

    /// Adds custody events.
    pub fn events(&mut self, events: impl IntoIterator<Item = CustodyEvent>) -> &mut Self {
        self.events.extend(events);
        self
    }

    /// Adds differences between artifact versions.
    pub fn file_changes(&mut self, changes: impl IntoIterator<Item = FileChange>) -> &mut Self {
        self.file_changes.extend(changes);
        self
    }

    /// Adds the section of one check (`aigate check`).
    pub fn check(&mut self, section: CheckSection) -> &mut Self {
        self.checks.push(section);
        self
    }

    /// Adds an input that could not be read.
    pub fn error(&mut self, error: InputError) -> &mut Self {
        self.errors.push(error);
        self
    }

    /// Sets how many files were read.
    pub fn files(&mut self, files: u64) -> &mut Self {
        self.files = files;
        self
    }

    /// Counts findings left out by `[rules]` entries set to `allow`.
    pub fn suppressed(&mut self, n: u64) -> &mut Self {
        self.suppressed += n;
        self
    }

    /// Findings added so far.
    pub fn current_findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Findings added so far, to adjust (levels, severities) before the report is built.
    pub fn findings_mut(&mut self) -> &mut Vec<Finding> {
        &mut self.findings
    }

    /// The report, with findings in a stable order and counted.
    pub fn build(self) -> Report {
        let mut findings = self.findings;
        findings.sort_by(|a, b| {
            (&a.location, &a.rule, &a.message).cmp(&(&b.location, &b.rule, &b.message))
        });
        let mut scanned = self.scanned;
        scanned.sort_by(|a, b| a.location.cmp(&b.location));
        let mut counts: BTreeMap<Severity, u64> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for finding in &findings {
            *counts.entry(finding.severity).or_default() += 1;
        }
        let errors = self.errors.len() as u64;
        Report {
            schema_version: SCHEMA_VERSION,
            tool: self.tool,
            command: self.command,
            findings,
            scanned,
            artifacts: self.artifacts,
            dependencies: self.dependencies,
            changes: self.changes,
            database: self.database,
            inventory: self.inventory,
            events: self.events,
            file_changes: self.file_changes,
            checks: self.checks,
            errors: self.errors,
            summary: Summary {
                files: self.files,
                findings: counts,
                suppressed: self.suppressed,
                errors,
            },
        }
    }
}

impl Report {
    /// Starts a report of `command` by `tool`.
    pub fn builder(tool: Tool, command: &str) -> ReportBuilder {
        ReportBuilder {
            tool,
            command: command.to_owned(),
            findings: Vec::new(),
            scanned: Vec::new(),
            artifacts: Vec::new(),
            dependencies: Vec::new(),
            changes: Vec::new(),
            database: None,
            inventory: Vec::new(),
            events: Vec::new(),
            file_changes: Vec::new(),
            checks: Vec::new(),
            errors: Vec::new(),
            files: 0,
            suppressed: 0,
        }
    }

    /// The most severe finding, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The findings that fail a run at `threshold`: internal errors are not among them, as they
    /// say nothing was concluded rather than something was found.
    pub fn failing(&self, threshold: Severity) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| !f.is_internal_error() && f.fails(threshold))
    }

    /// How many findings fail a run at `threshold`.
    pub fn count_failing(&self, threshold: Severity) -> usize {
        self.failing(threshold).count()
    }

    /// How the run ends at `threshold`: findings win over errors, errors over a clean pass. A
    /// report with check sections (`aigate check`) is decided by them, each at its own threshold.
    pub fn outcome(&self, threshold: Severity) -> Outcome {
        if !self.checks.is_empty() {
            return if self.checks.iter().any(|c| c.status == CheckStatus::Failed) {
                Outcome::Findings
            } else if self.checks.iter().any(CheckSection::is_error) {
                Outcome::Error
            } else {
                Outcome::Clean
            };
        }
        if self.count_failing(threshold) > 0 {
            Outcome::Findings
        } else if !self.errors.is_empty() || self.findings.iter().any(Finding::is_internal_error) {
            Outcome::Error
        } else {
            Outcome::Clean
        }
    }
}

/// The JSON Schema (draft 2020-12) of [`Report`], as `docs/report.schema.json` holds it.
pub fn report_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String(
                "https://github.com/aigate-dev/aigate/blob/main/docs/report.schema.json".into(),
            ),
        );
        obj.insert(
            "title".into(),
            serde_json::Value::String(format!("aigate report, schema version {SCHEMA_VERSION}")),
        );
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOW: Rule = Rule {
        id: "low-rule",
        severity: Severity::Low,
        summary: "s",
        help: "h",
    };
    const CRITICAL: Rule = Rule {
        id: "critical-rule",
        severity: Severity::Critical,
        summary: "s",
        help: "h",
    };

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Info < Severity::Low);
        assert!(Severity::High < Severity::Critical);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn findings_take_the_rule_default_severity() {
        let f = Finding::new(&LOW, "m", Location::file("a"));
        assert_eq!((f.rule.as_str(), f.severity), ("low-rule", Severity::Low));
        let f = f.with_severity(Severity::High);
        assert_eq!(f.severity, Severity::High);
    }

    #[test]
    fn levels_override_the_threshold() {
        let low = Finding::new(&LOW, "m", Location::file("a"));
        assert!(!low.fails(Severity::Medium));
        let denied = Finding {
            level: Some(Level::Deny),
            ..low.clone()
        };
        assert!(denied.fails(Severity::Critical));
        let warned = Finding {
            level: Some(Level::Warn),
            ..Finding::new(&CRITICAL, "m", Location::file("a"))
        };
        assert!(!warned.fails(Severity::Info));
    }

    #[test]
    fn report_counts_sorts_and_decides() {
        let f = |p: &str, rule: &Rule| Finding::new(rule, "m", Location::file(p));
        let mut builder = Report::builder(Tool::aigate("0"), "scan");
        builder.findings([f("b", &LOW), f("a", &CRITICAL)]).files(2);
        let report = builder.build();
        assert_eq!(report.findings[0].location.path, "a");
        assert_eq!(report.summary.findings[&Severity::Critical], 1);
        assert_eq!(report.summary.findings[&Severity::Medium], 0);
        assert_eq!(report.count_failing(Severity::Medium), 1);
        assert_eq!(report.outcome(Severity::Medium), Outcome::Findings);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["summary"]["findings"]["critical"], 1);
        assert_eq!(json["schema_version"], SCHEMA_VERSION);
    }

    /// `docs/report.schema.json` is what the code says the report is. Regenerate it with
    /// `UPDATE_SCHEMA=1 cargo test -p aigate-report`.
    #[test]
    fn the_committed_schema_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/report.schema.json");
        let generated = serde_json::to_string_pretty(&report_schema()).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap();
        assert!(
            committed == generated,
            "docs/report.schema.json is stale: run UPDATE_SCHEMA=1 cargo test -p aigate-report"
        );
    }

    #[test]
    fn internal_errors_end_a_run_as_errors_not_findings() {
        let mut builder = Report::builder(Tool::aigate("0"), "scan");
        builder.finding(Finding::new(
            &INTERNAL_ERROR,
            "the reader failed",
            Location::file("x"),
        ));
        let report = builder.build();
        assert_eq!(report.count_failing(Severity::Info), 0);
        assert_eq!(report.outcome(Severity::Info), Outcome::Error);
    }
}
