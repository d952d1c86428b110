//! `[policy]` in `aigate.toml`, deserialised with the spans of its entries (for the lines
//! findings about unused entries point at), and the `allowed_packages.json` file teams keep.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The `[policy]` section. Unknown keys are errors (`deny_unknown_fields`), as everywhere in
/// `aigate.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PolicyConfig {
    /// Requirements files must pin every requirement to one version (default: true).
    #[serde(default = "yes")]
    pub require_pins: bool,
    /// Every requirement and lock entry must carry artifact hashes (default: false; a
    /// requirements file in which one requirement has a hash is checked as pip does: all need
    /// one).
    #[serde(default)]
    pub require_hashes: bool,
    /// The indexes and find-links locations packages may come from [default: PyPI,
    /// `https://pypi.org/simple/`]. Compared without a trailing `/` and with the scheme and host
    /// lower-cased.
    pub indexes: Option<Vec<Spanned<String>>>,
    /// Name patterns of internal packages (`acme-*`): names that must come from
    /// `internal-index` only.
    #[serde(default)]
    pub internal: Vec<Spanned<String>>,
    /// The index internal packages are published to.
    pub internal_index: Option<Spanned<String>>,
    /// An `allowed_packages.json` (`{"name": {"allowed_versions": [...], "source": "..."}}`),
    /// relative to `aigate.toml`, read as more allowlist entries.
    pub allowlist_file: Option<Spanned<String>>,
    /// Check names against the popular PyPI names for typosquats (default: true).
    #[serde(default = "yes")]
    pub typosquats: bool,
    /// The allowlist: when it has an entry (here or in `allowlist-file`), every package must match
    /// one.
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
    /// The denylist.
    #[serde(default)]
    pub deny: Vec<DenyEntry>,
    /// Names reviewed and known not to be typosquats.
    #[serde(default)]
    pub not_typosquat: Vec<NotTyposquatEntry>,
    /// `[policy.licences]`.
    #[serde(default)]
    pub licences: LicenceConfig,
}

fn yes() -> bool {
    true
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            require_pins: true,
            require_hashes: false,
            indexes: None,
            internal: Vec::new(),
            internal_index: None,
            allowlist_file: None,
            typosquats: true,
            allow: Vec::new(),
            deny: Vec::new(),
            not_typosquat: Vec::new(),
            licences: LicenceConfig::default(),
        }
    }
}

impl PolicyConfig {
    /// Drops every setting that relaxes a check, for a configuration the user has not trusted,
    /// and returns what was dropped as the file spells it. Relaxing: `require-pins = false`,
    /// `typosquats = false`, `not-typosquat` entries, `[policy.licences] unknown = false`, and
    /// `indexes` beyond PyPI (an index the file adds is one packages may then come from; the
    /// indexes it keeps can only narrow the default). Everything else only adds checks and stays.
    pub fn strip_relaxations(&mut self) -> Vec<String> {
        let mut dropped = Vec::new();
        if !self.require_pins {
            dropped.push("[policy] require-pins = false".to_owned());
            self.require_pins = true;
        }
        if !self.typosquats {
            dropped.push("[policy] typosquats = false".to_owned());
            self.typosquats = true;
        }
        for entry in self.not_typosquat.drain(..) {
            dropped.push(format!(
                "[[policy.not-typosquat]] name = {:?}",
                entry.name.get_ref()
            ));
        }
        if self.licences.unknown == Some(false) {
            dropped.push("[policy.licences] unknown = false".to_owned());
            self.licences.unknown = None;
        }
        if let Some(indexes) = &mut self.indexes {
            indexes.retain(|index| {
                let default = crate::policy::normalize_index(index.get_ref())
                    == crate::policy::normalize_index(crate::policy::PYPI);
                if !default {
                    dropped.push(format!("[policy] indexes entry {:?}", index.get_ref()));
                }
                default
            });
        }
        dropped
    }
}

/// A `[[policy.allow]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AllowEntry {
    /// The package name (PEP 503-normalised when compared) or a `*` pattern.
    pub name: Spanned<String>,
    /// Allowed versions: `2.13.*` patterns (read as `==2.13.*`) or PEP 440 specifiers
    /// (`>=2.14,<2.16`); any version when empty.
    #[serde(default)]
    pub versions: Vec<String>,
    /// The index or URL the package must resolve from.
    pub source: Option<String>,
    /// Why it is allowed.
    pub reason: Option<String>,
}

/// A `[[policy.deny]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DenyEntry {
    /// The package name or a `*` pattern.
    pub name: Spanned<String>,
    /// Denied versions (patterns or specifiers, as for `allow`); every version when empty.
    #[serde(default)]
    pub versions: Vec<String>,
    /// Why it is denied (shown in the finding).
    pub reason: String,
}

/// A `[[policy.not-typosquat]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NotTyposquatEntry {
    /// The package name.
    pub name: Spanned<String>,
    /// Why it was judged safe.
    pub reason: String,
}

/// `[policy.licences]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LicenceConfig {
    /// SPDX licence ids accepted; when non-empty, a licence expression must be satisfiable with
    /// these alone.
    #[serde(default)]
    pub allow: Vec<Spanned<String>>,
    /// SPDX licence ids refused.
    #[serde(default)]
    pub deny: Vec<Spanned<String>>,
    /// Report packages whose licence is unknown (default: true when `allow` or `deny` is set).
    pub unknown: Option<bool>,
}

/// One entry of an `allowed_packages.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistFileEntry {
    /// Allowed versions (patterns or specifiers).
    #[serde(default)]
    pub allowed_versions: Vec<String>,
    /// The index or URL the package must resolve from.
    pub source: Option<String>,
    /// Why it is allowed.
    pub reason: Option<String>,
}

/// Parses an `allowed_packages.json`: a JSON object from package name to entry.
pub fn parse_allowlist_file(
    text: &str,
) -> Result<BTreeMap<String, AllowlistFileEntry>, serde_json::Error> {
    serde_json::from_str(text)
}
