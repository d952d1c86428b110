//! Sources: what `https://…` and `hf://[datasets/]ORG/REPO@REVISION[/FILE]` mean, and the rules a
//! declared source must follow, applied the same way by `fetch`, `lock` and `verify`.

use url::Url;

use aigate_integrity::manifest::is_inside_project;

use crate::FetchError;
use crate::rules::{SOURCE_CREDENTIALS, SOURCE_INVALID, SOURCE_REVISION_NOT_PINNED};

/// What kind of Hugging Face repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HfRepoKind {
    /// `hf://ORG/REPO`.
    Model,
    /// `hf://datasets/ORG/REPO`.
    Dataset,
}

/// A parsed source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One file at an https URL.
    Https(Url),
    /// A Hugging Face repository at a revision, whole or one file.
    Hf {
        /// Model or dataset repository.
        kind: HfRepoKind,
        /// `ORG/REPO`.
        repo: String,
        /// Branch, tag or commit.
        revision: String,
        /// One file in it.
        file: Option<String>,
    },
}

/// Parses `https://…` or `hf://[datasets/]ORG/REPO@REVISION[/FILE]`.
pub fn parse_source(text: &str) -> Result<Source, FetchError> {
    let bad = |reason: &str| FetchError::BadSource {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(rest) = text.strip_prefix("hf://") {
        let (kind, rest) = match rest.strip_prefix("datasets/") {
            Some(rest) => (HfRepoKind::Dataset, rest),
            None => (HfRepoKind::Model, rest),
        };
        let not_hf = || bad("is not hf://ORG/REPO@REVISION[/FILE]");
        let (repo, after) = rest.split_once('@').ok_or_else(not_hf)?;
        let (revision, file) = match after.split_once('/') {
            Some((rev, file)) => (rev, Some(file.to_owned()).filter(|f| !f.is_empty())),
            None => (after, None),
        };
        let parts: Vec<&str> = repo.split('/').collect();
        let name_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        if parts.len() != 2 || !parts.iter().all(|p| name_ok(p)) || !name_ok(revision) {
            return Err(not_hf());
        }
        if let Some(file) = &file
            && (!is_inside_project(file) || file.split('/').any(|s| s.is_empty() || s == "."))
        {
            return Err(not_hf());
        }
        return Ok(Source::Hf {
            kind,
            repo: repo.to_owned(),
            revision: revision.to_owned(),
            file,
        });
    }
    let url = Url::parse(text).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    Ok(Source::Https(url))
}

/// Whether a revision is a full commit hash.
pub fn is_commit(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The download URL of one file of a Hub repository served at `endpoint`.
pub fn hf_file_url(
    endpoint: &str,
    kind: HfRepoKind,
    repo: &str,
    revision: &str,
    file: &str,
) -> Result<Url, FetchError> {
    let prefix = if kind == HfRepoKind::Dataset {
        "datasets/"
    } else {
        ""
    };
    let text = format!(
        "{}/{prefix}{repo}/resolve/{}/{}",
        endpoint.trim_end_matches('/'),
        encode_path(revision),
        encode_path(file)
    );
    Url::parse(&text).map_err(|e| FetchError::BadSource {
        text,
        reason: format!("is not a URL: {e}"),
    })
}

/// A declared source that breaks a rule: which rule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    /// The rule it breaks.
    pub rule: &'static aigate_report::Rule,
    /// What is wrong, lower-case.
    pub message: String,
}

/// The rules every declared source follows, whichever command reads it: it parses, it carries
/// no credentials, and under `require-pinned-revision` an `hf://` source names a commit.
pub fn check_declared(text: &str, require_pinned_revision: bool) -> Vec<SourceProblem> {
    let mut problems = Vec::new();
    match parse_source(text) {
        Err(err) => problems.push(SourceProblem {
            rule: &SOURCE_INVALID,
            message: format!("source {err}"),
        }),
        Ok(Source::Https(url)) => {
            if !url.username().is_empty() || url.password().is_some() {
                problems.push(SourceProblem {
                    rule: &SOURCE_CREDENTIALS,
                    message: "the source URL carries a user name or password".into(),
                });
            }
            if url.scheme() != "https" {
                problems.push(SourceProblem {
                    rule: &SOURCE_INVALID,
                    message: format!("source scheme {:?} is not https", url.scheme()),
                });
            }
        }
        Ok(Source::Hf { revision, .. }) => {
            if require_pinned_revision && !is_commit(&revision) {
                problems.push(SourceProblem {
                    rule: &SOURCE_REVISION_NOT_PINNED,
                    message: format!(
                        "revision {revision:?} is not a 40-character commit id, and [sources] require-pinned-revision = true"
                    ),
                });
            }
        }
    }
    problems
}

/// The source as it may be written into the lock: credentials removed, so that a secret in
/// `aigate.toml` is never copied further.
pub fn redacted(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_sources_parse() {
        assert_eq!(
            parse_source("hf://acme/sentiment@main/onnx/model.onnx").ok(),
            Some(Source::Hf {
                kind: HfRepoKind::Model,
                repo: "acme/sentiment".into(),
                revision: "main".into(),
                file: Some("onnx/model.onnx".into()),
            })
        );
        assert!(matches!(
            parse_source("hf://datasets/acme/tickets@0123456789abcdef0123456789abcdef01234567"),
            Ok(Source::Hf {
                kind: HfRepoKind::Dataset,
                file: None,
                ..
            })
        ));
        for bad in [
            "hf://acme/sentiment",
            "hf://acme@main",
            "hf://acme/s@main/../x",
            "hf://a/b/c@main",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
        assert!(is_commit("0123456789abcdef0123456789abcdef01234567"));
        assert!(!is_commit("main"));
    }

    #[test]
    fn declared_sources_follow_one_set_of_rules() {
        let ids = |text: &str, pinned: bool| -> Vec<&str> {
            check_declared(text, pinned)
                .iter()
                .map(|p| p.rule.id)
                .collect()
        };
        assert_eq!(
            ids("hf://acme/m@main", true),
            ["source-revision-not-pinned"]
        );
        assert!(ids("hf://acme/m@main", false).is_empty());
        assert_eq!(
            ids("https://user:pw@example.org/m.bin", false),
            ["source-credentials"]
        );
        assert_eq!(ids("ftp://example.org/m.bin", false), ["source-invalid"]);
        assert!(ids("https://example.org/m.bin", true).is_empty());
    }

    #[test]
    fn credentials_never_reach_the_lock() {
        assert_eq!(
            redacted("https://user:pw@example.org/m.bin"),
            "https://example.org/m.bin"
        );
        assert_eq!(redacted("hf://acme/m@main"), "hf://acme/m@main");
    }
}
