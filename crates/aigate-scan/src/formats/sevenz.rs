//! 7z archives, as 7-Zip's `7zFormat.txt` describes them, read with the pure-Rust
//! `sevenz-rust2` crate: the listing from the header (plain or LZMA-encoded), then every block
//! decoded in order (solid blocks hold many members back to back), each member's bytes handed
//! back to the dispatcher like a zip's.
//!
//! Bounds: a compressed header's declared size is read first and checked against the
//! archive's size ([`HEADER_PER_BYTE`]; the crate bounds every count by the header's length,
//! so what it allocates is bounded by it); decoders get the dictionary limit of xz and lzma
//! streams; a member is checked against the limits by its
//! declared size before it is decoded, and decoded into memory through the file's budget, so
//! that what the archive declares cannot make aigate allocate or decode past the limits. A
//! member that cannot be analysed (encrypted, an unknown coder, past a limit, after a decoding
//! error in its solid block) is a finding; so is a listing that cannot be read.

use std::io::{self, Read, Seek, SeekFrom};

use aigate_report::{Finding, Location, Rule, Severity};
use sevenz_rust2::{Archive, BlockDecoder, EncoderMethod, Error as SevenZError, Password};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::{
    CONTAINER_BUDGET_EXCEEDED, SEVENZ_ENCRYPTED_ENTRY, SEVENZ_ENCRYPTED_HEADER, SEVENZ_MALFORMED,
    SEVENZ_UNSUPPORTED_COMPRESSION,
};
use crate::source::{self, Blob, LZMA_MEMORY_KIB};

/// The signature every 7z archive starts with.
const SIGNATURE: &[u8] = b"7z\xbc\xaf\x27\x1c";
/// The signature header: signature, version, start header CRC, next header offset, size, CRC.
const SIGNATURE_HEADER: usize = 32;
/// The most an encoded header may declare it decodes to, for each byte of the archive (and
/// at least [`MIN_HEADER`]): real headers (names, sizes, CRCs) compress far less than this.
/// The crate allocates about 100 bytes per member a header declares and declares no more
/// members than the header has bytes, so this bounds what a hostile header costs.
const HEADER_PER_BYTE: u64 = 64;
/// The least an encoded header may decode to, whatever the archive's size.
const MIN_HEADER: u64 = 1 << 20;
/// The most any header may take: the crate's memory limit (headers and dictionaries alike).
const MAX_HEADER: u64 = LZMA_MEMORY_KIB as u64 * 1024;
/// Bytes of an encoded header's record read to find what it decodes to (a few dozen in
/// practice).
const ENCODED_RECORD: u64 = 4096;

/// The coders aigate decodes (with `sevenz-rust2`'s `bzip2` and `ppmd` features): what 7-Zip
/// and py7zr write by default (LZMA2 after a BCJ filter), LZMA, PPMd, BZip2 and the filters.
const DECODED: &[&[u8]] = &[
    EncoderMethod::ID_COPY,
    EncoderMethod::ID_LZMA,
    EncoderMethod::ID_LZMA2,
    EncoderMethod::ID_PPMD,
    EncoderMethod::ID_BZIP2,
    EncoderMethod::ID_DELTA,
    EncoderMethod::ID_BCJ_X86,
    EncoderMethod::ID_BCJ2,
    EncoderMethod::ID_BCJ_PPC,
    EncoderMethod::ID_BCJ_IA64,
    EncoderMethod::ID_BCJ_ARM,
    EncoderMethod::ID_BCJ_ARM64,
    EncoderMethod::ID_BCJ_ARM_THUMB,
    EncoderMethod::ID_BCJ_SPARC,
    EncoderMethod::ID_BCJ_RISCV,
];

/// The 7z reader.
pub(crate) struct SevenZ;

impl FormatScanner for SevenZ {
    fn name(&self) -> &'static str {
        "7z"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[SIGNATURE]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.head.starts_with(SIGNATURE)
    }

    fn malformed_rule(&self) -> &'static Rule {
        &SEVENZ_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        if input.blob.len().is_none() {
            // A 7z inside a compressed stream: its header is at the end, so it is read whole.
            let data = input.blob.materialize(cx.limits().max_in_memory)?;
            return scan_archive(cx, &Blob::Memory(&data), input.loc, input.depth);
        }
        scan_archive(cx, input.blob, input.loc, input.depth)
    }
}

