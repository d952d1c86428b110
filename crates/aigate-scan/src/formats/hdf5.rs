//! HDF5 files, read as the HDF5 File Format Specification (version 3.0) lays them out and as
//! libhdf5 (behind `h5py`) finds them: the superblock at offset 0 or after a user block (512,
//! 1024, 2048, … bytes, as MATLAB v7.3 `.mat` files have), versions 0 to 3, then the root
//! group's object header (version 1, or version 2 `OHDR` with `OCHK` continuation chunks) and
//! its attribute messages (versions 1 to 3). Only what a loader reads before it builds anything
//! is read: the root attributes, with fixed-length strings inline and variable-length strings
//! from the global heap (`GCOL` collections). Datasets and groups below the root hold arrays and
//! are never read.
//!
//! Keras 2 and tf.keras save a whole model as HDF5 (`model.save("model.h5")`, also Keras 3's
//! legacy format): `load_model` reads the root attribute `model_config` (the model's layers as
//! JSON, in the layout of `{"class_name": "Sequential" | "Functional" | "Model", "config":
//! {"layers": [...]}}`) and `training_config` (loss, metrics and optimizer, compiled on load),
//! and deserialises every object they name. Those configurations are checked as a Keras 3
//! archive's `config.json` is ([`keras::walk`]): `Lambda` layers (marshalled bytecode, as a
//! `__lambda__` object or Keras 2's `[base64, defaults, closure]` tuple), objects resolved from
//! modules outside Keras (CVE-2025-1550), layers that load files or URLs, custom objects. An
//! HDF5 file without `model_config` is data (a weights file, a MATLAB v7.3 file, a dataset) and
//! is recorded as `hdf5`; one with it as `keras-h5`.
//!
//! Every offset and length is checked against the file before it is read, continuation chains
//! and message counts are bounded, and all reads of one file together are capped. What the
//! reader cannot follow fails closed: a broken structure is `hdf5-malformed`; attributes in
//! dense storage (a fractal heap, which libhdf5 uses past eight attributes in files written with
//! the newer format), shared messages and a Keras attribute of another type are
//! `hdf5-unscannable`.

use std::collections::HashMap;
use std::io;

use aigate_report::{Finding, Location, Rule, Step};
use serde_json::Value;

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff, keras};
use crate::rules::{HDF5_MALFORMED, HDF5_UNSCANNABLE, KERAS_MALFORMED};
use crate::source::Blob;

/// The format signature, at the start of the superblock.
pub(crate) const MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// The text a MATLAB v7.3 file's 512-byte user block starts with.
const MATLAB_73: &[u8] = b"MATLAB 7.3 MAT-file";

/// All bytes one file's reading may take (headers, attributes, heap collections).
const MAX_READ: u64 = 256 << 20;

/// The largest global heap collection read: a collection holds at least the one string it is
/// read for, so this bounds a `model_config` too (as a Keras archive's `config.json` is).
const MAX_COLLECTION: u64 = 64 << 20;

/// Object header chunks followed from the root (the first and its continuations).
const MAX_CHUNKS: usize = 64;

/// Messages read from the root's object header.
const MAX_MESSAGES: usize = 65_536;

/// Attributes that decide what a Keras loader builds.
const KERAS_ATTRIBUTES: &[&str] = &["model_config", "training_config"];

/// The HDF5 reader: `BY_CONTENT` claims files with the signature at the start or MATLAB's
/// v7.3 header; `BY_NAME` claims the rest of the files named `.h5` or `.hdf5`, whose
/// superblock may follow a user block the head does not reach.
pub(crate) struct Hdf5 {
    by_name: bool,
}

/// Files that show they are HDF5 in their first bytes.
pub(crate) static BY_CONTENT: Hdf5 = Hdf5 { by_name: false };

/// Files named `.h5` or `.hdf5` that no other reader claimed.
pub(crate) static BY_NAME: Hdf5 = Hdf5 { by_name: true };

impl FormatScanner for Hdf5 {
    fn name(&self) -> &'static str {
        "hdf5"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        if self.by_name { &[] } else { &[MAGIC] }
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        if self.by_name {
            input.hint == NameHint::Hdf5
        } else {
            input.head.starts_with(MAGIC) || input.head.starts_with(MATLAB_73)
        }
    }

    fn malformed_rule(&self) -> &'static Rule {
        &HDF5_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        if input.blob.len().is_none() {
            // Inside a compressed stream: random access needs it in memory.
            let data = input.blob.materialize(cx.limits().max_in_memory)?;
            return scan_blob(cx, &Blob::Memory(&data), input.loc);
        }
        scan_blob(cx, input.blob, input.loc)
    }
}

