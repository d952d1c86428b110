//! Static analysis of Jinja2 chat templates (GGUF `tokenizer.chat_template`, Hugging Face
//! `tokenizer_config.json` and `chat_template.jinja`). Templates are tokenised the way Jinja2's
//! lexer does (blocks, comments, `raw` sections, string literals with Python escapes) and never
//! rendered. A template renders with the loader's environment: llama-cpp-python before 0.2.72
//! used an unsandboxed one (CVE-2024-34359), and sandbox escapes reach Python through dunder
//! attributes, Jinja's own globals and attribute names assembled at render time. Real chat
//! templates (Llama 3, Mistral, ChatML, Gemma, Qwen, Phi, DeepSeek) use none of these.

use aigate_report::{Finding, Location, Rule};

use crate::dispatch::Cx;
use crate::rules::{
    TEMPLATE_DYNAMIC_ACCESS, TEMPLATE_ESCAPE_GLOBAL, TEMPLATE_MALFORMED, TEMPLATE_UNSAFE_ACCESS,
};

/// Analyses `template` and reports its concerns at `loc`, one finding per rule naming every
/// place; records it as read.
pub(crate) fn report(cx: &mut Cx<'_>, loc: &Location, template: &str) {
    cx.scanned(loc, "jinja2-template", 1, template.len() as u64);
    let concerns = analyse(template);
    let groups: [(&Rule, &str, Vec<&str>); 4] = [
        (
            &TEMPLATE_UNSAFE_ACCESS,
            "the chat template reaches Python internals through",
            pick(&concerns, |c| matches!(c, Concern::Unsafe(_))),
        ),
        (
            &TEMPLATE_DYNAMIC_ACCESS,
            "the chat template builds names at render time:",
            pick(&concerns, |c| matches!(c, Concern::Dynamic(_))),
        ),
        (
            &TEMPLATE_ESCAPE_GLOBAL,
            "the chat template uses globals that sandbox escapes start from:",
            pick(&concerns, |c| matches!(c, Concern::EscapeGlobal(_))),
        ),
        (
            &TEMPLATE_MALFORMED,
            "the chat template cannot be analysed to its end:",
            pick(&concerns, |c| matches!(c, Concern::Malformed(_))),
        ),
    ];
    for (rule, lead, what) in groups {
        if !what.is_empty() {
            cx.finding(Finding::new(
                rule,
                format!("{lead} {}", what.join(", ")),
                loc.clone(),
            ));
        }
    }
}

fn pick(concerns: &[Concern], keep: impl Fn(&Concern) -> bool) -> Vec<&str> {
    concerns
        .iter()
        .filter(|c| keep(c))
        .map(|c| match c {
            Concern::Unsafe(what)
            | Concern::Dynamic(what)
            | Concern::EscapeGlobal(what)
            | Concern::Malformed(what) => what.as_str(),
        })
        .collect()
}

/// What a template does that a chat template has no reason to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Concern {
    /// Reaches Python internals: a dunder or private attribute, or `os`, `popen`, builtins.
    Unsafe(String),
    /// Builds attribute names at render time: `|attr`, escaped or assembled dunder strings,
    /// character codes.
    Dynamic(String),
    /// Uses a global that sandbox escapes start from (`lipsum`, `cycler`, `joiner`, `self`, …).
    EscapeGlobal(String),
    /// Cannot be tokenised to its end, so it was not fully analysed.
    Malformed(String),
}

/// Attributes no chat template reads: each leads from data to code.
const UNSAFE_NAMES: &[&str] = &[
    "os",
    "popen",
    "system",
    "subprocess",
    "eval",
    "exec",
    "execfile",
    "compile",
    "import_module",
    "getattr",
    "setattr",
    "globals",
    "builtins",
    "modules",
    "func_globals",
    "f_globals",
    "gi_frame",
    "cr_frame",
    "mro",
];

/// Globals a Jinja environment provides that exploits start from (their `__globals__` reach
/// `os`), and Flask's, which templates written for web apps reach for.
const ESCAPE_GLOBALS: &[&str] = &[
    "lipsum",
    "cycler",
    "joiner",
    "self",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
];

/// Filters that turn data into other strings, used to assemble names.
const STRING_BUILDERS: &[&str] = &["format", "join", "replace", "reverse", "string", "list"];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Str(String),
    Other(char),
}

