//! The literal syntax of protocol 0 and 1 operands, decoded as CPython's C unpickler does:
//! `INT`/`LONG` decimal text, `STRING`'s quoted Python 2 literals (`codecs.escape_decode`),
//! `UNICODE`'s `raw-unicode-escape`, and `LONG1`'s little-endian two's complement.

use std::borrow::Cow;

use crate::value::Value;

pub(crate) fn le_signed(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    if bytes.last().is_some_and(|b| b & 0x80 != 0) {
        for b in &mut buf[bytes.len()..] {
            *b = 0xff;
        }
    }
    i64::from_le_bytes(buf)
}

/// Python's whitespace for `int()` and `float()`: what they strip around a number.
fn is_py_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `INT` and `LONG` operands, with the union of what the two unpicklers accept: `_pickle.c`
/// tries `strtol(s, &end, 0)` (leading spaces, sign, `0x`, and C's leading-zero octal) and
/// falls back to `PyLong_FromString(s, NULL, 0)`; `pickle.py` calls `int(s, 0)` (spaces on
/// both sides, sign, `0x`/`0o`/`0b` prefixes in either case, underscores between digits).
/// `INT` writes bools as `00` and `01`; `LONG` may end in `L`.
pub(crate) fn parse_int(line: &str, long: bool) -> Option<Value> {
    if !long {
        match line {
            "00" => return Some(Value::Bool(false)),
            "01" => return Some(Value::Bool(true)),
            _ => {}
        }
    }
    let s = if long {
        line.strip_suffix('L').unwrap_or(line)
    } else {
        line
    };
    let s = s.trim_matches(is_py_space);
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') && !lower.contains('_') {
        // strtol's base 0: a leading zero means octal (Python rejects it; C accepts it).
        (8, lower.as_str())
    } else {
        (10, lower.as_str())
    };
    let digits = digits
        .strip_prefix('_')
        .filter(|_| radix != 10)
        .unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    Some(match i64::from_str_radix(&clean, radix) {
        Ok(v) => Value::Int(if negative { -v } else { v }),
        Err(_) => Value::BigInt,
    })
}

/// `PUT` and `GET` indexes: `PyLong_FromString(s, NULL, 10)` in `_pickle.c`, `int(s)` in
/// `pickle.py`: decimal, with spaces around, a sign and underscores between digits. Negative
/// indexes are errors in both.
pub(crate) fn parse_memo_index(line: &str) -> Option<u64> {
    let s = line.trim_matches(is_py_space);
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b == b'_' || b.is_ascii_digit())
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    clean.parse::<u64>().ok()
}

/// `FLOAT` operands: the union of `PyOS_string_to_double` (`_pickle.c`) and `float(s)`
/// (`pickle.py`, which strips spaces and takes underscores between digits).
pub(crate) fn is_float(line: &str) -> bool {
    let s = line.trim_matches(is_py_space);
    if s.contains('_') {
        let bytes = s.as_bytes();
        let between_digits = bytes.iter().enumerate().all(|(i, b)| {
            *b != b'_'
                || (i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        });
        if !between_digits {
            return false;
        }
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    clean.parse::<f64>().is_ok()
}

/// A protocol 0 `STRING` operand: a quoted Python 2 string literal, decoded as
/// `codecs.escape_decode` does.
pub(crate) fn unquote_string(raw: &[u8]) -> Option<Vec<u8>> {
    // `_pickle.c` strips every trailing byte up to ' ' before it looks for the quotes.
    let end = raw.iter().rposition(|b| *b > b' ').map_or(0, |i| i + 1);
    let raw = &raw[..end];
    let quote = *raw.first()?;
    if raw.len() < 2 || (quote != b'\'' && quote != b'"') || raw.last() != Some(&quote) {
        return None;
    }
    let body = &raw[1..raw.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        i += 1;
        if b != b'\\' || i >= body.len() {
            out.push(b);
            continue;
        }
        let e = body[i];
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\n' => {}
            b'x' => {
                let hex = body.get(i..i + 2)?;
                let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                out.push(v);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && i < body.len() && (b'0'..=b'7').contains(&body[i]) {
                    v = v * 8 + u32::from(body[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push((v & 0xff) as u8);
            }
            b'\\' | b'\'' | b'"' => out.push(e),
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// The text of a string operand as the loaders that read it decode it: UTF-8 when the bytes
/// are UTF-8 (`BINUNICODE`, and Python 2 `str` under `encoding="utf-8"` or ASCII), Latin-1
/// otherwise (Python 2 `str` under `encoding="latin1"`, which NumPy and most readers of
/// Python 2 pickles pass), so that a name no UTF-8 decoding gives is still the name a loader
/// looks up.
pub(crate) fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// A protocol 0 `UNICODE` operand: `raw-unicode-escape`, where only `\uXXXX` and
/// `\UXXXXXXXX` are escapes and every other byte is Latin-1.
pub(crate) fn raw_unicode_escape(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() && (raw[i + 1] == b'u' || raw[i + 1] == b'U') {
            let width = if raw[i + 1] == b'u' { 4 } else { 8 };
            let decoded = raw
                .get(i + 2..i + 2 + width)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32);
            if let Some(c) = decoded {
                out.push(c);
                i += 2 + width;
                continue;
            }
        }
        out.push(char::from(raw[i]));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escapes_decode_like_python() {
        assert_eq!(unquote_string(b"'os'"), Some(b"os".to_vec()));
        assert_eq!(
            unquote_string(br"'a\nb\x41\101\\'"),
            Some(b"a\nbAA\\".to_vec())
        );
        assert_eq!(unquote_string(b"os"), None);
        assert_eq!(unquote_string(b"'os\""), None);
    }

    #[test]
    fn raw_unicode_escapes_decode() {
        assert_eq!(raw_unicode_escape(br"\u006fs"), "os");
        assert_eq!(raw_unicode_escape(b"caf\xe9"), "café");
    }

    #[test]
    fn ints_parse_as_cpython_does() {
        assert!(matches!(parse_int("01", false), Some(Value::Bool(true))));
        assert!(matches!(parse_int("-12", false), Some(Value::Int(-12))));
        assert!(matches!(parse_int("123L", true), Some(Value::Int(123))));
        assert!(matches!(
            parse_int("99999999999999999999999", false),
            Some(Value::BigInt)
        ));
        assert!(parse_int("abc", false).is_none());
    }

    #[test]
    fn long1_is_twos_complement() {
        assert_eq!(le_signed(&[0xff]), -1);
        assert_eq!(le_signed(&[0x00, 0x01]), 256);
        assert_eq!(le_signed(&[]), 0);
    }
}