fn scan_blob(cx: &mut Cx<'_>, blob: &Blob<'_>, loc: &Location) -> io::Result<()> {
    let size = blob.len().unwrap_or(0);
    let read = read_root_attributes(blob)?;
    let mut keras = false;
    for attr in &read.attributes {
        if !KERAS_ATTRIBUTES.contains(&attr.name.as_str()) {
            continue;
        }
        keras |= attr.name == "model_config";
        let at = loc.step(Step::Field(attr.name.clone()));
        match &attr.value {
            AttrValue::Text(text) => keras_config(cx, loc, &attr.name, text),
            AttrValue::Other(what) => cx.finding(
                Finding::new(
                    &HDF5_UNSCANNABLE,
                    format!(
                        "the {} attribute is {what}, not a string aigate can read, so what the model loads is unknown",
                        attr.name
                    ),
                    at,
                )
                .with_detail("attribute", attr.name.clone()),
            ),
        }
    }
    match read.error {
        None => {
            let format = if keras { "keras-h5" } else { "hdf5" };
            cx.scanned(loc, format, BY_CONTENT.version(), size);
        }
        Some(Bad::Malformed(why)) => cx.finding(
            Finding::new(
                &HDF5_MALFORMED,
                format!("not a readable HDF5 file: {why}"),
                loc.clone(),
            )
            .with_detail("reason", why),
        ),
        Some(Bad::Unsupported(why)) => cx.finding(
            Finding::new(
                &HDF5_UNSCANNABLE,
                format!("the root group's attributes cannot all be read: {why}"),
                loc.clone(),
            )
            .with_detail("reason", why),
        ),
        Some(Bad::Io(err)) => return Err(err),
    }
    Ok(())
}

/// Checks the Keras configuration `text` of the attribute `name`; findings name the layer by
/// its path from the attribute (`model_config.config.layers[1]`).
fn keras_config(cx: &mut Cx<'_>, loc: &Location, name: &str, text: &[u8]) {
    match serde_json::from_slice::<Value>(text) {
        Ok(config) => keras::walk(cx, loc, &config, name),
        Err(err) => cx.finding(Finding::new(
            &KERAS_MALFORMED,
            format!("the {name} attribute is not JSON ({err}), so what the model loads is unknown"),
            loc.step(Step::Field(name.to_owned())),
        )),
    }
}

/// What stopped the reading.
#[derive(Debug)]
enum Bad {
    /// The structure is broken: an offset outside the file, a wrong signature, a short field.
    Malformed(String),
    /// A structure this reader does not follow, or a bound it reached.
    Unsupported(String),
    /// The bytes could not be read.
    Io(io::Error),
}

impl Bad {
    fn message(&self) -> String {
        match self {
            Bad::Malformed(why) | Bad::Unsupported(why) => why.clone(),
            Bad::Io(err) => err.to_string(),
        }
    }
}

fn malformed<T>(why: impl Into<String>) -> Result<T, Bad> {
    Err(Bad::Malformed(why.into()))
}

fn unsupported<T>(why: impl Into<String>) -> Result<T, Bad> {
    Err(Bad::Unsupported(why.into()))
}

/// A root attribute's value, as far as this reader goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AttrValue {
    /// One string, fixed- or variable-length, as a loader sees it (padding removed).
    Text(Vec<u8>),
    /// Anything else: numbers, arrays, several strings, a type this reader does not decode.
    Other(String),
}

#[derive(Debug)]
struct Attr {
    name: String,
    value: AttrValue,
}

/// The root attributes read before the reading stopped, and why it stopped.
struct Read {
    attributes: Vec<Attr>,
    error: Option<Bad>,
}

/// A forward reader over bytes already read, whose every shortfall is a malformed structure.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Cursor { buf, pos: 0, what }
    }

    fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        match self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
        {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => malformed(format!("the {} is cut short", self.what)),
        }
    }

    fn u8(&mut self) -> Result<u8, Bad> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Bad> {
        Ok(self.uint(2)? as u16)
    }

    fn u32(&mut self) -> Result<u32, Bad> {
        Ok(self.uint(4)? as u32)
    }

    /// A little-endian unsigned integer of `n` bytes (at most 8).
    fn uint(&mut self, n: usize) -> Result<u64, Bad> {
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

/// The file, once its superblock is found.
struct H5<'b> {
    blob: &'b Blob<'b>,
    len: u64,
    /// Where addresses count from: the superblock's position (libhdf5 moves the base address
    /// there when a user block comes first).
    base: u64,
    offset_size: usize,
    length_size: usize,
    spent: u64,
    collections: HashMap<u64, Collection>,
}

