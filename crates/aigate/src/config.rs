//! `aigate.toml`: the project's intent: `[[model]]`, `[[dataset]]`, `[sources]`, `[scan]`,
//! `[policy]` and `[rules]`. Unknown keys and invalid values are errors that name the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use toml::Spanned;

use aigate_integrity::manifest::{ArtifactDecl, Kind, Sources, line_of};
use aigate_report::{Level, Severity};

use crate::failure::Failure;
use crate::registry;

/// The file name looked for in the current directory and its parents.
pub const FILE_NAME: &str = "aigate.toml";

/// Largest configuration read: far above any real one, small enough that a configuration that
/// is a link to a device is an error, not a hang.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `[[model]]` entries.
    #[serde(default)]
    pub model: Vec<ArtifactDecl>,
    /// `[[dataset]]` entries.
    #[serde(default)]
    pub dataset: Vec<ArtifactDecl>,
    /// `[sources]`.
    #[serde(default)]
    pub sources: Sources,
    /// `[scan]`.
    #[serde(default)]
    pub scan: ScanSection,
    /// `[rules]`: a level for any rule id.
    #[serde(default)]
    pub rules: BTreeMap<String, Spanned<LevelName>>,
    /// `[trust]`: whose signature the lock must carry.
    #[serde(default)]
    pub trust: TrustSection,
    /// `[policy]`: the dependency policy `aigate policy` checks.
    #[serde(default)]
    pub policy: aigate_policy::PolicyConfig,
    /// `[audit]`: ignores and the database's age `aigate audit` applies.
    #[serde(default)]
    pub audit: aigate_advisory::AuditConfig,
    /// `[store]`: where every locked version's files are kept for rollback.
    #[serde(default)]
    pub store: StoreSection,
    /// `[custody]`: the custody log.
    #[serde(default)]
    pub custody: CustodySection,
    /// `[sbom]`: what `aigate check` requires of the AI bill of materials.
    #[serde(default)]
    pub sbom: SbomSection,
}

/// `[sbom]`: what `aigate check` requires of the project's AI bill of materials.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SbomSection {
    /// Frameworks of minimum elements every model and dataset must carry: `"g7"` (the G7 SBOM
    /// for AI minimum elements) and `"eu-ai-act"` (the EU AI Act's model documentation).
    #[serde(default)]
    pub require_completeness: Vec<Spanned<CompletenessName>>,
}

/// A completeness framework spelled in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletenessName(pub aigate_sbom::completeness::Framework);

impl<'de> Deserialize<'de> for CompletenessName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use aigate_sbom::completeness::Framework;
        match String::deserialize(d)?.as_str() {
            "g7" => Ok(CompletenessName(Framework::G7)),
            "eu-ai-act" => Ok(CompletenessName(Framework::EuAiAct)),
            other => Err(serde::de::Error::custom(format!(
                "unknown framework {other:?}: expected \"g7\" or \"eu-ai-act\""
            ))),
        }
    }
}

/// `[store]`: the content-addressed store of locked files.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StoreSection {
    /// `file://PATH` (relative to the project, or absolute when the configuration is
    /// trusted), or `s3://BUCKET/PREFIX` (trusted configurations only)
    /// [default: file://.aigate/store].
    pub url: Option<Spanned<String>>,
    /// Whether `aigate lock` and `aigate approve` push what they pin [default: true].
    pub push: Option<bool>,
    /// For `s3://`: the endpoint of an S3-compatible server (MinIO, Ceph, R2, …)
    /// [default: AWS_ENDPOINT_URL, else AWS].
    pub endpoint: Option<String>,
    /// For `s3://`: the region [default: AWS_REGION, else us-east-1].
    pub region: Option<String>,
}

/// The store when `[store] url` does not say.
pub const DEFAULT_STORE: &str = "file://.aigate/store";

