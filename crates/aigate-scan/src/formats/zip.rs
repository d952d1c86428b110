//! Zip archives (PyTorch checkpoints, `.npz`, plain zips), read from the central directory the
//! way PyTorch, NumPy and Python's `zipfile` do, with every disagreement a finding: local and
//! central names that differ, duplicate names, encrypted flags, unsupported methods, bad CRCs.
//! ZIP64 is supported. Members go back to the dispatcher.

use std::collections::HashMap;
use std::io::{self, Read as _};

use aigate_report::{Finding, Location, Severity};

use crate::Cx;
use crate::formats::Hint;
use crate::rules::*;
use crate::source::{Blob, Codec};

const EOCD: &[u8] = b"PK\x05\x06";
const EOCD_LEN: u64 = 22;
const MAX_COMMENT: u64 = 0xffff;
/// Members up to this size have their CRC-32 checked; larger ones are tensor data, not read.
const CRC_CHECK_MAX: u64 = 16 << 20;
/// Largest central directory read.
const MAX_CENTRAL_DIRECTORY: u64 = 512 << 20;

struct Entry {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    local_offset: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

fn malformed(cx: &mut Cx<'_>, loc: &Location, message: String) {
    cx.finding(Finding::new(
        ZIP_MALFORMED,
        Severity::Medium,
        message,
        loc.clone(),
    ));
}

pub(crate) fn scan(cx: &mut Cx<'_>, blob: &Blob<'_>, loc: &Location, depth: u32) -> io::Result<()> {
    if blob.len().is_none() {
        // A zip inside a compressed stream: random access needs it in memory.
        let data = match blob.materialize(cx.limits().max_in_memory) {
            Ok(data) => data,
            Err(err) => {
                cx.container_error(loc, ZIP_MALFORMED, &err);
                return Ok(());
            }
        };
        return scan(cx, &Blob::Memory(&data), loc, depth);
    }
    let len = blob.len().unwrap_or(0);
    let Some((entries, base)) = central_directory(cx, blob, loc, len)? else {
        return Ok(());
    };
    let is_torch = entries.iter().any(|e| e.name.ends_with("data.pkl"));
    let format = if is_torch {
        "pytorch-zip"
    } else if entries.iter().any(|e| e.name.ends_with(".npy")) {
        "numpy-npz"
    } else {
        "zip"
    };
    cx.scanned(loc, format, len);
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for entry in &entries {
        let count = seen.entry(&entry.name).or_default();
        *count += 1;
        if *count == 2 {
            cx.finding(
                Finding::new(
                    ZIP_DUPLICATE_ENTRY,
                    Severity::High,
                    format!(
                        "member {:?} appears more than once; loaders disagree on which copy they read, so every copy was scanned",
                        entry.name
                    ),
                    loc.clone(),
                )
                .with_detail("member", entry.name.clone()),
            );
        }
        member(cx, blob, loc, entry, base, is_torch, depth)?;
    }
    Ok(())
}

/// Reads the end record (ZIP64 too) and the central directory. Returns the entries and the
/// offset that member offsets are relative to (non-zero when data was prepended).
fn central_directory(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    len: u64,
) -> io::Result<Option<(Vec<Entry>, u64)>> {
    let tail_len = len.min(EOCD_LEN + MAX_COMMENT);
    let tail = blob.exact_at(len - tail_len, tail_len as usize)?;
    let Some(at) = tail
        .windows(4)
        .rposition(|w| w == EOCD)
        .filter(|at| tail.len() - at >= EOCD_LEN as usize)
    else {
        malformed(
            cx,
            loc,
            "no end of central directory record: the archive is truncated or not a zip".into(),
        );
        return Ok(None);
    };
    let eocd_pos = len - tail_len + at as u64;
    let eocd = &tail[at..];
    let mut count = u64::from(u16_at(eocd, 10));
    let mut cd_size = u64::from(u32_at(eocd, 12));
    let mut cd_offset = u64::from(u32_at(eocd, 16));
    let mut cd_end = eocd_pos;
    // A ZIP64 locator sits right before the end record whenever a ZIP64 end record exists
    // (PyTorch always writes one); the central directory then ends where that record starts.
    let locator = if eocd_pos >= 20 {
        blob.exact_at(eocd_pos - 20, 20).ok()
    } else {
        None
    };
    if let Some(locator) = locator.filter(|l| l.starts_with(b"PK\x06\x07")) {
        let record_pos = u64_at(&locator, 8);
        match blob.exact_at(record_pos, 56) {
            Ok(rec) if rec.starts_with(b"PK\x06\x06") => {
                count = u64_at(&rec, 32);
                cd_size = u64_at(&rec, 40);
                cd_offset = u64_at(&rec, 48);
                cd_end = record_pos;
            }
            _ => {
                malformed(
                    cx,
                    loc,
                    "the ZIP64 end of central directory record is missing".into(),
                );
                return Ok(None);
            }
        }
    }
    // Data prepended to an archive shifts every offset; zipfile corrects for it the same way.
    let base = cd_end
        .checked_sub(cd_size)
        .and_then(|start| start.checked_sub(cd_offset))
        .unwrap_or(0);
    if cd_size > MAX_CENTRAL_DIRECTORY {
        cx.finding(Finding::new(
            CONTAINER_BUDGET_EXCEEDED,
            Severity::Medium,
            format!("central directory of {cd_size} bytes exceeds the limit of {MAX_CENTRAL_DIRECTORY}; members were not analysed"),
            loc.clone(),
        ));
        return Ok(None);
    }
    let cd = match blob.exact_at(base + cd_offset, cd_size as usize) {
        Ok(cd) => cd,
        Err(_) => {
            malformed(
                cx,
                loc,
                format!(
                    "the central directory (offset {cd_offset}, {cd_size} bytes) lies outside the file"
                ),
            );
            return Ok(None);
        }
    };
    let max_members = cx.limits().max_members;
    let mut entries = Vec::new();
    let mut pos = 0usize;
    while pos + 46 <= cd.len() && cd[pos..].starts_with(b"PK\x01\x02") {
        if entries.len() as u64 >= max_members {
            cx.finding(Finding::new(
                CONTAINER_BUDGET_EXCEEDED,
                Severity::Medium,
                format!("more than {max_members} members; the rest were not analysed"),
                loc.clone(),
            ));
            break;
        }
        let h = &cd[pos..];
        let name_len = usize::from(u16_at(h, 28));
        let extra_len = usize::from(u16_at(h, 30));
        let comment_len = usize::from(u16_at(h, 32));
        let Some(name) = h.get(46..46 + name_len) else {
            break;
        };
        let extra = h
            .get(46 + name_len..46 + name_len + extra_len)
            .unwrap_or(&[]);
        let mut compressed = u64::from(u32_at(h, 20));
        let mut uncompressed = u64::from(u32_at(h, 24));
        let mut local_offset = u64::from(u32_at(h, 42));
        zip64_extra(extra, &mut uncompressed, &mut compressed, &mut local_offset);
        entries.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            flags: u16_at(h, 8),
            method: u16_at(h, 10),
            crc: u32_at(h, 16),
            compressed,
            local_offset,
        });
        pos += 46 + name_len + extra_len + comment_len;
    }
    if (entries.len() as u64) < count.min(max_members) {
        malformed(
            cx,
            loc,
            format!(
                "the central directory lists {count} members but only {} could be read",
                entries.len()
            ),
        );
    }
    Ok(Some((entries, base)))
}

