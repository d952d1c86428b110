//! Tar archives (ustar, GNU long names, PAX), read header by header with every record bounded,
//! and inside them PyTorch's oldest checkpoint format: a tar of `sys_info`,
//! `pickle`, `storages` and `tensors`, where `storages` and `tensors` are records of a pickle
//! followed by raw data. torch.load unpickles every record's pickle, so every one is analysed:
//! the walker skips the raw data by the sizes the records give.

use std::io::{self, Read};

use aigate_report::{Finding, Location, Rule, Step};

use crate::dispatch::{Claim, Cx, PickleRead};
use crate::findings::Reach;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::*;
use crate::source::Blob;

fn finding(cx: &mut Cx<'_>, rule: &Rule, loc: &Location, message: String) {
    cx.finding(Finding::new(rule, message, loc.clone()));
}

/// The tar reader.
pub(crate) struct Tar;

impl FormatScanner for Tar {
    fn name(&self) -> &'static str {
        "tar"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"ustar\x0000", b"ustar  \x00"]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.head.get(257..262) == Some(b"ustar")
    }

    fn malformed_rule(&self) -> &'static Rule {
        &TAR_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        scan(cx, input.blob, input.loc, input.depth)
    }
}

/// Longest GNU long name or link name read.
const MAX_LONG_NAME: u64 = 64 << 10;
/// Longest PAX extended header read.
const MAX_PAX: u64 = 1 << 20;
const BLOCK: u64 = 512;

/// One member header, after long-name and PAX records are applied.
struct Header {
    name: String,
    size: u64,
    kind: u8,
}

/// Parses an octal or base-256 numeric field.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(value);
    }
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn checksum_ok(block: &[u8]) -> bool {
    let Some(stored) = number(&block[148..156]) else {
        return false;
    };
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == stored
}

/// Applies a PAX record set (`LEN key=value\n`…) to a pending name and size.
fn apply_pax(data: &[u8], name: &mut Option<String>, size: &mut Option<u64>) {
    let mut rest = data;
    while let Some(space) = rest.iter().position(|b| *b == b' ') {
        let Some(len) = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            return;
        };
        if len <= space || len > rest.len() {
            return;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|b| *b == b'=') {
            let (key, value) = (&record[..eq], &record[eq + 1..]);
            match key {
                b"path" => *name = Some(String::from_utf8_lossy(value).into_owned()),
                b"size" => *size = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
}

/// Reads tar headers from a stream, bounded: names and PAX records have size limits, member
/// data is never read by the walker itself.
struct Walker<R> {
    reader: R,
    pos: u64,
}

impl<R: Read> Walker<R> {
    fn block(&mut self) -> io::Result<Option<[u8; 512]>> {
        let mut block = [0u8; 512];
        let mut got = 0;
        while got < 512 {
            match self.reader.read(&mut block[got..])? {
                0 if got == 0 => return Ok(None),
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the archive ends inside a header",
                    ));
                }
                n => got += n,
            }
        }
        self.pos += BLOCK;
        Ok(Some(block))
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        let copied = io::copy(&mut (&mut self.reader).take(n), &mut io::sink())?;
        self.pos += copied;
        if copied < n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a member",
            ));
        }
        Ok(())
    }

    /// `size` rounded up to whole blocks; `None` for sizes so close to `u64::MAX` that no
    /// archive can hold them.
    fn padded(size: u64) -> Option<u64> {
        size.div_ceil(BLOCK).checked_mul(BLOCK)
    }

    fn padded_or_err(size: u64) -> io::Result<u64> {
        Self::padded(size).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a member size of {size} bytes cannot be in an archive"),
            )
        })
    }

    fn read_record(&mut self, size: u64, limit: u64, what: &str) -> io::Result<Vec<u8>> {
        if size > limit {
            return Err(io::Error::other(format!(
                "a {what} of {size} bytes exceeds the limit of {limit}"
            )));
        }
        let mut data = vec![0u8; size as usize];
        self.reader.read_exact(&mut data)?;
        self.pos += size;
        self.skip(Self::padded_or_err(size)? - size)?;
        Ok(data)
    }

    /// The next member header, or `None` at the end of the archive.
    fn next(&mut self) -> io::Result<Option<Header>> {
        let mut long_name: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            let Some(block) = self.block()? else {
                return Ok(None);
            };
            if block.iter().all(|b| *b == 0) {
                return Ok(None);
            }
            if !checksum_ok(&block) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad header checksum at offset {}", self.pos - BLOCK),
                ));
            }
            let size = number(&block[124..136])
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad size field"))?;
            let kind = block[156];
            match kind {
                b'L' => {
                    let data = self.read_record(size, MAX_LONG_NAME, "long name")?;
                    long_name = Some(text(&data));
                }
                b'K' => {
                    self.read_record(size, MAX_LONG_NAME, "long link name")?;
                }
                b'x' => {
                    let data = self.read_record(size, MAX_PAX, "PAX header")?;
                    apply_pax(&data, &mut long_name, &mut pax_size);
                }
                b'g' => {
                    self.read_record(size, MAX_PAX, "PAX global header")?;
                }
                _ => {
                    let mut name = text(&block[0..100]);
                    if &block[257..262] == b"ustar" && block[345] != 0 {
                        name = format!("{}/{name}", text(&block[345..500]));
                    }
                    return Ok(Some(Header {
                        name: long_name.unwrap_or(name),
                        size: pax_size.unwrap_or(size),
                        kind,
                    }));
                }
            }
        }
    }
}