/// A random-access blob as the `Read + Seek` source the crate reads.
struct Source<'a, 'b> {
    blob: &'a Blob<'b>,
    len: u64,
    pos: u64,
}

impl Read for Source<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.blob.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Source<'_, '_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}

fn malformed(cx: &mut Cx<'_>, loc: &Location, message: String) {
    cx.finding(Finding::new(&SEVENZ_MALFORMED, message, loc.clone()));
}

/// The crate's error, in the words of a finding.
fn describe(err: &SevenZError) -> String {
    let text = match err {
        SevenZError::Io(e, context) if context.is_empty() => e.to_string(),
        SevenZError::Io(e, context) => format!("{context}: {e}"),
        SevenZError::Other(what) | SevenZError::Unsupported(what) => what.to_string(),
        SevenZError::ChecksumVerificationFailed => "a CRC-32 does not match".to_owned(),
        SevenZError::NextHeaderCrcMismatch => "the header's CRC-32 does not match".to_owned(),
        other => format!("{other:?}"),
    };
    text.to_lowercase()
}

/// Whether a block's coders include AES.
fn encrypted(coders: &[sevenz_rust2::Coder]) -> bool {
    coders
        .iter()
        .any(|c| c.encoder_method_id() == EncoderMethod::ID_AES256_SHA256)
}

/// The first coder of a block aigate does not decode, by name.
fn unsupported(coders: &[sevenz_rust2::Coder]) -> Option<String> {
    coders
        .iter()
        .map(|c| c.encoder_method_id())
        .find(|id| !DECODED.contains(id))
        .map(|id| match EncoderMethod::by_id(id) {
            Some(method) => method.name().to_owned(),
            None => format!("id {id:02x?}"),
        })
}

/// What became of a member.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not reached yet.
    Pending,
    /// Analysed, or reported.
    Done,
}

fn scan_archive(cx: &mut Cx<'_>, blob: &Blob<'_>, loc: &Location, depth: u32) -> io::Result<()> {
    let len = blob.len().unwrap_or(0);
    cx.scanned(loc, SevenZ.name(), SevenZ.version(), len);
    let start = blob.head(SIGNATURE_HEADER)?;
    if start.len() < SIGNATURE_HEADER {
        malformed(
            cx,
            loc,
            "the signature header is cut short; nothing could be listed".into(),
        );
        return Ok(());
    }
    // 7-Zip writes the start header last: all zeros, the archive was never finished, and the
    // crate would search the last MiB for a header, trying every byte that could start one.
    if start[8..].iter().all(|b| *b == 0) {
        malformed(
            cx,
            loc,
            "the start header is blank: the archive was never finished, so its listing cannot be found; members were not analysed".into(),
        );
        return Ok(());
    }
    let declared_crc = u32::from_le_bytes([start[8], start[9], start[10], start[11]]);
    let next_header_size = u64::from_le_bytes(start[20..28].try_into().unwrap_or([0xff; 8]));
    if next_header_size == 0 && crc32fast::hash(&start[12..]) == declared_crc {
        // An empty archive, as 7-Zip writes one: no header at all.
        return Ok(());
    }
    let next_header_offset = u64::from_le_bytes(start[12..20].try_into().unwrap_or([0xff; 8]));
    match encoded_header_size(blob, len, next_header_offset, next_header_size) {
        Ok(None) => {}
        Ok(Some(size)) => {
            let cap = len
                .saturating_mul(HEADER_PER_BYTE)
                .clamp(MIN_HEADER, MAX_HEADER);
            if size > cap {
                cx.finding(
                    Finding::new(
                        &CONTAINER_BUDGET_EXCEEDED,
                        format!(
                            "the archive's compressed header declares {size} bytes, more than the limit of {cap} for an archive of {len} bytes; members were not analysed"
                        ),
                        loc.clone(),
                    )
                    .with_detail("limit", cap.to_string()),
                );
                return Ok(());
            }
        }
        Err(what) => {
            malformed(
                cx,
                loc,
                format!("the archive's header cannot be read ({what}); members were not analysed"),
            );
            return Ok(());
        }
    }
    let mut source = Source { blob, len, pos: 0 };
    let archive = match Archive::read_with_memory_limit(
        &mut source,
        &Password::empty(),
        LZMA_MEMORY_KIB as usize,
    ) {
        Ok(archive) => archive,
        Err(SevenZError::UnsupportedCompressionMethod(method)) if method.contains("AES") => {
            cx.finding(Finding::new(
                &SEVENZ_ENCRYPTED_HEADER,
                "the archive's header is encrypted: without the password not even its listing can be read, so nothing in it was analysed",
                loc.clone(),
            ));
            return Ok(());
        }
        Err(SevenZError::MaxMemLimited { actaul_kb, .. }) => {
            cx.finding(
                Finding::new(
                    &CONTAINER_BUDGET_EXCEEDED,
                    format!(
                        "the archive needs {actaul_kb} KiB to read its header, more than the limit of {LZMA_MEMORY_KIB} KiB; members were not analysed"
                    ),
                    loc.clone(),
                )
                .with_detail("limit", MAX_HEADER.to_string()),
            );
            return Ok(());
        }
        Err(err) => {
            malformed(
                cx,
                loc,
                format!(
                    "the archive's header cannot be read ({}); members were not analysed",
                    describe(&err)
                ),
            );
            return Ok(());
        }
    };
    members(cx, &archive, &mut source, loc, depth);
    Ok(())
}