/// Everything of concern in `template`, each once.
pub(crate) fn analyse(template: &str) -> Vec<Concern> {
    let mut concerns = Vec::new();
    // What was tokenised before an error is analysed too: a broken end cannot hide a payload.
    let (blocks, error) = expressions(template);
    for tokens in blocks {
        check(&tokens, &mut concerns);
    }
    if let Some(why) = error {
        concerns.push(Concern::Malformed(why));
    }
    // One of each, in order: a long template may repeat the same access many times.
    let mut seen = std::collections::HashSet::new();
    concerns.retain(|c| seen.insert(c.clone()));
    concerns
}

fn unsafe_name(name: &str) -> bool {
    name.starts_with('_') || UNSAFE_NAMES.contains(&name)
}

fn dunder(text: &str) -> bool {
    text.contains("__")
}

fn check(tokens: &[Token], out: &mut Vec<Concern>) {
    // Whether a string seen so far could be a character to assemble a name from.
    let mut seen_name_material = false;
    for (i, token) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| tokens.get(j));
        let next = tokens.get(i + 1);
        match token {
            Token::Name(name) => match prev {
                Some(Token::Other('.')) => {
                    if unsafe_name(name) {
                        out.push(Concern::Unsafe(format!("attribute .{name}")));
                    }
                }
                Some(Token::Other('|')) => {
                    if name == "attr" {
                        match (tokens.get(i + 2), tokens.get(i + 3), next) {
                            (
                                Some(Token::Str(arg)),
                                Some(Token::Other(')')),
                                Some(Token::Other('(')),
                            ) if !unsafe_name(arg) => {}
                            (
                                Some(Token::Str(arg)),
                                Some(Token::Other(')')),
                                Some(Token::Other('(')),
                            ) => {
                                out.push(Concern::Unsafe(format!("attr({arg:?})")));
                            }
                            _ => out.push(Concern::Dynamic(
                                "the attr filter with a name computed at render time".to_owned(),
                            )),
                        }
                    } else if STRING_BUILDERS.contains(&name.as_str()) && seen_name_material {
                        out.push(Concern::Dynamic(format!(
                            "names assembled from characters with |{name}"
                        )));
                    }
                }
                _ => {
                    if name.starts_with("__") {
                        out.push(Concern::Unsafe(format!("the name {name}")));
                    } else if ESCAPE_GLOBALS.contains(&name.as_str()) {
                        out.push(Concern::EscapeGlobal(name.clone()));
                    }
                }
            },
            Token::Str(text) => {
                seen_name_material |=
                    text.contains("%c") || !text.is_empty() && text.chars().all(|c| c == '_');
                let subscript = matches!(prev, Some(Token::Other('[')))
                    && matches!(next, Some(Token::Other(']')));
                if subscript && unsafe_name(text) {
                    out.push(Concern::Unsafe(format!("item [{text:?}]")));
                } else if dunder(text) {
                    out.push(Concern::Dynamic(format!("the string {text:?}")));
                } else if text.contains("%c") {
                    out.push(Concern::Dynamic(
                        "characters built from their codes with %c".to_owned(),
                    ));
                } else if !text.is_empty()
                    && text.chars().all(|c| c == '_')
                    && matches!(next, Some(Token::Other('*' | '~' | '+')))
                {
                    out.push(Concern::Dynamic(format!(
                        "underscores {text:?} joined into a name"
                    )));
                }
            }
            Token::Other(_) => {}
        }
    }
}

