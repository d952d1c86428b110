//! NumPy `.npy` files (format versions 1 to 3). The header is a Python dict literal; when its
//! `descr` holds an object type anywhere (`|O`, or a field of a structured type), the data after
//! the header is a pickle that `numpy.load(allow_pickle=True)` unpickles.

use std::io;

use aigate_report::{Finding, Location, Rule, Step};

use crate::dispatch::{Claim, Cx, PickleRead};
use crate::findings::Reach;
use crate::formats::{FormatScanner, Input, Sniff};
use crate::rules::NUMPY_MALFORMED;

/// Largest header read (NumPy itself refuses headers over 10,000 bytes by default).
const MAX_HEADER: usize = 1 << 20;
const MAGIC: &[u8] = b"\x93NUMPY";

/// The `.npy` reader.
pub(crate) struct Npy;

impl FormatScanner for Npy {
    fn name(&self) -> &'static str {
        "numpy"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[
            b"\x93NUMPY\x01\x00",
            b"\x93NUMPY\x02\x00",
            b"\x93NUMPY\x03\x00",
        ]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.head.starts_with(MAGIC)
    }

    fn malformed_rule(&self) -> &'static Rule {
        &NUMPY_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let (blob, loc, head) = (input.blob, input.loc, input.head);
        let Some((header_len, data_at)) = header_size(head) else {
            malformed(
                cx,
                loc,
                "the file ends inside its preamble, or names an unknown format version",
            );
            return Ok(());
        };
        if header_len > MAX_HEADER {
            malformed(
                cx,
                loc,
                &format!("header of {header_len} bytes exceeds {MAX_HEADER}"),
            );
            return Ok(());
        }
        let full = blob.head(data_at + header_len)?;
        let Some(header) = full.get(data_at..data_at + header_len) else {
            malformed(cx, loc, "the file ends inside its header");
            return Ok(());
        };
        let text = String::from_utf8_lossy(header);
        let descr = match literal::parse_dict(&text)
            .and_then(|d| d.into_iter().find(|(k, _)| k == "descr"))
        {
            Some((_, descr)) => descr,
            None => {
                malformed(cx, loc, "the header is not a dict with a descr key");
                return Ok(());
            }
        };
        let data_offset = (data_at + header_len) as u64;
        if !has_object(&descr) {
            cx.scanned(
                loc,
                self.name(),
                self.version(),
                blob.len().unwrap_or(data_offset),
            );
            return Ok(());
        }
        let read = PickleRead {
            format: "numpy-object",
            version: self.version(),
            max_pickles: None,
            reach: Reach::Loaded,
            claim: Claim::Format,
        };
        cx.pickle(
            &blob.tail(data_offset),
            &loc.step(Step::ObjectArray {}),
            &read,
        )
        .map(drop)
    }
}

/// The header's length and where it starts, from the preamble: magic, major and minor version,
/// then a 2-byte (version 1) or 4-byte (versions 2 and 3) little-endian length.
fn header_size(head: &[u8]) -> Option<(usize, usize)> {
    match head.get(6)? {
        1 => {
            let len = head.get(8..10)?;
            Some((usize::from(u16::from_le_bytes([len[0], len[1]])), 10))
        }
        2 | 3 => {
            let len: [u8; 4] = head.get(8..12)?.try_into().ok()?;
            Some((usize::try_from(u32::from_le_bytes(len)).ok()?, 12))
        }
        _ => None,
    }
}

fn malformed(cx: &mut Cx<'_>, loc: &Location, why: &str) {
    cx.finding(Finding::new(
        &NUMPY_MALFORMED,
        format!(
            "the .npy header cannot be parsed ({why}), so whether its data is a pickle is unknown"
        ),
        loc.clone(),
    ));
}

/// Whether a dtype description holds Python objects: `'|O'`, or `O` in any field of a list of
/// `(name, descr[, shape])` tuples, nested.
fn has_object(descr: &literal::Value) -> bool {
    use literal::Value;
    match descr {
        Value::Str(s) => s.trim_start_matches(['<', '>', '|', '=']).starts_with('O'),
        Value::List(fields) => fields.iter().any(|field| match field {
            Value::Tuple(parts) => parts.get(1).is_some_and(has_object),
            _ => true,
        }),
        // Anything else is not a dtype NumPy writes: assume the worst.
        _ => true,
    }
}

