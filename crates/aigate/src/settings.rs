//! One settings layer: flags, `aigate.toml` and the environment resolved into what each command
//! needs, in one place, so that no command resolves a threshold or reads a variable itself.
//! Precedence: a flag, then the configuration, then the default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use aigate_fetch::ClientOptions;
use aigate_report::{Finding, Level, Location, ReportBuilder, Severity};
use aigate_scan::{ScanLimits, ScanOptions, Scanner};

use crate::config::{self, Config};
use crate::registry::{CONFIG_NOT_TRUSTED, CONFIG_UNUSED_ENTRY};

/// The threshold of `scan`, `lock` and `fetch` when neither a flag nor `[scan] fail-on` sets it.
pub const DEFAULT_SCAN_THRESHOLD: Severity = Severity::Medium;

/// Whether a configuration may relax checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigTrust {
    /// There is no configuration.
    NoConfig,
    /// Named with `--config`.
    Named,
    /// Recorded by `aigate trust` as it is now.
    Recorded,
    /// Found by discovery and not trusted: these relaxing settings were ignored.
    Untrusted(Vec<String>),
}

/// Which configuration a run uses, and where it came from.
#[derive(Debug)]
pub struct Settings {
    /// Whether its relaxing settings apply.
    pub trust: ConfigTrust,
    /// The parsed configuration (empty when there is none).
    pub config: Config,
    /// The file it was read from.
    pub config_path: Option<PathBuf>,
    /// Its text, for the lines findings point at.
    pub config_text: String,
    /// The folder artifact paths are relative to: the configuration's folder.
    pub root: PathBuf,
}

impl Settings {
    /// The configuration named by `--config`, or the nearest `aigate.toml`; none is fine.
    pub fn optional(explicit: Option<&Path>) -> Result<Settings> {
        let path = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => std::env::current_dir()
                .ok()
                .and_then(|dir| config::discover(&dir)),
        };
        match path {
            Some(path) => Settings::from_file(path, explicit.is_some()),
            None => Ok(Settings {
                trust: ConfigTrust::NoConfig,
                config: Config::default(),
                config_path: None,
                config_text: String::new(),
                root: PathBuf::from("."),
            }),
        }
    }

    /// The project named by `--config`, or found from the current directory up; it must exist.
    pub fn project(explicit: Option<&Path>) -> Result<Settings> {
        let named = explicit.is_some();
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => config::find("create one with a [[model]] or [[dataset]] entry (name, path)")?,
        };
        Settings::from_file(path, named)
    }

    /// The project of `aigate check [PATH]`: `--config` when given, else the `aigate.toml` in
    /// `dir` (or the current folder) or the nearest parent; it must exist.
    pub fn project_in(explicit: Option<&Path>, dir: Option<&Path>) -> Result<Settings> {
        if explicit.is_some() {
            return Settings::project(explicit);
        }
        let start = match dir {
            Some(dir) if dir.is_file() => dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            Some(dir) => dir.to_path_buf(),
            None => PathBuf::from("."),
        };
        let start = if start.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            start
        };
        let absolute = std::path::absolute(&start).unwrap_or_else(|_| start.clone());
        let Some(found) = config::discover(&absolute) else {
            return Err(crate::failure::Failure::new(format!(
                "no {} in {} or its parents",
                config::FILE_NAME,
                start.display()
            ))
            .hint("run `aigate init` to write a starter configuration for this project")
            .into());
        };
        // Keep the path as the user named the folder, so that reports name files as they do.
        let path = match found.parent().and_then(|p| p.strip_prefix(&absolute).ok()) {
            Some(rest) if rest.as_os_str().is_empty() => start.join(config::FILE_NAME),
            _ => found,
        };
        Settings::from_file(path, false)
    }

    fn from_file(path: PathBuf, named: bool) -> Result<Settings> {
        let (mut config, config_text) = config::load(&path)?;
        let trust = if named {
            ConfigTrust::Named
        } else if crate::trust::Store::load()?.trusts(&path, &config_text) {
            ConfigTrust::Recorded
        } else {
            match config.strip_relaxations(DEFAULT_SCAN_THRESHOLD) {
                dropped if dropped.is_empty() => ConfigTrust::Untrusted(Vec::new()),
                dropped => ConfigTrust::Untrusted(dropped),
            }
        };
        let root = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Settings {
            trust,
            config,
            config_path: Some(path),
            config_text,
            root,
        })
    }

    /// Where the lock file lives.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(aigate_integrity::lock::FILE_NAME)
    }

    /// The scan threshold: `--fail-on`, else `[scan] fail-on`, else medium.
    pub fn scan_threshold(&self, flag: Option<Severity>) -> Severity {
        flag.or(self.config.scan.fail_on.map(|s| s.0))
            .unwrap_or(DEFAULT_SCAN_THRESHOLD)
    }

    /// A scanner with `[scan] allow` and `deny`.
    pub fn scanner(&self, options: ScanOptions) -> Result<Scanner> {
        let scan = &self.config.scan;
        Ok(Scanner::new(&scan.allow, &scan.deny, ScanLimits::default())
            .context("invalid [scan] patterns")?
            .with_options(options))
    }

    /// Which configuration this run uses and whether it may relax checks, for people.
    pub fn describe(&self) -> String {
        let path = self
            .config_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match &self.trust {
            ConfigTrust::NoConfig => "configuration: none (built-in defaults)".to_owned(),
            ConfigTrust::Named => format!("configuration: {path} (named with --config)"),
            ConfigTrust::Recorded => format!("configuration: {path} (trusted)"),
            ConfigTrust::Untrusted(dropped) if dropped.is_empty() => {
                format!("configuration: {path} (not trusted; it relaxes nothing)")
            }
            ConfigTrust::Untrusted(dropped) => format!(
                "configuration: {path} (not trusted, so these settings were ignored: {}; run `aigate trust {path}` if it is yours)",
                dropped.join(", ")
            ),
        }
    }

    /// The levels `[rules]` gives rule ids.
    pub fn rule_levels(&self) -> RuleLevels {
        RuleLevels {
            untrusted: match &self.trust {
                ConfigTrust::Untrusted(dropped) => dropped.clone(),
                _ => Vec::new(),
            },
            levels: self
                .config
                .rules
                .iter()
                .map(|(id, level)| (id.clone(), level.get_ref().0))
                .collect(),
            config: self
                .config_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }
    }

    /// How downloads are made: `HF_ENDPOINT` and `SSL_CERT_FILE`, as the Hub's clients and
    /// OpenSSL honour them.
    pub fn client_options(&self, retries: u32) -> ClientOptions {
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "https://huggingface.co".into());
        ClientOptions {
            retries,
            backoff: Duration::from_millis(500),
            ca_file: std::env::var_os("SSL_CERT_FILE").map(PathBuf::from),
            hf_endpoint: endpoint.trim_end_matches('/').to_owned(),
        }
    }
}

