//! What a model folder says about itself, for the `modelCard`: the Transformers `config.json`
//! (`architectures`, `model_type`) and the Hugging Face model card's YAML front matter (the Hub's
//! metadata keys `license`, `datasets`, `base_model`, `pipeline_tag`, `metrics`, `language`,
//! `library_name`).
//!
//! Both are untrusted. The front matter is read line by line as the Hub writes these keys
//! (`key: value`, `key: [a, b]`, or `key:` followed by `- item` lines), never as full YAML: no
//! anchors, tags or nesting are followed, and at most [`MAX_CARD`] bytes and [`MAX_ITEMS`]
//! values per key are read.

use serde_json::Value;

/// Largest `config.json` or `README.md` read.
pub const MAX_CARD: usize = 1 << 20;
/// Most values kept per list key.
pub const MAX_ITEMS: usize = 64;
/// Longest value kept, in characters.
const MAX_VALUE: usize = 256;

/// Facts a model folder states about the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFacts {
    /// `config.json` `architectures[0]`.
    pub architecture: Option<String>,
    /// `config.json` `model_type`: the architecture family.
    pub model_type: Option<String>,
    /// `pipeline_tag`: the task.
    pub task: Option<String>,
    /// `license`.
    pub licence: Option<String>,
    /// `datasets`: Hub dataset ids.
    pub datasets: Vec<String>,
    /// `base_model`: Hub model ids it was derived from.
    pub base_models: Vec<String>,
    /// `metrics`.
    pub metrics: Vec<String>,
    /// `language`.
    pub languages: Vec<String>,
    /// `library_name`.
    pub library: Option<String>,
}

impl CardFacts {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == CardFacts::default()
    }
}

fn clean(value: &str) -> Option<String> {
    let v = value.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(v)
        .trim();
    let ok = !v.is_empty()
        && !v.starts_with(['&', '*', '!', '{', '|', '>'])
        && !v.chars().any(char::is_control);
    ok.then(|| v.chars().take(MAX_VALUE).collect())
}

/// The values of one key: a scalar, an inline `[a, b]` list, or `- item` lines after it.
fn values(inline: &str, following: &[&str]) -> Vec<String> {
    let inline = inline.split(" #").next().unwrap_or("").trim();
    if let Some(list) = inline.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
        return list.split(',').filter_map(clean).take(MAX_ITEMS).collect();
    }
    if !inline.is_empty() {
        return clean(inline).into_iter().collect();
    }
    following
        .iter()
        .take_while(|l| l.starts_with([' ', '-']) || l.trim().is_empty())
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .filter_map(clean)
        .take(MAX_ITEMS)
        .collect()
}

/// Reads the front matter of a model card (`---` first line, up to the next `---`).
fn front_matter(readme: &[u8], facts: &mut CardFacts) {
    let readme = &readme[..readme.len().min(MAX_CARD)];
    let text = String::from_utf8_lossy(readme);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return;
    }
    let body: Vec<&str> = lines.take_while(|l| l.trim_end() != "---").collect();
    for (i, line) in body.iter().enumerate() {
        if line.starts_with([' ', '\t', '-', '#']) {
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let vals = || values(rest, body.get(i + 1..).unwrap_or(&[]));
        match key.trim() {
            "license" => facts.licence = vals().into_iter().next(),
            "datasets" => facts.datasets = vals(),
            "base_model" => facts.base_models = vals(),
            "pipeline_tag" => facts.task = vals().into_iter().next(),
            "metrics" => facts.metrics = vals(),
            "language" => facts.languages = vals(),
            "library_name" => facts.library = vals().into_iter().next(),
            _ => {}
        }
    }
}

fn config(config_json: &[u8], facts: &mut CardFacts) {
    if config_json.len() > MAX_CARD {
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(config_json) else {
        return;
    };
    facts.architecture = value
        .get("architectures")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .and_then(clean);
    facts.model_type = value
        .get("model_type")
        .and_then(Value::as_str)
        .and_then(clean);
}

/// The facts of a model folder's `config.json` and `README.md` (either may be absent).
pub fn read(config_json: Option<&[u8]>, readme: Option<&[u8]>) -> CardFacts {
    let mut facts = CardFacts::default();
    if let Some(c) = config_json {
        config(c, &mut facts);
    }
    if let Some(r) = readme {
        front_matter(r, &mut facts);
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_front_matter_in_its_three_shapes() {
        let card = b"---\nlicense: apache-2.0\ndatasets:\n  - imdb\n  - 'glue'\nbase_model: [google-bert/bert-base-uncased]\npipeline_tag: text-classification # the task\nmetrics:\n- accuracy\nmodel-index:\n- name: x\n  results: []\n---\n# Card\nlicense: not-this\n";
        let f = read(None, Some(card));
        assert_eq!(f.licence.as_deref(), Some("apache-2.0"));
        assert_eq!(f.datasets, ["imdb", "glue"]);
        assert_eq!(f.base_models, ["google-bert/bert-base-uncased"]);
        assert_eq!(f.task.as_deref(), Some("text-classification"));
        assert_eq!(f.metrics, ["accuracy"]);
    }

    #[test]
    fn config_names_the_architecture() {
        let f = read(
            Some(br#"{"architectures": ["BertForSequenceClassification"], "model_type": "bert"}"#),
            None,
        );
        assert_eq!(
            f.architecture.as_deref(),
            Some("BertForSequenceClassification")
        );
        assert_eq!(f.model_type.as_deref(), Some("bert"));
    }

    #[test]
    fn yaml_it_does_not_follow_is_left_out() {
        let f = read(
            None,
            Some(b"---\nlicense: *anchor\ndatasets: !!python/object x\n---\n"),
        );
        assert!(f.is_empty(), "{f:?}");
        assert!(read(None, Some(b"# no front matter\nlicense: mit\n")).is_empty());
        assert!(read(Some(b"[1, 2"), None).is_empty());
    }
}