/// A parser for the Python literals `.npy` headers hold: dicts, lists, tuples, strings, numbers,
/// `True`, `False`, `None`. Bounded by the header size; depth bounded to 32.
pub(crate) mod literal {
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Value {
        Str(String),
        Num,
        Const,
        List(Vec<Value>),
        Tuple(Vec<Value>),
        Dict(Vec<(Value, Value)>),
    }

    pub(crate) fn parse_dict(text: &str) -> Option<Vec<(String, Value)>> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let Value::Dict(items) = p.value(0)? else {
            return None;
        };
        items
            .into_iter()
            .map(|(k, v)| match k {
                Value::Str(k) => Some((k, v)),
                _ => None,
            })
            .collect()
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn skip_ws(&mut self) {
            while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
                self.i += 1;
            }
        }

        fn eat(&mut self, b: u8) -> bool {
            self.skip_ws();
            if self.s.get(self.i) == Some(&b) {
                self.i += 1;
                true
            } else {
                false
            }
        }

        fn value(&mut self, depth: u32) -> Option<Value> {
            if depth > 32 {
                return None;
            }
            self.skip_ws();
            match *self.s.get(self.i)? {
                b'{' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    loop {
                        if self.eat(b'}') {
                            return Some(Value::Dict(items));
                        }
                        let k = self.value(depth + 1)?;
                        if !self.eat(b':') {
                            return None;
                        }
                        let v = self.value(depth + 1)?;
                        items.push((k, v));
                        if !self.eat(b',') && !matches!(self.peek(), Some(b'}')) {
                            return None;
                        }
                    }
                }
                open @ (b'[' | b'(') => {
                    self.i += 1;
                    let close = if open == b'[' { b']' } else { b')' };
                    let mut items = Vec::new();
                    loop {
                        if self.eat(close) {
                            return Some(if open == b'[' {
                                Value::List(items)
                            } else {
                                Value::Tuple(items)
                            });
                        }
                        items.push(self.value(depth + 1)?);
                        if !self.eat(b',') && self.peek() != Some(close) {
                            return None;
                        }
                    }
                }
                q @ (b'\'' | b'"') => {
                    self.i += 1;
                    let mut out = Vec::new();
                    loop {
                        let b = *self.s.get(self.i)?;
                        self.i += 1;
                        match b {
                            b'\\' => {
                                out.push(*self.s.get(self.i)?);
                                self.i += 1;
                            }
                            _ if b == q => break,
                            _ => out.push(b),
                        }
                    }
                    Some(Value::Str(String::from_utf8_lossy(&out).into_owned()))
                }
                b'0'..=b'9' | b'-' | b'+' => {
                    while self.s.get(self.i).is_some_and(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.' | b'_')
                    }) {
                        self.i += 1;
                    }
                    Some(Value::Num)
                }
                _ => {
                    for word in [&b"True"[..], b"False", b"None"] {
                        if self.s[self.i..].starts_with(word) {
                            self.i += word.len();
                            return Some(Value::Const);
                        }
                    }
                    None
                }
            }
        }

        fn peek(&mut self) -> Option<u8> {
            self.skip_ws();
            self.s.get(self.i).copied()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_npy_headers() {
            let d =
                parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }").unwrap();
            assert_eq!(d[0], ("descr".into(), Value::Str("<f8".into())));
            let d =
                parse_dict("{'descr': [('a', '|O'), ('b', '<i4', (2,))], 'shape': ()}").unwrap();
            assert!(matches!(&d[0].1, Value::List(f) if f.len() == 2));
            assert!(parse_dict("{'descr': ").is_none());
            assert!(parse_dict(&"[".repeat(100)).is_none());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::literal::Value;
    use super::*;

    #[test]
    fn object_dtypes_are_found_in_fields() {
        assert!(has_object(&Value::Str("|O".into())));
        assert!(!has_object(&Value::Str("<f8".into())));
        let field =
            |name: &str, t: &str| Value::Tuple(vec![Value::Str(name.into()), Value::Str(t.into())]);
        assert!(has_object(&Value::List(vec![
            field("x", "<f4"),
            field("y", "|O")
        ])));
        assert!(!has_object(&Value::List(vec![field("O", "<f4")])));
    }
}
