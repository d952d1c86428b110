//! safetensors files (huggingface/safetensors, the format its Rust crate and `safe_open` read):
//! an 8-byte little-endian header length, a JSON header mapping tensor names to `dtype`, `shape`
//! and `data_offsets` (plus an optional `__metadata__` map of strings), then the tensor bytes.
//! Nothing in the format runs on load; what can go wrong is a header a loader refuses or reads
//! differently from a scanner, so the header is checked as the reference crate checks it (size
//! bound, JSON, offsets contiguous from zero to the end of the file, byte length matching dtype
//! and shape). Only the header is read: a clean multi-gigabyte file costs its header.

use std::fmt;
use std::io::{self, Read};

use aigate_report::{Finding, Location, Rule};
use serde::de::{Deserializer, MapAccess, Visitor};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::SAFETENSORS_MALFORMED;

/// The reference crate's bound on the header (`MAX_HEADER_SIZE`).
const MAX_HEADER: u64 = 100_000_000;

/// The safetensors reader.
pub(crate) struct Safetensors;

impl FormatScanner for Safetensors {
    fn name(&self) -> &'static str {
        "safetensors"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        // No magic number: a header length that fits in 32 bits (so text, whose first eight
        // bytes make a far larger number, is never claimed) and the JSON object's brace. Lengths
        // over the reference bound are claimed, to be reported.
        if input.hint == NameHint::Safetensors {
            return true;
        }
        let Some(len) = header_len(input.head) else {
            return false;
        };
        (2..=1 << 32).contains(&len) && input.head.get(8) == Some(&b'{')
    }

    fn malformed_rule(&self) -> &'static Rule {
        &SAFETENSORS_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let (blob, loc) = (input.blob, input.loc);
        let Some(len) = header_len(input.head) else {
            malformed(
                cx,
                loc,
                "the file is shorter than the 8-byte header length".to_owned(),
            );
            return Ok(());
        };
        if len > MAX_HEADER {
            malformed(
                cx,
                loc,
                format!(
                    "the header claims {len} bytes, over the {MAX_HEADER} that safetensors reads"
                ),
            );
            return Ok(());
        }
        let header_end = 8 + len;
        let (header, total) = match blob.len() {
            Some(total) if total < header_end => {
                malformed(
                    cx,
                    loc,
                    format!("the header claims {len} bytes but the file holds {total}"),
                );
                return Ok(());
            }
            Some(total) => (blob.exact_at(8, len as usize)?, total),
            None => {
                // A decoded stream: read the header, then count the rest.
                let mut reader = blob.open()?;
                let mut buf = vec![0; header_end as usize];
                let got = read_full(&mut reader, &mut buf)?;
                if got < buf.len() {
                    malformed(
                        cx,
                        loc,
                        format!("the header claims {len} bytes but the stream ends first"),
                    );
                    return Ok(());
                }
                let rest = io::copy(&mut reader, &mut io::sink())?;
                (buf.split_off(8), header_end + rest)
            }
        };
        match check(&header, total - header_end) {
            Ok(_) => cx.scanned(loc, self.name(), self.version(), total),
            Err(why) => malformed(cx, loc, why),
        }
        Ok(())
    }
}

fn header_len(head: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(head.get(..8)?.try_into().ok()?))
}

fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match reader.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

fn malformed(cx: &mut Cx<'_>, loc: &Location, why: String) {
    cx.finding(
        Finding::new(
            &SAFETENSORS_MALFORMED,
            format!("not a valid safetensors file: {why}"),
            loc.clone(),
        )
        .with_detail("reason", why),
    );
}

/// The header's entries in file order, duplicates kept (a map would silently keep one).
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// Bits per element of every dtype the reference crate knows.
fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// One tensor of a safetensors file, as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    /// Its name.
    pub name: String,
    /// Its element type (`F32`, `BF16`, …).
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<u64>,
    /// Where its bytes start, from the start of the data (after the header).
    pub begin: u64,
    /// Where they end.
    pub end: u64,
}

/// The tensors of the safetensors file `reader` (`len` bytes in all), in data order, and where
/// its data starts; the header is read (bounded as the reference crate bounds it) and checked
/// as the scanner checks it. Nothing but the header is read.
pub fn tensors(reader: &mut dyn Read, len: u64) -> Result<(Vec<Tensor>, u64), String> {
    let mut head = [0u8; 8];
    let got = read_full(reader, &mut head).map_err(|e| e.to_string())?;
    let header_len = header_len(&head[..got])
        .ok_or_else(|| "the file is shorter than the 8-byte header length".to_owned())?;
    if header_len > MAX_HEADER {
        return Err(format!(
            "the header claims {header_len} bytes, over the {MAX_HEADER} that safetensors reads"
        ));
    }
    let header_end = 8 + header_len;
    if len < header_end {
        return Err(format!(
            "the header claims {header_len} bytes but the file holds {len}"
        ));
    }
    let mut header = vec![0u8; header_len as usize];
    if read_full(reader, &mut header).map_err(|e| e.to_string())? < header.len() {
        return Err("the file ends inside its header".to_owned());
    }
    Ok((check(&header, len - header_end)?, header_end))
}

