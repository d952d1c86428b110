//! SHA-256 of files, many at once. Each file is hashed by one thread reading 4 MiB at a time
//! (a single SHA-256 is sequential by definition); files run in parallel on every core, the
//! largest first so that the cores finish together. RustCrypto's `sha2` uses the CPU's SHA
//! extensions when it has them, as OpenSSL does.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

const CHUNK: usize = 4 << 20;

/// Size and SHA-256 (lower-case hex) of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that hashes and counts what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Bytes read so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Size and SHA-256 of everything read.
    pub fn finish(self) -> Hashed {
        Hashed {
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
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

/// Hashes one file.
pub fn hash_file(path: &Path) -> io::Result<Hashed> {
    let mut reader = HashingReader::new(File::open(path)?);
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(reader.finish()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Hashes files in parallel; results come back in the order given.
pub fn hash_files(paths: &[PathBuf]) -> Vec<io::Result<Hashed>> {
    let mut order: Vec<(usize, u64)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (i, fs::metadata(p).map(|m| m.len()).unwrap_or(0)))
        .collect();
    order.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let mut results: Vec<(usize, io::Result<Hashed>)> = order
        .par_iter()
        .with_max_len(1)
        .map(|(i, _)| (*i, hash_file(&paths[*i])))
        .collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::write(&a, b"abc").ok();
        fs::write(&b, vec![0u8; CHUNK + 7]).ok();
        let got = hash_files(&[a, b, dir.path().join("missing")]);
        let first = got[0]
            .as_ref()
            .map(|h| h.sha256.clone())
            .unwrap_or_default();
        assert_eq!(
            first,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            got[1].as_ref().map(|h| h.size).unwrap_or(0),
            CHUNK as u64 + 7
        );
        assert!(got[2].is_err());
    }
}
