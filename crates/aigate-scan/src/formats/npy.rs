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
            // A dict literal with a key twice keeps the last value.
            .and_then(|d| d.into_iter().rev().find(|(k, _)| k == "descr"))
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
        // Only object types spell an `O` (`O`, `|O`, `i8,O`, `(2,)O`) or the word `object`.
        Value::Str(s) => s.contains('O') || s.contains("object"),
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
        /// Whitespace, `#` comments and backslash continuations, as Python's tokenizer skips.
        fn skip_ws(&mut self) {
            loop {
                match self.s.get(self.i) {
                    Some(b) if b.is_ascii_whitespace() || *b == 0x0c => self.i += 1,
                    Some(b'#') => {
                        while self.s.get(self.i).is_some_and(|b| *b != b'\n') {
                            self.i += 1;
                        }
                    }
                    Some(b'\\') if matches!(self.s.get(self.i + 1), Some(b'\n' | b'\r')) => {
                        self.i += 2;
                    }
                    _ => return,
                }
            }
        }

        /// Where a string literal starts here (after an optional `u`, `r`, `b` prefix): the
        /// quote's index, and whether the literal is raw.
        fn string_start(&self) -> Option<(usize, bool)> {
            let mut j = self.i;
            let mut raw = false;
            while j < self.i + 2 {
                match self.s.get(j) {
                    Some(b'r' | b'R') => raw = true,
                    Some(b'u' | b'U' | b'b' | b'B') => {}
                    _ => break,
                }
                j += 1;
            }
            matches!(self.s.get(j), Some(b'\'' | b'"')).then_some((j, raw))
        }

        /// One string literal at `quote` (single or triple quoted), decoded as Python does.
        fn string(&mut self, quote: usize, raw: bool, out: &mut String) -> Option<()> {
            let q = self.s[quote];
            let triple = self.s.get(quote..quote + 3) == Some(&[q, q, q][..]);
            self.i = quote + if triple { 3 } else { 1 };
            let mut bytes = Vec::new();
            loop {
                let b = *self.s.get(self.i)?;
                if b == q && (!triple || self.s.get(self.i..self.i + 3) == Some(&[q, q, q][..])) {
                    self.i += if triple { 3 } else { 1 };
                    break;
                }
                if b == b'\n' && !triple {
                    return None;
                }
                self.i += 1;
                if b != b'\\' {
                    bytes.push(b);
                    continue;
                }
                let e = *self.s.get(self.i)?;
                self.i += 1;
                if raw {
                    bytes.extend_from_slice(&[b'\\', e]);
                    continue;
                }
                let push_char = |c: char, bytes: &mut Vec<u8>| {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                };
                match e {
                    b'\n' => {}
                    b'\\' | b'\'' | b'"' => bytes.push(e),
                    b'a' => bytes.push(7),
                    b'b' => bytes.push(8),
                    b'f' => bytes.push(12),
                    b'n' => bytes.push(b'\n'),
                    b'r' => bytes.push(b'\r'),
                    b't' => bytes.push(b'\t'),
                    b'v' => bytes.push(11),
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match self.s.get(self.i) {
                                Some(d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    self.i += 1;
                                }
                                _ => break,
                            }
                        }
                        push_char(char::from_u32(v)?, &mut bytes);
                    }
                    b'x' | b'u' | b'U' => {
                        let width = match e {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let hex = std::str::from_utf8(self.s.get(self.i..self.i + width)?).ok()?;
                        let v = u32::from_str_radix(hex, 16).ok()?;
                        self.i += width;
                        push_char(char::from_u32(v)?, &mut bytes);
                    }
                    b'N' => {
                        // A named character: its name is not looked up; it is no letter
                        // a dtype is made of.
                        let close = self.s[self.i..].iter().position(|b| *b == b'}')?;
                        self.i += close + 1;
                        bytes.push(b'?');
                    }
                    other => bytes.extend_from_slice(&[b'\\', other]),
                }
            }
            out.push_str(&String::from_utf8_lossy(&bytes));
            Some(())
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
                    let mut comma = false;
                    loop {
                        if self.eat(close) {
                            // `(x)` is x itself, not a tuple.
                            if open == b'(' && items.len() == 1 && !comma {
                                return items.pop();
                            }
                            return Some(if open == b'[' {
                                Value::List(items)
                            } else {
                                Value::Tuple(items)
                            });
                        }
                        items.push(self.value(depth + 1)?);
                        comma = self.eat(b',');
                        if !comma && self.peek() != Some(close) {
                            return None;
                        }
                    }
                }
                _ if self.string_start().is_some() => {
                    // Adjacent literals are one string: `'|' 'O'` is `'|O'`.
                    let mut out = String::new();
                    while let Some((quote, raw)) = self.string_start() {
                        self.string(quote, raw, &mut out)?;
                        self.skip_ws();
                    }
                    Some(Value::Str(out))
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