/// Applies the ZIP64 extended information extra field (id 1): each field present only where
/// the 32-bit one is saturated, in the order uncompressed, compressed, offset.
fn zip64_extra(mut extra: &[u8], uncompressed: &mut u64, compressed: &mut u64, offset: &mut u64) {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let size = usize::from(u16_at(extra, 2));
        let Some(body) = extra.get(4..4 + size) else {
            return;
        };
        if id == 1 {
            let mut at = 0;
            for field in [uncompressed, compressed, offset] {
                if *field == 0xffff_ffff {
                    if let Some(v) = body.get(at..at + 8) {
                        *field = u64_at(v, 0);
                        at += 8;
                    }
                }
            }
            return;
        }
        extra = &extra[4 + size..];
    }
}

fn member(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    entry: &Entry,
    base: u64,
    is_torch: bool,
    depth: u32,
) -> io::Result<()> {
    let at = base + entry.local_offset;
    let inner = loc.join(entry.name.clone());
    let header = match blob.exact_at(at, 30) {
        Ok(h) if h.starts_with(b"PK\x03\x04") => h,
        _ => {
            malformed(
                cx,
                &inner,
                format!("no local header at offset {at}; the member was not analysed"),
            );
            return Ok(());
        }
    };
    let local_name_len = u64::from(u16_at(&header, 26));
    let local_extra_len = u64::from(u16_at(&header, 28));
    let local_name = blob
        .exact_at(at + 30, local_name_len as usize)
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .unwrap_or_default();
    if local_name != entry.name {
        cx.finding(
            Finding::new(
                ZIP_NAME_MISMATCH,
                Severity::High,
                format!(
                    "the local header names this member {local_name:?} but the central directory names it {:?}",
                    entry.name
                ),
                inner.clone(),
            )
            .with_detail("local-name", local_name),
        );
    }
    let data_at = at + 30 + local_name_len + local_extra_len;
    let Some(raw) = blob.slice(data_at, entry.compressed) else {
        malformed(
            cx,
            &inner,
            "the member's data runs past the end of the archive".into(),
        );
        return Ok(());
    };
    if entry.flags & 1 != 0 {
        let message = if entry.method == 0 {
            "the member is flagged encrypted but stored in the clear; analysed anyway, as PyTorch ignores the flag"
        } else {
            "the member is flagged encrypted; analysed as if it were not, and any error below means it could not be"
        };
        cx.finding(Finding::new(
            ZIP_ENCRYPTED_ENTRY,
            Severity::Medium,
            message,
            inner.clone(),
        ));
    }
    let codec = match entry.method {
        0 => None,
        8 => Some(Codec::Deflate),
        12 => Some(Codec::Bzip2),
        other => {
            cx.finding(
                Finding::new(
                    ZIP_UNSUPPORTED_COMPRESSION,
                    Severity::Medium,
                    format!("the member uses compression method {other}, which aigate does not decode; it was not analysed"),
                    inner.clone(),
                )
                .with_detail("method", other.to_string()),
            );
            return Ok(());
        }
    };
    let decoded;
    let content = match codec {
        None => &raw,
        Some(codec) => {
            decoded = Blob::Decoded {
                source: &raw,
                codec,
                limit: cx.limits().max_decoded_bytes,
            };
            &decoded
        }
    };
    if entry.compressed <= CRC_CHECK_MAX {
        check_crc(cx, content, entry, &inner);
    }
    let is_storage = is_torch
        && entry
            .name
            .rsplit_once("/data/")
            .is_some_and(|(_, key)| !key.is_empty() && !key.contains('/'));
    let hint = if is_storage {
        Hint::RawData
    } else {
        Hint::from_name(&entry.name)
    };
    if let Err(err) = cx.scan(content, &inner, hint, depth + 1) {
        let rule = if codec.is_some() {
            COMPRESSION_CORRUPT
        } else {
            ZIP_MALFORMED
        };
        cx.container_error(&inner, rule, &err);
    }
    Ok(())
}

fn check_crc(cx: &mut Cx<'_>, content: &Blob<'_>, entry: &Entry, inner: &Location) {
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    let result = content.open().and_then(|mut r| {
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buf[..n]);
        }
    });
    if result.is_ok() && hasher.clone().finalize() != entry.crc {
        cx.finding(Finding::new(
            ZIP_BAD_CRC,
            Severity::Low,
            format!(
                "the content's CRC-32 is {:08x} but the central directory records {:08x}",
                hasher.finalize(),
                entry.crc
            ),
            inner.clone(),
        ));
    }
}
