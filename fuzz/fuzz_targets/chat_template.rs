//! The Jinja2 chat-template analysis on arbitrary bytes: as a `chat_template.jinja` file and
//! inside a `tokenizer_config.json` (the bytes as the template string).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "shared/scanner.rs"]
mod shared;
use shared::scanner;

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = scanner() else { return };
    for name in ["chat_template.jinja"] {
        let _ = scanner.scan_bytes(data, name);
    }
    let text = String::from_utf8_lossy(data);
    let config = format!("{{\"chat_template\": {}}}", serde_json_string(&text));
    let _ = scanner.scan_bytes(config.as_bytes(), "tokenizer_config.json");
});

/// `text` as a JSON string literal.
fn serde_json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