/// A reader of 7z header records (`7zFormat.txt`), bounded by the bytes it was given.
struct Record<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Record<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| "the header record is cut short".to_owned())?;
        self.at += 1;
        Ok(b)
    }

    /// A 7z NUMBER: the first byte's high bits say how many bytes follow.
    fn number(&mut self) -> Result<u64, String> {
        let first = self.byte()?;
        let mut value = 0u64;
        for i in 0..8 {
            let mask = 0x80u8 >> i;
            if first & mask == 0 {
                let high = u64::from(first & mask.wrapping_sub(1));
                return Ok(value | (high << (8 * i)));
            }
            value |= u64::from(self.byte()?) << (8 * i);
        }
        Ok(value)
    }

    /// A count of things that each take at least one byte of what is left.
    fn count(&mut self) -> Result<usize, String> {
        let n = self.number()?;
        if n > (self.bytes.len() - self.at) as u64 {
            return Err(format!("a count of {n} runs past the header record"));
        }
        Ok(n as usize)
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        let end = u64::try_from(self.at)
            .ok()
            .and_then(|at| at.checked_add(n))
            .filter(|end| *end <= self.bytes.len() as u64)
            .ok_or_else(|| "a field runs past the header record".to_owned())?;
        self.at = end as usize;
        Ok(())
    }

    /// A digests record for `n` items: an all-defined byte, else a bit field, then CRCs.
    fn digests(&mut self, n: usize) -> Result<(), String> {
        let defined = if self.byte()? == 0 {
            let bits = self
                .bytes
                .get(self.at..self.at + n.div_ceil(8))
                .ok_or("a bit field runs past the header record")?;
            self.at += n.div_ceil(8);
            bits.iter().map(|b| b.count_ones() as u64).sum()
        } else {
            n as u64
        };
        self.skip(defined * 4)
    }
}

/// What an encoded (compressed) header declares it decodes to, read from its streams record
/// before anything is decoded: the largest unpack size of its folders. `None` for a plain
/// header, which lies in the file whole.
fn encoded_header_size(
    blob: &Blob<'_>,
    len: u64,
    offset: u64,
    size: u64,
) -> Result<Option<u64>, String> {
    let at = (SIGNATURE_HEADER as u64)
        .checked_add(offset)
        .filter(|at| at.checked_add(size).is_some_and(|end| end <= len))
        .ok_or_else(|| {
            format!("the next header ({size} bytes at offset {offset}) lies outside the file")
        })?;
    let mut buf = vec![0; size.min(ENCODED_RECORD) as usize];
    let got = blob.read_at(at, &mut buf).map_err(|e| e.to_string())?;
    buf.truncate(got);
    let mut r = Record { bytes: &buf, at: 0 };
    if buf.first() != Some(&0x17) {
        return Ok(None);
    }
    r.at = 1;
    let mut largest = None;
    loop {
        match r.byte()? {
            0x00 => return Ok(largest),
            // Pack info: position, stream count, then sizes and CRCs.
            0x06 => {
                r.number()?;
                let streams = r.count()?;
                loop {
                    match r.byte()? {
                        0x00 => break,
                        0x09 => {
                            for _ in 0..streams {
                                r.number()?;
                            }
                        }
                        0x0a => r.digests(streams)?,
                        other => return Err(format!("property {other:#x} in the pack info")),
                    }
                }
            }
            // Unpack info: the folders, then every output's unpack size.
            0x07 => {
                if r.byte()? != 0x0b {
                    return Err("the unpack info lists no folders".into());
                }
                let folders = r.count()?;
                if r.byte()? != 0 {
                    return Err("folders stored elsewhere".into());
                }
                let mut outputs = Vec::with_capacity(folders);
                for _ in 0..folders {
                    outputs.push(folder_outputs(&mut r)?);
                }
                if r.byte()? != 0x0c {
                    return Err("the unpack info gives no sizes".into());
                }
                for n in outputs {
                    for _ in 0..n {
                        let size = r.number()?;
                        largest = Some(largest.map_or(size, |l: u64| l.max(size)));
                    }
                }
                // Its CRCs and the rest do not bear on the size.
                return Ok(largest);
            }
            other => return Err(format!("property {other:#x} in the encoded header")),
        }
    }
}

