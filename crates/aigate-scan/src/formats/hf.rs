//! Hugging Face configuration files that make loaders import code from the repository:
//! `auto_map` (in `config.json`, `tokenizer_config.json`, `preprocessor_config.json`, …) maps
//! Auto classes to `module.Class` inside the repository, and `custom_pipelines` names pipeline
//! implementations; with `trust_remote_code=True`, transformers downloads and imports those
//! modules. Everything else in these files is data. A model card (`README.md` with the Hub's
//! YAML front matter) that tells its users to run a script is reported as well.

use std::io;

use aigate_report::{Finding, Location, Rule, Step};
use serde_json::Value;

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::{HF_README_RUNS_CODE, HF_REMOTE_CODE, TEMPLATE_MALFORMED};

/// Largest configuration read.
const MAX_CONFIG: u64 = 16 << 20;

/// The reader of Hugging Face `*config.json` files.
pub(crate) struct HfConfig;

impl FormatScanner for HfConfig {
    fn name(&self) -> &'static str {
        "hf-config"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.hint == NameHint::HfConfig
    }

    fn malformed_rule(&self) -> &'static Rule {
        &TEMPLATE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let bytes = input.blob.materialize(MAX_CONFIG)?;
        // A file that is not JSON is not a configuration transformers can read: data.
        if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
            cx.scanned(input.loc, self.name(), self.version(), bytes.len() as u64);
            remote_code(cx, input.loc, &json);
        } else {
            cx.scanned(input.loc, "data", 1, bytes.len() as u64);
        }
        Ok(())
    }
}

/// Largest model card read.
const MAX_CARD: u64 = 4 << 20;

/// Most commands named in one finding.
const MAX_COMMANDS: usize = 8;

/// A Hugging Face model card: `README.md` opening with YAML front matter that has one of the
/// Hub's metadata keys. Other READMEs (a project's own) are data.
pub(crate) struct ModelCard;

impl FormatScanner for ModelCard {
    fn name(&self) -> &'static str {
        "hf-model-card"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.hint == NameHint::ModelCard && front_matter(input.head).is_some()
    }

    fn malformed_rule(&self) -> &'static Rule {
        &HF_README_RUNS_CODE
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let bytes = input.blob.materialize(MAX_CARD)?;
        let text = String::from_utf8_lossy(&bytes);
        cx.scanned(input.loc, self.name(), self.version(), bytes.len() as u64);
        let commands = commands_run(&text);
        if !commands.is_empty() {
            let shown: Vec<&str> = commands
                .iter()
                .take(MAX_COMMANDS)
                .map(String::as_str)
                .collect();
            let more = commands.len().saturating_sub(MAX_COMMANDS);
            cx.finding(Finding::new(
                &HF_README_RUNS_CODE,
                format!(
                    "the model card tells users to run: {}{}",
                    shown.join("; "),
                    if more > 0 {
                        format!(" (and {more} more)")
                    } else {
                        String::new()
                    }
                ),
                input.loc.clone(),
            ));
        }
        Ok(())
    }
}

/// The Hub's model-card metadata keys, one of which the front matter must have.
const CARD_KEYS: &[&str] = &[
    "license:",
    "tags:",
    "library_name:",
    "pipeline_tag:",
    "base_model:",
    "datasets:",
    "language:",
    "model-index:",
    "metrics:",
    "inference:",
];

/// The YAML front matter of a model card: `---` on the first line, up to the next `---`.
fn front_matter(head: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // A head cut inside a character: the valid prefix.
        std::str::from_utf8(&head[..head.len().saturating_sub(3)]).ok()
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let end = body.find("\n---").unwrap_or(body.len());
    let matter = &body[..end];
    matter
        .lines()
        .any(|line| CARD_KEYS.iter().any(|k| line.starts_with(k)))
        .then_some(matter)
}

/// The commands in a model card's code (fenced blocks and inline code) that run a script or
/// fetch code: `python x.py`, `python -m pkg`, `bash x.sh`, `sh`, `source`, `./x.sh`,
/// `curl … | sh`, `pip install` from a URL or a repository.
fn commands_run(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        let snippets: Vec<&str> = if in_fence {
            vec![trimmed]
        } else {
            trimmed.split('`').skip(1).step_by(2).collect()
        };
        for snippet in snippets {
            // Notebook and shell prompts.
            let command = snippet.trim_start_matches(['$', '!', '%', '>']).trim();
            if runs_code(command) && !found.iter().any(|f| f == command) {
                found.push(command.chars().take(200).collect());
            }
        }
    }
    found
}

