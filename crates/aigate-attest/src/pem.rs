//! PEM blocks (RFC 7468), read leniently as OpenSSL writes them: several blocks in one text,
//! `EC PARAMETERS` before `EC PRIVATE KEY`, CRLF line ends, RFC 1421 headers noticed.

use base64::Engine as _;

use crate::AttestError;

/// Bound on one PEM text: far above any key or certificate chain.
const MAX_PEM_BYTES: usize = 1 << 20;

/// One decoded block.
pub(crate) struct Block {
    pub(crate) label: String,
    /// Whether the block had RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`).
    pub(crate) has_headers: bool,
    pub(crate) der: Vec<u8>,
}

/// Every block in `text`, in order.
pub(crate) fn blocks(text: &str) -> Result<Vec<Block>, String> {
    if text.len() > MAX_PEM_BYTES {
        return Err(format!("{} bytes is too large for PEM", text.len()));
    }
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut has_headers = false;
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                has_headers = true;
                continue;
            }
            body.push_str(line);
        }
        if !closed {
            return Err(format!("the `{label}` block has no END line"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("the `{label}` block is not base64: {e}"))?;
        out.push(Block {
            label: label.to_owned(),
            has_headers,
            der,
        });
    }
    Ok(out)
}

/// PEM text of `der` under `label`: 64-column lines and LF ends, as OpenSSL and Python's
/// `cryptography` write it (model-signing's key hint is the SHA-256 of exactly this text).
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub(crate) fn key_error(e: String) -> AttestError {
    AttestError::Key(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_several_blocks_and_round_trips() {
        let text = format!(
            "junk\r\n{}{}",
            encode("EC PARAMETERS", &[6, 3, 1, 2, 3]),
            encode("EC PRIVATE KEY", &[0xAB; 100])
        );
        let got = blocks(&text).unwrap_or_default();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].label, "EC PRIVATE KEY");
        assert_eq!(got[1].der, vec![0xAB; 100]);
        assert!(!got[1].has_headers);
        assert!(blocks("-----BEGIN X-----\nAAAA\n").is_err());
        assert!(blocks("-----BEGIN X-----\n!!!!\n-----END X-----\n").is_err());
    }
}