/// Reads one folder record; returns how many output streams it has.
fn folder_outputs(r: &mut Record<'_>) -> Result<u64, String> {
    let coders = r.count()?;
    if coders == 0 || coders > 64 {
        return Err(format!("a folder of {coders} coders"));
    }
    let (mut ins, mut outs) = (0u64, 0u64);
    for _ in 0..coders {
        let flags = r.byte()?;
        if flags & 0x80 != 0 {
            return Err("a coder with alternative methods".into());
        }
        r.skip(u64::from(flags & 0x0f))?;
        let (i, o) = if flags & 0x10 != 0 {
            (r.number()?, r.number()?)
        } else {
            (1, 1)
        };
        if i > 64 || o > 64 {
            return Err("a coder with more than 64 streams".into());
        }
        ins += i;
        outs += o;
        if flags & 0x20 != 0 {
            let props = r.number()?;
            r.skip(props)?;
        }
    }
    let pairs = outs.checked_sub(1).ok_or("a folder without outputs")?;
    for _ in 0..pairs {
        r.number()?;
        r.number()?;
    }
    let packed = ins
        .checked_sub(pairs)
        .ok_or("a folder with more bind pairs than inputs")?;
    if packed > 1 {
        for _ in 0..packed {
            r.number()?;
        }
    }
    Ok(outs)
}

/// The name findings give a member: 7-Zip names an unnamed one after the archive.
fn member_name(entry: &sevenz_rust2::ArchiveEntry) -> String {
    if entry.name.is_empty() {
        "[unnamed]".to_owned()
    } else {
        entry.name.clone()
    }
}