fn scan(cx: &mut Cx<'_>, blob: &Blob<'_>, loc: &Location, depth: u32) -> io::Result<()> {
    cx.scanned(loc, Tar.name(), Tar.version(), blob.len().unwrap_or(0));
    let mut walker = Walker {
        reader: blob.open()?,
        pos: 0,
    };
    let mut count = 0u64;
    loop {
        let header = match walker.next() {
            Ok(Some(header)) => header,
            Ok(None) => break,
            Err(err) => {
                finding(
                    cx,
                    &TAR_MALFORMED,
                    loc,
                    format!("cannot be read: {}", err.to_string().to_lowercase()),
                );
                break;
            }
        };
        count += 1;
        if count > cx.limits().max_members {
            finding(
                cx,
                &CONTAINER_BUDGET_EXCEEDED,
                loc,
                format!(
                    "more than {} members; the rest were not analysed",
                    cx.limits().max_members
                ),
            );
            break;
        }
        let data_at = walker.pos;
        let inner = loc.member(header.name.clone());
        let Some(padded) = Walker::<Box<dyn Read>>::padded(header.size) else {
            finding(
                cx,
                &TAR_MALFORMED,
                &inner,
                format!(
                    "the header claims {} bytes, more than any archive can hold; the rest was not analysed",
                    header.size
                ),
            );
            break;
        };
        if header.kind == b'S' {
            finding(
                cx,
                &TAR_MALFORMED,
                &inner,
                "a GNU sparse member, which aigate does not read; it was not analysed".into(),
            );
        }
        let is_file = matches!(header.kind, b'0' | 0 | b'7');
        if !is_file {
            if let Err(err) = walker.skip(padded) {
                finding(cx, &TAR_MALFORMED, &inner, format!("cannot be read: {err}"));
                break;
            }
            continue;
        }
        let member_data;
        let member = match blob.slice(data_at, header.size) {
            Some(member) => {
                if let Err(err) = walker.skip(padded) {
                    finding(cx, &TAR_MALFORMED, &inner, format!("cannot be read: {err}"));
                    break;
                }
                member
            }
            None if header.size <= cx.limits().max_in_memory => {
                // Grow with the bytes actually present: a header may claim far more than follows.
                let mut data = Vec::new();
                let read = (&mut walker.reader)
                    .take(header.size)
                    .read_to_end(&mut data)
                    .and_then(|got| {
                        walker.pos += got as u64;
                        if (got as u64) < header.size {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the archive ends inside a member",
                            ));
                        }
                        walker.skip(padded - header.size)
                    });
                if let Err(err) = read {
                    cx.io_finding(&inner, &TAR_MALFORMED, &err);
                    break;
                }
                member_data = data;
                Blob::Memory(&member_data)
            }
            None => {
                finding(
                    cx,
                    &CONTAINER_BUDGET_EXCEEDED,
                    &inner,
                    format!(
                        "a {} byte member of a compressed tar exceeds the in-memory limit; it was not analysed",
                        header.size
                    ),
                );
                if let Err(err) = walker.skip(padded) {
                    finding(cx, &TAR_MALFORMED, &inner, format!("cannot be read: {err}"));
                    break;
                }
                continue;
            }
        };
        let legacy = matches!(header.name.as_str(), "storages" | "tensors");
        if legacy && member.head(2)?.first() == Some(&0x80) {
            if let Err(err) = legacy_records(cx, &member, &inner, header.name == "tensors") {
                cx.io_finding(&inner, &TORCH_LEGACY_MALFORMED, &err);
            }
        } else {
            cx.scan(
                &member,
                &inner,
                NameHint::from_name(&header.name),
                depth + 1,
            );
        }
    }
    Ok(())
}

