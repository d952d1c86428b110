//! Zip archives (PyTorch checkpoints, `.npz`, plain zips), read from the central directory the
//! way PyTorch, NumPy and Python's `zipfile` do, with every disagreement a finding: local and
//! central names that differ, duplicate names, entries that share or overlap their data,
//! encrypted flags, unsupported methods, bad CRCs. ZIP64 is supported.
//!
//! Flavours of zip ([`FLAVOURS`]) are told apart by their member names, and say how each member
//! is reached (a PyTorch checkpoint's `data/` members are raw tensor bytes). Members go back to
//! the dispatcher. Each member's data is decoded once: small compressed members are inflated
//! into memory, checked against their CRC and scanned from there; large ones are streamed.

use std::collections::HashMap;
use std::io::{self, Read as _};

use aigate_report::{Finding, Location, Rule, Severity};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::*;
use crate::source::{Blob, Codec};

const EOCD: &[u8] = b"PK\x05\x06";
const EOCD_LEN: u64 = 22;
const MAX_COMMENT: u64 = 0xffff;
/// Stored members up to this size have their CRC-32 checked; tensor storages are never read.
const CRC_CHECK_MAX: u64 = 16 << 20;
/// Compressed members that decode to at most this many bytes are inflated once into memory.
const IN_MEMORY_MEMBER: u64 = 64 << 20;
/// Largest central directory read.
const MAX_CENTRAL_DIRECTORY: u64 = 512 << 20;

/// The zip reader.
pub(crate) struct Zip;

impl FormatScanner for Zip {
    fn name(&self) -> &'static str {
        "zip"
    }

    fn version(&self) -> u32 {
        2
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[
            b"PK\x03\x04",
            b"PK\x05\x06",
            b"PK\x07\x08",
            b"PK\x01\x02",
            b"PK\x06\x06",
            b"PK\x06\x07",
        ]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        matches!(
            input.head,
            [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..]
        )
    }

    fn malformed_rule(&self) -> &'static Rule {
        &ZIP_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        if input.blob.len().is_none() {
            // A zip inside a compressed stream: random access needs it in memory.
            let data = input.blob.materialize(cx.limits().max_in_memory)?;
            return scan_archive(cx, &Blob::Memory(&data), input.loc, input.depth);
        }
        scan_archive(cx, input.blob, input.loc, input.depth)
    }
}

/// A kind of zip, told apart by its member names.
struct Flavour {
    /// The format name it is reported as.
    name: &'static str,
    /// Whether an archive with these members is of this flavour.
    claims: fn(&[Entry]) -> bool,
    /// How a member is reached, where the flavour knows better than the member's name.
    member_hint: fn(&Entry) -> Option<NameHint>,
}

/// Zip flavours, most specific first; an archive none claims is a plain `zip`.
const FLAVOURS: &[Flavour] = &[
    Flavour {
        name: "torchscript",
        // torch.load's own test (`_is_torchscript_zip`): a `constants.pkl` record.
        claims: |entries| {
            entries.iter().any(|e| {
                e.name
                    .split_once('/')
                    .is_some_and(|(_, rest)| rest == "constants.pkl")
            })
        },
        member_hint: torchscript_member_hint,
    },
    Flavour {
        name: "pytorch-zip",
        claims: |entries| entries.iter().any(|e| e.name.ends_with("data.pkl")),
        member_hint: torch_member_hint,
    },
    Flavour {
        name: "torchserve-mar",
        claims: |entries| entries.iter().any(|e| e.name == "MAR-INF/MANIFEST.json"),
        member_hint: |entry| match entry.name.as_str() {
            "MAR-INF/MANIFEST.json" => Some(NameHint::MarManifest),
            "requirements.txt" => Some(NameHint::MarRequirements),
            _ => None,
        },
    },
    Flavour {
        name: "keras",
        claims: |entries| {
            entries.iter().any(|e| e.name == "config.json")
                && entries
                    .iter()
                    .any(|e| e.name == "metadata.json" || e.name.starts_with("model.weights."))
        },
        member_hint: keras_member_hint,
    },
    Flavour {
        name: "numpy-npz",
        claims: |entries| entries.iter().any(|e| e.name.ends_with(".npy")),
        member_hint: |_| None,
    },
];

