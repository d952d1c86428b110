//! The policy, validated from its configuration, and the checks over dependency sets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aigate_python::pep::{self, Version, VersionSpecifiers};
use aigate_python::{
    DependencySet, IndexKind, InputFormat, Origin, Package, RecordCheck, RecordIssue, Source,
};
use aigate_report::{Finding, Level, Location, Rule, Span};
use toml::Spanned;

use crate::config::{AllowlistFileEntry, PolicyConfig, parse_allowlist_file};
use crate::error::PolicyError;
use crate::licence::{Expression, licence_expression, parse_expression};
use crate::rules::*;
use crate::typosquat::popular;

/// PyPI's simple index: where pip, uv and poetry resolve when nothing says otherwise.
pub const PYPI: &str = "https://pypi.org/simple";

/// Largest `allowed_packages.json` read.
pub const MAX_ALLOWLIST_BYTES: u64 = 16 << 20;

/// Where a configuration entry is, for findings about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryOrigin {
    /// The file (`aigate.toml` or the allowlist file).
    pub path: String,
    /// Its line, when known.
    pub span: Option<Span>,
}

impl EntryOrigin {
    fn location(&self) -> Location {
        let location = Location::file(self.path.clone());
        match self.span {
            Some(span) => location.with_span(span),
            None => location,
        }
    }
}

#[derive(Debug, Clone)]
struct NamePattern(String);

impl NamePattern {
    fn new(text: &str) -> Option<Self> {
        let normalised = pep::normalize_name(text.trim());
        let valid = !normalised.is_empty()
            && normalised
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'*');
        valid.then_some(NamePattern(normalised))
    }

    fn matches(&self, name: &str) -> bool {
        glob(self.0.as_bytes(), name.as_bytes())
    }

    fn is_exact(&self, name: &str) -> bool {
        self.0 == name
    }
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

#[derive(Debug, Clone)]
struct Allowed {
    name: NamePattern,
    versions: Vec<VersionSpecifiers>,
    versions_text: Vec<String>,
    source: Option<String>,
    reason: Option<String>,
    origin: EntryOrigin,
}

#[derive(Debug, Clone)]
struct Denied {
    name: NamePattern,
    versions: Vec<VersionSpecifiers>,
    reason: String,
}

#[derive(Debug, Clone)]
struct Reviewed {
    name: String,
    origin: EntryOrigin,
}

/// The dependency policy: `[policy]` validated, with the allowlist file read.
#[derive(Debug, Clone)]
pub struct Policy {
    require_pins: bool,
    require_hashes: bool,
    typosquats: bool,
    indexes: Vec<(String, Option<EntryOrigin>)>,
    internal: Vec<(NamePattern, EntryOrigin)>,
    internal_index: Option<String>,
    internal_index_origin: Option<EntryOrigin>,
    allow: Vec<Allowed>,
    deny: Vec<Denied>,
    not_typosquat: Vec<Reviewed>,
    licence_allow: Vec<(String, EntryOrigin)>,
    licence_deny: Vec<String>,
    licence_unknown: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            require_pins: true,
            require_hashes: false,
            typosquats: true,
            indexes: vec![(PYPI.to_owned(), None)],
            internal: Vec::new(),
            internal_index: None,
            internal_index_origin: None,
            allow: Vec::new(),
            deny: Vec::new(),
            not_typosquat: Vec::new(),
            licence_allow: Vec::new(),
            licence_deny: Vec::new(),
            licence_unknown: false,
        }
    }
}

/// Normalises an index URL for comparison: scheme and host lower-cased, no trailing `/`.
pub fn normalize_index(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                path
            )
        }
        None => url.to_owned(),
    }
}

/// Reads `2.13.*` as `==2.13.*`, and anything starting with an operator as PEP 440 specifiers.
fn parse_version_pattern(text: &str) -> Result<VersionSpecifiers, String> {
    let text = text.trim();
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        pep::parse_specifiers(&format!("=={text}"))
    } else {
        pep::parse_specifiers(text)
    }
}

fn any_satisfied(version: &Version, specifiers: &[VersionSpecifiers]) -> bool {
    specifiers.iter().any(|s| pep::satisfies(version, s))
}

struct Spans<'a> {
    path: &'a str,
    text: &'a str,
}