fn runs_code(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let Some(&first) = words.first() else {
        return false;
    };
    let script = |w: &&str| {
        let w = w.trim_matches(['"', '\'']);
        w.ends_with(".py") || w.ends_with(".sh")
    };
    let piped_to_shell = command.contains('|')
        && command.split('|').skip(1).any(|part| {
            matches!(
                part.split_whitespace().next(),
                Some("sh" | "bash" | "zsh" | "python" | "python3" | "sudo")
            )
        })
        && (command.contains("curl ") || command.contains("wget "));
    let interpreter = matches!(
        first,
        "python" | "python3" | "bash" | "sh" | "zsh" | "source" | "."
    ) && (words.iter().skip(1).any(script)
        || (words.get(1) == Some(&"-m")
            && !matches!(
                words.get(2).copied(),
                Some("pip" | "venv" | "ensurepip") | None
            )));
    let local_script = first.starts_with("./") && script(&first);
    let pip_from_url = (matches!(first, "pip" | "pip3" | "uv") || words.get(2) == Some(&"pip"))
        && words.contains(&"install")
        && words.iter().any(|w| {
            w.starts_with("git+") || w.starts_with("http://") || w.starts_with("https://")
        });
    piped_to_shell || interpreter || local_script || pip_from_url
}

/// Reports the modules `auto_map` and `custom_pipelines` make loaders import.
pub(crate) fn remote_code(cx: &mut Cx<'_>, loc: &Location, json: &Value) {
    let mut modules: Vec<String> = Vec::new();
    let mut add = |reference: &str| {
        // `repo--module.Class` points at another repository; `module.Class` at this one.
        let module = reference
            .rsplit_once('.')
            .map_or(reference, |(module, _)| module);
        if !module.is_empty() && !modules.iter().any(|m| m == module) {
            modules.push(module.to_owned());
        }
    };
    if let Some(map) = json.get("auto_map").and_then(Value::as_object) {
        for value in map.values() {
            match value {
                Value::String(reference) => add(reference),
                Value::Array(items) => items.iter().filter_map(Value::as_str).for_each(&mut add),
                _ => {}
            }
        }
    }
    if let Some(pipelines) = json.get("custom_pipelines").and_then(Value::as_object) {
        for pipeline in pipelines.values() {
            if let Some(reference) = pipeline.get("impl").and_then(Value::as_str) {
                add(reference);
            }
        }
    }
    if modules.is_empty() {
        return;
    }
    let field = if json.get("auto_map").is_some() {
        "auto_map"
    } else {
        "custom_pipelines"
    };
    cx.finding(
        Finding::new(
            &HF_REMOTE_CODE,
            format!(
                "loading with trust_remote_code=True imports code shipped with the model: {}",
                modules.join(", ")
            ),
            loc.step(Step::Field(field.to_owned())),
        )
        .with_detail("modules", modules.join(",")),
    );
}

#[cfg(test)]
mod card_tests {
    use super::*;

    #[test]
    fn the_commands_a_model_card_tells_users_to_run_are_found() {
        let card = "---\nlicense: mit\n---\n# Model\n\nRun `python setup_weights.py` first.\n\n```bash\n$ bash install.sh\ncurl -fsSL https://x.example/i.sh | sh\npip install git+https://github.com/x/y\npython -m pip install transformers\npip install torch==2.5.1\n```\n\n```python\nfrom transformers import AutoModel\nmodel = AutoModel.from_pretrained(\"x\")\n```\n";
        assert!(front_matter(card.as_bytes()).is_some());
        assert_eq!(
            commands_run(card),
            [
                "python setup_weights.py",
                "bash install.sh",
                "curl -fsSL https://x.example/i.sh | sh",
                "pip install git+https://github.com/x/y",
            ]
        );
    }

    #[test]
    fn only_readmes_with_hub_front_matter_are_model_cards() {
        assert!(front_matter(b"# My project\n\nRun `python train.py`.\n").is_none());
        assert!(front_matter(b"---\ntitle: notes\n---\n").is_none());
        assert!(front_matter(b"---\npipeline_tag: text-generation\n---\n").is_some());
    }
}