/// A TorchScript archive's pickles go to the C++ unpickler, its `code/` holds compiled
/// sources, and its `data/` raw storages.
fn torchscript_member_hint(entry: &Entry) -> Option<NameHint> {
    let (_, rest) = entry.name.split_once('/')?;
    if rest.ends_with(".pkl") || rest.ends_with(".debug_pkl") {
        Some(NameHint::TorchScriptPickle)
    } else if rest.starts_with("code/") && rest.ends_with(".py") {
        Some(NameHint::TorchScriptCode)
    } else {
        torch_member_hint(entry)
    }
}

/// A Keras archive's configuration is what loading deserialises; its weights are arrays.
fn keras_member_hint(entry: &Entry) -> Option<NameHint> {
    match entry.name.as_str() {
        "config.json" => Some(NameHint::KerasConfig),
        name if name.starts_with("model.weights.") => Some(NameHint::RawData),
        _ => None,
    }
}

/// A PyTorch checkpoint's `ARCHIVE/data/KEY` members are raw storages.
fn torch_member_hint(entry: &Entry) -> Option<NameHint> {
    entry
        .name
        .rsplit_once("/data/")
        .is_some_and(|(_, key)| !key.is_empty() && !key.contains('/'))
        .then_some(NameHint::RawData)
}

struct Entry {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    local_offset: u64,
}

/// Where an entry's local record and data lie.
struct Located {
    entry: usize,
    header_at: u64,
    data_at: u64,
    data_end: u64,
    /// The data runs past the end of the file: only the bytes present are there.
    truncated: bool,
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
    cx.finding(Finding::new(&ZIP_MALFORMED, message, loc.clone()));
}

fn scan_archive(cx: &mut Cx<'_>, blob: &Blob<'_>, loc: &Location, depth: u32) -> io::Result<()> {
    let len = blob.len().unwrap_or(0);
    let Some((entries, base)) = central_directory(cx, blob, loc, len)? else {
        return Ok(());
    };
    let flavour = FLAVOURS.iter().find(|f| (f.claims)(&entries));
    cx.scanned(loc, flavour.map_or("zip", |f| f.name), Zip.version(), len);
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for entry in &entries {
        let count = seen.entry(&entry.name).or_default();
        *count += 1;
        if *count == 2 {
            cx.finding(
                Finding::new(
                    &ZIP_DUPLICATE_ENTRY,
                    format!(
                        "member {:?} appears more than once; loaders disagree on which copy they read, so every copy was scanned",
                        entry.name
                    ),
                    loc.clone(),
                )
                .with_detail("member", entry.name.clone()),
            );
        }
    }
    let located: Vec<Located> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| locate(cx, blob, loc, i, entry, base))
        .collect();
    let shared = overlaps(cx, &entries, &located, loc);
    for place in &located {
        if shared.get(&place.header_at) != Some(&place.entry) {
            // Another entry points at the same local record: its bytes were scanned already.
            continue;
        }
        let entry = &entries[place.entry];
        let hint = flavour
            .and_then(|f| (f.member_hint)(entry))
            .unwrap_or_else(|| NameHint::from_name(&entry.name));
        member(cx, blob, loc, entry, place, hint, depth);
    }
    local_records(cx, blob, loc, &entries, &located, base, depth);
    Ok(())
}

