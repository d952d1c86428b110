//! The artifact sections of `aigate.toml`: `[[model]]`, `[[dataset]]` and `[sources]`.
//! Deserialised with spans so that every validation error names its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// What an artifact is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A `[[model]]`.
    Model,
    /// A `[[dataset]]`.
    Dataset,
}

impl Kind {
    /// `model` or `dataset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::Dataset => "dataset",
        }
    }
}

/// One `[[model]]` or `[[dataset]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ArtifactDecl {
    /// Unique among all artifacts: letters, digits, `.`, `_`, `-`.
    pub name: Spanned<String>,
    /// A file or a folder, relative to the project root.
    pub path: Spanned<String>,
    /// Where it came from (an https URL or `hf://ORG/REPO@REVISION[/FILE]`).
    #[serde(default)]
    pub source: Option<Spanned<String>>,
    /// Who answers for it.
    #[serde(default)]
    pub owner: Option<String>,
    /// What it is for (models).
    #[serde(default)]
    pub intended_use: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Its licence, as an SPDX expression.
    #[serde(default)]
    pub license: Option<String>,
    /// Who keeps it day to day, beside the owner (datasets' data custodians).
    #[serde(default)]
    pub custodians: Vec<String>,
    /// Declared datasets a model was trained on (their names), for the SBOM.
    #[serde(default)]
    pub trained_on: Vec<Spanned<String>>,
    /// Declared datasets a model was evaluated on (their names), for the SBOM.
    #[serde(default)]
    pub tested_on: Vec<Spanned<String>>,
    /// The model's metrics as evaluated by the team (`accuracy = "0.91"`), for the SBOM.
    #[serde(default)]
    pub metrics: BTreeMap<String, String>,
    /// Known limitations, in the team's words.
    #[serde(default)]
    pub limitations: Option<String>,
}

/// `[sources]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sources {
    /// URL prefixes `fetch` may download from.
    #[serde(default)]
    pub trusted: Vec<Spanned<String>>,
    /// Whether `hf://` sources must name a commit hash, not a branch or tag.
    #[serde(default)]
    pub require_pinned_revision: bool,
    /// Publishers' public keys, by trusted prefix: a download from under a prefix must carry a
    /// model-signing signature that verifies with its key (project-relative PEM paths).
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

/// A validation error, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ManifestError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong, and how to fix it.
    pub message: String,
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Every declared path in its one spelling ([`crate::paths::normalize`]); call after
/// [`validate`], which reports the paths that have none.
pub fn normalize_paths<'a>(decls: impl IntoIterator<Item = &'a mut ArtifactDecl>) {
    for decl in decls {
        if let Ok(normal) = crate::paths::normalize(decl.path.get_ref()) {
            decl.path = Spanned::new(decl.path.span(), normal);
        }
    }
}

/// Whether a name that comes from elsewhere (a URL, a Hub listing) is safe to use as a
/// project-relative path on every platform: not empty, not absolute, no `..`, no backslashes or
/// drive letters. Names found on disk are judged by [`crate::paths::normalize`] instead.
pub fn is_inside_project(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains(':')
        && path.split('/').all(|seg| seg != "..")
}

/// Whether `name` may name an artifact: letters, digits, `.`, `_` and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Checks names, paths and sources; `text` is the file, for line numbers.
pub fn validate(
    text: &str,
    artifacts: &[(Kind, &ArtifactDecl)],
    sources: &Sources,
) -> Result<(), ManifestError> {
    let err = |span: std::ops::Range<usize>, message: String| ManifestError {
        line: line_of(text, span.start),
        message,
    };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (kind, decl) in artifacts {
        let name = decl.name.get_ref();
        if !is_valid_name(name) {
            return Err(err(
                decl.name.span(),
                format!(
                    "{} name {name:?} may hold only letters, digits, `.`, `_` and `-`",
                    kind.as_str()
                ),
            ));
        }
        // Lines are counted only for an error: counting for every entry made checking a large
        // configuration quadratic.
        if let Some(first) = seen.insert(name, decl.name.span().start) {
            return Err(err(
                decl.name.span(),
                format!(
                    "artifact name {name:?} is already used on line {}",
                    line_of(text, first)
                ),
            ));
        }
        if let Err(why) = crate::paths::normalize(decl.path.get_ref()) {
            return Err(err(decl.path.span(), format!("path {why}")));
        }
        if let Some(source) = &decl.source {
            let s = source.get_ref();
            if !(s.starts_with("https://") || s.starts_with("hf://")) {
                return Err(err(
                    source.span(),
                    format!(
                        "source {s:?} must be an https:// URL or hf://ORG/REPO@REVISION[/FILE]"
                    ),
                ));
            }
        }
    }
    for (kind, decl) in artifacts {
        for (key, names) in [
            ("trained-on", &decl.trained_on),
            ("tested-on", &decl.tested_on),
        ] {
            if !names.is_empty() && *kind != Kind::Model {
                return Err(err(
                    names[0].span(),
                    format!("{key} belongs to a [[model]], not a [[dataset]]"),
                ));
            }
            for name in names {
                let declared = artifacts
                    .iter()
                    .any(|(k, d)| *k == Kind::Dataset && d.name.get_ref() == name.get_ref());
                if !declared {
                    return Err(err(
                        name.span(),
                        format!(
                            "{key} names {:?}, which is no [[dataset]] of this file",
                            name.get_ref()
                        ),
                    ));
                }
            }
        }
    }
    for trusted in &sources.trusted {
        if !trusted.get_ref().starts_with("https://") {
            return Err(err(
                trusted.span(),
                format!(
                    "trusted source {:?} must be an https:// URL prefix",
                    trusted.get_ref()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        #[serde(default)]
        model: Vec<ArtifactDecl>,
        #[serde(default)]
        sources: Sources,
    }

    fn check(text: &str) -> Result<(), ManifestError> {
        let doc: Doc = toml::from_str(text).map_err(|e| ManifestError {
            line: 0,
            message: e.to_string(),
        })?;
        let arts: Vec<_> = doc.model.iter().map(|m| (Kind::Model, m)).collect();
        validate(text, &arts, &doc.sources)
    }

    #[test]
    fn valid_manifest_passes() {
        assert!(
            check("[[model]]\nname = \"a\"\npath = \"models/a\"\nsource = \"hf://o/r@main\"\n")
                .is_ok()
        );
    }

    #[test]
    fn errors_name_their_line() {
        let e = check("[[model]]\nname = \"a\"\npath = \"../etc\"\n").err();
        assert_eq!(e.map(|e| e.line), Some(3));
        let e =
            check("[[model]]\nname = \"a\"\npath = \"x\"\n[[model]]\nname = \"a\"\npath = \"y\"\n")
                .err();
        assert_eq!(e.as_ref().map(|e| e.line), Some(5));
        let e = check("[sources]\ntrusted = [\n  \"http://x/\",\n]\n").err();
        assert_eq!(e.map(|e| e.line), Some(3));
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(check("[[model]]\nname = \"a\"\npath = \"x\"\nowner_team = \"y\"\n").is_err());
    }

    #[test]
    fn project_paths() {
        assert!(is_inside_project("models/a.pt"));
        for bad in ["", "/etc/passwd", "a/../../b", "..", "C:/x", "a\\b"] {
            assert!(!is_inside_project(bad), "{bad}");
        }
    }
}
