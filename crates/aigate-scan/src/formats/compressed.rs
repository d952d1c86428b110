//! Compressed streams (gzip, bz2, xz, lzma, lz4, zstd, zlib, and joblib 0.9's `ZF` zlib files):
//! the decoded content goes back to the dispatcher, one step deeper, bounded per stream and by
//! the file's budget.

use std::io;

use aigate_report::Rule;

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::COMPRESSION_CORRUPT;
use crate::source::Codec;

/// A compressed stream aigate decodes.
pub(crate) struct Compressed {
    codec: Codec,
    magics: &'static [&'static [u8]],
    sniff: fn(&[u8]) -> bool,
}

pub(crate) const GZIP: Compressed = Compressed {
    codec: Codec::Gzip,
    magics: &[b"\x1f\x8b"],
    sniff: |h| h.starts_with(b"\x1f\x8b"),
};
pub(crate) const BZIP2: Compressed = Compressed {
    codec: Codec::Bzip2,
    magics: &[b"BZh9"],
    sniff: |h| matches!(h, [b'B', b'Z', b'h', b'1'..=b'9', ..]),
};
pub(crate) const XZ: Compressed = Compressed {
    codec: Codec::Xz,
    magics: &[b"\xfd7zXZ\x00"],
    sniff: |h| h.starts_with(b"\xfd7zXZ\x00"),
};
pub(crate) const LZ4: Compressed = Compressed {
    codec: Codec::Lz4,
    magics: &[b"\x04\x22\x4d\x18"],
    sniff: |h| h.starts_with(b"\x04\x22\x4d\x18"),
};
/// The legacy `.lzma` ("alone") header: properties byte 0x5d and a dictionary size.
pub(crate) const LZMA: Compressed = Compressed {
    codec: Codec::Lzma,
    magics: &[b"\x5d\x00\x00"],
    sniff: |h| h.starts_with(b"\x5d\x00\x00"),
};
/// zlib: CM 8 and a header checksum that divides by 31.
pub(crate) const ZLIB: Compressed = Compressed {
    codec: Codec::Zlib,
    magics: &[b"\x78\x9c", b"\x78\x01", b"\x78\xda"],
    sniff: |h| matches!(h, [0x78, flags, ..] if (0x7800u16 | u16::from(*flags)).is_multiple_of(31)),
};

impl FormatScanner for Compressed {
    fn name(&self) -> &'static str {
        self.codec.name()
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        self.magics
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        (self.sniff)(input.head)
    }

    fn malformed_rule(&self) -> &'static Rule {
        &COMPRESSION_CORRUPT
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        if let Some(size) = input.blob.len() {
            cx.scanned(input.loc, self.name(), self.version(), size);
        }
        cx.scan_decoded(input.blob, self.codec, input.loc, input.hint, input.depth);
        Ok(())
    }
}

/// joblib 0.9's zfile: `ZF`, the length as hex padded to 19 characters, then a zlib stream.
pub(crate) struct JoblibZfile;

const ZFILE_HEADER: u64 = 2 + 19;

/// Where a zfile's zlib stream starts, as joblib's `read_zfile` finds it: the length field is
/// whatever `int(field, 16)` takes (with or without `0x`), and joblib <= 0.8.4 wrote one more
/// space after it, which is skipped. `None` when the field is no number.
fn zfile_body(head: &[u8]) -> Option<u64> {
    let field = head.get(2..ZFILE_HEADER as usize)?;
    let text = std::str::from_utf8(field).ok()?;
    crate::formats::tar::python_int(text, 16)?;
    Some(if head.get(ZFILE_HEADER as usize) == Some(&b' ') {
        ZFILE_HEADER + 1
    } else {
        ZFILE_HEADER
    })
}

impl FormatScanner for JoblibZfile {
    fn name(&self) -> &'static str {
        "joblib-zfile"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"ZF0x"]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        // joblib calls anything that starts with `ZF` a zfile.
        input.head.starts_with(b"ZF") && zfile_body(input.head).is_some()
    }

    fn malformed_rule(&self) -> &'static Rule {
        &COMPRESSION_CORRUPT
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        if let Some(size) = input.blob.len() {
            cx.scanned(input.loc, self.name(), self.version(), size);
        }
        let body = input
            .blob
            .tail(zfile_body(input.head).unwrap_or(ZFILE_HEADER));
        // joblib 0.9 wrote each array's bytes to its own `NAME.npy.z` zfile, which its
        // ZNDArrayWrapper reads back with numpy.frombuffer: raw data, as a PyTorch storage is.
        let name = crate::formats::innermost_name(input.loc);
        let hint = if name.to_ascii_lowercase().ends_with(".npy.z") {
            NameHint::RawData
        } else {
            input.hint
        };
        cx.scan_decoded(&body, Codec::Zlib, input.loc, hint, input.depth);
        Ok(())
    }
}

/// zstd (one frame; windows up to 128 MiB).
pub(crate) const ZSTD: Compressed = Compressed {
    codec: Codec::Zstd,
    magics: &[b"\x28\xb5\x2f\xfd"],
    sniff: |h| h.starts_with(b"\x28\xb5\x2f\xfd"),
};
