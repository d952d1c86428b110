//! GGUF files (ggml's format for llama.cpp and its kin, versions 1 to 3): the magic `GGUF`, a
//! version, tensor and metadata counts, typed metadata key/value pairs, tensor descriptions,
//! then aligned tensor data. Nothing in GGUF itself runs code, but `tokenizer.chat_template`
//! (and its named variants `tokenizer.chat_template.NAME`) is a Jinja2 template that loaders
//! render: it is analysed statically ([`crate::template`]). Every count and length is checked
//! against the bytes left before anything is allocated; tensor data is never read, so a clean
//! file costs its metadata.

use std::io::{self, BufReader, Read};

use aigate_report::{Finding, Location, Rule, Step};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::GGUF_MALFORMED;

const MAGIC: &[u8] = b"GGUF";
/// Longest chat template kept for analysis (real ones are a few KiB).
const MAX_TEMPLATE: u64 = 1 << 20;
/// Deepest nesting of arrays (the format allows arrays of arrays; writers use one level).
const MAX_ARRAY_DEPTH: u32 = 3;
/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;

/// The GGUF reader.
pub(crate) struct Gguf;

impl FormatScanner for Gguf {
    fn name(&self) -> &'static str {
        "gguf"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[MAGIC]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.head.starts_with(MAGIC) || input.hint == NameHint::Gguf
    }

    fn malformed_rule(&self) -> &'static Rule {
        &GGUF_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let (blob, loc) = (input.blob, input.loc);
        // A decoded stream has no known size: bound its lengths by the decoded-bytes limit.
        let total = blob.len().unwrap_or(cx.limits().max_decoded_bytes);
        let mut r = Reader {
            inner: BufReader::with_capacity(1 << 16, blob.open()?),
            pos: 0,
            total,
        };
        let mut templates = Vec::new();
        match read(&mut r, &mut templates) {
            Ok(()) => cx.scanned(
                loc,
                self.name(),
                self.version(),
                blob.len().unwrap_or(r.pos),
            ),
            Err(Bad::Format(why)) => malformed(cx, loc, why),
            Err(Bad::Io(err)) if err.kind() == io::ErrorKind::UnexpectedEof => malformed(
                cx,
                loc,
                format!("the file ends at byte {} inside its metadata", r.pos),
            ),
            Err(Bad::Io(err)) => return Err(err),
        }
        for (key, template) in templates {
            crate::template::report(cx, &loc.step(Step::Field(key)), &template);
        }
        Ok(())
    }
}

fn malformed(cx: &mut Cx<'_>, loc: &Location, why: String) {
    cx.finding(
        Finding::new(
            &GGUF_MALFORMED,
            format!("not a valid GGUF file: {why}"),
            loc.clone(),
        )
        .with_detail("reason", why),
    );
}

enum Bad {
    Format(String),
    Io(io::Error),
}

impl From<io::Error> for Bad {
    fn from(err: io::Error) -> Self {
        Bad::Io(err)
    }
}

struct Reader<R> {
    inner: R,
    pos: u64,
    total: u64,
}

