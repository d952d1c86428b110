//! YAML (the PyPA advisory-database layout) to a JSON value, bounded.
//!
//! Every scalar becomes a string (or null for `~`/`null`/empty): OSV fields are strings, and a
//! YAML 1.1/1.2 reader that typed `1.10` as the float `1.1` would change a version. Aliases are
//! refused (OSV records have none, and expanding them is how small YAML becomes huge), nesting is
//! limited, and only the first document is read.

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Deepest nesting accepted; OSV records are 5 levels deep.
const MAX_DEPTH: usize = 32;
/// Most events read from one record: far above any real one (a record of 2,000 versions is ~2,100).
const MAX_EVENTS: usize = 1 << 20;

enum Open {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// Parses the first YAML document in `text` into a JSON value.
pub(crate) fn to_json(text: &str) -> Result<Value, String> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut events = 0usize;
    loop {
        events += 1;
        if events > MAX_EVENTS {
            return Err(format!("more than {MAX_EVENTS} YAML events"));
        }
        let (event, mark) = parser.next_token().map_err(|e| e.to_string())?;
        let done = match event {
            Event::StreamEnd | Event::DocumentEnd if stack.is_empty() => {
                return Err("empty document".into());
            }
            Event::StreamStart | Event::DocumentStart | Event::Nothing => None,
            Event::StreamEnd | Event::DocumentEnd => {
                return Err("the document ends inside a collection".into());
            }
            Event::Alias(_) => {
                return Err(format!("line {}: YAML aliases are not read", mark.line()));
            }
            Event::Scalar(text, style, _, _) => {
                let plain = matches!(style, TScalarStyle::Plain);
                let value = if plain && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Value::Null
                } else {
                    Value::String(text)
                };
                put(&mut stack, value)?
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("nested deeper than {MAX_DEPTH}"));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Open::Seq(Vec::new())
                } else {
                    Open::Map(Map::new(), None)
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let value = match stack.pop() {
                    Some(Open::Seq(items)) => Value::Array(items),
                    Some(Open::Map(map, None)) => Value::Object(map),
                    Some(Open::Map(_, Some(_))) => return Err("a key without a value".into()),
                    None => return Err("unbalanced collection end".into()),
                };
                put(&mut stack, value)?
            }
        };
        if let Some(value) = done {
            return Ok(value);
        }
    }
}

/// Puts a finished value into the open collection; returns it when it is the document's root.
fn put(stack: &mut [Open], value: Value) -> Result<Option<Value>, String> {
    match stack.last_mut() {
        None => Ok(Some(value)),
        Some(Open::Seq(items)) => {
            items.push(value);
            Ok(None)
        }
        Some(Open::Map(map, key)) => {
            match key.take() {
                Some(k) => {
                    map.insert(k, value);
                }
                None => match value {
                    Value::String(k) => *key = Some(k),
                    Value::Null => *key = Some(String::new()),
                    _ => return Err("a mapping key that is not a scalar".into()),
                },
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_stay_strings_so_versions_keep_their_digits() {
        let v = to_json("versions:\n- 1.10\n- 2.0\nwithdrawn: ~\n").unwrap();
        assert_eq!(v["versions"][0], "1.10");
        assert!(v["withdrawn"].is_null());
    }

    #[test]
    fn aliases_and_deep_nesting_are_refused() {
        assert!(to_json("a: &x [1]\nb: *x\n").is_err());
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(to_json(&deep).is_err());
        assert!(to_json("").is_err());
        assert!(to_json("a: [1, 2").is_err());
    }
}