/// Walks the local records from the archive's start as a streaming reader does (Java's
/// `ZipInputStream`, `unzip -` on a pipe, `stream-unzip`): each local header, its data, its
/// data descriptor, then the next header. A record the central directory does not reference is
/// a member those readers see and the directory hides: a finding, and its data is analysed by
/// what its local header says. The walk stops where the records stop (at the central
/// directory), at a record whose length only decoding would tell, or at the member limit.
fn local_records(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    entries: &[Entry],
    located: &[Located],
    base: u64,
    depth: u32,
) {
    let referenced: HashMap<u64, usize> = located.iter().map(|p| (p.header_at, p.entry)).collect();
    let len = blob.len().unwrap_or(0);
    let max_members = cx.limits().max_members;
    if entries.len() as u64 >= max_members {
        // The directory was read only to the limit (a finding says so): the records past it
        // are not hidden, just not read.
        return;
    }
    let mut at = base;
    for _ in 0..max_members.saturating_add(1) {
        let Ok(header) = blob.exact_at(at, 30) else {
            return;
        };
        if !header.starts_with(b"PK\x03\x04") {
            return;
        }
        let flags = u16_at(&header, 6);
        let name_len = u64::from(u16_at(&header, 26));
        let extra_len = u64::from(u16_at(&header, 28));
        let data_at = at + 30 + name_len + extra_len;
        let next = if let Some(&index) = referenced.get(&at) {
            // The directory's sizes are the ones a reader of this record trusts too.
            data_at.checked_add(entries[index].compressed)
        } else {
            let name = blob
                .exact_at(at + 30, name_len as usize)
                .map(|n| String::from_utf8_lossy(&n).into_owned())
                .unwrap_or_default();
            let extra = blob
                .exact_at(at + 30 + name_len, extra_len as usize)
                .unwrap_or_default();
            let mut compressed = u64::from(u32_at(&header, 18));
            let mut uncompressed = u64::from(u32_at(&header, 22));
            let mut unused = 0;
            zip64_extra(&extra, &mut uncompressed, &mut compressed, &mut unused);
            let inner = loc.member(name.clone());
            if flags & 8 != 0 && compressed == 0 {
                cx.finding(
                    Finding::new(
                        &ZIP_UNREFERENCED_LOCAL_RECORD,
                        format!("a local record at offset {at} is not in the central directory, and its length is given only after its data; it was not analysed"),
                        inner,
                    )
                    .with_detail("offset", at.to_string()),
                );
                return;
            }
            cx.finding(
                Finding::new(
                    &ZIP_UNREFERENCED_LOCAL_RECORD,
                    format!("a local record at offset {at} is not in the central directory: streaming readers see this member, directory readers do not; it was analysed"),
                    inner,
                )
                .with_detail("offset", at.to_string()),
            );
            let entry = Entry {
                name,
                flags,
                method: u16_at(&header, 8),
                crc: u32_at(&header, 14),
                compressed,
                uncompressed,
                local_offset: at - base,
            };
            let data_end = data_at.saturating_add(compressed);
            let place = Located {
                entry: usize::MAX,
                header_at: at,
                data_at: data_at.min(len),
                data_end: data_end.min(len),
                truncated: data_end > len,
            };
            let hint = NameHint::from_name(&entry.name);
            member(cx, blob, loc, &entry, &place, hint, depth);
            data_at.checked_add(compressed)
        };
        let Some(mut next) = next else {
            return;
        };
        if flags & 8 != 0 {
            // A data descriptor: its signature is optional; ZIP64 sizes make it 8 bytes longer.
            next += match blob.exact_at(next, 4) {
                Ok(sig) if sig == b"PK\x07\x08" => {
                    let short =
                        matches!(blob.exact_at(next + 16, 4), Ok(s) if s.starts_with(b"PK"));
                    if short { 16 } else { 24 }
                }
                _ => 12,
            };
        }
        if next <= at {
            return;
        }
        at = next;
    }
    cx.finding(Finding::new(
        &CONTAINER_BUDGET_EXCEEDED,
        format!("more than {max_members} local records; the rest were not walked"),
        loc.clone(),
    ));
}

/// What the end records say, as `zipfile` reads them.
struct End {
    count: u64,
    cd_size: u64,
    cd_offset: u64,
    /// Where the central directory ends: the end record, or the ZIP64 end record before it.
    cd_end: u64,
}

