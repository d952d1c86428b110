//! Hugging Face configuration files that make loaders import code from the repository:
//! `auto_map` (in `config.json`, `tokenizer_config.json`, `preprocessor_config.json`, …) maps
//! Auto classes to `module.Class` inside the repository, and `custom_pipelines` names pipeline
//! implementations; with `trust_remote_code=True`, transformers downloads and imports those
//! modules. Everything else in these files is data.

use std::io;

use aigate_report::{Finding, Location, Rule, Step};
use serde_json::Value;

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::{HF_REMOTE_CODE, TEMPLATE_MALFORMED};

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
