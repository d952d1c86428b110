//! Hydra, OmegaConf and NeMo configurations (`config.yaml`, `hparams.yaml`, the
//! `model_config.yaml` inside a `.nemo` archive, any YAML file): a mapping with `_target_`
//! names a callable that `hydra.utils.instantiate` imports and calls with the mapping's other
//! keys (`_args_` positionally; `_partial_` and `_call_` change when). Each target is judged by
//! the same policy as pickle globals, with the classes of the frameworks whose configurations
//! are instantiated as a matter of course admitted by module. The YAML is read as a stream of
//! parser events, never built into a tree, so aliases cannot multiply it (no "billion laughs").

use std::collections::HashMap;
use std::io;

use aigate_report::{Finding, Rule, Step};
use yaml_rust2::parser::{Event, Parser};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::globals::{Uses, Verdict};
use crate::rules::{HYDRA_TARGET_UNKNOWN, HYDRA_TARGET_UNSAFE, TEMPLATE_MALFORMED};

/// Largest configuration read.
const MAX_CONFIG: u64 = 16 << 20;
/// Deepest nesting followed.
const MAX_DEPTH: usize = 256;

/// Modules whose classes NeMo, Lightning and Hydra configurations instantiate routinely:
/// models, layers, optimisers, schedulers, data loaders, transforms.
const FRAMEWORK_MODULES: &[&str] = &[
    "nemo.collections",
    "nemo.core.classes",
    "nemo.core.optim",
    "nemo.core.config",
    "lightning.pytorch.callbacks",
    "lightning.pytorch.loggers",
    "lightning.pytorch.strategies",
    "lightning.pytorch.trainer",
    "pytorch_lightning.callbacks",
    "pytorch_lightning.loggers",
    "pytorch_lightning.strategies",
    "pytorch_lightning.trainer",
    "torch.optim",
    "torch.nn.modules",
    "torch.utils.data",
    "torchaudio.transforms",
    "torchvision.transforms",
    "omegaconf",
];

/// The reader of YAML configurations.
pub(crate) struct HydraConfig;

impl FormatScanner for HydraConfig {
    fn name(&self) -> &'static str {
        "yaml-config"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.hint == NameHint::Yaml
    }

    fn malformed_rule(&self) -> &'static Rule {
        &TEMPLATE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let bytes = input.blob.materialize(MAX_CONFIG)?;
        let text = String::from_utf8_lossy(&bytes);
        let targets = match targets(&text) {
            Ok(targets) => targets,
            // YAML that no parser reads is no configuration Hydra instantiates: data.
            Err(_) => {
                cx.scanned(input.loc, "data", 1, bytes.len() as u64);
                return Ok(());
            }
        };
        cx.scanned(input.loc, self.name(), self.version(), bytes.len() as u64);
        for (path, target) in targets {
            let Some((module, name)) = target.rsplit_once('.') else {
                continue;
            };
            let loc = input.loc.step(Step::Field(path.clone()));
            let framework = FRAMEWORK_MODULES.iter().any(|m| {
                module == *m || module.strip_prefix(m).is_some_and(|r| r.starts_with('.'))
            });
            // instantiate() calls the target with the mapping's keys as arguments.
            let finding = match cx.globals().judge_use(module, name, Uses::CALL) {
                Verdict::Unsafe { reason } => Finding::new(
                    &HYDRA_TARGET_UNSAFE,
                    format!(
                        "_target_ {target} ({reason}): instantiating the configuration calls it"
                    ),
                    loc,
                ),
                Verdict::Safe => continue,
                Verdict::Unknown | Verdict::Unadmitted { .. } if framework => continue,
                Verdict::Unknown | Verdict::Unadmitted { .. } => Finding::new(
                    &HYDRA_TARGET_UNKNOWN,
                    format!(
                        "_target_ {target} is imported and called when the configuration is instantiated, and is not on the allowlist"
                    ),
                    loc,
                ),
            };
            cx.finding(finding.with_detail("target", target));
        }
        Ok(())
    }
}

/// Every `_target_` in the document, with the path of its mapping.
fn targets(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut parser = Parser::new_from_str(text);
    // For each open collection: its path, whether it is a mapping, and (mappings) whether the
    // next scalar is a key, and the last key.
    struct Open {
        path: String,
        mapping: bool,
        expect_key: bool,
        key: Option<String>,
        index: usize,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, String> = HashMap::new();
    let mut found = Vec::new();
    loop {
        let (event, _) = parser.next_token().map_err(|e| e.to_string())?;
        // A value (scalar, alias or collection) takes the place of its parent's slot.
        let child_path = |stack: &Vec<Open>| -> String {
            match stack.last() {
                Some(o) if o.mapping => format!("{}.{}", o.path, o.key.as_deref().unwrap_or("?")),
                Some(o) => format!("{}[{}]", o.path, o.index),
                None => "$".to_owned(),
            }
        };
        match event {
            Event::StreamEnd => break,
            Event::Scalar(value, _, anchor, _) => {
                if anchor != 0 && anchors.len() < 1 << 16 {
                    anchors.insert(anchor, value.clone());
                }
                scalar(&mut stack, value, &mut found);
            }
            Event::Alias(id) => {
                let value = anchors.get(&id).cloned().unwrap_or_default();
                scalar(&mut stack, value, &mut found);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err("nested too deep".to_owned());
                }
                let path = child_path(&stack);
                stack.push(Open {
                    path,
                    mapping: matches!(event, Event::MappingStart(..)),
                    expect_key: true,
                    key: None,
                    index: 0,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                advance(&mut stack);
            }
            _ => {}
        }
    }
    return Ok(found);

    fn advance(stack: &mut [Open]) {
        if let Some(o) = stack.last_mut() {
            if o.mapping {
                o.expect_key = true;
            } else {
                o.index += 1;
            }
        }
    }

    fn scalar(stack: &mut [Open], value: String, found: &mut Vec<(String, String)>) {
        match stack.last_mut() {
            Some(o) if o.mapping && o.expect_key => {
                o.key = Some(value);
                o.expect_key = false;
            }
            Some(o) if o.mapping => {
                if o.key.as_deref() == Some("_target_") {
                    found.push((o.path.clone(), value));
                }
                o.expect_key = true;
            }
            Some(o) => o.index += 1,
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_found_at_every_depth_and_through_anchors() {
        let yaml = "model:\n  _target_: nemo.collections.asr.models.EncDecCTCModel\n  preprocessor:\n    _target_: nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor\n    window: hann\nhooks:\n  - _target_: &t os.system\n    _args_: [id]\n  - _target_: *t\n";
        let found = targets(yaml).unwrap();
        let names: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "nemo.collections.asr.models.EncDecCTCModel",
                "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                "os.system",
                "os.system"
            ]
        );
        assert_eq!(found[1].0, "$.model.preprocessor");
        assert_eq!(found[2].0, "$.hooks[0]");
    }

    #[test]
    fn aliases_do_not_multiply() {
        let mut yaml = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..30 {
            yaml.push_str(&format!(
                "b{i}: &b{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
                p = if i == 0 {
                    "a".to_owned()
                } else {
                    format!("b{}", i - 1)
                }
            ));
        }
        assert!(targets(&yaml).unwrap().is_empty());
    }
}