/// Now, as RFC 3339: `SOURCE_DATE_EPOCH` when set (reproducible builds), else the clock.
pub fn now_rfc3339() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(aigate_integrity::clock::system_now);
    aigate_integrity::clock::rfc3339(secs)
}

/// `[rules]`: a level per rule id, applied to a command's findings before its report is built.
#[derive(Debug, Default)]
pub struct RuleLevels {
    levels: BTreeMap<String, Level>,
    config: String,
    /// Relaxing settings ignored because the configuration is not trusted.
    untrusted: Vec<String>,
}

impl RuleLevels {
    /// Applies the levels to the findings in `report`: `allow` drops a finding (counted as
    /// suppressed), `warn` and `deny` mark it. Entries for rules this command reports (`rules`)
    /// that matched nothing are reported themselves, as cargo-deny reports unmatched entries.
    pub fn apply(&self, report: &mut ReportBuilder, rules: &[&aigate_report::Rule]) {
        let mut used: BTreeMap<&str, bool> =
            self.levels.keys().map(|id| (id.as_str(), false)).collect();
        let levels = &self.levels;
        let mut suppressed = 0;
        report.findings_mut().retain_mut(|finding| {
            let Some((id, level)) = levels.get_key_value(&finding.rule) else {
                return true;
            };
            used.insert(id.as_str(), true);
            match level {
                Level::Allow => {
                    suppressed += 1;
                    false
                }
                level => {
                    finding.level = Some(*level);
                    true
                }
            }
        });
        report.suppressed(suppressed);
        let mut unused = Vec::new();
        for (id, matched) in used {
            if !matched && rules.iter().any(|r| r.id == id) {
                unused.push(
                    Finding::new(
                        &CONFIG_UNUSED_ENTRY,
                        format!("[rules] sets `{id}`, which nothing in this run reported"),
                        Location::file(self.config.clone()),
                    )
                    .with_detail("rule", id),
                );
            }
        }
        for mut finding in unused {
            finding.level = Some(Level::Warn);
            report.finding(finding);
        }
        if !self.untrusted.is_empty() {
            report.finding(
                Finding::new(
                    &CONFIG_NOT_TRUSTED,
                    format!(
                        "{} is not trusted, so its relaxing settings were ignored: {}",
                        self.config,
                        self.untrusted.join(", ")
                    ),
                    Location::file(self.config.clone()),
                )
                .with_hint(format!(
                    "if the configuration is yours, run `aigate trust {}` (or name it with --config)",
                    self.config
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigate_report::{Report, Tool};

    fn levels(pairs: &[(&str, Level)]) -> RuleLevels {
        RuleLevels {
            levels: pairs.iter().map(|(i, l)| (i.to_string(), *l)).collect(),
            config: "aigate.toml".into(),
            untrusted: Vec::new(),
        }
    }

    #[test]
    fn allow_drops_warn_and_deny_mark() {
        let rules = [
            &aigate_scan::rules::PICKLE_TRAILING_DATA,
            &aigate_scan::rules::PICKLE_UNKNOWN_GLOBAL,
            &aigate_scan::rules::PICKLE_MALFORMED,
        ];
        let mut b = Report::builder(Tool::aigate("0"), "scan");
        for rule in rules {
            b.finding(Finding::new(rule, "m", Location::file("x")));
        }
        levels(&[
            ("pickle-trailing-data", Level::Deny),
            ("pickle-unknown-global", Level::Allow),
            ("pickle-malformed", Level::Warn),
        ])
        .apply(&mut b, &rules);
        let report = b.build();
        assert_eq!(report.summary.suppressed, 1);
        let got: Vec<(&str, Option<Level>)> = report
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.level))
            .collect();
        assert_eq!(
            got,
            [
                ("pickle-malformed", Some(Level::Warn)),
                ("pickle-trailing-data", Some(Level::Deny))
            ]
        );
        assert_eq!(report.count_failing(Severity::Critical), 1);
    }

    #[test]
    fn entries_that_match_nothing_are_reported_for_their_own_command_only() {
        let scan_rules = [&aigate_scan::rules::PICKLE_TRAILING_DATA];
        let mut b = Report::builder(Tool::aigate("0"), "scan");
        levels(&[
            ("pickle-trailing-data", Level::Allow),
            ("verify-file-added", Level::Warn),
        ])
        .apply(&mut b, &scan_rules);
        let report = b.build();
        let rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["config-unused-entry"]);
        assert_eq!(report.findings[0].details["rule"], "pickle-trailing-data");
        assert_eq!(report.count_failing(Severity::Info), 0);
    }
}