/// A global heap collection, read once, with where each of its objects lies.
struct Collection {
    data: Vec<u8>,
    /// Object index → (start, size) in `data`.
    objects: HashMap<u16, (usize, usize)>,
    /// Why the walk over its objects stopped early, if it did.
    broken: Option<String>,
}

impl<'b> H5<'b> {
    /// `n` bytes at the address `addr`.
    fn read(&mut self, addr: u64, n: u64, what: &str) -> Result<Vec<u8>, Bad> {
        let Some(start) = self.base.checked_add(addr) else {
            return malformed(format!("the {what} address {addr} is outside the file"));
        };
        match start.checked_add(n) {
            Some(end) if end <= self.len => {}
            _ => {
                return malformed(format!(
                    "the {what} at {addr} ({n} bytes) runs past the end of the file ({} bytes)",
                    self.len
                ));
            }
        }
        self.spent = self.spent.saturating_add(n);
        if self.spent > MAX_READ {
            return unsupported(format!(
                "reading the root attributes takes more than {MAX_READ} bytes"
            ));
        }
        let n = usize::try_from(n).map_err(|_| Bad::Unsupported(format!("a {what} too large")))?;
        self.blob.exact_at(start, n).map_err(Bad::Io)
    }

    /// Up to `n` bytes at `addr`, fewer where the file ends.
    fn read_upto(&mut self, addr: u64, n: u64, what: &str) -> Result<Vec<u8>, Bad> {
        let avail = self.len.saturating_sub(self.base.saturating_add(addr));
        if avail == 0 {
            return malformed(format!(
                "the {what} address {addr} is outside the file ({} bytes)",
                self.len
            ));
        }
        self.read(addr, n.min(avail), what)
    }

    /// An address, `None` when undefined (all bits set).
    fn addr(&self, c: &mut Cursor<'_>) -> Result<Option<u64>, Bad> {
        let v = c.uint(self.offset_size)?;
        let undefined = if self.offset_size == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * self.offset_size)) - 1
        };
        Ok((v != undefined).then_some(v))
    }

    fn length(&self, c: &mut Cursor<'_>) -> Result<u64, Bad> {
        c.uint(self.length_size)
    }
}

/// Where libhdf5 looks for the superblock: offset 0, then every power of two from 512 below
/// the end of the file.
fn superblock_offsets(len: u64) -> impl Iterator<Item = u64> {
    std::iter::once(0)
        .chain((9..64).map(|shift| 1u64 << shift))
        .take_while(move |&at| at < len)
}

/// Reads the root group's attributes of the HDF5 file in `blob` (random access).
fn read_root_attributes(blob: &Blob<'_>) -> io::Result<Read> {
    let len = blob.len().unwrap_or(0);
    let mut found = None;
    for at in superblock_offsets(len) {
        let mut sig = [0u8; 8];
        if blob.read_at(at, &mut sig)? == 8 && sig == MAGIC {
            found = Some(at);
            break;
        }
    }
    let mut attributes = Vec::new();
    let Some(at) = found else {
        return Ok(Read {
            attributes,
            error: Some(Bad::Malformed(
                "no HDF5 superblock at offset 0 or at any power of two from 512 on".to_owned(),
            )),
        });
    };
    let error = match superblock(blob, len, at) {
        Ok((mut h5, root)) => root_attributes(&mut h5, root, &mut attributes).err(),
        Err(bad) => Some(bad),
    };
    match error {
        Some(Bad::Io(err)) => Err(err),
        error => Ok(Read { attributes, error }),
    }
}

