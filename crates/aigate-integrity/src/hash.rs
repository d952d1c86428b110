//! Digests of files and byte ranges, many at once. One digest is sequential by definition, so
//! each file (or range) is hashed by one thread reading 4 MiB at a time; files and ranges run in
//! parallel on every core, the largest first so that the cores finish together. SHA-256 comes
//! from RustCrypto's `sha2` (which uses the CPU's SHA extensions when it has them, as OpenSSL
//! does) and BLAKE3 from the reference crate, with Rust intrinsics rather than C or assembly.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

const CHUNK: usize = 4 << 20;

/// A hash function aigate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// BLAKE3, 256-bit output.
    Blake3,
}

impl Algorithm {
    /// The name model-signing and OSV use: `sha256`, `blake3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake3 => "blake3",
        }
    }

    fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sha256" | "sha-256" => Ok(Algorithm::Sha256),
            "blake3" => Ok(Algorithm::Blake3),
            _ => Err(format!(
                "unknown hash algorithm `{s}` (expected sha256 or blake3)"
            )),
        }
    }
}

/// A 256-bit digest. Which algorithm made it is the context's to say (a field named `sha256`,
/// a manifest's declared algorithm).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Lower-case hex.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Option<Digest> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let nibble = |b: u8| (b as char).to_digit(16);
            *slot = u8::try_from(nibble(pair[0])? << 4 | nibble(pair[1])?).ok()?;
        }
        Some(Digest(out))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::from_hex(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not a 256-bit digest in 64 hex digits"))
        })
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

enum Hasher {
    Sha256(sha2::Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Blake3(h) => {
                h.update(data);
            }
        }
    }

    fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest(h.finalize().into()),
            Hasher::Blake3(h) => Digest(*h.finalize().as_bytes()),
        }
    }
}

/// Size and digest of some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    /// Bytes.
    pub size: u64,
    /// Their digest.
    pub digest: Digest,
}

/// A reader that hashes and counts what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    size: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`, hashing with `algorithm`.
    pub fn new(inner: R, algorithm: Algorithm) -> Self {
        HashingReader {
            inner,
            hasher: algorithm.hasher(),
            size: 0,
        }
    }

    /// Bytes read so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Size and digest of everything read.
    pub fn finish(self) -> Hashed {
        Hashed {
            size: self.size,
            digest: self.hasher.finish(),
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Hashes everything `reader` yields.
pub fn hash_reader<R: Read>(reader: R, algorithm: Algorithm) -> io::Result<Hashed> {
    hash_reader_sized(reader, algorithm, CHUNK)
}

/// Hashes everything `reader` yields with a read buffer of `buffer` bytes: small inputs get a
/// small buffer, so that hashing many small files costs their bytes, not 4 MiB each.
fn hash_reader_sized<R: Read>(
    reader: R,
    algorithm: Algorithm,
    buffer: usize,
) -> io::Result<Hashed> {
    let mut reader = HashingReader::new(reader, algorithm);
    let mut buf = vec![0u8; buffer.clamp(4096, CHUNK)];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(reader.finish()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Hashes one file.
pub fn hash_file(path: &Path, algorithm: Algorithm) -> io::Result<Hashed> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let buffer = usize::try_from(len.saturating_add(1)).unwrap_or(CHUNK);
    hash_reader_sized(file, algorithm, buffer)
}

/// A byte range of a file: `len` bytes from `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRange {
    /// The file.
    pub path: PathBuf,
    /// Where the range starts.
    pub offset: u64,
    /// How many bytes it holds.
    pub len: u64,
}

/// Hashes `range`; a file shorter than the range is an error, as the range was promised.
pub fn hash_range(range: &FileRange, algorithm: Algorithm) -> io::Result<Digest> {
    let mut file = File::open(&range.path)?;
    file.seek(SeekFrom::Start(range.offset))?;
    let hashed = hash_reader(file.take(range.len), algorithm)?;
    if hashed.size != range.len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "{} ends {} bytes into a range of {} bytes at offset {}",
                range.path.display(),
                hashed.size,
                range.len,
                range.offset
            ),
        ));
    }
    Ok(hashed.digest)
}

/// Runs `work` over items in parallel, the largest first, returning results in input order.
fn largest_first<T: Sync, R: Send>(
    items: &[T],
    size: impl Fn(&T) -> u64 + Sync,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let mut order: Vec<(usize, u64)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (i, size(item)))
        .collect();
    order.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let mut results: Vec<(usize, R)> = order
        .par_iter()
        .with_max_len(1)
        .map(|(i, _)| (*i, work(&items[*i])))
        .collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Hashes files in parallel; results come back in the order given.
pub fn hash_files(paths: &[PathBuf], algorithm: Algorithm) -> Vec<io::Result<Hashed>> {
    largest_first(
        paths,
        |p| fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        |p| hash_file(p, algorithm),
    )
}

/// Hashes byte ranges in parallel (model-signing's shards); results in the order given.
pub fn hash_ranges(ranges: &[FileRange], algorithm: Algorithm) -> Vec<io::Result<Digest>> {
    largest_first(ranges, |r| r.len, |r| hash_range(r, algorithm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files(contents: &[&[u8]]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = contents
            .iter()
            .enumerate()
            .map(|(i, data)| {
                let p = dir.path().join(format!("f{i}"));
                fs::write(&p, data).unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    #[test]
    fn known_digests_in_input_order() {
        let big = vec![0u8; CHUNK + 7];
        let (dir, mut paths) = temp_files(&[b"abc", &big]);
        paths.push(dir.path().join("missing"));
        let got = hash_files(&paths, Algorithm::Sha256);
        assert_eq!(
            got[0].as_ref().unwrap().digest.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(got[1].as_ref().unwrap().size, CHUNK as u64 + 7);
        assert!(got[2].is_err());
        let blake = hash_file(&paths[0], Algorithm::Blake3).unwrap();
        assert_eq!(
            blake.digest.hex(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn ranges_hash_exactly_their_bytes() {
        let (_dir, paths) = temp_files(&[b"xxabcyy"]);
        let range = FileRange {
            path: paths[0].clone(),
            offset: 2,
            len: 3,
        };
        let whole_abc = hash_reader(&b"abc"[..], Algorithm::Sha256).unwrap().digest;
        assert_eq!(hash_range(&range, Algorithm::Sha256).unwrap(), whole_abc);
        let too_long = FileRange { len: 10, ..range };
        assert_eq!(
            hash_ranges(&[too_long], Algorithm::Sha256)[0]
                .as_ref()
                .unwrap_err()
                .kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn digests_round_trip_through_hex() {
        let d = hash_reader(&b"abc"[..], Algorithm::Sha256).unwrap().digest;
        assert_eq!(Digest::from_hex(&d.hex()), Some(d));
        assert_eq!(Digest::from_hex(&d.hex().to_uppercase()), Some(d));
        assert_eq!(Digest::from_hex("abc"), None);
        assert_eq!(Digest::from_hex(&"g".repeat(64)), None);
    }
}
