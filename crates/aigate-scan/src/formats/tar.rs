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
    /// The bytes `extractfile` returns.
    size: u64,
    /// The data bytes after the header before the next one (`tarfile` skips none for
    /// links, directories, devices and FIFOs, whatever their size field says).
    data: u64,
    kind: u8,
}

/// `tarfile`'s `SUPPORTED_TYPES` that are not regular files: their data is not skipped.
fn is_special(kind: u8) -> bool {
    matches!(kind, b'1'..=b'6')
}

/// Python's `int(text, radix)` for a non-negative result: surrounding whitespace, a `+`,
/// the `0o`/`0x` prefix of the radix, underscores between digits.
pub(crate) fn python_int(text: &str, radix: u32) -> Option<u64> {
    let s = text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
    let s = s.strip_prefix('+').unwrap_or(s);
    let prefix = match radix {
        8 => Some(["0o", "0O"]),
        16 => Some(["0x", "0X"]),
        _ => None,
    };
    let s = match prefix.and_then(|p| p.iter().find_map(|p| s.strip_prefix(p))) {
        Some(rest) => rest.strip_prefix('_').unwrap_or(rest),
        None => s,
    };
    if s.is_empty() || s.starts_with('_') || s.ends_with('_') || s.contains("__") {
        return None;
    }
    if !s.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    u64::from_str_radix(&clean, radix).ok()
}

/// A numeric field as `tarfile.nti` reads it: base-256 after a `0x80` byte (`0xff`, a
/// negative number, is refused), else NUL-terminated ASCII given to `int(s.strip() or "0", 8)`.
fn number(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(0x80) => {
            let mut value: u64 = 0;
            for b in &field[1..] {
                value = value.checked_mul(256)?.checked_add(u64::from(*b))?;
            }
            return Some(value);
        }
        Some(0xff) => return None,
        _ => {}
    }
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    let text = std::str::from_utf8(&field[..end])
        .ok()
        .filter(|t| t.is_ascii())?;
    let text =
        text.trim_matches(|c: char| c.is_ascii_whitespace() || ('\x0b'..='\x1f').contains(&c));
    if text.is_empty() {
        return Some(0);
    }
    python_int(text, 8)
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// `tarfile` accepts the checksum as the sum of the bytes read unsigned or signed.
fn checksum_ok(block: &[u8]) -> bool {
    let Some(stored) = number(&block[148..156]) else {
        return false;
    };
    let (mut unsigned, mut signed) = (256i64, 256i64);
    for (i, b) in block.iter().enumerate() {
        if !(148..156).contains(&i) {
            unsigned += i64::from(*b);
            signed += i64::from(*b as i8);
        }
    }
    i64::try_from(stored).is_ok_and(|stored| stored == unsigned || stored == signed)
}

