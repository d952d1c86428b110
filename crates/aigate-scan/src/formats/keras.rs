//! Keras 3 `.keras` archives (and, through [`walk`], the `model_config` and `training_config`
//! of Keras 2 HDF5 files): a zip with `metadata.json`, `config.json` (the model serialised by
//! `keras.saving.serialize_keras_object`) and `model.weights.h5`. Loading deserialises
//! `config.json`: every object with a `class_name` is resolved from its `module` (imported) or
//! `registered_name`, so the configuration decides what code runs. It is walked without
//! resolving anything, and reported:
//! - `Lambda` layers and `__lambda__` objects: marshalled Python bytecode (refused only under
//!   `safe_mode`, which `keras.config.enable_unsafe_deserialization()` and older Keras turn off);
//! - objects whose module lies outside Keras, judged like pickle globals (CVE-2025-1550: any
//!   importable callable);
//! - layers that load other files or URLs at load time (`TFSMLayer`, CVE-2026-1462; lookup
//!   vocabularies given as a path, CVE-2025-12058) and Keras' own file-fetching functions;
//! - custom objects, which resolve only to code the loading process registers.
//!
//! The weights member holds arrays only and is not read.

use std::io;

use aigate_report::{Finding, Location, Rule, Step};
use serde_json::Value;

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::globals::{Uses, Verdict};
use crate::rules::{
    KERAS_CUSTOM_OBJECT, KERAS_EXTERNAL_REFERENCE, KERAS_LAMBDA, KERAS_MALFORMED,
    KERAS_UNSAFE_OBJECT,
};

/// Largest `config.json` read.
const MAX_CONFIG: u64 = 64 << 20;

/// Modules Keras itself resolves objects from.
const KERAS_MODULES: &[&str] = &["keras", "keras_hub", "keras_nlp", "keras_cv", "tf_keras"];

/// Keras' own placeholders for values that are not objects (`serialization_lib`).
const VALUE_CLASSES: &[&str] = &[
    "__tuple__",
    "__numpy__",
    "__bytes__",
    "__typespec__",
    "__tensor__",
    "__ellipsis__",
    "__slice__",
    "__passive_serialization__",
];

/// Functions inside Keras that read or fetch files when called during deserialisation.
const FILE_GADGETS: &[&str] = &[
    "get_file",
    "load_model",
    "load_weights",
    "load_img",
    "TFSMLayer",
];

/// Layers whose `vocabulary` (or `vocabulary_file`) may name a file or URL read at load time.
const LOOKUP_LAYERS: &[&str] = &[
    "StringLookup",
    "IntegerLookup",
    "TextVectorization",
    "Hashing",
];

/// The reader of a Keras archive's `config.json`, chosen by the zip flavour.
pub(crate) struct KerasConfig;

impl FormatScanner for KerasConfig {
    fn name(&self) -> &'static str {
        "keras-config"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.hint == NameHint::KerasConfig
    }

    fn malformed_rule(&self) -> &'static Rule {
        &KERAS_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let (blob, loc) = (input.blob, input.loc);
        let bytes = blob.materialize(MAX_CONFIG)?;
        let config: Value = match serde_json::from_slice(&bytes) {
            Ok(config) => config,
            Err(err) => {
                cx.finding(Finding::new(
                    &KERAS_MALFORMED,
                    format!("config.json is not JSON ({err}), so what the model loads is unknown"),
                    loc.clone(),
                ));
                return Ok(());
            }
        };
        cx.scanned(loc, self.name(), self.version(), bytes.len() as u64);
        walk(cx, loc, &config, "$");
        Ok(())
    }
}

fn str_of<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn report(cx: &mut Cx<'_>, loc: &Location, rule: &Rule, path: &str, message: String) {
    cx.finding(
        Finding::new(rule, message, loc.step(Step::Field(path.to_owned())))
            .with_detail("path", path.to_owned()),
    );
}

fn in_keras(module: &str) -> bool {
    KERAS_MODULES
        .iter()
        .any(|k| module == *k || module.strip_prefix(k).is_some_and(|r| r.starts_with('.')))
}