/// `[custody]`: where the custody log is, and how its events are signed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CustodySection {
    /// The log's path, relative to the project [default: .aigate/custody.jsonl].
    pub log: Option<String>,
    /// Keep the log in the store (`[store] url`) instead, beside the objects, for teams and
    /// CI runners that share one [default: false].
    pub in_store: Option<bool>,
    /// The private key (PEM) every recorded event is signed with [default: the file
    /// AIGATE_CUSTODY_KEY names, else none]; relative to the project, or absolute.
    pub key: Option<String>,
    /// `log verify` requires every event from the first signed one on to be signed by a key
    /// of `[trust] keys` [default: false].
    pub require_signed: Option<bool>,
}

/// `[trust]`: the keys whose signature of `aigate.lock` `verify` requires.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrustSection {
    /// Public keys (project-relative PEM paths); the lock must be signed by one of them.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Where the lock's signature is [default: aigate.lock.sig].
    pub lock_signature: Option<String>,
}

/// Where the lock's signature is, when `[trust]` does not say.
pub const LOCK_SIGNATURE: &str = "aigate.lock.sig";

impl Config {
    /// Drops every setting that relaxes a check (`[scan] allow`, a `[scan] fail-on` above
    /// `threshold`, `[rules]` set to `allow` or `warn`, `[sources] trusted` prefixes, and the
    /// `[policy]` relaxations [`aigate_policy::PolicyConfig::strip_relaxations`] names), for a
    /// configuration the user has not trusted; returns what was dropped, as the file spells it.
    pub fn strip_relaxations(&mut self, threshold: Severity) -> Vec<String> {
        let mut dropped = Vec::new();
        if !self.scan.allow.is_empty() {
            dropped.push(format!("[scan] allow = {:?}", self.scan.allow));
            self.scan.allow.clear();
        }
        if let Some(fail_on) = self.scan.fail_on.filter(|f| f.0 > threshold) {
            dropped.push(format!("[scan] fail-on = \"{}\"", fail_on.0));
            self.scan.fail_on = None;
        }
        for prefix in self.sources.trusted.drain(..) {
            dropped.push(format!("[sources] trusted entry {:?}", prefix.get_ref()));
        }
        dropped.extend(self.policy.strip_relaxations());
        if !self.audit.ignore.is_empty() {
            let ids: Vec<&str> = self
                .audit
                .ignore
                .iter()
                .map(|e| e.id.get_ref().as_str())
                .collect();
            dropped.push(format!("[[audit.ignore]] {}", ids.join(", ")));
            self.audit.ignore.clear();
        }
        self.rules.retain(|id, level| {
            let level = level.get_ref().0;
            if level == Level::Deny {
                return true;
            }
            dropped.push(format!("[rules] \"{id}\" = \"{level}\""));
            false
        });
        dropped
    }

    /// Models then datasets, as declared.
    pub fn artifacts(&self) -> Vec<(Kind, &ArtifactDecl)> {
        self.model
            .iter()
            .map(|m| (Kind::Model, m))
            .chain(self.dataset.iter().map(|d| (Kind::Dataset, d)))
            .collect()
    }
}

/// `[scan]`: which pickle globals to allow or deny beyond the built-in lists, and the threshold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScanSection {
    /// Globals to accept: `pkg.module.Name` or `pkg.module.*`.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Globals to reject as unsafe, beyond the built-in denylist.
    #[serde(default)]
    pub deny: Vec<String>,
    /// The lowest severity that fails a run (overridden by `--fail-on`).
    pub fail_on: Option<SeverityName>,
    /// Files and folders (relative to the project) that `aigate check` scans besides the
    /// declared models and datasets.
    #[serde(default)]
    pub paths: Vec<String>,
}

/// A severity spelled in the config.
#[derive(Debug, Clone, Copy)]
pub struct SeverityName(pub Severity);

impl<'de> Deserialize<'de> for SeverityName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map(SeverityName)
            .map_err(serde::de::Error::custom)
    }
}

/// A level spelled in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelName(pub Level);

impl<'de> Deserialize<'de> for LevelName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map(LevelName)
            .map_err(serde::de::Error::custom)
    }
}

/// Finds `aigate.toml` in `start` or the nearest parent that has one. A folder, device or other
/// non-file named `aigate.toml` stops the search there: it is that folder's configuration,
/// broken, not a reason to apply a parent's.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|p| std::fs::symlink_metadata(p).is_ok())
}