impl<R: Read> Reader<R> {
    fn left(&self) -> u64 {
        self.total.saturating_sub(self.pos)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        let mut buf = [0; N];
        self.inner.read_exact(&mut buf)?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, Bad> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Bad> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn skip(&mut self, n: u64) -> Result<(), Bad> {
        let skipped = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())?;
        self.pos += skipped;
        if skipped < n {
            return Err(Bad::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }

    /// A length-prefixed string's length (u32 in version 1, u64 after), checked against what is left.
    fn string_len(&mut self, version: u32, what: &str) -> Result<u64, Bad> {
        let len = if version == 1 {
            u64::from(self.u32()?)
        } else {
            self.u64()?
        };
        if len > self.left() {
            return Err(Bad::Format(format!(
                "{what} claims {len} bytes at byte {}, more than the file holds",
                self.pos
            )));
        }
        Ok(len)
    }

    fn string(&mut self, version: u32, what: &str, max: u64) -> Result<String, Bad> {
        let len = self.string_len(version, what)?;
        if len > max {
            return Err(Bad::Format(format!(
                "{what} is {len} bytes long, over {max}"
            )));
        }
        let mut buf = vec![0; len as usize];
        self.inner.read_exact(&mut buf)?;
        self.pos += len;
        Ok(String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

/// Elements per block and bytes per block of every ggml tensor type (`ggml.h`, `ggml_type_traits`).
fn ggml_type(kind: u32) -> Option<(u64, u64)> {
    Some(match kind {
        0 => (1, 4),
        1 | 30 => (1, 2),
        2 | 20 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (256, 84),
        11 | 21 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        16 | 35 => (256, 66),
        17 => (256, 74),
        18 => (256, 98),
        19 => (256, 50),
        22 => (256, 82),
        23 => (256, 136),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 | 28 => (1, 8),
        29 => (256, 56),
        34 => (256, 54),
        39 => (32, 17),
        _ => return None,
    })
}

/// Size of a fixed-size value type, `None` for strings and arrays.
fn fixed_size(kind: u32) -> Result<Option<u64>, Bad> {
    Ok(match kind {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        8 | 9 => None,
        other => return Err(Bad::Format(format!("unknown metadata value type {other}"))),
    })
}

fn is_template_key(key: &str) -> bool {
    key == "tokenizer.chat_template" || key.starts_with("tokenizer.chat_template.")
}

/// Reads the header, metadata and tensor descriptions, collecting chat templates.
fn read<R: Read>(r: &mut Reader<R>, templates: &mut Vec<(String, String)>) -> Result<(), Bad> {
    if r.array::<4>()? != *b"GGUF" {
        return Err(Bad::Format(
            "it does not start with the magic GGUF".to_owned(),
        ));
    }
    let version = r.u32()?;
    if !(1..=3).contains(&version) {
        return Err(Bad::Format(format!("unknown GGUF version {version}")));
    }
    let count = |r: &mut Reader<R>| -> Result<u64, Bad> {
        if version == 1 {
            Ok(u64::from(r.u32()?))
        } else {
            r.u64()
        }
    };
    let tensors = count(r)?;
    let pairs = count(r)?;
    // Smallest key/value pair: an empty key and a one-byte value; smallest tensor description:
    // an empty name, one dimension, a type and an offset.
    if pairs > r.left() / 13 || tensors > r.left() / 28 {
        return Err(Bad::Format(format!(
            "{pairs} metadata pairs and {tensors} tensors cannot fit in the file"
        )));
    }
    let mut alignment = 32u64;
    for _ in 0..pairs {
        let key = r.string(version, "a metadata key", 1 << 16)?;
        // gguf-py decodes keys as UTF-8 and refuses the file when one is not.
        if key.contains('\u{fffd}') {
            return Err(Bad::Format(format!(
                "the metadata key {key:?} is not UTF-8"
            )));
        }
        let kind = r.u32()?;
        if is_template_key(&key) && kind == 8 {
            let template = r.string(version, &key, MAX_TEMPLATE)?;
            templates.push((key, template));
            continue;
        }
        if key == "general.alignment" && kind == 4 {
            let value = u64::from(r.u32()?);
            if value == 0 || !value.is_power_of_two() {
                return Err(Bad::Format(format!(
                    "general.alignment {value} is not a power of two"
                )));
            }
            alignment = value;
            continue;
        }
        value(r, version, kind, &key, 0)?;
    }
    let mut extents = Vec::new();
    for _ in 0..tensors {
        let len = r.string_len(version, "a tensor name")?;
        r.skip(len)?;
        let dims = r.u32()?;
        if dims > MAX_DIMS {
            return Err(Bad::Format(format!(
                "a tensor has {dims} dimensions, over ggml's {MAX_DIMS}"
            )));
        }
        let mut elements: u64 = 1;
        for _ in 0..dims {
            elements = elements
                .checked_mul(r.u64()?)
                .ok_or_else(|| Bad::Format("a tensor's dimensions overflow".to_owned()))?;
        }
        let kind = r.u32()?;
        let offset = r.u64()?;
        let (block, size) = ggml_type(kind)
            .ok_or_else(|| Bad::Format(format!("a tensor has the unknown ggml type {kind}")))?;
        if !elements.is_multiple_of(block) {
            return Err(Bad::Format(format!(
                "a tensor of {elements} elements is not whole blocks of {block} (ggml type {kind})"
            )));
        }
        let bytes = (elements / block)
            .checked_mul(size)
            .ok_or_else(|| Bad::Format("a tensor's byte size overflows".to_owned()))?;
        if !offset.is_multiple_of(alignment) {
            return Err(Bad::Format(format!(
                "a tensor's data offset {offset} is not a multiple of the alignment {alignment}"
            )));
        }
        extents.push((offset, bytes));
    }
    // The data section starts at the next multiple of the alignment; every tensor lies in it.
    let data_start = r.pos.div_ceil(alignment).saturating_mul(alignment);
    let data_len = r.total.saturating_sub(data_start);
    if let Some((offset, bytes)) = extents
        .iter()
        .find(|(offset, bytes)| offset.checked_add(*bytes).is_none_or(|end| end > data_len))
    {
        return Err(Bad::Format(format!(
            "a tensor of {bytes} bytes at data offset {offset} runs past the end of the file"
        )));
    }
    Ok(())
}

fn value<R: Read>(
    r: &mut Reader<R>,
    version: u32,
    kind: u32,
    key: &str,
    depth: u32,
) -> Result<(), Bad> {
    match fixed_size(kind)? {
        Some(size) => r.skip(size),
        None if kind == 8 => {
            let len = r.string_len(version, key)?;
            r.skip(len)
        }
        None => {
            if depth >= MAX_ARRAY_DEPTH {
                return Err(Bad::Format(format!("{key}: arrays nested too deep")));
            }
            let element = r.u32()?;
            let n = if version == 1 {
                u64::from(r.u32()?)
            } else {
                r.u64()?
            };
            let least = fixed_size(element)?.unwrap_or(if version == 1 { 4 } else { 8 });
            if n.checked_mul(least).is_none_or(|bytes| bytes > r.left()) {
                return Err(Bad::Format(format!(
                    "{key}: an array of {n} elements cannot fit in the file"
                )));
            }
            match fixed_size(element)? {
                Some(size) => r.skip(n * size),
                None => {
                    for _ in 0..n {
                        value(r, version, element, key, depth + 1)?;
                    }
                    Ok(())
                }
            }
        }
    }
}
