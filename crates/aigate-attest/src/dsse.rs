//! DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding that is signed, and
//! model-signing 0.2's mistaken form of it, which its verifiers still accept.
//! <https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md>

/// The in-toto payload type: the only one model-signing signs.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII
/// decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// What model-signing 0.2 signed instead of the PAE: `DSSEV1` (capital V), and the payload
/// written as Python's `repr` of a `bytes` value (`b'...'`), so with escapes. Only used to
/// verify signatures made by that version.
pub(crate) fn pae_compat(payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEV1 {} {} {} ",
        PAYLOAD_TYPE.len(),
        PAYLOAD_TYPE,
        payload.len()
    );
    out.push_str(&python_bytes_repr(payload));
    out.into_bytes()
}

/// Python's `repr(bytes)`: single quotes unless the bytes hold `'` and no `"`; `\\`, the quote,
/// `\t`, `\n`, `\r` escaped; other bytes outside printable ASCII as `\xNN`.
fn python_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn compat_writes_python_bytes_repr() {
        assert_eq!(python_bytes_repr(b"a'b"), "b\"a'b\"");
        assert_eq!(
            python_bytes_repr(b"a'\"\n\x00\xff\\"),
            "b'a\\'\"\\n\\x00\\xff\\\\'"
        );
        let got = pae_compat(b"{\n}");
        assert_eq!(
            String::from_utf8_lossy(&got),
            "DSSEV1 28 application/vnd.in-toto+json 3 b'{\\n}'"
        );
    }
}
