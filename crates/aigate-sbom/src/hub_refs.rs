//! Hugging Face Hub repositories that a project's configuration text names: `hf://ORG/NAME`
//! URLs anywhere on a line, and the values of the keys training scripts and configs use for a
//! model to download (`model_name_or_path`, `pretrained_model_name_or_path`, `base_model`, …) in
//! YAML (`key: value`), JSON (`"key": "value"`), TOML and INI (`key = value`) alike. The text is
//! read line by line without a parser, so a file in any of those formats (or a broken one) gives
//! the same answer; the work is linear in the text's length.

/// Keys whose value is a Hub model to download.
pub const HUB_KEYS: &[&str] = &[
    "model_name_or_path",
    "pretrained_model_name_or_path",
    "model_id",
    "model-id",
    "repo_id",
    "base_model",
    "hf_model",
];

/// Bytes of a value looked at; Hub ids are at most 96 characters on each side of the `/`.
const MAX_VALUE: usize = 256;

/// A Hub repository named on a line of a text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HubRef {
    /// `ORG/NAME`, without a revision.
    pub repo: String,
    /// The line it is on, from 1.
    pub line: usize,
}

/// The repository id in `value` when it has the shape of one (`ORG/NAME`, optionally with an
/// `hf://` prefix, quotes, a trailing comma or an `@revision`); `None` for a local path or a
/// bare model name.
pub fn hub_repo(value: &str) -> Option<String> {
    let value = value
        .trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == ',');
    let value = value.strip_prefix("hf://").unwrap_or(value);
    let (org, name) = value.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let name = name.split('@').next().unwrap_or(name);
    (ok(org) && ok(name) && org != "datasets").then(|| format!("{org}/{name}"))
}

/// The value of `key` found at byte `at` of `line`, when it is a key there: not part of a longer
/// word, followed (past a closing quote) by `:` or `=`. A quoted value runs to its closing quote;
/// a bare one to whitespace, `,`, `}` or `#`.
fn keyed_value<'a>(line: &'a str, at: usize, key: &str) -> Option<&'a str> {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    if line[..at].chars().next_back().is_some_and(word) {
        return None;
    }
    let after = &line[at + key.len()..];
    if after.chars().next().is_some_and(word) {
        return None;
    }
    let after = after.trim_start_matches(['"', '\'']).trim_start();
    let value = after
        .strip_prefix(':')
        .or_else(|| after.strip_prefix('='))?
        .trim_start();
    // No repository id is this long; the bound keeps a line of many keys linear.
    let value = &value[..value.floor_char_boundary(MAX_VALUE)];
    match value.chars().next()? {
        quote @ ('"' | '\'') => {
            let inner = &value[1..];
            Some(&inner[..inner.find(quote).unwrap_or(inner.len())])
        }
        _ => Some(
            &value[..value
                .find(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | '#'))
                .unwrap_or(value.len())],
        ),
    }
}

/// Every Hub repository `text` names, in line order (a line naming two gives both).
pub fn find(text: &str) -> Vec<HubRef> {
    let mut refs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut push = |repo: String| {
            refs.push(HubRef {
                repo,
                line: index + 1,
            })
        };
        let mut rest = line;
        while let Some(at) = rest.find("hf://") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ']'))
                .unwrap_or(tail.len());
            if let Some(repo) = hub_repo(&tail[..end]) {
                push(repo);
            }
            // "hf://" holds no terminator, so `end` is past it and the scan advances.
            rest = &tail[end..];
        }
        for key in HUB_KEYS {
            for (at, _) in line.match_indices(key) {
                if let Some(repo) = keyed_value(line, at, key).and_then(hub_repo) {
                    push(repo);
                }
            }
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_repositories_are_recognised_and_other_values_are_not() {
        assert_eq!(
            hub_repo(" \"acme/sentiment\""),
            Some("acme/sentiment".into())
        );
        assert_eq!(
            hub_repo("hf://acme/bert-base@4f3c"),
            Some("acme/bert-base".into())
        );
        assert_eq!(hub_repo("./models/local"), None);
        assert_eq!(hub_repo("bert-base-uncased"), None);
        assert_eq!(hub_repo("a/b/c"), None);
        assert_eq!(hub_repo("datasets/imdb"), None);
    }

    #[test]
    fn every_format_names_its_models_with_their_lines() {
        let text = "\
model_name_or_path: acme/yaml-model\n\
{\"base_model\": \"acme/json-model\",\n\
repo_id = 'acme/toml-model'\n\
weights: hf://acme/url-a, hf://acme/url-b@main\n\
output_dir: ./runs/acme/out\n\
model_name_or_path = local-name\n";
        let found: Vec<(String, usize)> =
            find(text).into_iter().map(|r| (r.repo, r.line)).collect();
        assert_eq!(
            found,
            [
                ("acme/yaml-model".to_owned(), 1),
                ("acme/json-model".to_owned(), 2),
                ("acme/toml-model".to_owned(), 3),
                ("acme/url-a".to_owned(), 4),
                ("acme/url-b".to_owned(), 4),
            ]
        );
    }

    #[test]
    fn a_bare_scheme_at_the_end_of_a_line_ends_the_scan() {
        assert_eq!(find("x: hf://\ny: hf://hf://"), []);
    }

    #[test]
    fn keys_inside_one_line_json_and_longer_words_are_told_apart() {
        let text =
            r#"{"output": "x", "model_id": "acme/one-line", "base_model_revision": "acme/no"}"#;
        let found: Vec<String> = find(text).into_iter().map(|r| r.repo).collect();
        assert_eq!(found, ["acme/one-line"]);
        assert_eq!(find("my_model_id: acme/no\nmodel_id:"), []);
    }

    #[test]
    fn a_long_line_of_keys_with_unclosed_quotes_names_nothing() {
        let line = "model_id: \"".repeat(30_000);
        assert_eq!(find(&line), []);
    }
}
