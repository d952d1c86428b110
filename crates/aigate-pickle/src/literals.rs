//! The literal syntax of protocol 0 and 1 operands, decoded as CPython's C unpickler does:
//! `INT`/`LONG` decimal text, `STRING`'s quoted Python 2 literals (`codecs.escape_decode`),
//! `UNICODE`'s `raw-unicode-escape`, and `LONG1`'s little-endian two's complement.

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

/// `INT` and `LONG` operands: decimal (with `00`/`01` as bools), optional sign, `L` suffix.
pub(crate) fn parse_int(line: &str, long: bool) -> Option<Value> {
    let s = line.trim();
    if !long {
        match s {
            "00" => return Some(Value::Bool(false)),
            "01" => return Some(Value::Bool(true)),
            _ => {}
        }
    }
    let s = s.strip_suffix('L').unwrap_or(s);
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    Some(match s.replace('_', "").parse::<i64>() {
        Ok(v) => Value::Int(v),
        Err(_) => Value::BigInt,
    })
}

/// A protocol 0 `STRING` operand: a quoted Python 2 string literal, decoded as
/// `codecs.escape_decode` does.
pub(crate) fn unquote_string(raw: &[u8]) -> Option<Vec<u8>> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
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