/// Finds the end record as `zipfile._EndRecData` does: the last 22 bytes when they are an
/// end record without a comment; otherwise the last signature in the final 64 KiB, which
/// must leave room for a whole record. Then `_EndRecData64`: a ZIP64 locator right before
/// it, and a ZIP64 end record right before the locator (where `zipfile` looks; PyTorch's
/// miniz follows the locator's offset, tried next); neither there, the 32-bit record counts.
fn end_record(blob: &Blob<'_>, len: u64) -> io::Result<Option<End>> {
    let tail_len = len.min(EOCD_LEN + MAX_COMMENT);
    if tail_len < EOCD_LEN {
        return Ok(None);
    }
    let tail = blob.exact_at(len - tail_len, tail_len as usize)?;
    let last = tail.len() - EOCD_LEN as usize;
    let at = if tail[last..].starts_with(EOCD) && tail[tail.len() - 2..] == [0, 0] {
        last
    } else {
        match tail
            .windows(4)
            .rposition(|w| w == EOCD)
            .filter(|at| tail.len() - at >= EOCD_LEN as usize)
        {
            Some(at) => at,
            None => return Ok(None),
        }
    };
    let eocd_pos = len - tail_len + at as u64;
    let eocd = &tail[at..];
    let mut end = End {
        count: u64::from(u16_at(eocd, 10)),
        cd_size: u64::from(u32_at(eocd, 12)),
        cd_offset: u64::from(u32_at(eocd, 16)),
        cd_end: eocd_pos,
    };
    let Some(locator_pos) = eocd_pos.checked_sub(20) else {
        return Ok(Some(end));
    };
    let locator = blob.exact_at(locator_pos, 20)?;
    if !locator.starts_with(b"PK\x06\x07") {
        return Ok(Some(end));
    }
    let candidates = [locator_pos.checked_sub(56), Some(u64_at(&locator, 8))];
    for record_pos in candidates.into_iter().flatten() {
        if record_pos.checked_add(56).is_none_or(|e| e > len) {
            continue;
        }
        let rec = blob.exact_at(record_pos, 56)?;
        if rec.starts_with(b"PK\x06\x06") {
            end.count = u64_at(&rec, 32);
            end.cd_size = u64_at(&rec, 40);
            end.cd_offset = u64_at(&rec, 48);
            end.cd_end = record_pos;
            break;
        }
    }
    Ok(Some(end))
}

/// Whether `blob` ends like a zip whose central directory `zipfile` would find: a zip after
/// other data (a pickle, a prefix), which `zipfile.ZipFile` opens whatever comes first.
pub(crate) fn has_central_directory(blob: &Blob<'_>) -> bool {
    let Some(len) = blob.len() else {
        return false;
    };
    let Ok(Some(end)) = end_record(blob, len) else {
        return false;
    };
    if end.cd_size < 46 || end.cd_size > MAX_CENTRAL_DIRECTORY || end.cd_size > end.cd_end {
        return false;
    }
    let start = end.cd_end - end.cd_size;
    matches!(blob.exact_at(start, 4), Ok(sig) if sig == b"PK\x01\x02")
}

/// Scans `blob` as a zip, for content another reader claimed first.
pub(crate) fn scan_also(cx: &mut Cx<'_>, blob: &Blob<'_>, loc: &Location, depth: u32) {
    if let Err(err) = scan_archive(cx, blob, loc, depth) {
        cx.io_finding(loc, &ZIP_MALFORMED, &err);
    }
}

/// Reads the end record (ZIP64 too) and the central directory. Returns the entries and the
/// offset that member offsets are relative to (non-zero when data was prepended).
fn central_directory(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    len: u64,
) -> io::Result<Option<(Vec<Entry>, u64)>> {
    let Some(end) = end_record(blob, len)? else {
        malformed(
            cx,
            loc,
            "no end of central directory record: the archive is truncated or not a zip".into(),
        );
        return Ok(None);
    };
    let End {
        count,
        cd_size,
        cd_offset,
        cd_end,
    } = end;
    // Data prepended to an archive shifts every offset; zipfile corrects for it the same way.
    let base = cd_end
        .checked_sub(cd_size)
        .and_then(|start| start.checked_sub(cd_offset))
        .unwrap_or(0);
    if cd_size > MAX_CENTRAL_DIRECTORY {
        cx.finding(Finding::new(
            &CONTAINER_BUDGET_EXCEEDED,
            format!("central directory of {cd_size} bytes exceeds the limit of {MAX_CENTRAL_DIRECTORY}; members were not analysed"),
            loc.clone(),
        ));
        return Ok(None);
    }
    // The directory must lie inside the file before anything is allocated for it.
    let cd_start = base.checked_add(cd_offset);
    let fits = cd_start
        .and_then(|start| start.checked_add(cd_size))
        .is_some_and(|end| end <= len);
    let cd = match cd_start.filter(|_| fits) {
        Some(start) => blob.exact_at(start, cd_size as usize)?,
        None => {
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
                &CONTAINER_BUDGET_EXCEEDED,
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
            uncompressed,
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
                if *field == 0xffff_ffff
                    && let Some(v) = body.get(at..at + 8)
                {
                    *field = u64_at(v, 0);
                    at += 8;
                }
            }
            return;
        }
        extra = &extra[4 + size..];
    }
}

