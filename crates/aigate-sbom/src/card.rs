//! What a model folder says about itself, for the `modelCard`: the Transformers `config.json`
//! (`architectures`, `model_type`) and the Hugging Face model card's YAML front matter (the Hub's
//! metadata keys `license`, `datasets`, `base_model`, `pipeline_tag`, `metrics`, `language`,
//! `library_name`, and the `model-index` evaluation results), and the body's limitations
//! section.
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
/// Longest limitations text kept, in characters.
pub const MAX_LIMITATIONS: usize = 4096;

/// One evaluation result of the card's `model-index`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardMetric {
    /// The metric (`type`, as `accuracy`, or its `name` when it has no type).
    pub name: String,
    /// Its value, as written.
    pub value: String,
    /// The Hub id of the dataset it was measured on.
    pub dataset: Option<String>,
}

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
    /// `model-index` results with a value.
    pub results: Vec<CardMetric>,
    /// Hub ids of the datasets the `model-index` results were measured on.
    pub evaluated_on: Vec<String>,
    /// The text of the body's limitations section (`## Limitations`, `## Bias, Risks, and
    /// Limitations`), without HTML comments and template placeholders.
    pub limitations: Option<String>,
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

/// The evaluation results of a `model-index` block (the lines after `model-index:`), read by
/// indentation: `dataset:` and `metrics:` open a section that ends at a line indented no deeper
/// than their key, and each `- type:` item of `metrics` starts a result.
fn model_index(block: &[&str], facts: &mut CardFacts) {
    #[derive(PartialEq)]
    enum Section {
        Other,
        Dataset,
        Metrics,
    }
    let mut section = (Section::Other, 0usize);
    let mut dataset: Option<String> = None;
    let mut metric: Option<CardMetric> = None;
    let finish = |m: Option<CardMetric>, facts: &mut CardFacts| {
        if let Some(m) = m.filter(|m| !m.name.is_empty() && !m.value.is_empty())
            && facts.results.len() < MAX_ITEMS
        {
            facts.results.push(m);
        }
    };
    for line in block {
        let indent = line.len() - line.trim_start().len();
        let mut content = line.trim_start();
        let item = content.starts_with("- ");
        let mut key_indent = indent;
        if item {
            content = content[2..].trim_start();
            key_indent = line.len() - content.len();
        }
        let Some((key, value)) = content.split_once(':') else {
            continue;
        };
        let key = key.trim();
        if key_indent <= section.1 && section.0 != Section::Other {
            if section.0 == Section::Metrics {
                finish(metric.take(), facts);
            }
            section = (Section::Other, 0);
        }
        match (&section.0, key) {
            (_, "results" | "task") if item => dataset = None,
            (Section::Other, "dataset") => section = (Section::Dataset, key_indent),
            (Section::Other, "metrics") => section = (Section::Metrics, key_indent),
            (Section::Dataset, "type") => {
                dataset = clean(value);
                if let Some(d) = &dataset
                    && !facts.evaluated_on.contains(d)
                    && facts.evaluated_on.len() < MAX_ITEMS
                {
                    facts.evaluated_on.push(d.clone());
                }
            }
            (Section::Metrics, "type" | "name" | "value") => {
                if item {
                    finish(metric.take(), facts);
                }
                let m = metric.get_or_insert_with(|| CardMetric {
                    dataset: dataset.clone(),
                    ..CardMetric::default()
                });
                let v = clean(value.split(" #").next().unwrap_or("")).unwrap_or_default();
                match key {
                    "type" => m.name = v,
                    "name" if m.name.is_empty() => m.name = v,
                    "value" => m.value = v,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    finish(metric.take(), facts);
}

/// The limitations section of a card's body: the text under the first heading that names
/// limitations, up to the next heading at its level or above.
fn limitations(body: &[&str]) -> Option<String> {
    let level = |l: &str| {
        let hashes = l.len() - l.trim_start_matches('#').len();
        (hashes > 0 && l[hashes..].starts_with(' ')).then_some(hashes)
    };
    let start = body
        .iter()
        .position(|l| level(l).is_some() && l.to_ascii_lowercase().contains("limitation"))?;
    let depth = level(body[start]).unwrap_or(1);
    let mut text = String::new();
    let mut in_comment = false;
    for line in &body[start + 1..] {
        if level(line).is_some_and(|d| d <= depth) {
            break;
        }
        let mut rest = *line;
        let mut kept = String::new();
        loop {
            if in_comment {
                match rest.find("-->") {
                    Some(end) => {
                        rest = &rest[end + 3..];
                        in_comment = false;
                    }
                    None => break,
                }
            } else {
                match rest.find("<!--") {
                    Some(open) => {
                        kept.push_str(&rest[..open]);
                        rest = &rest[open + 4..];
                        in_comment = true;
                    }
                    None => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        let kept = kept.replace("[More Information Needed]", "");
        let kept = kept.trim();
        if kept.is_empty() || level(kept).is_some() {
            continue;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(kept);
        if text.len() >= MAX_LIMITATIONS {
            break;
        }
    }
    let text: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_LIMITATIONS)
        .collect();
    (!text.trim().is_empty()).then_some(text)
}

/// Reads the front matter of a model card (`---` first line, up to the next `---`) and the
/// limitations section of its body.
fn front_matter(readme: &[u8], facts: &mut CardFacts) {
    let readme = &readme[..readme.len().min(MAX_CARD)];
    let text = String::from_utf8_lossy(readme);
    let all: Vec<&str> = text.lines().collect();
    let Some((first, rest)) = all.split_first() else {
        return;
    };
    if first.trim_end() != "---" {
        facts.limitations = limitations(&all);
        return;
    }
    let end = rest
        .iter()
        .position(|l| l.trim_end() == "---")
        .unwrap_or(rest.len());
    let body = &rest[..end];
    facts.limitations = limitations(rest.get(end + 1..).unwrap_or(&[]));
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
            "model-index" => {
                let block: Vec<&str> = body[i + 1..]
                    .iter()
                    .take_while(|l| l.starts_with([' ', '-']) || l.trim().is_empty())
                    .copied()
                    .collect();
                model_index(&block, facts);
            }
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
    fn model_index_results_and_their_datasets() {
        let card = b"---\nmodel-index:\n- name: tiny\n  results:\n  - task:\n      type: text-classification\n    dataset:\n      name: IMDB\n      type: stanfordnlp/imdb\n      split: test\n    metrics:\n    - type: accuracy\n      value: 0.93\n      name: Accuracy\n    - name: F1\n      value: 0.91\n  - task:\n      type: text-classification\n    dataset:\n      type: glue\n    metrics:\n      - type: matthews_correlation\n        value: 0.5\nlicense: mit\n---\n";
        let f = read(None, Some(card));
        let got: Vec<(&str, &str, Option<&str>)> = f
            .results
            .iter()
            .map(|m| (m.name.as_str(), m.value.as_str(), m.dataset.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("accuracy", "0.93", Some("stanfordnlp/imdb")),
                ("F1", "0.91", Some("stanfordnlp/imdb")),
                ("matthews_correlation", "0.5", Some("glue")),
            ]
        );
        assert_eq!(f.evaluated_on, ["stanfordnlp/imdb", "glue"]);
        assert_eq!(f.licence.as_deref(), Some("mit"));
    }

    #[test]
    fn limitations_come_from_their_section_without_template_text() {
        let card = b"---\nlicense: mit\n---\n# Model\n\n## Bias, Risks, and Limitations\n\n<!-- This section is meant to convey\nboth technical and sociotechnical limitations. -->\n\nIt was trained on English reviews only.\n\n### Recommendations\n\nDo not use it for medical text.\n\n## Training\n\nNot this.\n";
        let f = read(None, Some(card));
        assert_eq!(
            f.limitations.as_deref(),
            Some("It was trained on English reviews only. Do not use it for medical text.")
        );
        let template = b"## Limitations\n\n[More Information Needed]\n\n## Next\n";
        assert_eq!(read(None, Some(template)).limitations, None);
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