/// Parses the superblock at `at`: the sizes of addresses and lengths, and the root group's
/// object header address.
fn superblock<'b>(blob: &'b Blob<'b>, len: u64, at: u64) -> Result<(H5<'b>, u64), Bad> {
    let mut h5 = H5 {
        blob,
        len,
        base: at,
        offset_size: 8,
        length_size: 8,
        spent: 0,
        collections: HashMap::new(),
    };
    // The largest superblock (version 1, 8-byte addresses) is 100 bytes with its root entry.
    let raw = h5.read_upto(0, 160, "superblock")?;
    let mut c = Cursor::new(&raw, "superblock");
    c.take(8)?;
    let version = c.u8()?;
    let sizes = |o: u8, l: u8| -> Result<(usize, usize), Bad> {
        if ![2, 4, 8].contains(&o) || ![2, 4, 8].contains(&l) {
            return malformed(format!(
                "the superblock gives {o}-byte addresses and {l}-byte lengths (2, 4 or 8 are valid)"
            ));
        }
        Ok((usize::from(o), usize::from(l)))
    };
    let root = match version {
        0 | 1 => {
            c.take(4)?; // free-space, root symbol table and shared-header versions, reserved
            let (o, l) = sizes(c.u8()?, c.u8()?)?;
            (h5.offset_size, h5.length_size) = (o, l);
            c.take(1)?;
            c.take(4)?; // group leaf and internal node K
            c.take(4)?; // file consistency flags
            if version == 1 {
                c.take(4)?; // indexed storage internal node K, reserved
            }
            // Base address, free-space info, end of file, driver info; then the root group's
            // symbol table entry: its link name offset, then its object header address.
            for _ in 0..5 {
                c.take(o)?;
            }
            h5.addr(&mut c)?
        }
        2 | 3 => {
            let (o, l) = sizes(c.u8()?, c.u8()?)?;
            (h5.offset_size, h5.length_size) = (o, l);
            c.take(1)?; // file consistency flags
            // Base address, superblock extension, end of file; then the root object header.
            for _ in 0..3 {
                c.take(o)?;
            }
            h5.addr(&mut c)?
        }
        v => return unsupported(format!("superblock version {v} (0 to 3 are read)")),
    };
    match root {
        Some(root) => Ok((h5, root)),
        None => malformed("the superblock has no root group address"),
    }
}

/// One chunk of an object header to read messages from.
struct Chunk {
    addr: u64,
    len: u64,
}

