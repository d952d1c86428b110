//! `aigate.toml`: the project's intent: `[[model]]`, `[[dataset]]`, `[sources]` and `[scan]`.
//! Unknown keys and invalid values are errors that name the line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use aigate_integrity::manifest::{ArtifactDecl, Kind, Sources};
use aigate_report::Severity;

/// The file name looked for in the current directory and its parents.
pub const FILE_NAME: &str = "aigate.toml";

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
}

impl Config {
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

/// Finds `aigate.toml` in `start` or the nearest parent that has one.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("invalid configuration in {}", path.display()))
}

/// Parses config text; errors carry the line and column.
pub fn parse(text: &str) -> Result<Config> {
    let config: Config = toml::from_str(text).map_err(|err| anyhow::anyhow!("{err}"))?;
    aigate_scan::GlobalPolicy::new(&config.scan.allow, &config.scan.deny)?;
    aigate_integrity::manifest::validate(text, &config.artifacts(), &config.sources)?;
    Ok(config)
}

/// A project: the folder holding `aigate.toml`, and its configuration.
pub struct Project {
    /// The folder `aigate.toml` is in; artifact paths are relative to it.
    pub root: PathBuf,
    /// The parsed file.
    pub config: Config,
}

impl Project {
    /// The project named by `--config`, or found from the current directory up.
    pub fn find(explicit: Option<&Path>) -> Result<Project> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => {
                let cwd = std::env::current_dir().context("cannot read the current directory")?;
                discover(&cwd).with_context(|| {
                    format!(
                        "no {FILE_NAME} in {} or its parents\nhint: create one with a [[model]] or [[dataset]] entry (name, path)",
                        cwd.display()
                    )
                })?
            }
        };
        let config = load(&path)?;
        let root = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Project { root, config })
    }

    /// Where the lock file lives.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(aigate_integrity::lock::FILE_NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scan_section() {
        let c = parse("[scan]\nallow = [\"mypkg.*\"]\nfail-on = \"high\"\n").unwrap_or_default();
        assert_eq!(c.scan.allow, ["mypkg.*"]);
        assert_eq!(c.scan.fail_on.map(|s| s.0), Some(Severity::High));
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let err = parse("[scan]\nallow = []\nalow = []\n")
            .err()
            .map(|e| format!("{e:#}"));
        let err = err.unwrap_or_default();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("alow"), "{err}");
    }

    #[test]
    fn artifact_errors_name_the_line() {
        let err = parse("[[model]]\nname = \"m\"\npath = \"/abs\"\n")
            .err()
            .map(|e| format!("{e:#}"));
        assert!(err.unwrap_or_default().contains("line 3"));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse("[scan]\nfail-on = \"severe\"\n").is_err());
        assert!(parse("[scan]\nallow = [\"not a name\"]\n").is_err());
    }
}