/// The nearest `aigate.toml` from the current directory up; its absence is an error with `hint`.
pub fn find(hint: &str) -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    discover(&cwd).ok_or_else(|| {
        Failure::new(format!(
            "no {FILE_NAME} in {} or its parents",
            cwd.display()
        ))
        .hint(hint.to_owned())
        .into()
    })
}

/// Reads and validates a config file; returns it with its text.
pub fn load(path: &Path) -> Result<(Config, String)> {
    let text = aigate_integrity::files::read_regular(path, MAX_CONFIG_BYTES)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let config =
        parse(&text).with_context(|| format!("invalid configuration in {}", path.display()))?;
    Ok((config, text))
}

/// Parses config text; errors carry the line and column.
pub fn parse(text: &str) -> Result<Config> {
    let mut config: Config = toml::from_str(text).map_err(|err| anyhow::anyhow!("{err}"))?;
    aigate_scan::GlobalPolicy::new(&config.scan.allow, &config.scan.deny)?;
    aigate_integrity::manifest::validate(text, &config.artifacts(), &config.sources)?;
    aigate_integrity::manifest::normalize_paths(config.model.iter_mut().chain(&mut config.dataset));
    config
        .audit
        .validate(text)
        .map_err(|e| Failure::new(e).hint("see the [audit] section in docs/configuration.md"))?;
    for (id, level) in &config.rules {
        if registry::get(id).is_none() {
            let line = line_of(text, level.span().start);
            let hint = match registry::closest(id) {
                Some(near) => {
                    format!("did you mean `{near}`? every rule is listed in docs/rules.md")
                }
                None => "every rule is listed in docs/rules.md".to_owned(),
            };
            return Err(Failure::new(format!(
                "line {line}: [rules] names `{id}`, which is no rule of aigate"
            ))
            .hint(hint)
            .into());
        }
        if registry::NOT_RELAXABLE.contains(&id.as_str()) && level.get_ref().0 != Level::Deny {
            let line = line_of(text, level.span().start);
            return Err(Failure::new(format!(
                "line {line}: `{id}` cannot be set to `{}`: the built-in denylist always wins, and an analysis that failed is never a pass",
                level.get_ref().0
            ))
            .hint("allow your own classes with [scan] allow instead")
            .into());
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scan_section() {
        let c = parse("[scan]\nallow = [\"mypkg.*\"]\nfail-on = \"high\"\n").unwrap();
        assert_eq!(c.scan.allow, ["mypkg.*"]);
        assert_eq!(c.scan.fail_on.map(|s| s.0), Some(Severity::High));
    }

    #[test]
    fn reads_rule_levels() {
        let c = parse("[rules]\n\"pickle-trailing-data\" = \"allow\"\n").unwrap();
        assert_eq!(
            c.rules["pickle-trailing-data"].get_ref(),
            &LevelName(Level::Allow)
        );
    }

    #[test]
    fn unknown_rules_and_levels_are_errors_that_name_the_line() {
        let err = format!(
            "{:#}",
            parse("[rules]\n\"pickle-trailing-date\" = \"warn\"\n").unwrap_err()
        );
        assert!(err.contains("line 2"), "{err}");
        let err = parse("[rules]\n\"pickle-trailing-data\" = \"forbid\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("forbid"), "{err:#}");
    }

    #[test]
    fn the_denylist_cannot_be_relaxed_by_rule_levels() {
        for level in ["allow", "warn"] {
            let text = format!("[rules]\n\"pickle-unsafe-global\" = \"{level}\"\n");
            assert!(parse(&text).is_err(), "{level}");
        }
        assert!(parse("[rules]\n\"pickle-unsafe-global\" = \"deny\"\n").is_ok());
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let err = format!(
            "{:#}",
            parse("[scan]\nallow = []\nalow = []\n").unwrap_err()
        );
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("alow"), "{err}");
    }

    #[test]
    fn artifact_errors_name_the_line() {
        let err = parse("[[model]]\nname = \"m\"\npath = \"/abs\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 3"));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse("[scan]\nfail-on = \"severe\"\n").is_err());
        assert!(parse("[scan]\nallow = [\"not a name\"]\n").is_err());
    }
}