fn members(
    cx: &mut Cx<'_>,
    archive: &Archive,
    source: &mut Source<'_, '_>,
    loc: &Location,
    depth: u32,
) {
    let files = &archive.files;
    let max_members = cx.limits().max_members;
    if files.len() as u64 > max_members {
        cx.finding(Finding::new(
            &CONTAINER_BUDGET_EXCEEDED,
            format!(
                "the archive lists {} members, more than the limit of {max_members}; members were not analysed",
                files.len()
            ),
            loc.clone(),
        ));
        return;
    }
    let mut state = vec![State::Pending; files.len()];
    // A member decodes into memory: its declared size must fit before anything is decoded.
    let cap = cx.limits().max_in_memory.min(cx.limits().max_decoded_bytes);
    for (i, file) in files.iter().enumerate() {
        if file.has_stream && file.size > cap {
            cx.finding(
                Finding::new(
                    &CONTAINER_BUDGET_EXCEEDED,
                    format!(
                        "the member declares {} bytes, more than the limit of {cap} aigate decodes of one member; it was not analysed",
                        file.size
                    ),
                    loc.member(member_name(file)),
                )
                .with_detail("limit", cap.to_string()),
            );
            state[i] = State::Done;
        }
    }
    let budget = cx.budget();
    let mut by_block: Vec<Vec<usize>> = vec![Vec::new(); archive.blocks.len()];
    for (i, block) in archive.stream_map.file_block_index.iter().enumerate() {
        if let Some(list) = block.and_then(|b| by_block.get_mut(b))
            && files.get(i).is_some_and(|f| f.has_stream)
        {
            list.push(i);
        }
    }
    let password = Password::empty();
    let firsts = &archive.stream_map.block_first_file_index;
    for (block_index, block) in archive.blocks.iter().enumerate() {
        let Some(&first) = firsts.get(block_index) else {
            break;
        };
        let mine = &by_block[block_index];
        if encrypted(&block.coders) {
            for &i in mine {
                if state[i] == State::Pending {
                    cx.finding(
                        Finding::new(
                            &SEVENZ_ENCRYPTED_ENTRY,
                            "the member is encrypted (AES): no loader reads it without the password, so it was not analysed",
                            loc.member(member_name(&files[i])),
                        )
                        .with_severity(Severity::Low),
                    );
                    state[i] = State::Done;
                }
            }
            continue;
        }
        if let Some(method) = unsupported(&block.coders) {
            for &i in mine {
                if state[i] == State::Pending {
                    cx.finding(
                        Finding::new(
                            &SEVENZ_UNSUPPORTED_COMPRESSION,
                            format!("the member is compressed with {method}, which aigate does not decode; it was not analysed"),
                            loc.member(member_name(&files[i])),
                        )
                        .with_detail("method", method.clone()),
                    );
                    state[i] = State::Done;
                }
            }
            continue;
        }
        let decoder = BlockDecoder::new_with_memory_limit(
            1,
            LZMA_MEMORY_KIB as usize,
            block_index,
            archive,
            &password,
            source,
        );
        let mut next = first;
        // Why the rest of the block was not read, when something stopped it.
        let mut stopped: Option<(&'static Rule, String)> = None;
        let result = decoder.for_each_entries(&mut |entry, reader| {
            let i = next;
            next += 1;
            if !entry.has_stream || entry.is_directory || entry.is_anti_item {
                return Ok(true);
            }
            if state.get(i) != Some(&State::Pending) {
                // Declared too large: decoding past it would cost what the limit refuses.
                stopped = Some((
                    &CONTAINER_BUDGET_EXCEEDED,
                    format!("an earlier member of its solid block ({:?}) is past a limit", entry.name),
                ));
                return Ok(false);
            }
            state[i] = State::Done;
            let inner = loc.member(member_name(entry));
            let mut data = Vec::new();
            let read = source::bounded(reader, cap, budget).read_to_end(&mut data);
            let hint = NameHint::from_name(&entry.name);
            match read {
                Ok(_) => {
                    cx.scan(&Blob::Memory(&data), &inner, hint, depth + 1);
                    Ok(true)
                }
                Err(err) => {
                    // What decoded before the error is what an extractor writes before it
                    // fails: it is analysed, and the rest of the block is not read.
                    let rule = if source::over_limit(&err).is_some() {
                        &CONTAINER_BUDGET_EXCEEDED
                    } else {
                        &SEVENZ_MALFORMED
                    };
                    cx.io_finding(&inner, rule, &err);
                    cx.scan(&Blob::Memory(&data), &inner, hint, depth + 1);
                    stopped = Some((rule, format!("an earlier member of its solid block ({:?}) could not be read to its end", entry.name)));
                    Ok(false)
                }
            }
        });
        if let Err(err) = result {
            stopped = Some((
                &SEVENZ_MALFORMED,
                format!("its block cannot be decoded ({})", describe(&err)),
            ));
            malformed(
                cx,
                loc,
                format!("block {block_index} cannot be decoded: {}", describe(&err)),
            );
        }
        if let Some((rule, why)) = stopped {
            for &i in mine {
                if state[i] == State::Pending {
                    cx.finding(Finding::new(
                        rule,
                        format!("the member was not analysed: {why}"),
                        loc.member(member_name(&files[i])),
                    ));
                    state[i] = State::Done;
                }
            }
        }
    }
    for (i, file) in files.iter().enumerate() {
        if state[i] != State::Pending || file.is_directory || file.is_anti_item {
            continue;
        }
        let inner = loc.member(member_name(file));
        if file.has_stream {
            // Listed with data, yet in no block the archive has.
            malformed(
                cx,
                &inner,
                "the member's data lies in no block of the archive; it was not analysed".into(),
            );
        } else {
            // An empty file: what a loader reads is nothing, judged like any empty member.
            cx.scan(
                &Blob::Memory(&[]),
                &inner,
                NameHint::from_name(&file.name),
                depth + 1,
            );
        }
    }
}