/// Checks a header as the reference crate does, against `data_len` bytes of tensor data, and
/// returns its tensors in data order.
fn check(header: &[u8], data_len: u64) -> Result<Vec<Tensor>, String> {
    let text = std::str::from_utf8(header).map_err(|_| "the header is not UTF-8".to_owned())?;
    let Entries(entries) = serde_json::from_str(text)
        .map_err(|err| format!("the header is not a JSON object ({err})"))?;
    let mut seen = std::collections::HashSet::new();
    let mut tensors = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        if !seen.insert(name.clone()) {
            return Err(format!(
                "the header names {name:?} twice, so readers may disagree on its bytes"
            ));
        }
        if name == "__metadata__" {
            let ok = value
                .as_object()
                .is_some_and(|m| m.values().all(serde_json::Value::is_string));
            if !ok {
                return Err("__metadata__ is not a map of strings".to_owned());
            }
            continue;
        }
        tensors.push(tensor(name, &value)?);
    }
    tensors.sort_by_key(|t| (t.begin, t.end));
    let mut at = 0;
    for t in &tensors {
        if t.begin != at {
            return Err(format!(
                "tensor {:?} starts at {} where the data before it ends at {at}: tensors must be contiguous and not overlap",
                t.name, t.begin
            ));
        }
        at = t.end;
    }
    if at != data_len {
        return Err(format!(
            "the tensors end at {at} but the file holds {data_len} bytes of data"
        ));
    }
    Ok(tensors)
}

fn tensor(name: String, value: &serde_json::Value) -> Result<Tensor, String> {
    let bad = |what: &str| format!("tensor {name:?}: {what}");
    let dtype = value
        .get("dtype")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("no dtype"))?;
    let bits = dtype_bits(dtype).ok_or_else(|| bad(&format!("unknown dtype {dtype:?}")))?;
    let shape = value
        .get("shape")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| bad("no shape"))?;
    let mut elements: u64 = 1;
    for dim in shape {
        let dim = dim
            .as_u64()
            .ok_or_else(|| bad("a dimension is not a whole number"))?;
        elements = elements
            .checked_mul(dim)
            .ok_or_else(|| bad("its shape overflows"))?;
    }
    let offsets = value
        .get("data_offsets")
        .and_then(serde_json::Value::as_array)
        .filter(|o| o.len() == 2)
        .ok_or_else(|| bad("data_offsets is not a pair"))?;
    let (Some(begin), Some(end)) = (offsets[0].as_u64(), offsets[1].as_u64()) else {
        return Err(bad("data_offsets are not whole numbers"));
    };
    if end < begin {
        return Err(bad("data_offsets end before they begin"));
    }
    let total_bits = elements
        .checked_mul(bits)
        .ok_or_else(|| bad("its shape overflows"))?;
    if total_bits % 8 != 0 || total_bits / 8 != end - begin {
        return Err(bad(&format!(
            "{dtype} of shape {shape:?} needs {total_bits} bits but data_offsets give {} bytes",
            end - begin
        )));
    }
    let shape = shape.iter().filter_map(serde_json::Value::as_u64).collect();
    Ok(Tensor {
        name,
        dtype: dtype.to_owned(),
        shape,
        begin,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(json: &str) -> Result<(), String> {
        check(json.as_bytes(), 8).map(|_| ())
    }

    #[test]
    fn a_well_formed_header_passes() {
        assert_eq!(
            header(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"__metadata__":{"format":"pt"}}  "#
            ),
            Ok(())
        );
    }

    #[test]
    fn each_broken_header_says_why() {
        let cases = [
            (r#"["a"]"#, "not a JSON object"),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                "twice",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                "needs 64 bits",
            ),
            (
                r#"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,8]}}"#,
                "unknown dtype",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                "contiguous",
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                "holds 8 bytes",
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[18446744073709551615,2],"data_offsets":[0,8]}}"#,
                "overflows",
            ),
            (r#"{"__metadata__":{"k":1}}"#, "map of strings"),
            (
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#,
                "end before",
            ),
        ];
        for (json, want) in cases {
            let got = header(json).expect_err(json);
            assert!(got.contains(want), "{json}: {got}");
        }
    }
}