/// The layer's name, for messages.
fn label(object: &Value, class: &str) -> String {
    match object.get("config").and_then(|c| str_of(c, "name")) {
        Some(name) => format!("{class} {name:?}"),
        None => class.to_owned(),
    }
}

/// Reports what deserialising the Keras configuration `value` would resolve.
pub(crate) fn walk(cx: &mut Cx<'_>, loc: &Location, value: &Value, path: &str) {
    match value {
        Value::Object(map) => {
            if let Some(class) = str_of(value, "class_name") {
                object(cx, loc, value, class, path);
            }
            for (key, child) in map {
                walk(cx, loc, child, &format!("{path}.{key}"));
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(cx, loc, child, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

fn object(cx: &mut Cx<'_>, loc: &Location, object: &Value, class: &str, path: &str) {
    let module = str_of(object, "module");
    let config = object.get("config");
    // Keras 2 saves a Lambda around a named function as the function's name and module
    // (`function_type: "function"`): loading looks it up there, so it is judged like a module
    // reference; every other Lambda carries bytecode (`__lambda__`, or a `[base64, defaults,
    // closure]` tuple with `function_type: "lambda"`).
    let named_function = config
        .filter(|c| class == "Lambda" && str_of(c, "function_type") == Some("function"))
        .and_then(|c| Some((str_of(c, "module"), str_of(c, "function")?)));
    if class == "__lambda__"
        || (class == "Lambda"
            && named_function.is_none()
            && config.is_some_and(|c| c.get("function").is_some()))
    {
        report(
            cx,
            loc,
            &KERAS_LAMBDA,
            path,
            format!(
                "{} carries marshalled Python bytecode that runs when the model is loaded with safe_mode off",
                label(object, class)
            ),
        );
        return;
    }
    if VALUE_CLASSES.contains(&class) {
        return;
    }
    // A function object names its function in `config`.
    let (target_module, target_name) = match (module, class, config.and_then(Value::as_str)) {
        _ if named_function.is_some_and(|(m, _)| m.is_some()) => {
            named_function.unwrap_or((module, class))
        }
        (Some(module), "function", Some(name)) => (Some(module), name),
        (module, _, _) => (module, class),
    };
    if FILE_GADGETS.contains(&target_name) {
        report(
            cx,
            loc,
            &KERAS_UNSAFE_OBJECT,
            path,
            format!(
                "{} reads or downloads files while the model loads (CVE-2026-1462, get_file-style gadgets)",
                label(object, target_name)
            ),
        );
        return;
    }
    if LOOKUP_LAYERS.contains(&class)
        && let Some(config) = config
    {
        for key in ["vocabulary", "vocabulary_file"] {
            if let Some(source) = str_of(config, key) {
                report(
                    cx,
                    loc,
                    &KERAS_EXTERNAL_REFERENCE,
                    path,
                    format!(
                        "{} reads its vocabulary from {source:?} at load time (CVE-2025-12058)",
                        label(object, class)
                    ),
                );
            }
        }
    }
    match target_module {
        Some(module) if in_keras(module) => {}
        // Deserialising calls the class's from_config (or the function) with arguments.
        Some(module) => match cx.globals().judge_use(module, target_name, Uses::CALL) {
            Verdict::Safe => {}
            Verdict::Unsafe { reason } => report(
                cx,
                loc,
                &KERAS_UNSAFE_OBJECT,
                path,
                format!(
                    "{} resolves {module}.{target_name} ({reason}), which loading imports and calls (CVE-2025-1550)",
                    label(object, class)
                ),
            ),
            Verdict::Unknown | Verdict::Unadmitted { .. } => report(
                cx,
                loc,
                &KERAS_CUSTOM_OBJECT,
                path,
                format!(
                    "{} is resolved from {module}.{target_name}, outside Keras: loading imports that module",
                    label(object, class)
                ),
            ),
        },
        None => {
            if let Some(registered) = str_of(object, "registered_name").filter(|r| r.contains('>'))
            {
                report(
                    cx,
                    loc,
                    &KERAS_CUSTOM_OBJECT,
                    path,
                    format!(
                        "{} is the custom object {registered:?}: it loads only with code the loading process registers",
                        label(object, class)
                    ),
                );
            }
        }
    }
}
