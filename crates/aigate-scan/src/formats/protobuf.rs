//! The protobuf wire format, read positionally and bounded: varints of at most ten bytes,
//! lengths checked against the message that holds them before anything is read, and bytes that
//! do not matter (tensor data) skipped without being read. Shared by the ONNX and TensorFlow
//! readers.

use std::io;

use crate::source::Blob;

/// Why a message could not be read.
pub(crate) enum Bad {
    /// The bytes break the wire format.
    Format(String),
    /// Reading failed.
    Io(io::Error),
}

impl From<io::Error> for Bad {
    fn from(err: io::Error) -> Self {
        Bad::Io(err)
    }
}

/// Positional reads through a small window, so that skipping tensor bytes costs nothing.
pub(crate) struct Wire<'a> {
    pub(crate) blob: Blob<'a>,
    window: Vec<u8>,
    window_at: u64,
}

const WINDOW: usize = 64 << 10;

impl<'a> Wire<'a> {
    pub(crate) fn new(blob: Blob<'a>) -> Self {
        Wire {
            blob,
            window: Vec::new(),
            window_at: 0,
        }
    }

    pub(crate) fn byte(&mut self, pos: u64) -> Result<u8, Bad> {
        let inside = pos >= self.window_at && pos < self.window_at + self.window.len() as u64;
        if !inside {
            self.window.resize(WINDOW, 0);
            let got = self.blob.read_at(pos, &mut self.window)?;
            self.window.truncate(got);
            self.window_at = pos;
            if got == 0 {
                return Err(Bad::Format(format!(
                    "the model ends at byte {pos} inside a field"
                )));
            }
        }
        Ok(self.window[(pos - self.window_at) as usize])
    }

    /// A varint at `*pos`, which moves past it.
    pub(crate) fn varint(&mut self, pos: &mut u64, end: u64) -> Result<u64, Bad> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            if *pos >= end {
                return Err(Bad::Format(format!(
                    "a varint runs past its message at byte {pos}"
                )));
            }
            let b = self.byte(*pos)?;
            *pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Bad::Format(format!(
            "a varint longer than ten bytes at byte {pos}"
        )))
    }

    /// A `string` field's text (its first 64 KiB).
    pub(crate) fn text(&mut self, start: u64, end: u64) -> Result<String, Bad> {
        let len = usize::try_from(end - start)
            .unwrap_or(usize::MAX)
            .min(1 << 16);
        let bytes = self.blob.exact_at(start, len)?;
        // onnx.proto is proto2, whose parsers take `string` fields as bytes: so does this.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The position after a field of `len` bytes at `pos`, if it ends by `end`.
pub(crate) fn skip(pos: u64, len: u64, end: u64) -> Result<u64, Bad> {
    pos.checked_add(len)
        .filter(|&after| after <= end)
        .ok_or_else(|| {
            Bad::Format(format!(
                "a field of {len} bytes at byte {pos} runs past its message"
            ))
        })
}

/// One field's value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    /// A varint.
    Varint,
    /// A length-delimited value: its bytes' range.
    Bytes(u64, u64),
    /// A fixed 32- or 64-bit value.
    Fixed,
}

impl Wire<'_> {
    /// Calls `visit` with the number and value of every field of the message in `[start, end)`.
    pub(crate) fn fields(
        &mut self,
        start: u64,
        end: u64,
        visit: &mut dyn FnMut(&mut Self, u64, Field) -> Result<(), Bad>,
    ) -> Result<(), Bad> {
        let mut pos = start;
        while pos < end {
            let key = self.varint(&mut pos, end)?;
            let value = match key & 7 {
                0 => {
                    self.varint(&mut pos, end)?;
                    Field::Varint
                }
                1 => {
                    pos = skip(pos, 8, end)?;
                    Field::Fixed
                }
                5 => {
                    pos = skip(pos, 4, end)?;
                    Field::Fixed
                }
                2 => {
                    let len = self.varint(&mut pos, end)?;
                    let body = pos;
                    pos = skip(pos, len, end)?;
                    Field::Bytes(body, pos)
                }
                other => {
                    return Err(Bad::Format(format!(
                        "an invalid or deprecated protobuf wire type {other} at byte {pos}"
                    )));
                }
            };
            visit(self, key >> 3, value)?;
        }
        Ok(())
    }
}
