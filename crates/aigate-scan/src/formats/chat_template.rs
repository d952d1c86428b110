//! Hugging Face chat templates beside a model: `tokenizer_config.json` (and the processors'
//! `chat_template.json`), whose `chat_template` is a template or a list of named ones, and
//! `chat_template.jinja`, the template alone. `apply_chat_template` renders them, so they are
//! analysed as GGUF's are ([`crate::template`]); anything else in the JSON is data.

use std::io;

use aigate_report::{Finding, Rule, Step};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::TEMPLATE_MALFORMED;

/// Largest configuration read (real ones are tens of KiB; tokenizers with inline vocabularies
/// live in `tokenizer.json`, which is not read).
const MAX_CONFIG: u64 = 16 << 20;

/// The reader of files that carry chat templates, chosen by name.
pub(crate) struct ChatTemplate;

impl FormatScanner for ChatTemplate {
    fn name(&self) -> &'static str {
        "hf-chat-template"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        matches!(
            input.hint,
            NameHint::ChatTemplateJson | NameHint::ChatTemplateText
        )
    }

    fn malformed_rule(&self) -> &'static Rule {
        &TEMPLATE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let (blob, loc) = (input.blob, input.loc);
        let bytes = blob.materialize(MAX_CONFIG)?;
        let text = String::from_utf8_lossy(&bytes);
        if input.hint == NameHint::ChatTemplateText {
            crate::template::report(cx, loc, &text);
            return Ok(());
        }
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(err) => {
                cx.finding(Finding::new(
                    &TEMPLATE_MALFORMED,
                    format!("not JSON ({err}), so its chat template cannot be analysed"),
                    loc.clone(),
                ));
                return Ok(());
            }
        };
        cx.scanned(loc, self.name(), self.version(), bytes.len() as u64);
        crate::formats::hf::remote_code(cx, loc, &json);
        match json.get("chat_template") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(template)) => {
                crate::template::report(
                    cx,
                    &loc.step(Step::Field("chat_template".into())),
                    template,
                );
            }
            Some(serde_json::Value::Array(named)) => {
                for (i, entry) in named.iter().enumerate() {
                    let name = entry
                        .get("name")
                        .and_then(serde_json::Value::as_str)
                        .map_or_else(|| i.to_string(), str::to_owned);
                    let field = loc.step(Step::Field(format!("chat_template[{name}]")));
                    match entry.get("template").and_then(serde_json::Value::as_str) {
                        Some(template) => crate::template::report(cx, &field, template),
                        None => cx.finding(Finding::new(
                            &TEMPLATE_MALFORMED,
                            "a named chat template without a template string".to_owned(),
                            field,
                        )),
                    }
                }
            }
            Some(_) => cx.finding(Finding::new(
                &TEMPLATE_MALFORMED,
                "chat_template is neither a string nor a list of named templates".to_owned(),
                loc.step(Step::Field("chat_template".into())),
            )),
        }
        Ok(())
    }
}