/// Reads an entry's local header: checks its name against the central directory's and finds
/// where its data lies. `None` (with a finding) when there is no local record to read.
fn locate(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    index: usize,
    entry: &Entry,
    base: u64,
) -> Option<Located> {
    let inner = loc.member(entry.name.clone());
    let Some(at) = base.checked_add(entry.local_offset) else {
        malformed(
            cx,
            &inner,
            "the member's local header offset overflows; the member was not analysed".into(),
        );
        return None;
    };
    let header = match blob.exact_at(at, 30) {
        Ok(h) if h.starts_with(b"PK\x03\x04") => h,
        _ => {
            malformed(
                cx,
                &inner,
                format!("no local header at offset {at}; the member was not analysed"),
            );
            return None;
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
                &ZIP_NAME_MISMATCH,
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
    let len = blob.len().unwrap_or(0);
    let Some(data_end) = data_at
        .checked_add(entry.compressed)
        .filter(|_| data_at <= len)
    else {
        malformed(
            cx,
            &inner,
            "the member's data runs past the end of the archive".into(),
        );
        return None;
    };
    // zipfile reads a member's data up to the end of the file and fails there: what it read
    // by then is what a loader unpickles before the error.
    let truncated = data_end > len;
    if truncated {
        malformed(
            cx,
            &inner,
            "the member's data runs past the end of the archive; the bytes present were analysed"
                .into(),
        );
    }
    Some(Located {
        entry: index,
        header_at: at,
        data_at,
        data_end: data_end.min(len),
        truncated,
    })
}

/// Finds entries whose data overlaps another's: a finding names them, and for each local
/// record the entry whose scan covers it is returned (the first that points at it), so that
/// bytes many entries share are scanned once.
fn overlaps(
    cx: &mut Cx<'_>,
    entries: &[Entry],
    located: &[Located],
    loc: &Location,
) -> HashMap<u64, usize> {
    let mut first_at: HashMap<u64, usize> = HashMap::new();
    for place in located {
        first_at.entry(place.header_at).or_insert(place.entry);
    }
    let mut by_start: Vec<&Located> = located.iter().collect();
    by_start.sort_by_key(|p| (p.header_at, p.entry));
    let mut overlapping = 0u64;
    let mut example: Option<(usize, usize)> = None;
    let mut reach: Option<(u64, usize)> = None;
    for place in by_start {
        if let Some((end, owner)) = reach
            && place.header_at < end
        {
            overlapping += 1;
            example.get_or_insert((owner, place.entry));
        }
        if reach.is_none_or(|(end, _)| place.data_end > end) {
            reach = Some((place.data_end, place.entry));
        }
    }
    if let Some((a, b)) = example {
        cx.finding(
            Finding::new(
                &ZIP_OVERLAPPING_ENTRIES,
                format!(
                    "{overlapping} member(s) share or overlap the data of others (first: {:?} and {:?}); shared bytes were scanned once",
                    entries[a].name, entries[b].name
                ),
                loc.clone(),
            )
            .with_detail("overlapping", overlapping.to_string()),
        );
    }
    first_at
}

fn member(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    entry: &Entry,
    place: &Located,
    hint: NameHint,
    depth: u32,
) {
    if entry.flags & 1 == 0 {
        member_data(cx, blob, loc, entry, place, hint, depth);
        return;
    }
    // Flagged encrypted. PyTorch ignores the flag, so the bytes are analysed as they are; if
    // nothing in them can be read, they really are encrypted and no loader can read them either.
    let inner = loc.member(entry.name.clone());
    let (findings, scanned) = (cx.out.findings.len(), cx.out.scanned.len());
    member_data(cx, blob, loc, entry, place, hint, depth);
    let readable = cx.out.scanned[scanned..].iter().any(|s| s.format != "data");
    let only_noise = cx.out.findings[findings..]
        .iter()
        .all(|f| ENCRYPTION_NOISE.contains(&f.rule.as_str()));
    if !readable && only_noise {
        cx.out.findings.truncate(findings);
        cx.out.scanned.truncate(scanned);
        cx.out.findings.push(
            Finding::new(
                &ZIP_ENCRYPTED_ENTRY,
                "the member is encrypted: its bytes are no format any loader reads without the password, so it was not analysed",
                inner,
            )
            .with_severity(Severity::Low),
        );
        return;
    }
    let message = if entry.method == 0 {
        "the member is flagged encrypted but stored in the clear; analysed anyway, as PyTorch ignores the flag"
    } else {
        "the member is flagged encrypted, yet its bytes can be read; analysed as they are"
    };
    cx.out
        .findings
        .insert(findings, Finding::new(&ZIP_ENCRYPTED_ENTRY, message, inner));
}

/// What encrypted bytes produce when read as if they were not.
const ENCRYPTION_NOISE: &[&str] = &[
    "compression-corrupt",
    "zip-bad-crc",
    "zip-unsupported-compression",
    "format-unrecognized",
    "pickle-malformed",
];

fn member_data(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    entry: &Entry,
    place: &Located,
    hint: NameHint,
    depth: u32,
) {
    let inner = loc.member(entry.name.clone());
    let Some(raw) = blob.slice(place.data_at, place.data_end - place.data_at) else {
        malformed(
            cx,
            &inner,
            "the member's data runs past the end of the archive".into(),
        );
        return;
    };
    let codec = match entry.method {
        0 => None,
        8 => Some(Codec::Deflate),
        12 => Some(Codec::Bzip2),
        14 => Some(Codec::ZipLzma),
        93 => Some(Codec::Zstd),
        other => {
            cx.finding(
                Finding::new(
                    &ZIP_UNSUPPORTED_COMPRESSION,
                    format!("the member uses compression method {other}, which aigate does not decode; it was not analysed"),
                    inner.clone(),
                )
                .with_detail("method", other.to_string()),
            );
            return;
        }
    };
    let Some(codec) = codec else {
        if hint != NameHint::RawData
            && !place.truncated
            && entry.compressed <= CRC_CHECK_MAX
            && let Ok(crc) = crc_of(&raw)
        {
            check_crc(cx, crc, entry, &inner);
        }
        cx.scan(&raw, &inner, hint, depth + 1);
        return;
    };
    let decoded = cx.decoded(&raw, codec);
    if entry.uncompressed > IN_MEMORY_MEMBER || place.truncated {
        cx.scan(&decoded, &inner, hint, depth + 1);
        return;
    }
    match decoded.materialize(entry.uncompressed) {
        Ok(data) => {
            check_crc(cx, crc32fast::hash(&data), entry, &inner);
            cx.scan(&Blob::Memory(&data), &inner, hint, depth + 1);
        }
        Err(err) if crate::source::over_limit(&err) == Some(entry.uncompressed) => {
            malformed(
                cx,
                &inner,
                format!(
                    "the member decodes to more than the {} bytes the central directory declares; analysed as a stream",
                    entry.uncompressed
                ),
            );
            cx.scan(&decoded, &inner, hint, depth + 1);
        }
        Err(err) => cx.io_finding(&inner, &COMPRESSION_CORRUPT, &err),
    }
}

fn crc_of(content: &Blob<'_>) -> io::Result<u32> {
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = content.open()?;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&buf[..n]);
    }
}

fn check_crc(cx: &mut Cx<'_>, crc: u32, entry: &Entry, inner: &Location) {
    if crc != entry.crc {
        cx.finding(Finding::new(
            &ZIP_BAD_CRC,
            format!(
                "the content's CRC-32 is {crc:08x} but the central directory records {:08x}",
                entry.crc
            ),
            inner.clone(),
        ));
    }
}