/// Applies a PAX record set (`LEN key=value\n`…) to a pending name and size. Within one
/// set the last record counts (a dict); across headers the caller keeps the first, outermost
/// one, as `tarfile` applies an outer header's values after the inner ones. A `size` that is
/// not a number is 0, as in `tarfile`.
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
                // `_apply_pax_info` reads GNU's sparse name and sizes as the path and size.
                b"path" | b"GNU.sparse.name" => {
                    *name = Some(String::from_utf8_lossy(value).into_owned());
                }
                b"size" | b"GNU.sparse.size" | b"GNU.sparse.realsize" => {
                    *size = Some(
                        std::str::from_utf8(value)
                            .ok()
                            .and_then(|v| python_int(v, 10))
                            .unwrap_or(0),
                    );
                }
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
    /// What PAX global headers set, applied to every later member (`tarfile.pax_headers`).
    global_name: Option<String>,
    global_size: Option<u64>,
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
        // `tarfile` reads the whole blocks and takes the name up to its first NUL (or parses
        // PAX records on into the padding), so the size field only counts in blocks.
        let padded = Self::padded_or_err(size)?;
        let mut data = vec![0u8; padded as usize];
        self.reader.read_exact(&mut data)?;
        self.pos += padded;
        Ok(data)
    }

    /// The next member header, or `None` at the end of the archive.
    fn next(&mut self) -> io::Result<Option<Header>> {
        // `tarfile` reads a long-name or PAX header, then the header after it, and then
        // overwrites that one's name and size: the first such header wins.
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
                    long_name.get_or_insert_with(|| text(&data));
                }
                b'K' => {
                    self.read_record(size, MAX_LONG_NAME, "long link name")?;
                }
                b'x' | b'X' => {
                    let data = self.read_record(size, MAX_PAX, "PAX header")?;
                    let (mut name, mut size) = (None, None);
                    apply_pax(&data, &mut name, &mut size);
                    if long_name.is_none() {
                        long_name = name;
                    }
                    if pax_size.is_none() {
                        pax_size = size;
                    }
                }
                b'g' => {
                    let data = self.read_record(size, MAX_PAX, "PAX global header")?;
                    apply_pax(&data, &mut self.global_name, &mut self.global_size);
                }
                _ => {
                    let mut name = text(&block[0..100]);
                    if &block[257..262] == b"ustar" && block[345] != 0 {
                        name = format!("{}/{name}", text(&block[345..500]));
                    }
                    // V7 archives write directories as regular files named with a slash.
                    let kind = if kind == 0 && name.ends_with('/') {
                        b'5'
                    } else {
                        kind
                    };
                    let special = is_special(kind);
                    // Global PAX values patch the member as it is read; its data extent
                    // still comes from its own header or per-file PAX size.
                    let member_size = pax_size.or(self.global_size).unwrap_or(size);
                    let data = match (special, pax_size) {
                        (true, _) => 0,
                        (false, Some(pax)) => pax,
                        (false, None) => size,
                    };
                    return Ok(Some(Header {
                        name: long_name
                            .or_else(|| self.global_name.clone())
                            .unwrap_or(name),
                        size: member_size,
                        data,
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
        global_name: None,
        global_size: None,
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
        let Some(padded) = Walker::<Box<dyn Read>>::padded(header.data) else {
            finding(
                cx,
                &TAR_MALFORMED,
                &inner,
                format!(
                    "the header claims {} bytes, more than any archive can hold; the rest was not analysed",
                    header.data
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
        // `tarfile` reads every type it does not know as a regular file.
        let is_file = !is_special(header.kind) && !matches!(header.kind, b'S');
        if !is_file {
            if let Err(err) = walker.skip(padded) {
                finding(cx, &TAR_MALFORMED, &inner, format!("cannot be read: {err}"));
                break;
            }
            continue;
        }
        let member_data;
        // A member whose bytes are all there is scanned even when the archive ends in its
        // padding: `tarfile` reads it whole and fails only when it looks for the next header.
        let (member, cut) = match blob.slice(data_at, header.size) {
            Some(member) => (member, walker.skip(padded).err()),
            None if header.size <= cx.limits().max_in_memory => {
                // Grow with the bytes actually present: a header may claim far more than follows.
                // What is present is what a loader reads before the archive fails it: scan it.
                let want = header.size.min(padded);
                let mut data = Vec::new();
                let read = (&mut walker.reader).take(want).read_to_end(&mut data);
                let got = data.len() as u64;
                walker.pos += got;
                let read = read.and_then(|_| {
                    if got < want {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the archive ends inside a member",
                        ));
                    }
                    walker.skip(padded - want)
                });
                if let Err(err) = read {
                    cx.io_finding(&inner, &TAR_MALFORMED, &err);
                    if !data.is_empty() {
                        cx.scan(
                            &Blob::Memory(&data),
                            &inner,
                            NameHint::from_name(&header.name),
                            depth + 1,
                        );
                    }
                    break;
                }
                member_data = data;
                (Blob::Memory(&member_data), None)
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
        if let Some(err) = cut {
            finding(cx, &TAR_MALFORMED, &inner, format!("cannot be read: {err}"));
            break;
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