/// Reads the attribute messages of the object header at `root`, following continuations.
fn root_attributes(h5: &mut H5<'_>, root: u64, out: &mut Vec<Attr>) -> Result<(), Bad> {
    let prefix = h5.read_upto(root, 16, "root object header")?;
    let v2 = prefix.starts_with(b"OHDR");
    let mut pending = Vec::new();
    // Version 2 headers that track attribute creation order give each message its index.
    let mut creation_order = false;
    if v2 {
        let head = h5.read_upto(root, 6 + 16 + 4 + 8, "root object header")?;
        let mut c = Cursor::new(&head, "root object header");
        c.take(4)?;
        let version = c.u8()?;
        if version != 2 {
            return unsupported(format!("object header version {version} after OHDR"));
        }
        let flags = c.u8()?;
        creation_order = flags & 0x04 != 0;
        if flags & 0x20 != 0 {
            c.take(16)?; // access, modification, change and birth times
        }
        if flags & 0x10 != 0 {
            c.take(4)?; // attribute phase change values
        }
        let size = c.uint(1 << (flags & 3))?;
        pending.push(Chunk {
            addr: root + c.pos as u64,
            len: size,
        });
    } else {
        let mut c = Cursor::new(&prefix, "root object header");
        let version = c.u8()?;
        if version != 1 {
            return malformed(format!(
                "the root object header has version {version} (1, or OHDR for 2)"
            ));
        }
        c.take(1)?;
        c.u16()?; // number of messages
        c.u32()?; // reference count
        let size = c.u32()?;
        // The prefix is 12 bytes, padded to 16 so that messages are 8-byte aligned.
        pending.push(Chunk {
            addr: root + 16,
            len: u64::from(size),
        });
    }
    let mut seen = Vec::new();
    let mut messages = 0usize;
    let mut first = true;
    while let Some(chunk) = pending.pop() {
        if seen.len() >= MAX_CHUNKS {
            return unsupported(format!(
                "the root object header has more than {MAX_CHUNKS} continuation chunks"
            ));
        }
        if seen.contains(&chunk.addr) {
            return malformed(format!(
                "object header continuation at {} is reached twice",
                chunk.addr
            ));
        }
        seen.push(chunk.addr);
        let data = h5.read(chunk.addr, chunk.len, "object header chunk")?;
        let body: &[u8] = if v2 {
            // Chunk 0's size excludes the checksum after it; a continuation's length covers
            // its `OCHK` signature and checksum.
            if first {
                &data
            } else {
                if !data.starts_with(b"OCHK") || data.len() < 8 {
                    return malformed(format!(
                        "the object header continuation at {} lacks its OCHK signature",
                        chunk.addr
                    ));
                }
                &data[4..data.len() - 4]
            }
        } else {
            &data
        };
        first = false;
        let mut c = Cursor::new(body, "object header message");
        // A gap smaller than a message header may end a version 2 chunk.
        let header = match (v2, creation_order) {
            (true, false) => 4,
            (true, true) => 6,
            (false, _) => 8,
        };
        while c.left() >= header {
            messages += 1;
            if messages > MAX_MESSAGES {
                return unsupported(format!(
                    "the root object header has more than {MAX_MESSAGES} messages"
                ));
            }
            let (kind, size, flags) = if v2 {
                let kind = u16::from(c.u8()?);
                let size = c.u16()?;
                let flags = c.u8()?;
                if creation_order {
                    c.u16()?;
                }
                (kind, size, flags)
            } else {
                let kind = c.u16()?;
                let size = c.u16()?;
                let flags = c.u8()?;
                c.take(3)?;
                (kind, size, flags)
            };
            let data = c.take(usize::from(size))?;
            match kind {
                0x000C => {
                    if flags & 0x02 != 0 {
                        return unsupported("an attribute is a shared message");
                    }
                    out.push(attribute(h5, data)?);
                }
                0x0010 => {
                    let mut m = Cursor::new(data, "continuation message");
                    let addr = h5.addr(&mut m)?;
                    let len = h5.length(&mut m)?;
                    match addr {
                        Some(addr) => pending.push(Chunk { addr, len }),
                        None => return malformed("a continuation message has no address"),
                    }
                }
                0x0015 => attribute_info(h5, data)?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// The attribute info message: attributes in dense storage are not read, and say so.
fn attribute_info(h5: &H5<'_>, data: &[u8]) -> Result<(), Bad> {
    let mut c = Cursor::new(data, "attribute info message");
    let version = c.u8()?;
    if version != 0 {
        return malformed(format!("attribute info message version {version}"));
    }
    let flags = c.u8()?;
    if flags & 0x01 != 0 {
        c.u16()?; // maximum creation index
    }
    if h5.addr(&mut c)?.is_some() {
        return unsupported(
            "the root group keeps its attributes in dense storage (a fractal heap), which aigate does not read",
        );
    }
    Ok(())
}

fn pad8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Parses one attribute message.
fn attribute(h5: &mut H5<'_>, data: &[u8]) -> Result<Attr, Bad> {
    let mut c = Cursor::new(data, "attribute message");
    let version = c.u8()?;
    let flags = c.u8()?; // reserved in version 1
    let name_size = usize::from(c.u16()?);
    let type_size = usize::from(c.u16()?);
    let space_size = usize::from(c.u16()?);
    let (name, dtype, space) = match version {
        1 => (
            c.take(pad8(name_size))?
                .get(..name_size)
                .unwrap_or_default(),
            c.take(pad8(type_size))?
                .get(..type_size)
                .unwrap_or_default(),
            c.take(pad8(space_size))?
                .get(..space_size)
                .unwrap_or_default(),
        ),
        2 | 3 => {
            if version == 3 {
                c.u8()?; // name character set
            }
            (c.take(name_size)?, c.take(type_size)?, c.take(space_size)?)
        }
        v => return malformed(format!("attribute message version {v}")),
    };
    let name_bytes = name.split(|&b| b == 0).next().unwrap_or_default();
    let name = String::from_utf8_lossy(name_bytes).into_owned();
    if version > 1 && flags & 0x03 != 0 {
        let value = AttrValue::Other("of a shared (committed) datatype or dataspace".to_owned());
        return Ok(Attr { name, value });
    }
    let (count, rank) = elements(h5, space)?;
    let rest = data.get(c.pos..).unwrap_or_default();
    // h5py reads a scalar string as a string and anything with dimensions as an array, which
    // a loader cannot decode as JSON.
    let value = if rank == 0 {
        value(h5, dtype, count, rest)?
    } else {
        AttrValue::Other(format!("an array of {count} elements"))
    };
    Ok(Attr { name, value })
}

/// The number of elements a dataspace message describes, and its rank.
fn elements(h5: &H5<'_>, space: &[u8]) -> Result<(u64, u8), Bad> {
    let mut c = Cursor::new(space, "dataspace message");
    let version = c.u8()?;
    let rank = c.u8()?;
    let flags = c.u8()?;
    let kind = match version {
        1 => {
            c.take(5)?;
            1
        }
        2 => c.u8()?,
        v => return malformed(format!("dataspace message version {v}")),
    };
    if rank > 32 {
        return malformed(format!("a dataspace of rank {rank} (at most 32)"));
    }
    if kind == 2 {
        return Ok((0, rank)); // the null dataspace
    }
    let mut count = 1u64;
    for _ in 0..rank {
        let dim = h5.length(&mut c)?;
        count = count.saturating_mul(dim);
    }
    let _ = flags;
    Ok((count, rank))
}

/// The value of an attribute of datatype `dtype` with `count` elements stored in `raw`.
fn value(h5: &mut H5<'_>, dtype: &[u8], count: u64, raw: &[u8]) -> Result<AttrValue, Bad> {
    let mut c = Cursor::new(dtype, "datatype message");
    let class_version = c.u8()?;
    let bits = c.take(3)?;
    let size = u64::from(c.u32()?);
    let class = class_version & 0x0f;
    match class {
        3 => {
            if count != 1 {
                return Ok(AttrValue::Other(format!("{count} fixed-length strings")));
            }
            let Some(bytes) = usize::try_from(size).ok().and_then(|n| raw.get(..n)) else {
                return malformed("a fixed-length string attribute is shorter than its datatype");
            };
            // h5py reads the bytes into a NumPy `S` array, which drops trailing NULs whatever
            // the padding type says; that is what a loader decodes.
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            Ok(AttrValue::Text(bytes[..end].to_vec()))
        }
        9 if bits[0] & 0x0f == 1 => {
            if count != 1 {
                return Ok(AttrValue::Other(format!("{count} variable-length strings")));
            }
            let mut r = Cursor::new(raw, "variable-length string");
            let length = u64::from(r.u32()?);
            let collection = h5.addr(&mut r)?;
            let index = r.u32()?;
            match collection {
                _ if length == 0 => Ok(AttrValue::Text(Vec::new())),
                // libhdf5 hands h5py a C string: a loader sees the text up to its first NUL.
                Some(addr) if addr != 0 => heap_object(h5, addr, index, length).map(|mut t| {
                    t.truncate(t.iter().position(|&b| b == 0).unwrap_or(t.len()));
                    AttrValue::Text(t)
                }),
                _ => malformed("a variable-length string points at no global heap collection"),
            }
        }
        9 => Ok(AttrValue::Other("a variable-length sequence".to_owned())),
        0 => Ok(AttrValue::Other("an integer".to_owned())),
        1 => Ok(AttrValue::Other("a floating-point number".to_owned())),
        c if c > 10 => malformed(format!("datatype class {c}")),
        c => Ok(AttrValue::Other(format!("of datatype class {c}"))),
    }
}

/// The first `length` bytes of object `index` of the global heap collection at `addr`.
fn heap_object(h5: &mut H5<'_>, addr: u64, index: u32, length: u64) -> Result<Vec<u8>, Bad> {
    if !h5.collections.contains_key(&addr) {
        let collection = collection(h5, addr)?;
        h5.collections.insert(addr, collection);
    }
    // Every copy counts against the reading's bound, so that many attributes naming one large
    // object cannot multiply it.
    h5.spent = h5.spent.saturating_add(length);
    if h5.spent > MAX_READ {
        return unsupported(format!(
            "reading the root attributes takes more than {MAX_READ} bytes"
        ));
    }
    let Some(found) = h5.collections.get(&addr) else {
        return malformed(format!("no global heap collection at {addr}"));
    };
    let object = u16::try_from(index)
        .ok()
        .and_then(|i| found.objects.get(&i))
        .and_then(|&(start, size)| Some((found.data.get(start..start.checked_add(size)?)?, size)));
    match object {
        Some((bytes, size)) => match usize::try_from(length).ok().and_then(|n| bytes.get(..n)) {
            Some(bytes) => Ok(bytes.to_vec()),
            None => malformed(format!(
                "a variable-length string of {length} bytes is longer than its heap object ({size})"
            )),
        },
        None => match &found.broken {
            Some(why) => malformed(why.clone()),
            None => malformed(format!(
                "global heap object {index} is not in the collection at {addr}"
            )),
        },
    }
}

/// Reads the global heap collection at `addr` and walks its objects once.
fn collection(h5: &mut H5<'_>, addr: u64) -> Result<Collection, Bad> {
    let head = h5.read(addr, 8 + h5.length_size as u64, "global heap collection")?;
    let mut c = Cursor::new(&head, "global heap collection");
    if c.take(4)? != b"GCOL" {
        return malformed(format!("no global heap collection (GCOL) at {addr}"));
    }
    let version = c.u8()?;
    if version != 1 {
        return malformed(format!("global heap collection version {version}"));
    }
    c.take(3)?;
    let size = h5.length(&mut c)?;
    if size > MAX_COLLECTION {
        return unsupported(format!(
            "a global heap collection of {size} bytes (at most {MAX_COLLECTION} are read)"
        ));
    }
    let data = h5.read(addr, size, "global heap collection")?;
    let mut objects = HashMap::new();
    let mut broken = None;
    let mut c = Cursor::new(&data, "global heap collection");
    c.take(8 + h5.length_size)?;
    // Each object: its index, reference count, 4 reserved bytes, size, then its data padded
    // to 8 bytes. Index 0 is the free space that ends the collection.
    while c.left() >= 8 + h5.length_size {
        let id = c.u16()?;
        c.u16()?;
        c.u32()?;
        let size = h5.length(&mut c)?;
        if id == 0 {
            break;
        }
        let Some(size) = usize::try_from(size).ok().filter(|&s| s <= c.left()) else {
            broken = Some(format!(
                "global heap object {id} at {addr} runs past its collection"
            ));
            break;
        };
        // libhdf5 fills its table of objects in order: of two objects with one index, the
        // later stands.
        objects.insert(id, (c.pos, size));
        c.take(size)?;
        let pad = (pad8(size) - size).min(c.left());
        c.take(pad)?;
    }
    Ok(Collection {
        data,
        objects,
        broken,
    })
}

/// What the HDF5 reader sees in a file's root group: its attributes' names and, for those that
/// hold one string, the string; and why it stopped, if it did. For the differential check
/// against `h5py` and the fuzz target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hdf5Attributes {
    /// The root attributes in the order of their messages: name and, where the value is one
    /// string, its bytes.
    pub attributes: Vec<(String, Option<Vec<u8>>)>,
    /// Why the reading stopped before the end, if it did.
    pub error: Option<String>,
}

/// Reads the root attributes of the HDF5 file `data`, as a scan does.
pub fn root_attributes_of(data: &[u8]) -> Hdf5Attributes {
    let blob = Blob::Memory(data);
    match read_root_attributes(&blob) {
        Ok(read) => Hdf5Attributes {
            attributes: read
                .attributes
                .into_iter()
                .map(|a| {
                    let text = match a.value {
                        AttrValue::Text(t) => Some(t),
                        AttrValue::Other(_) => None,
                    };
                    (a.name, text)
                })
                .collect(),
            error: read.error.map(|e| e.message()),
        },
        Err(err) => Hdf5Attributes {
            attributes: Vec::new(),
            error: Some(err.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::{ScanLimits, Scanner};

    // Fixtures written by h5py (fixtures/make_format_fixtures.py).
    const ARRAYS: &[u8] = include_bytes!("../../../../fixtures/formats/benign/hdf5/arrays.h5");
    const SEQUENTIAL: &[u8] =
        include_bytes!("../../../../fixtures/formats/benign/keras-h5/sequential.h5");
    const FIXED: &[u8] =
        include_bytes!("../../../../fixtures/formats/benign/keras-h5/functional-fixed-string.h5");
    const LATEST: &[u8] =
        include_bytes!("../../../../fixtures/formats/benign/keras-h5/latest-format.h5");
    const USERBLOCK: &[u8] =
        include_bytes!("../../../../fixtures/formats/malicious/keras-h5/lambda-userblock.h5");
    const MATLAB: &[u8] = include_bytes!("../../../../fixtures/formats/benign/hdf5/matlab-v73.mat");
    const DENSE: &[u8] = include_bytes!(
        "../../../../fixtures/formats/malicious/keras-h5/lambda-dense-attributes.h5"
    );

    fn names(read: &Hdf5Attributes) -> Vec<&str> {
        read.attributes.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn text<'a>(read: &'a Hdf5Attributes, name: &str) -> Option<&'a [u8]> {
        read.attributes
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, t)| t.as_deref())
    }

    fn rules(scan: &crate::FileScan) -> Vec<&str> {
        scan.findings.iter().map(|f| f.rule.as_str()).collect()
    }

    fn scanner() -> Scanner {
        Scanner::new(&[], &[], ScanLimits::default()).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn superblock_search_is_bounded_by_the_file() {
        let offsets: Vec<u64> = superblock_offsets(3000).collect();
        assert_eq!(offsets, vec![0, 512, 1024, 2048]);
        assert_eq!(superblock_offsets(0).count(), 0);
        assert_eq!(superblock_offsets(u64::MAX).count(), 56);
    }

    #[test]
    fn no_superblock_is_malformed() {
        let read = root_attributes_of(b"\x89HDF\r\n\x1a");
        assert!(read.error.is_some_and(|e| e.contains("no HDF5 superblock")));
    }

    #[test]
    fn reads_variable_length_strings_and_skips_numbers() {
        let read = root_attributes_of(ARRAYS);
        assert_eq!(read.error, None);
        assert_eq!(names(&read), ["description", "version", "scale"]);
        assert_eq!(text(&read, "description"), Some(&b"sensor readings"[..]));
        assert_eq!(text(&read, "version"), None);
    }

    #[test]
    fn reads_the_keras_attributes_from_the_global_heap() {
        let read = root_attributes_of(SEQUENTIAL);
        assert_eq!(read.error, None);
        assert_eq!(
            names(&read),
            [
                "keras_version",
                "backend",
                "model_config",
                "training_config"
            ]
        );
        assert_eq!(text(&read, "backend"), Some(&b"tensorflow"[..]));
        let config = text(&read, "model_config").unwrap_or_default();
        assert!(config.starts_with(br#"{"class_name": "Sequential""#));
        assert!(config.ends_with(b"}"));
    }

    #[test]
    fn reads_fixed_length_strings_without_their_padding() {
        let read = root_attributes_of(FIXED);
        let config = text(&read, "model_config").unwrap_or_default();
        assert!(config.starts_with(br#"{"class_name": "Functional""#));
        assert!(config.ends_with(b"}"));
    }

    #[test]
    fn reads_version_2_object_headers_of_the_latest_format() {
        assert_eq!(LATEST[8], 3, "superblock version 3");
        let read = root_attributes_of(LATEST);
        assert_eq!(read.error, None);
        assert_eq!(
            text(&read, "model_config"),
            text(&root_attributes_of(SEQUENTIAL), "model_config")
        );
    }

    #[test]
    fn finds_the_superblock_after_a_user_block() {
        assert!(!USERBLOCK.starts_with(MAGIC));
        let read = root_attributes_of(USERBLOCK);
        assert_eq!(read.error, None);
        assert!(text(&read, "model_config").is_some_and(|c| c.windows(6).any(|w| w == b"Lambda")));
        let mat = scanner().scan_bytes(MATLAB, "data.mat");
        assert!(mat.findings.is_empty(), "{:?}", mat.findings);
        assert_eq!(mat.scanned[0].format, "hdf5");
    }

    #[test]
    fn dense_attribute_storage_fails_closed() {
        let read = root_attributes_of(DENSE);
        assert!(read.error.is_some_and(|e| e.contains("dense storage")));
        let scan = scanner().scan_bytes(DENSE, "model.h5");
        assert_eq!(rules(&scan), ["hdf5-unscannable"]);
    }

    #[test]
    fn a_lambda_model_config_is_reported_at_its_layer() {
        let scan = scanner().scan_bytes(USERBLOCK, "model.h5");
        assert_eq!(rules(&scan), ["keras-lambda"]);
        let field = scan.findings[0]
            .details
            .get("path")
            .cloned()
            .unwrap_or_default();
        assert_eq!(field, "model_config.config.layers[1]");
        assert_eq!(scan.scanned[0].format, "keras-h5");
    }

    #[test]
    fn a_compressed_model_is_read_in_memory() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(USERBLOCK).unwrap_or_else(|_| unreachable!());
        let data = gz.finish().unwrap_or_else(|_| unreachable!());
        let scan = scanner().scan_bytes(&data, "model.h5.gz");
        assert_eq!(rules(&scan), ["keras-lambda"]);
    }

    #[test]
    fn a_collection_over_the_bound_is_not_read() {
        let mut data = SEQUENTIAL.to_vec();
        let at = data
            .windows(4)
            .position(|w| w == b"GCOL")
            .unwrap_or_else(|| unreachable!());
        data[at + 8..at + 16].copy_from_slice(&(MAX_COLLECTION + 1).to_le_bytes());
        let read = root_attributes_of(&data);
        assert!(
            read.error
                .is_some_and(|e| e.contains("global heap collection of"))
        );
    }

    #[test]
    fn a_continuation_back_to_itself_is_refused() {
        // The root's first message (version 1 header at 0x60, messages from 0x70) rewritten as
        // a continuation to the same chunk.
        let mut data = ARRAYS.to_vec();
        let root = 0x60;
        let size = u32::from_le_bytes([
            data[root + 8],
            data[root + 9],
            data[root + 10],
            data[root + 11],
        ]);
        let msg = root + 16;
        data[msg..msg + 2].copy_from_slice(&0x10u16.to_le_bytes());
        data[msg + 2..msg + 4].copy_from_slice(&16u16.to_le_bytes());
        data[msg + 8..msg + 16].copy_from_slice(&((root + 16) as u64).to_le_bytes());
        data[msg + 16..msg + 24].copy_from_slice(&u64::from(size).to_le_bytes());
        let read = root_attributes_of(&data);
        assert!(
            read.error
                .as_deref()
                .is_some_and(|e| e.contains("reached twice")),
            "{read:?}"
        );
    }

    #[test]
    fn every_cut_of_a_model_reads_a_prefix_or_fails() {
        let full = root_attributes_of(SEQUENTIAL);
        for cut in (0..SEQUENTIAL.len()).step_by(13) {
            let read = root_attributes_of(&SEQUENTIAL[..cut]);
            if read.error.is_none() {
                assert_eq!(read, full, "cut at {cut}");
            }
            for attr in &read.attributes {
                assert!(full.attributes.contains(attr), "cut at {cut}: {attr:?}");
            }
        }
    }
}