impl Spans<'_> {
    fn of<T>(&self, spanned: &Spanned<T>) -> EntryOrigin {
        let range = spanned.span();
        EntryOrigin {
            path: self.path.to_owned(),
            span: Some(Span::point(
                aigate_report::line_column(self.text, range.start).0,
                aigate_report::line_column(self.text, range.start).1,
            )),
        }
    }

    /// The name pattern and version patterns of an `[[policy.SECTION]]` entry, or the error
    /// naming its line.
    fn entry(
        &self,
        name: &Spanned<String>,
        versions: &[String],
        section: &str,
        example: &str,
    ) -> Result<(NamePattern, Vec<VersionSpecifiers>), PolicyError> {
        let pattern = NamePattern::new(name.get_ref()).ok_or_else(|| {
            self.invalid(
                name,
                format!("`{}` is not a package name pattern", name.get_ref()),
                "use a PEP 508 name, with `*` for any run of characters",
            )
        })?;
        let versions = versions
            .iter()
            .map(|v| parse_version_pattern(v).map_err(|e| (v, e)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|(v, e)| {
                self.invalid(
                    name,
                    format!(
                        "[[policy.{section}]] `{}`: invalid version pattern {v:?}: {e}",
                        name.get_ref()
                    ),
                    &format!("write `2.13.*`, `2.13.1`, or PEP 440 specifiers such as `{example}`"),
                )
            })?;
        Ok((pattern, versions))
    }

    fn invalid<T>(&self, spanned: &Spanned<T>, message: String, hint: &str) -> PolicyError {
        PolicyError::Invalid {
            path: self.path.to_owned(),
            line: aigate_report::line_column(self.text, spanned.span().start).0,
            message,
            hint: hint.to_owned(),
        }
    }
}

impl Policy {
    /// Validates `[policy]` (read from `config_path`, whose text is `config_text`, for the lines
    /// of errors and findings) and reads its `allowlist-file`, relative to `base`.
    pub fn new(
        config: &PolicyConfig,
        config_path: &str,
        config_text: &str,
        base: &Path,
    ) -> Result<Policy, PolicyError> {
        let spans = Spans {
            path: config_path,
            text: config_text,
        };
        let mut policy = Policy {
            require_pins: config.require_pins,
            require_hashes: config.require_hashes,
            typosquats: config.typosquats,
            ..Policy::default()
        };
        if let Some(indexes) = &config.indexes {
            policy.indexes = Vec::new();
            for index in indexes {
                check_url(&spans, index)?;
                policy
                    .indexes
                    .push((normalize_index(index.get_ref()), Some(spans.of(index))));
            }
        }
        for pattern in &config.internal {
            let compiled = NamePattern::new(pattern.get_ref()).ok_or_else(|| {
                spans.invalid(
                    pattern,
                    format!("`{}` is not a package name pattern", pattern.get_ref()),
                    "use a PEP 508 name, with `*` for any run of characters: `acme-*`",
                )
            })?;
            policy.internal.push((compiled, spans.of(pattern)));
        }
        if let Some(index) = &config.internal_index {
            check_url(&spans, index)?;
            policy.internal_index = Some(normalize_index(index.get_ref()));
            policy.internal_index_origin = Some(spans.of(index));
        }
        for entry in &config.allow {
            let (name, versions) =
                spans.entry(&entry.name, &entry.versions, "allow", ">=2.14,<2.16")?;
            policy.allow.push(Allowed {
                name,
                versions,
                versions_text: entry.versions.clone(),
                source: entry.source.as_deref().map(normalize_index),
                reason: entry.reason.clone(),
                origin: spans.of(&entry.name),
            });
        }
        if let Some(file) = &config.allowlist_file {
            let path = base.join(file.get_ref());
            policy.read_allowlist_file(&path, file.get_ref())?;
        }
        for entry in &config.deny {
            let (name, versions) = spans.entry(&entry.name, &entry.versions, "deny", "<2.0")?;
            policy.deny.push(Denied {
                name,
                versions,
                reason: entry.reason.clone(),
            });
        }
        for entry in &config.not_typosquat {
            policy.not_typosquat.push(Reviewed {
                name: pep::normalize_name(entry.name.get_ref()),
                origin: spans.of(&entry.name),
            });
        }
        let licences = &config.licences;
        for id in licences.allow.iter().chain(&licences.deny) {
            if let Err(e) = parse_expression(id.get_ref())
                .map_err(|e| e.to_string())
                .and_then(|e| match e {
                    Expression::Id(_) => Ok(()),
                    _ => Err("a list entry is one licence id, not an expression".to_owned()),
                })
            {
                return Err(spans.invalid(
                    id,
                    format!("[policy.licences] `{}`: {e}", id.get_ref()),
                    "list SPDX licence ids such as `MIT` or `Apache-2.0`, one per entry",
                ));
            }
        }
        policy.licence_allow = licences
            .allow
            .iter()
            .map(|id| (id.get_ref().trim().to_owned(), spans.of(id)))
            .collect();
        policy.licence_deny = licences
            .deny
            .iter()
            .map(|id| id.get_ref().trim().to_owned())
            .collect();
        policy.licence_unknown = licences
            .unknown
            .unwrap_or(!licences.allow.is_empty() || !licences.deny.is_empty());
        Ok(policy)
    }

