//! TensorFlow Lite models (`schema.fbs`'s `Model` flatbuffer, file identifier `TFL3`): the
//! operator codes are read for custom operators. A custom code starting with `Flex` runs the
//! TensorFlow op of that name through the Flex delegate, so it is judged as that op is in a
//! SavedModel (`FlexReadFile` reads files); any other custom code needs an implementation the
//! loading process registers, which is native code. Only the table of operator codes is read:
//! buffers (the weights) are never touched. Every offset is checked against the file before it
//! is followed.

use std::io;

use aigate_report::{Finding, Rule};

use crate::dispatch::Cx;
use crate::formats::tensorflow::{FILE_OPS, PYTHON_OPS};
use crate::formats::{FormatScanner, Input, Sniff};
use crate::rules::{TF_FILE_OP, TF_PYTHON_OP, TFLITE_CUSTOM_OP, TFLITE_MALFORMED};
use crate::source::Blob;

/// Most operator codes read (real models have tens).
const MAX_OPERATOR_CODES: u32 = 1 << 16;
/// Longest custom code read.
const MAX_CODE: u32 = 1 << 10;

/// The TFLite reader.
pub(crate) struct Tflite;

impl FormatScanner for Tflite {
    fn name(&self) -> &'static str {
        "tflite"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.head.get(4..8) == Some(b"TFL3")
    }

    fn malformed_rule(&self) -> &'static Rule {
        &TFLITE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let owned;
        let blob = match input.blob.len() {
            Some(_) => *input.blob,
            None => {
                owned = input.blob.materialize(256 << 20)?;
                Blob::Memory(&owned)
            }
        };
        let flat = Flat {
            blob,
            len: blob.len().unwrap_or(0),
        };
        let codes = match custom_codes(&flat) {
            Ok(codes) => codes,
            Err(why) => {
                cx.finding(Finding::new(
                    &TFLITE_MALFORMED,
                    format!("not a valid TensorFlow Lite model: {why}"),
                    input.loc.clone(),
                ));
                return Ok(());
            }
        };
        cx.scanned(input.loc, self.name(), self.version(), flat.len);
        for code in codes {
            let (rule, message) = match code.strip_prefix("Flex") {
                Some(op) if PYTHON_OPS.contains(&op) => (
                    &TF_PYTHON_OP,
                    format!(
                        "the custom op {code} runs TensorFlow's {op}, which calls a Python function of the loading process"
                    ),
                ),
                Some(op) if FILE_OPS.contains(&op) || op == "PrintV2" => (
                    &TF_FILE_OP,
                    format!(
                        "the custom op {code} runs TensorFlow's {op}, which reads or writes files or reaches the network"
                    ),
                ),
                Some(_) => continue,
                None => (
                    &TFLITE_CUSTOM_OP,
                    format!(
                        "the custom op {code:?} needs an implementation the loading process registers (native code)"
                    ),
                ),
            };
            cx.finding(
                Finding::new(rule, message, input.loc.clone()).with_detail("custom_code", code),
            );
        }
        Ok(())
    }
}

/// A flatbuffer read with every offset checked.
struct Flat<'a> {
    blob: Blob<'a>,
    len: u64,
}

impl Flat<'_> {
    fn bytes<const N: usize>(&self, pos: u64) -> Result<[u8; N], String> {
        if pos.checked_add(N as u64).is_none_or(|end| end > self.len) {
            return Err(format!("an offset points past the end of the file ({pos})"));
        }
        let mut buf = [0; N];
        match self.blob.read_at(pos, &mut buf) {
            Ok(n) if n == N => Ok(buf),
            _ => Err(format!("cannot read {N} bytes at {pos}")),
        }
    }

    fn u32(&self, pos: u64) -> Result<u32, String> {
        self.bytes::<4>(pos).map(u32::from_le_bytes)
    }

    fn u16(&self, pos: u64) -> Result<u16, String> {
        self.bytes::<2>(pos).map(u16::from_le_bytes)
    }

    /// The position of field `index` of the table at `table`, if present.
    fn field(&self, table: u64, index: u64) -> Result<Option<u64>, String> {
        let soffset = i64::from(self.u32(table)? as i32);
        let vtable = u64::try_from(table as i64 - soffset)
            .map_err(|_| "a vtable offset points before the file".to_owned())?;
        let vtable_len = u64::from(self.u16(vtable)?);
        let slot = 4 + 2 * index;
        if slot + 2 > vtable_len {
            return Ok(None);
        }
        match self.u16(vtable + slot)? {
            0 => Ok(None),
            off => Ok(Some(table + u64::from(off))),
        }
    }

    /// What the offset stored at `pos` points at.
    fn deref(&self, pos: u64) -> Result<u64, String> {
        Ok(pos + u64::from(self.u32(pos)?))
    }
}

/// The custom codes of the model's operator codes.
fn custom_codes(flat: &Flat<'_>) -> Result<Vec<String>, String> {
    let model = flat.deref(0)?;
    let Some(codes_field) = flat.field(model, 1)? else {
        return Ok(Vec::new());
    };
    let vector = flat.deref(codes_field)?;
    let count = flat.u32(vector)?;
    if count > MAX_OPERATOR_CODES || u64::from(count) * 4 > flat.len {
        return Err(format!("{count} operator codes cannot fit in the file"));
    }
    let mut codes = Vec::new();
    for i in 0..u64::from(count) {
        let code = flat.deref(vector + 4 + 4 * i)?;
        let Some(custom) = flat.field(code, 1)? else {
            continue;
        };
        let text = flat.deref(custom)?;
        let len = flat.u32(text)?;
        if len > MAX_CODE || u64::from(len) + text + 4 > flat.len {
            return Err(format!(
                "a custom code of {len} bytes cannot fit in the file"
            ));
        }
        let bytes = flat
            .blob
            .exact_at(text + 4, len as usize)
            .map_err(|e| e.to_string())?;
        codes.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(codes)
}
