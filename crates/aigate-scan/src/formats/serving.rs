//! Serving archives and folders, whose loaders run code and install packages beside the weights:
//! - TorchServe `.mar` archives (a zip with `MAR-INF/MANIFEST.json`): the manifest names a
//!   handler module that the server imports, and a `requirements.txt` that it `pip install`s
//!   when `install_py_dep_per_model` is on;
//! - MLflow models (an `MLmodel` YAML file): the `python_function` flavour's `loader_module` is
//!   imported by `mlflow.pyfunc.load_model`, and `python_model` is a cloudpickle it loads.
//!
//! Handler sources themselves are `script-file` findings and pickles are scanned as pickles;
//! this reader reports what the manifests make the server import and install.

use std::io;

use aigate_report::{Finding, Rule, Step};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::{SERVING_CODE, SERVING_REQUIREMENTS, TEMPLATE_MALFORMED};

/// Largest manifest or requirements file read.
const MAX_TEXT: u64 = 4 << 20;

/// The reader of serving manifests and their requirements.
pub(crate) struct Serving;

impl FormatScanner for Serving {
    fn name(&self) -> &'static str {
        "serving-manifest"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        matches!(
            input.hint,
            NameHint::MarManifest | NameHint::MarRequirements | NameHint::MlflowModel
        )
    }

    fn malformed_rule(&self) -> &'static Rule {
        &TEMPLATE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let bytes = input.blob.materialize(MAX_TEXT)?;
        let text = String::from_utf8_lossy(&bytes);
        cx.scanned(input.loc, self.name(), self.version(), bytes.len() as u64);
        match input.hint {
            NameHint::MarManifest => {
                let handler = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|m| {
                        m.get("model")
                            .and_then(|model| model.get("handler"))
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_owned)
                    });
                if let Some(handler) = handler.filter(|h| !BUILTIN_HANDLERS.contains(&h.as_str())) {
                    cx.finding(
                        Finding::new(
                            &SERVING_CODE,
                            format!("TorchServe imports the handler {handler:?} shipped in the archive when it loads the model"),
                            input.loc.step(Step::Field("model.handler".into())),
                        )
                        .with_detail("module", handler),
                    );
                }
            }
            NameHint::MarRequirements => {
                let lines: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect();
                if !lines.is_empty() {
                    cx.finding(
                        Finding::new(
                            &SERVING_REQUIREMENTS,
                            format!(
                                "TorchServe pip-installs these when it loads the model (install_py_dep_per_model): {}",
                                lines.join(", ")
                            ),
                            input.loc.clone(),
                        )
                        .with_detail("requirements", lines.join("\n")),
                    );
                }
            }
            _ => mlflow(cx, input, &text),
        }
        Ok(())
    }
}

/// TorchServe's own handlers, which ship with the server.
const BUILTIN_HANDLERS: &[&str] = &[
    "image_classifier",
    "image_segmenter",
    "object_detector",
    "text_classifier",
    "text_handler",
];

/// An `MLmodel` file: YAML, read line by line for the keys that name code (a full YAML parse is
/// not needed: MLflow writes these as plain `key: value` lines under `flavors:`).
fn mlflow(cx: &mut Cx<'_>, input: &Input<'_>, text: &str) {
    for line in text.lines() {
        let trimmed = line.trim();
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']);
        match key.trim() {
            "loader_module" if !value.starts_with("mlflow.") && !value.is_empty() => {
                cx.finding(
                    Finding::new(
                        &SERVING_CODE,
                        format!("mlflow.pyfunc.load_model imports the loader module {value:?}, which is not MLflow's own"),
                        input.loc.step(Step::Field("flavors.python_function.loader_module".into())),
                    )
                    .with_detail("module", value.to_owned()),
                );
            }
            "code" if !value.is_empty() && value != "null" => {
                cx.finding(
                    Finding::new(
                        &SERVING_CODE,
                        format!("the model ships code ({value:?}) that mlflow.pyfunc.load_model puts on the import path"),
                        input.loc.step(Step::Field("flavors.python_function.code".into())),
                    )
                    .with_detail("module", value.to_owned()),
                );
            }
            _ => {}
        }
    }
}