/// Bytes per element of a legacy storage type, by class name.
fn element_size(storage: &str) -> Option<u64> {
    Some(match storage.strip_suffix("Storage")? {
        "Double" | "Long" | "ComplexFloat" => 8,
        "Float" | "Int" | "QInt32" => 4,
        "Half" | "BFloat16" | "Short" => 2,
        "Char" | "Byte" | "Bool" | "QInt8" | "QUInt8" | "QUInt4x2" | "QUInt2x4" => 1,
        "ComplexDouble" => 16,
        _ => return None,
    })
}

/// Walks a `storages` or `tensors` member: a count pickle, then records of a pickle and raw
/// data, then (for storages) a views pickle.
fn legacy_records(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    tensors: bool,
) -> io::Result<()> {
    let len = blob.len().unwrap_or(0);
    cx.scanned(loc, "pytorch-legacy-records", Tar.version(), len);
    let read = PickleRead {
        format: "pickle",
        version: Tar.version(),
        max_pickles: Some(1),
        reach: Reach::Loaded,
        claim: Claim::Format,
    };
    let mut pos = 0u64;
    while pos < len {
        let Some(rest) = blob.slice(pos, len - pos) else {
            break;
        };
        let record = loc.step(Step::Record { offset: pos });
        let Some(analysis) = cx.pickle(&rest, &record, &read)? else {
            return Ok(());
        };
        if analysis.pickles == 0 {
            return Ok(());
        }
        pos += analysis.bytes;
        let type_name = analysis.globals.iter().map(|g| g.name.as_str()).find(|n| {
            if tensors {
                n.ends_with("Tensor")
            } else {
                n.ends_with("Storage")
            }
        });
        let Some(type_name) = type_name else { continue };
        let skip = if tensors {
            let raw = blob.exact_at(pos, 4)?;
            let ndim = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            u64::try_from(ndim).ok().map(|n| 8 + 16 * n + 8)
        } else {
            let raw = blob.exact_at(pos, 8)?;
            let numel = u64::from_le_bytes([
                raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
            ]);
            element_size(type_name)
                .and_then(|e| numel.checked_mul(e))
                .and_then(|n| n.checked_add(8))
        };
        match skip
            .and_then(|s| pos.checked_add(s))
            .filter(|end| *end <= len)
        {
            Some(end) => pos = end,
            None => {
                finding(
                    cx,
                    &TORCH_LEGACY_MALFORMED,
                    &record,
                    format!(
                        "the raw data after the record of {type_name} does not fit the member; the rest was not analysed"
                    ),
                );
                return Ok(());
            }
        }
    }
    Ok(())
}