/// The tokens of every `{{ … }}` and `{% … %}` block, up to the first error, and the error.
fn expressions(template: &str) -> (Vec<Vec<Token>>, Option<String>) {
    let bytes = template.as_bytes();
    let mut blocks = Vec::new();
    let mut pos = 0;
    while let Some(found) = find_open(bytes, pos) {
        let (start, kind) = found;
        let body = start + 2;
        if kind == b'#' {
            let Some(end) = find(bytes, body, b"#}") else {
                return (
                    blocks,
                    Some(format!("a comment opened at byte {start} is never closed")),
                );
            };
            pos = end + 2;
            continue;
        }
        let close: &[u8] = if kind == b'{' { b"}}" } else { b"%}" };
        let (tokens, end) = match lex(template, body, close) {
            Ok(lexed) => lexed,
            Err((why, partial)) => {
                blocks.push(partial);
                return (blocks, Some(format!("{why} (block at byte {start})")));
            }
        };
        pos = end;
        let is_raw = kind == b'%' && matches!(tokens.first(), Some(Token::Name(n)) if n == "raw");
        blocks.push(tokens);
        if is_raw {
            match skip_raw(template, pos) {
                Some(after) => pos = after,
                None => {
                    return (
                        blocks,
                        Some(format!("a raw block at byte {start} is never ended")),
                    );
                }
            }
        }
    }
    (blocks, None)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_open(bytes: &[u8], from: usize) -> Option<(usize, u8)> {
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] == b'{' && matches!(bytes[i + 1], b'{' | b'%' | b'#') {
            return Some((i, bytes[i + 1]));
        }
        i += 1;
    }
    None
}

/// The position after the `{% endraw %}` that ends a raw section starting at `from`.
fn skip_raw(template: &str, from: usize) -> Option<usize> {
    let bytes = template.as_bytes();
    let mut pos = from;
    loop {
        let (start, kind) = find_open(bytes, pos)?;
        if kind == b'%' {
            let rest = template.get(start + 2..)?;
            let inner = rest.trim_start_matches(['-', '+']).trim_start();
            if let Some(after) = inner.strip_prefix("endraw") {
                let close = after.find("%}")?;
                return Some(template.len() - after.len() + close + 2);
            }
        }
        pos = start + 2;
    }
}

