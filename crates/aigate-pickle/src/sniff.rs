//! Cheap tests on the first bytes of a stream or payload: is this a pickle, and how is it encoded.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::Encoding;
use crate::opcodes::{GLOBAL, HIGHEST_PROTOCOL, PROTO, opcode_name};

/// Whether `head` starts like a pickle of protocol 2 or later: `PROTO n` then a valid opcode,
/// or like a protocol 0 pickle that imports a global (`c<module>\n<name>\n`).
pub fn looks_like_pickle_start(head: &[u8]) -> bool {
    match head {
        [PROTO, proto, next, ..] => *proto <= HIGHEST_PROTOCOL && opcode_name(*next).is_some(),
        [GLOBAL, rest @ ..] => protocol0_global(rest),
        _ => false,
    }
}

fn protocol0_global(rest: &[u8]) -> bool {
    let mut lines = rest.splitn(3, |b| *b == b'\n');
    let (Some(module), Some(name), Some(_)) = (lines.next(), lines.next(), lines.next()) else {
        return false;
    };
    is_dotted_identifier(module) && is_dotted_identifier(name)
}

/// Whether `s` is a dotted Python identifier such as `os.path` or `Foo.bar`.
pub(crate) fn is_dotted_identifier(s: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(s) else {
        return false;
    };
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// How a payload whose first bytes are `head` may hold a pickle.
pub(crate) fn embedded_encoding(head: &[u8]) -> Option<Encoding> {
    if looks_like_pickle_start(head) || head.first() == Some(&b'(') && head.contains(&b'\n') {
        return Some(Encoding::Raw);
    }
    if head.starts_with(b"\xc2\x80")
        && let Some(bytes) = latin1(&head[..head.len().min(16)])
        && looks_like_pickle_start(&bytes)
    {
        return Some(Encoding::Latin1);
    }
    if head.starts_with(b"gA") {
        let prefix: Vec<u8> = head
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .take(8)
            .collect();
        if let Ok(bytes) = lenient_base64().decode(&prefix)
            && looks_like_pickle_start(&bytes)
        {
            return Some(Encoding::Base64);
        }
    }
    if head.len() >= 6
        && (head[..2].eq_ignore_ascii_case(b"80"))
        && let Some(bytes) = decode_hex(&head[..head.len() & !1])
        && looks_like_pickle_start(&bytes)
    {
        return Some(Encoding::Hex);
    }
    None
}

/// The bytes whose Latin-1 decoding is the UTF-8 text `data`, ignoring a character cut off at
/// the end; `None` if a character is above U+00FF.
fn latin1(data: &[u8]) -> Option<Vec<u8>> {
    let text = match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(&data[..err.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

fn lenient_base64() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// Decodes an embedded payload; `None` when it is not valid in its encoding. A raw payload is
/// the pickle itself and is borrowed, not copied.
pub(crate) fn decode(data: &[u8], encoding: Encoding) -> Option<Cow<'_, [u8]>> {
    match encoding {
        Encoding::Raw => Some(Cow::Borrowed(data)),
        _ => decode_owned(data, encoding).map(Cow::Owned),
    }
}

fn decode_owned(data: &[u8], encoding: Encoding) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Raw => Some(data.to_vec()),
        Encoding::Latin1 => std::str::from_utf8(data)
            .ok()?
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect(),
        Encoding::Hex => {
            let clean: Vec<u8> = data
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            decode_hex(&clean)
        }
        Encoding::Base64 => {
            let clean: Vec<u8> = data
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .map(|b| match b {
                    b'-' => b'+',
                    b'_' => b'/',
                    other => other,
                })
                .collect();
            lenient_base64().decode(clean).ok()
        }
    }
}

fn decode_hex(data: &[u8]) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    data.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_pickle_starts() {
        assert!(looks_like_pickle_start(b"\x80\x04\x95\x10"));
        assert!(looks_like_pickle_start(b"cos\nsystem\n(S'ls'\ntR."));
        assert!(!looks_like_pickle_start(b"\x80\x09\x95"));
        assert!(!looks_like_pickle_start(b"cat > file.txt\nrm -rf\n"));
        assert!(!looks_like_pickle_start(b"# README\n"));
    }

    #[test]
    fn recognises_encoded_payloads() {
        assert_eq!(
            embedded_encoding(b"gASVIAAAAAAAAACMBXBvc2l4"),
            Some(Encoding::Base64)
        );
        assert_eq!(embedded_encoding(b"80049520000000"), Some(Encoding::Hex));
        assert_eq!(embedded_encoding(b"\x80\x02}q\x00."), Some(Encoding::Raw));
        assert_eq!(
            embedded_encoding("\u{80}\u{2}}q\u{0}.".as_bytes()),
            Some(Encoding::Latin1)
        );
        assert_eq!(embedded_encoding(b"gAme over"), None);
        assert_eq!(embedded_encoding(b"800 kilometres"), None);
    }

    #[test]
    fn identifiers() {
        assert!(is_dotted_identifier(b"torch._utils"));
        assert!(is_dotted_identifier("données".as_bytes()));
        assert!(!is_dotted_identifier(b"a b"));
        assert!(!is_dotted_identifier(b"os."));
        assert!(!is_dotted_identifier(b"1x"));
    }
}