    fn read_allowlist_file(&mut self, path: &Path, shown: &str) -> Result<(), PolicyError> {
        let bytes = read_bounded(path, MAX_ALLOWLIST_BYTES).map_err(|message| {
            PolicyError::AllowlistFile {
                path: path.to_path_buf(),
                message,
            }
        })?;
        let text = String::from_utf8(bytes).map_err(|_| PolicyError::AllowlistFile {
            path: path.to_path_buf(),
            message: "not UTF-8 text".into(),
        })?;
        let entries: BTreeMap<String, AllowlistFileEntry> =
            parse_allowlist_file(&text).map_err(|e| PolicyError::AllowlistFile {
                path: path.to_path_buf(),
                message: format!("line {}: {e}", e.line()),
            })?;
        for (name, entry) in entries {
            let line = text
                .find(&format!("\"{name}\""))
                .map(|at| aigate_report::line_column(&text, at));
            let compiled = NamePattern::new(&name).ok_or_else(|| PolicyError::AllowlistFile {
                path: path.to_path_buf(),
                message: format!("`{name}` is not a package name"),
            })?;
            let versions = entry
                .allowed_versions
                .iter()
                .map(|v| {
                    parse_version_pattern(v).map_err(|e| PolicyError::AllowlistFile {
                        path: path.to_path_buf(),
                        message: format!("`{name}`: invalid version pattern {v:?}: {e}"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.allow.push(Allowed {
                name: compiled,
                versions,
                versions_text: entry.allowed_versions.clone(),
                source: entry.source.as_deref().map(normalize_index),
                reason: entry.reason.clone(),
                origin: EntryOrigin {
                    path: shown.to_owned(),
                    span: line.map(|(l, c)| Span::point(l, c)),
                },
            });
        }
        Ok(())
    }

    /// Checks every input. `records` holds the RECORD checks of installed environments, by the
    /// site-packages or environment path they were made for. Findings about configuration
    /// entries that matched nothing come last.
    pub fn check(&self, inputs: &[PolicyInput<'_>]) -> Vec<Finding> {
        let mut run = Run {
            policy: self,
            findings: Vec::new(),
            used_allow: vec![false; self.allow.len()],
            used_internal: vec![false; self.internal.len()],
            used_index: vec![false; self.indexes.len()],
            used_reviewed: vec![false; self.not_typosquat.len()],
            used_licence: vec![false; self.licence_allow.len()],
            used_internal_index: false,
        };
        for input in inputs {
            run.input(input);
        }
        run.unused();
        run.findings
    }
}

/// One input to check: what a reader returned for it, and for an environment its RECORD checks.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// The dependency set read from one input (and its includes).
    pub set: &'a DependencySet,
    /// For an environment, the RECORD check of each distribution.
    pub records: Option<&'a [RecordCheck]>,
}

fn check_url(spans: &Spans<'_>, url: &Spanned<String>) -> Result<(), PolicyError> {
    let text = url.get_ref().trim();
    let ok = text
        .split_once("://")
        .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty());
    if ok || Path::new(text).is_absolute() {
        Ok(())
    } else {
        Err(spans.invalid(
            url,
            format!("`{text}` is not an index URL"),
            "write the index's full URL, e.g. `https://pypi.org/simple/`",
        ))
    }
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(format!("larger than the {limit}-byte limit"));
    }
    Ok(bytes)
}

struct Run<'p> {
    policy: &'p Policy,
    findings: Vec<Finding>,
    used_allow: Vec<bool>,
    used_internal: Vec<bool>,
    used_index: Vec<bool>,
    used_reviewed: Vec<bool>,
    used_licence: Vec<bool>,
    used_internal_index: bool,
}

/// The package URL findings are about.
pub fn purl(package: &Package) -> String {
    match &package.version {
        Some(v) => format!("pkg:pypi/{}@{}", package.name, purl_encode(&v.to_string())),
        None => format!("pkg:pypi/{}", package.name),
    }
}

/// Percent-encodes what the purl specification does not allow bare in a version: PEP 440's `+`
/// of local versions (`2.1.0%2Bcu118`, as packageurl-python writes it) and `!` of epochs.
fn purl_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A location at an origin.
pub fn location_of(origin: &Origin) -> Location {
    let location = Location::file(origin.file.display().to_string());
    match origin.line {
        Some(line) => location.with_span(Span::point(line, origin.column.unwrap_or(1))),
        None => location,
    }
}

fn describe(package: &Package) -> String {
    match &package.version {
        Some(v) => format!("{} {v}", package.name),
        None => match &package.specifier {
            Some(s) if !s.to_string().is_empty() => format!("{} {s}", package.name),
            _ => package.name.clone(),
        },
    }
}

fn source_text(source: &Source) -> String {
    source_text_with(source, false)
}

/// Where a package comes from, for messages; `with_commit` adds a VCS source's commit.
pub(crate) fn source_text_with(source: &Source, with_commit: bool) -> String {
    match source {
        Source::Registry { url: Some(url) } => url.clone(),
        Source::Registry { url: None } => "the default index".into(),
        Source::Url { url, .. } => url.clone(),
        Source::Path { path } | Source::Directory { path } | Source::Virtual { path } => {
            path.clone()
        }
        Source::Editable { location } => location.clone(),
        Source::Vcs {
            vcs, url, commit, ..
        } => match commit {
            Some(c) if with_commit => format!("{vcs}+{url}@{c}"),
            _ => format!("{vcs}+{url}"),
        },
        Source::Unknown => "an unknown source".into(),
    }
}

fn is_local_project(source: &Source) -> bool {
    match source {
        Source::Virtual { .. } | Source::Directory { .. } => true,
        Source::Editable { location } => !location.contains("://"),
        _ => false,
    }
}

fn is_commit(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Run<'_> {
    fn push(&mut self, rule: &Rule, message: String, location: Location) -> &mut Finding {
        self.findings.push(Finding::new(rule, message, location));
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }

    fn package_finding(&mut self, rule: &Rule, package: &Package, message: String) -> &mut Finding {
        let location = location_of(&package.origin).with_subject(purl(package));
        self.push(rule, message, location)
    }

    fn input(&mut self, input: &PolicyInput<'_>) {
        let set = input.set;
        let format = set
            .inputs
            .first()
            .map_or(InputFormat::Requirements, |i| i.format);
        let formats: BTreeMap<&Path, InputFormat> = set
            .inputs
            .iter()
            .map(|i| (i.path.as_path(), i.format))
            .collect();
        self.index_declarations(set);
        // pip's hash-checking mode: one `--hash` in a requirements file, or `--require-hashes`,
        // makes every requirement need one.
        let pip_hash_mode = format == InputFormat::Requirements
            && (set.options.iter().any(|o| o.name == "--require-hashes")
                || set
                    .packages
                    .iter()
                    .any(|p| !p.hashes.is_empty() && !p.constraint_only));
        let mut internal_public_reported = BTreeSet::new();
        for package in &set.packages {
            let format = formats
                .get(package.origin.file.as_path())
                .copied()
                .unwrap_or(format);
            if package.constraint_only || matches!(package.source, Source::Virtual { .. }) {
                continue;
            }
            let effective = effective_indexes(set, package, format);
            self.deny(package);
            self.allowlist(package, effective.as_deref());
            self.pins_and_hashes(package, format, pip_hash_mode);
            self.package_source(package, effective.as_deref());
            self.confusion(package, effective.as_deref(), &mut internal_public_reported);
            self.typosquat(package);
            self.licence(package, format);
        }
        for env_ref in &set.env_refs {
            self.push(
                &POLICY_ENV_REFERENCE,
                format!(
                    "`${{{}}}` is expanded from the environment of whoever installs",
                    env_ref.name
                ),
                location_of(&env_ref.origin),
            )
            .details
            .insert("variable".into(), env_ref.name.clone());
        }
        if format == InputFormat::Environment {
            let path = set
                .inputs
                .first()
                .map(|i| i.path.display().to_string())
                .unwrap_or_default();
            let needs_sources = self.policy.allow.iter().any(|a| a.source.is_some())
                || !self.policy.internal.is_empty();
            if needs_sources && !set.packages.is_empty() {
                self.push(
                    &POLICY_INPUT_NOT_CHECKED,
                    "an installed environment does not record which index its packages came from, so sources and dependency confusion are not checked for it".into(),
                    Location::file(path),
                );
            }
        }
        if let Some(records) = input.records {
            self.records(records);
        }
    }

    fn index_allowed(&mut self, url: &str) -> bool {
        let normalised = normalize_index(url);
        let mut allowed = false;
        for (i, (index, _)) in self.policy.indexes.iter().enumerate() {
            if *index == normalised {
                self.used_index[i] = true;
                allowed = true;
            }
        }
        if self.policy.internal_index.as_deref() == Some(normalised.as_str()) {
            self.used_internal_index = true;
            allowed = true;
        }
        allowed
    }

    fn index_declarations(&mut self, set: &DependencySet) {
        let mut seen = BTreeSet::new();
        for index in &set.indexes {
            if !seen.insert((index.url.clone(), index.origin.clone())) {
                continue;
            }
            let what = match index.kind {
                IndexKind::FindLinks => "find-links location",
                _ => "index",
            };
            if !self.index_allowed(&index.url) {
                self.push(
                    &POLICY_INDEX_NOT_ALLOWED,
                    format!("{what} {} is not on [policy] indexes", index.url),
                    location_of(&index.origin),
                )
                .details
                .insert("index".into(), index.url.clone());
            }
            if index.kind == IndexKind::Extra {
                self.push(
                    &POLICY_EXTRA_INDEX,
                    format!("extra index {} is searched beside the primary index, and the best version from either wins", index.url),
                    location_of(&index.origin),
                )
                .details
                .insert("index".into(), index.url.clone());
            }
            if index.url.trim().to_ascii_lowercase().starts_with("http://") {
                self.push(
                    &POLICY_INSECURE_INDEX,
                    format!("{what} {} is plain http", index.url),
                    location_of(&index.origin),
                );
            }
        }
        for host in &set.trusted_hosts {
            self.push(
                &POLICY_INSECURE_INDEX,
                format!(
                    "--trusted-host {} turns off HTTPS verification for it",
                    host.host
                ),
                location_of(&host.origin),
            );
        }
    }

    fn deny(&mut self, package: &Package) {
        let hit = self.policy.deny.iter().find(|d| {
            d.name.matches(&package.name)
                && (d.versions.is_empty()
                    || package
                        .version
                        .as_ref()
                        .is_some_and(|v| any_satisfied(v, &d.versions)))
        });
        if let Some(denied) = hit {
            let reason = denied.reason.clone();
            let message = format!("{} is denied: {reason}", describe(package));
            self.package_finding(&POLICY_DENIED, package, message)
                .details
                .insert("reason".into(), reason);
        }
    }

    fn allowlist(&mut self, package: &Package, effective: Option<&[String]>) {
        if self.policy.allow.is_empty() {
            return;
        }
        let Some(index) = self
            .policy
            .allow
            .iter()
            .position(|a| a.name.matches(&package.name))
        else {
            let message = format!("{} is not on the allowlist", package.name);
            self.package_finding(&POLICY_NOT_ALLOWED, package, message);
            return;
        };
        self.used_allow[index] = true;
        let entry = &self.policy.allow[index];
        if !entry.versions.is_empty() {
            let allowed = entry.versions_text.join(", ");
            match &package.version {
                Some(v) if any_satisfied(v, &entry.versions) => {}
                Some(v) => {
                    let message = format!(
                        "{} {v} is outside the allowed versions ({allowed})",
                        package.name
                    );
                    self.package_finding(&POLICY_VERSION_NOT_ALLOWED, package, message)
                        .details
                        .insert("allowed".into(), allowed);
                }
                None => {
                    let message = format!(
                        "{} fixes no version, so it cannot be held to the allowed versions ({allowed})",
                        describe(package)
                    );
                    self.package_finding(&POLICY_VERSION_NOT_ALLOWED, package, message)
                        .details
                        .insert("allowed".into(), allowed);
                }
            }
        }
        if let Some(required) = entry.source.clone() {
            let actual: Vec<String> = match (&package.source, effective) {
                (Source::Registry { .. }, Some(indexes)) => indexes.to_vec(),
                (Source::Registry { .. }, None) => return, // an environment: reported once
                (other, _) => vec![source_text(other)],
            };
            let wrong: Vec<&String> = actual
                .iter()
                .filter(|a| normalize_index(a) != required)
                .collect();
            if !wrong.is_empty() {
                let list = wrong
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let message = format!(
                    "{} can resolve from {list}, but its allowlist entry requires {required}",
                    package.name
                );
                self.package_finding(&POLICY_SOURCE_NOT_ALLOWED, package, message)
                    .details
                    .insert("required".into(), required);
            }
        }
    }

    fn pins_and_hashes(&mut self, package: &Package, format: InputFormat, pip_hash_mode: bool) {
        if matches!(format, InputFormat::Pyproject | InputFormat::Environment) {
            return;
        }
        if self.policy.require_pins {
            let unpinned = match &package.source {
                Source::Registry { .. } | Source::Unknown => {
                    format == InputFormat::Requirements && !package.is_pinned()
                }
                Source::Vcs {
                    requested_revision,
                    commit,
                    ..
                } => commit.is_none() && !requested_revision.as_deref().is_some_and(is_commit),
                _ => false,
            };
            if unpinned {
                let message = match &package.source {
                    Source::Vcs { .. } => format!(
                        "{} follows a branch or tag of {}, not a commit",
                        package.name,
                        source_text(&package.source)
                    ),
                    _ => format!("{} is not pinned to one version", describe(package)),
                };
                self.package_finding(&POLICY_UNPINNED, package, message);
            }
        }
        let hashes_required = self.policy.require_hashes || pip_hash_mode;
        if hashes_required && package.hashes.is_empty() && !is_local_project(&package.source) {
            let why = if self.policy.require_hashes {
                "[policy] require-hashes is set"
            } else {
                "other requirements in this file have hashes, so pip installs it in hash-checking mode and refuses this one"
            };
            let message = format!("{} has no hash; {why}", describe(package));
            self.package_finding(&POLICY_MISSING_HASH, package, message);
        }
    }

    fn package_source(&mut self, package: &Package, effective: Option<&[String]>) {
        match &package.source {
            // A lock entry's own index (those a requirements file declares are reported where
            // they are declared).
            Source::Registry { url: Some(url) } if !self.index_allowed(url) => {
                let message = format!(
                    "{} resolves from {url}, which is not on [policy] indexes",
                    describe(package)
                );
                self.package_finding(&POLICY_INDEX_NOT_ALLOWED, package, message)
                    .details
                    .insert("index".into(), url.clone());
            }
            // The default index: PyPI, unless the input declares others.
            Source::Registry { url: None }
                if effective.is_some_and(|e| e.iter().any(|i| i == PYPI)) =>
            {
                self.index_allowed(PYPI);
            }
            Source::Url { .. } | Source::Path { .. } | Source::Vcs { .. } => {
                let message = format!(
                    "{} comes from {} rather than from an index",
                    package.name,
                    source_text(&package.source)
                );
                self.package_finding(&POLICY_DIRECT_REFERENCE, package, message);
            }
            Source::Editable { location } if location.contains("://") => {
                let message = format!(
                    "{} is installed editable from {location} rather than from an index",
                    package.name
                );
                self.package_finding(&POLICY_DIRECT_REFERENCE, package, message);
            }
            _ => {}
        }
    }

    fn confusion(
        &mut self,
        package: &Package,
        effective: Option<&[String]>,
        reported: &mut BTreeSet<String>,
    ) {
        let mut internal = false;
        for (i, (pattern, _)) in self.policy.internal.iter().enumerate() {
            if pattern.matches(&package.name) {
                self.used_internal[i] = true;
                internal = true;
            }
        }
        if !internal {
            return;
        }
        if popular().contains(&package.name) && reported.insert(package.name.clone()) {
            let rank = popular().rank(&package.name).unwrap_or(0);
            let message = format!(
                "internal package {} has the name of a public PyPI project (download rank {rank})",
                package.name
            );
            self.package_finding(&POLICY_INTERNAL_NAME_PUBLIC, package, message);
        }
        let (Source::Registry { .. }, Some(indexes)) = (&package.source, effective) else {
            return;
        };
        if self
            .policy
            .internal_index
            .as_ref()
            .is_some_and(|internal| indexes.contains(internal))
        {
            self.used_internal_index = true;
        }
        let public: Vec<&String> = indexes
            .iter()
            .filter(|i| match &self.policy.internal_index {
                Some(internal) => *i != internal,
                None => *i == PYPI,
            })
            .collect();
        if !public.is_empty() {
            let list = public
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let message = match &self.policy.internal_index {
                Some(internal) => format!(
                    "internal package {} can resolve from {list}, not only from the internal index {internal}",
                    describe(package)
                ),
                None => format!(
                    "internal package {} resolves from the public index {list}",
                    describe(package)
                ),
            };
            self.package_finding(&POLICY_INTERNAL_FROM_PUBLIC, package, message)
                .details
                .insert("index".into(), list);
        }
    }

    fn typosquat(&mut self, package: &Package) {
        if !self.policy.typosquats {
            return;
        }
        if let Some(i) = self
            .policy
            .not_typosquat
            .iter()
            .position(|r| r.name == package.name)
        {
            self.used_reviewed[i] = true;
            return;
        }
        let reviewed = self
            .policy
            .allow
            .iter()
            .any(|a| a.name.is_exact(&package.name))
            || self
                .policy
                .internal
                .iter()
                .any(|(p, _)| p.matches(&package.name));
        if reviewed {
            return;
        }
        let Some(squat) = popular().typosquat_of(&package.name) else {
            return;
        };
        let message = format!(
            "{} looks like popular package {} (download rank {}): {}",
            package.name,
            squat.target,
            squat.rank,
            squat.resemblance.describe()
        );
        let finding = self.package_finding(&POLICY_TYPOSQUAT, package, message);
        finding.details.insert("target".into(), squat.target.into());
        finding
            .details
            .insert("resemblance".into(), squat.resemblance.as_str().into());
    }

    fn licence(&mut self, package: &Package, format: InputFormat) {
        let policy = self.policy;
        if policy.licence_allow.is_empty()
            && policy.licence_deny.is_empty()
            && !policy.licence_unknown
        {
            return;
        }
        // Only installed distributions carry licence metadata.
        if format != InputFormat::Environment {
            return;
        }
        let parsed = match package.licence.as_ref().map(licence_expression) {
            Some(Ok(Some(parsed))) => parsed,
            Some(Err(e)) => {
                if policy.licence_unknown {
                    let message = format!(
                        "{}: License-Expression does not parse: {e}",
                        describe(package)
                    );
                    self.package_finding(&POLICY_LICENCE_UNKNOWN, package, message);
                }
                return;
            }
            Some(Ok(None)) | None => {
                if policy.licence_unknown {
                    let message = format!(
                        "{} declares no licence aigate can map to SPDX",
                        describe(package)
                    );
                    self.package_finding(&POLICY_LICENCE_UNKNOWN, package, message);
                }
                return;
            }
        };
        let (expression, _) = parsed;
        let denied: Vec<&str> = policy.licence_deny.iter().map(String::as_str).collect();
        if !denied.is_empty() && expression.denied_by(&denied) {
            let message = format!(
                "{} is licensed {expression}, which [policy.licences] denies",
                describe(package)
            );
            self.package_finding(&POLICY_LICENCE_DENIED, package, message)
                .details
                .insert("licence".into(), expression.to_string());
            return;
        }
        if policy.licence_allow.is_empty() {
            return;
        }
        let allowed: Vec<&str> = policy
            .licence_allow
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        if expression.allowed_by(&allowed) {
            for (i, (id, _)) in policy.licence_allow.iter().enumerate() {
                if expression.allowed_by(&[id.as_str()])
                    || expression.ids().iter().any(|x| x.eq_ignore_ascii_case(id))
                {
                    self.used_licence[i] = true;
                }
            }
        } else {
            let message = format!(
                "{} is licensed {expression}, which [policy.licences] allow does not cover",
                describe(package)
            );
            self.package_finding(&POLICY_LICENCE_NOT_ALLOWED, package, message)
                .details
                .insert("licence".into(), expression.to_string());
        }
    }

    fn records(&mut self, records: &[RecordCheck]) {
        for check in records {
            let subject = match &check.version {
                Some(v) => format!("pkg:pypi/{}@{v}", check.name),
                None => format!("pkg:pypi/{}", check.name),
            };
            let site_packages = check
                .dist_info
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let at = |path: &str| -> Location {
                Location::file(site_packages.join(path).display().to_string())
                    .with_subject(subject.clone())
            };
            let record: PathBuf = check.dist_info.join("RECORD");
            let record_location =
                Location::file(record.display().to_string()).with_subject(subject.clone());
            let mut modified = BTreeSet::new();
            for issue in &check.issues {
                // A changed file usually differs in hash and size: one finding, the hash's.
                if let RecordIssue::SizeMismatch { path, .. } = issue
                    && check.issues.iter().any(
                        |i| matches!(i, RecordIssue::HashMismatch { path: p, .. } if p == path),
                    )
                {
                    continue;
                }
                if let RecordIssue::HashMismatch { path, .. } = issue
                    && !modified.insert(path.clone())
                {
                    continue;
                }
                let (rule, message, location) = match issue {
                    RecordIssue::RecordMissing => (
                        &POLICY_RECORD_MISSING,
                        format!("{} has no RECORD", check.name),
                        Location::file(check.dist_info.display().to_string())
                            .with_subject(subject.clone()),
                    ),
                    RecordIssue::HashMismatch {
                        path,
                        expected,
                        actual,
                    } => (
                        &POLICY_INSTALLED_FILE_MODIFIED,
                        format!(
                            "{path} of {} hashes to {actual}, not the {expected} its RECORD lists",
                            check.name
                        ),
                        at(path),
                    ),
                    RecordIssue::SizeMismatch {
                        path,
                        expected,
                        actual,
                    } => (
                        &POLICY_INSTALLED_FILE_MODIFIED,
                        format!(
                            "{path} of {} is {actual} bytes, not the {expected} its RECORD lists",
                            check.name
                        ),
                        at(path),
                    ),
                    RecordIssue::Missing { path } => (
                        &POLICY_INSTALLED_FILE_MISSING,
                        format!(
                            "{path} of {} is listed in its RECORD but missing",
                            check.name
                        ),
                        at(path),
                    ),
                    RecordIssue::Unlisted { path } => (
                        &POLICY_INSTALLED_FILE_UNLISTED,
                        format!("{path} is inside {}'s folders but in no RECORD", check.name),
                        at(path),
                    ),
                    RecordIssue::NotAFile { path } => (
                        &POLICY_RECORD_UNVERIFIABLE,
                        format!("{path} of {} is not a regular file", check.name),
                        at(path),
                    ),
                    RecordIssue::OutsideEnvironment { path } => (
                        &POLICY_RECORD_UNVERIFIABLE,
                        format!(
                            "RECORD of {} lists {path}, outside the environment; it was not read",
                            check.name
                        ),
                        record_location.clone(),
                    ),
                    RecordIssue::UnsupportedAlgorithm { path, algorithm } => (
                        &POLICY_RECORD_UNVERIFIABLE,
                        format!(
                            "RECORD of {} hashes {path} with {algorithm}, which aigate cannot compute",
                            check.name
                        ),
                        record_location.clone(),
                    ),
                    RecordIssue::Unreadable { path, message } => (
                        &POLICY_RECORD_UNVERIFIABLE,
                        format!("{path} of {} cannot be read: {message}", check.name),
                        at(path),
                    ),
                    RecordIssue::MalformedRecord { message } => (
                        &POLICY_RECORD_UNVERIFIABLE,
                        format!("RECORD of {} is malformed: {message}", check.name),
                        record_location.clone(),
                    ),
                    RecordIssue::WalkLimitReached { limit } => (
                        &POLICY_RECORD_UNVERIFIABLE,
                        format!(
                            "{}'s folders hold more than {limit} files; the rest were not checked",
                            check.name
                        ),
                        Location::file(check.dist_info.display().to_string())
                            .with_subject(subject.clone()),
                    ),
                    #[allow(unreachable_patterns)]
                    _ => (
                        &POLICY_RECORD_UNVERIFIABLE,
                        format!("RECORD of {} could not be checked", check.name),
                        record_location.clone(),
                    ),
                };
                self.push(rule, message, location);
            }
        }
    }

    fn unused(&mut self) {
        let mut unused: Vec<(String, EntryOrigin)> = Vec::new();
        for (entry, used) in self.policy.allow.iter().zip(&self.used_allow) {
            if !used {
                let why = entry
                    .reason
                    .as_deref()
                    .map(|r| format!(" (allowed because: {r})"))
                    .unwrap_or_default();
                unused.push((
                    format!("allowlist entry `{}` matched no package{why}", entry.name.0),
                    entry.origin.clone(),
                ));
            }
        }
        for ((pattern, origin), used) in self.policy.internal.iter().zip(&self.used_internal) {
            if !used {
                unused.push((
                    format!("[policy] internal `{}` matched no package", pattern.0),
                    origin.clone(),
                ));
            }
        }
        for ((index, origin), used) in self.policy.indexes.iter().zip(&self.used_index) {
            if let (false, Some(origin)) = (used, origin) {
                unused.push((
                    format!("[policy] indexes `{index}` was used by no input"),
                    origin.clone(),
                ));
            }
        }
        for (entry, used) in self.policy.not_typosquat.iter().zip(&self.used_reviewed) {
            if !used {
                unused.push((
                    format!(
                        "[[policy.not-typosquat]] `{}` matched no package",
                        entry.name
                    ),
                    entry.origin.clone(),
                ));
            }
        }
        for ((id, origin), used) in self.policy.licence_allow.iter().zip(&self.used_licence) {
            if !used {
                unused.push((
                    format!("[policy.licences] allow `{id}` was the licence of no package"),
                    origin.clone(),
                ));
            }
        }
        if let (false, Some(index), Some(origin)) = (
            self.used_internal_index,
            &self.policy.internal_index,
            &self.policy.internal_index_origin,
        ) {
            unused.push((
                format!("[policy] internal-index `{index}` was used by no input"),
                origin.clone(),
            ));
        }
        for (message, origin) in unused {
            let mut finding = Finding::new(&POLICY_UNUSED_ENTRY, message, origin.location());
            finding.level = Some(Level::Warn);
            self.findings.push(finding);
        }
    }
}

/// The indexes a registry package can resolve from: its own, or those its input declares, or
/// PyPI; `None` for an installed environment, which does not record it.
fn effective_indexes(
    set: &DependencySet,
    package: &Package,
    format: InputFormat,
) -> Option<Vec<String>> {
    if format == InputFormat::Environment {
        return None;
    }
    if let Source::Registry { url: Some(url) } = &package.source {
        return Some(vec![normalize_index(url)]);
    }
    let mut out = Vec::new();
    let mut primary = false;
    for index in &set.indexes {
        match index.kind {
            IndexKind::Primary => {
                primary = true;
                out.push(normalize_index(&index.url));
            }
            IndexKind::Extra => out.push(normalize_index(&index.url)),
            IndexKind::FindLinks if format == InputFormat::Requirements => {
                out.push(normalize_index(&index.url));
            }
            _ => {}
        }
    }
    if !primary && set.no_index.is_empty() {
        out.insert(0, PYPI.to_owned());
    }
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_urls() {
        assert!(glob(b"acme-*", b"acme-utils"));
        assert!(glob(b"*-internal", b"x-internal"));
        assert!(!glob(b"acme-*", b"acmex"));
        assert!(glob(b"a*b*c", b"axxbyyc"));
        assert_eq!(
            normalize_index("HTTPS://PyPI.org/simple/"),
            "https://pypi.org/simple"
        );
    }
}