/// Tokenises from `pos` to the closing delimiter, returning the tokens and the position after it.
/// On an error, returns what was tokenised before it.
fn lex(
    template: &str,
    mut pos: usize,
    close: &[u8],
) -> Result<(Vec<Token>, usize), (String, Vec<Token>)> {
    let bytes = template.as_bytes();
    let mut tokens = Vec::new();
    // Jinja ends a block only where its brackets balance (`{{ {'a': {'b': 1}} }}`).
    let mut depth = 0usize;
    // Whitespace control right after the opening delimiter.
    if matches!(bytes.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    while pos < bytes.len() {
        let c = bytes[pos];
        if depth == 0 {
            if bytes[pos..].starts_with(close) {
                return Ok((tokens, pos + close.len()));
            }
            if matches!(c, b'-' | b'+') && bytes[pos + 1..].starts_with(close) {
                return Ok((tokens, pos + 1 + close.len()));
            }
        }
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c.is_ascii_whitespace() {
            pos += 1;
        } else if c == b'\'' || c == b'"' {
            let (text, end) = match string(template, pos) {
                Ok(lexed) => lexed,
                Err(why) => return Err((why, tokens)),
            };
            tokens.push(Token::Str(text));
            pos = end;
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = pos;
            while pos < bytes.len()
                && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_' || bytes[pos] >= 0x80)
            {
                pos += 1;
            }
            tokens.push(Token::Name(template[start..pos].to_owned()));
        } else if c.is_ascii_digit() {
            while pos < bytes.len()
                && (bytes[pos].is_ascii_alphanumeric() || matches!(bytes[pos], b'.' | b'_'))
            {
                pos += 1;
            }
        } else {
            tokens.push(Token::Other(char::from(c)));
            pos += 1;
        }
    }
    Err(("the template ends inside a block".to_owned(), tokens))
}

/// A string literal at `pos` (its quote), unescaped as Jinja2 does (Python's `unicode-escape`).
fn string(template: &str, pos: usize) -> Result<(String, usize), String> {
    let bytes = template.as_bytes();
    let quote = bytes[pos];
    let mut out = String::new();
    let mut i = pos + 1;
    while i < bytes.len() {
        let c = bytes[i];
        if c == quote {
            return Ok((out, i + 1));
        }
        if c != b'\\' {
            let ch = template[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let Some(&e) = bytes.get(i + 1) else { break };
        i += 2;
        let hex = |i: usize, n: usize| -> Option<char> {
            let digits = template.get(i..i + n)?;
            u32::from_str_radix(digits, 16)
                .ok()
                .and_then(char::from_u32)
        };
        match e {
            b'x' => {
                out.push(hex(i, 2).ok_or("a bad \\x escape")?);
                i += 2;
            }
            b'u' => {
                out.push(hex(i, 4).ok_or("a bad \\u escape")?);
                i += 4;
            }
            b'U' => {
                out.push(hex(i, 8).ok_or("a bad \\U escape")?);
                i += 8;
            }
            b'0'..=b'7' => {
                let mut value = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && matches!(bytes.get(i), Some(b'0'..=b'7')) {
                    value = value * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            b'N' => {
                // A named character: `\N{LOW LINE}` is `_`.
                let rest = template.get(i..).ok_or("a bad \\N escape")?;
                let end = rest.find('}').ok_or("a bad \\N escape")?;
                // `{` first; anything else (`\N}`, `\N` then a multi-byte character) is no name.
                let name = rest.get(1..end).unwrap_or_default();
                out.push(if name.eq_ignore_ascii_case("low line") {
                    '_'
                } else {
                    '\u{fffd}'
                });
                i += end + 1;
            }
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => out.push('\r'),
            b'a' => out.push('\u{7}'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'v' => out.push('\u{b}'),
            b'\\' | b'\'' | b'"' => out.push(char::from(e)),
            b'\n' => {}
            _ => {
                // Python keeps an unknown escape as it is.
                out.push('\\');
                i -= 1;
            }
        }
    }
    Err("a string literal is never closed".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(template: &str) -> Vec<&'static str> {
        analyse(template)
            .iter()
            .map(|c| match c {
                Concern::Unsafe(_) => "unsafe",
                Concern::Dynamic(_) => "dynamic",
                Concern::EscapeGlobal(_) => "global",
                Concern::Malformed(_) => "malformed",
            })
            .collect()
    }

    #[test]
    fn real_chat_templates_are_clean() {
        let templates = [
            // ChatML (Qwen, many fine-tunes).
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
            // Llama 3.
            "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
            // Mistral.
            "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}",
            // Gemma.
            "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}",
            // DeepSeek R1 (namespace, split, tool calls).
            "{% set ns = namespace(is_first=false, is_tool=false, system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'assistant' and message['tool_calls'] is defined %}{%- for tool in message['tool_calls'] %}{{ tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] }}{%- endfor %}{%- endif %}{%- if '</think>' in message['content'] %}{% set content = message['content'].split('</think>')[-1] %}{% endif %}{%- endfor -%}",
            // Raw sections and comments hold anything.
            "{# {{ ''.__class__ }} #}{% raw %}{{ lipsum.__globals__ }}{% endraw %}{{ messages | tojson(indent=2) }}",
        ];
        for template in templates {
            assert_eq!(rules(template), Vec::<&str>::new(), "{template}");
        }
    }

    #[test]
    fn a_named_escape_without_a_name_reads_as_no_name_instead_of_panicking() {
        // Found by the gguf fuzz target: `\N}` and `\N` before a multi-byte character.
        for literal in ["'\\N}'", "'\\N\u{e9}}'"] {
            let (text, _) = string(literal, 0).expect(literal);
            assert_eq!(text, "\u{fffd}", "{literal}");
        }
    }

    #[test]
    fn escapes_are_found() {
        let cases = [
            ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
            (
                "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
                "unsafe",
            ),
            ("{{ x['__globals__'] }}", "unsafe"),
            ("{{ x['\\x5f\\x5fglobals\\x5f\\x5f'] }}", "unsafe"),
            (
                "{{ x|attr('\\u005f\\u005fclass\\u005f\\u005f') }}",
                "unsafe",
            ),
            ("{% set n = request.args.n %}{{ x|attr(n) }}", "dynamic"),
            ("{{ x[('_'*2)~'class'~('_'*2)] }}", "dynamic"),
            ("{{ x[('%c%c'|format(95,95))~'class'] }}", "dynamic"),
            ("{{ lipsum }}", "global"),
            ("{{ dict(__builtins__=1) }}", "unsafe"),
            ("{{ x.os }}", "unsafe"),
            ("{{ {'a': {'b': ''.__class__}} }}", "unsafe"),
            ("{{ unterminated", "malformed"),
            ("{{ 'open }}", "malformed"),
            ("{{ ''.__class__ }}{{ 'cut", "unsafe"),
        ];
        for (template, want) in cases {
            let got = rules(template);
            assert!(got.contains(&want), "{template}: {got:?}");
        }
    }
}
