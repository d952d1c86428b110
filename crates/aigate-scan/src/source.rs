//! Where a scanner's bytes come from: a region of a file read with positional reads (so that a
//! 2 GiB checkpoint is never read whole), a buffer in memory, a stream decoded from another
//! source, or the tail of a stream. Decoded streams are bounded twice: each stream by its own
//! limit, and all the streams of one file together by the file's [`Budget`], so that a small
//! archive whose members decode to a lot cannot hold a run for long. Exceeding either stops the
//! stream with [`OverLimit`].

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};

/// Memory an xz or lzma decoder may use, dictionary included: 96 MiB, above the 64 MiB that
/// `xz -9` and Python's `lzma` at preset 9 need, so that a header declaring a huge dictionary
/// is an error rather than an allocation.
pub(crate) const LZMA_MEMORY_KIB: u32 = 96 * 1024;

/// The compression codecs a stream may be decoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Deflate,
    Zlib,
    Gzip,
    Bzip2,
    Xz,
    Lzma,
    /// A zip member of method 14: a 4-byte header, the LZMA properties, raw LZMA data (as
    /// `zipfile`'s `LZMADecompressor` reads it).
    ZipLzma,
    Lz4,
    Zstd,
}

impl Codec {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Codec::Deflate => "deflate",
            Codec::Zlib => "zlib",
            Codec::Gzip => "gzip",
            Codec::Bzip2 => "bz2",
            Codec::Xz => "xz",
            Codec::Lzma => "lzma",
            Codec::ZipLzma => "lzma",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// A zip LZMA member's decoder: version (2 bytes), properties size (2 bytes), properties
/// (the LZMA1 properties byte and dictionary size), then raw LZMA data ending with an
/// end-of-stream marker or the member's end.
fn zip_lzma<'a>(mut raw: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut head = [0u8; 4];
    raw.read_exact(&mut head)?;
    let psize = usize::from(u16::from_le_bytes([head[2], head[3]]));
    if psize < 5 {
        return Err(invalid(format!("LZMA properties of {psize} bytes")));
    }
    let mut props = vec![0u8; psize];
    raw.read_exact(&mut props)?;
    let dict_size = u32::from_le_bytes([props[1], props[2], props[3], props[4]]);
    let need = lzma_rust2::lzma_get_memory_usage_by_props(dict_size, props[0])
        .map_err(|err| invalid(err.to_string()))?;
    if need > LZMA_MEMORY_KIB {
        return Err(invalid(format!(
            "the LZMA dictionary needs {need} KiB, more than {LZMA_MEMORY_KIB}"
        )));
    }
    let reader = lzma_rust2::LzmaReader::new_with_props(raw, u64::MAX, props[0], dict_size, None)
        .map_err(|err| invalid(err.to_string()))?;
    Ok(Box::new(reader))
}

/// What one file's analysis may still spend: bytes decoded from compressed streams, and pickle
/// opcodes, over every stream and member of the file.
#[derive(Debug)]
pub(crate) struct Budget {
    decoded: Cell<u64>,
    decoded_limit: u64,
    opcodes: Cell<u64>,
}

impl Budget {
    pub(crate) fn new(decoded: u64, opcodes: u64) -> Self {
        Budget {
            decoded: Cell::new(decoded),
            decoded_limit: decoded,
            opcodes: Cell::new(opcodes),
        }
    }

    /// Takes up to `want` decoded bytes; returns how many may be produced.
    fn take_decoded(&self, want: u64) -> u64 {
        let left = self.decoded.get();
        let granted = left.min(want);
        self.decoded.set(left - granted);
        granted
    }

    fn give_back(&self, n: u64) {
        self.decoded.set(self.decoded.get() + n);
    }

    /// Opcodes left.
    pub(crate) fn opcodes_left(&self) -> u64 {
        self.opcodes.get()
    }

    /// Records opcodes spent.
    pub(crate) fn spend_opcodes(&self, n: u64) {
        self.opcodes.set(self.opcodes.get().saturating_sub(n));
    }
}

/// The error a bounded stream returns once it has produced its limit.
#[derive(Debug, thiserror::Error)]
#[error("decoded data exceeds the limit of {0} bytes")]
pub(crate) struct OverLimit(pub(crate) u64);

/// Whether an I/O error is a bounded stream's [`OverLimit`].
pub(crate) fn over_limit(err: &io::Error) -> Option<u64> {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<OverLimit>())
        .map(|e| e.0)
}

#[derive(Clone, Copy)]
pub(crate) enum Blob<'a> {
    /// `len` bytes of `file` from `offset`.
    Region {
        file: &'a File,
        offset: u64,
        len: u64,
    },
    Memory(&'a [u8]),
    /// `source` decoded with `codec`, producing at most `limit` bytes, and drawing on `budget`.
    Decoded {
        source: &'a Blob<'a>,
        codec: Codec,
        limit: u64,
        budget: &'a Budget,
    },
    /// A stream without its first `skip` bytes (the data after a header inside a decoded stream).
    Tail {
        source: &'a Blob<'a>,
        skip: u64,
    },
}

impl<'a> Blob<'a> {
    /// The size, where it is known without decoding.
    pub(crate) fn len(&self) -> Option<u64> {
        match self {
            Blob::Region { len, .. } => Some(*len),
            Blob::Memory(data) => Some(data.len() as u64),
            Blob::Decoded { .. } | Blob::Tail { .. } => None,
        }
    }

    /// About how many bytes the blob holds, for budgets that scale with the input: its length,
    /// or for decoded streams four times what they are decoded from.
    pub(crate) fn size_hint(&self) -> u64 {
        match self {
            Blob::Region { len, .. } => *len,
            Blob::Memory(data) => data.len() as u64,
            Blob::Decoded { source, .. } => source.size_hint().saturating_mul(4),
            Blob::Tail { source, .. } => source.size_hint(),
        }
    }

    /// Whether the bytes come out of a decoder, so that a read error is the codec's.
    pub(crate) fn is_decoded(&self) -> bool {
        match self {
            Blob::Decoded { .. } => true,
            Blob::Tail { source, .. } => source.is_decoded(),
            Blob::Region { .. } | Blob::Memory(_) => false,
        }
    }

    /// The part from `start` on: a slice where there is random access, else a tail.
    pub(crate) fn tail(&'a self, start: u64) -> Blob<'a> {
        match self.len() {
            Some(len) => self
                .slice(start.min(len), len.saturating_sub(start))
                .unwrap_or(Blob::Memory(&[])),
            None => Blob::Tail {
                source: self,
                skip: start,
            },
        }
    }

    /// A sub-range of a random-access source.
    pub(crate) fn slice(&self, start: u64, len: u64) -> Option<Blob<'a>> {
        match *self {
            Blob::Region {
                file,
                offset,
                len: total,
            } => (start.checked_add(len)? <= total).then_some(Blob::Region {
                file,
                offset: offset + start,
                len,
            }),
            Blob::Memory(data) => {
                let start = usize::try_from(start).ok()?;
                let end = start.checked_add(usize::try_from(len).ok()?)?;
                data.get(start..end).map(Blob::Memory)
            }
            Blob::Decoded { .. } | Blob::Tail { .. } => None,
        }
    }

    /// Reads at `pos` into `buf`, filling as much as the source holds.
    pub(crate) fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            Blob::Region { file, offset, len } => {
                let want = (len.saturating_sub(pos)).min(buf.len() as u64) as usize;
                let mut done = 0;
                while done < want {
                    match positional_read(file, &mut buf[done..want], offset + pos + done as u64) {
                        Ok(0) => break,
                        Ok(n) => done += n,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(err) => return Err(err),
                    }
                }
                Ok(done)
            }
            Blob::Memory(data) => {
                let start = usize::try_from(pos).unwrap_or(usize::MAX).min(data.len());
                let n = (data.len() - start).min(buf.len());
                buf[..n].copy_from_slice(&data[start..start + n]);
                Ok(n)
            }
            Blob::Decoded { .. } | Blob::Tail { .. } => {
                Err(io::Error::other("decoded streams have no random access"))
            }
        }
    }

    /// Exactly `n` bytes at `pos`, or an error naming the shortfall.
    pub(crate) fn exact_at(&self, pos: u64, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        let got = self.read_at(pos, &mut buf)?;
        if got < n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("needed {n} bytes at offset {pos}, found {got}"),
            ));
        }
        Ok(buf)
    }

    /// A fresh reader from the start.
    pub(crate) fn open(&self) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match *self {
            Blob::Region { .. } | Blob::Memory(_) => Box::new(BlobReader {
                blob: *self,
                pos: 0,
            }),
            Blob::Tail { source, skip } => {
                let mut reader = source.open()?;
                let skipped = io::copy(&mut (&mut reader).take(skip), &mut io::sink())?;
                if skipped < skip {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the stream ends after {skipped} of the {skip} bytes before its data"
                        ),
                    ));
                }
                reader
            }
            Blob::Decoded {
                source,
                codec,
                limit,
                budget,
            } => {
                let raw = source.open()?;
                let decoder: Box<dyn Read + 'a> = match codec {
                    Codec::Deflate => Box::new(flate2::read::DeflateDecoder::new(raw)),
                    Codec::Zlib => Box::new(flate2::read::ZlibDecoder::new(raw)),
                    Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
                    Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
                    Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(raw)),
                    // One frame, with a window of at most 128 MiB (ruzstd's default bound).
                    Codec::Zstd => {
                        Box::new(ruzstd::decoding::StreamingDecoder::new(raw).map_err(|err| {
                            io::Error::new(io::ErrorKind::InvalidData, err.to_string())
                        })?)
                    }
                    Codec::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
                        raw,
                        true,
                        LZMA_MEMORY_KIB,
                    )),
                    Codec::Lzma => Box::new(
                        lzma_rust2::LzmaReader::new_mem_limit(raw, LZMA_MEMORY_KIB, None)
                            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?,
                    ),
                    Codec::ZipLzma => zip_lzma(raw)?,
                };
                Box::new(Bounded {
                    inner: decoder,
                    left: limit,
                    limit,
                    budget,
                })
            }
        })
    }

    /// Up to `n` bytes from the start.
    pub(crate) fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        match self {
            Blob::Decoded { .. } | Blob::Tail { .. } => {
                // What decodes before an error is what a loader reads before it fails (Python's
                // decompressors also ignore data after the last stream): the head is that, and
                // the error is met again, and reported, when the content is read.
                let mut out = Vec::with_capacity(n);
                match self.open()?.take(n as u64).read_to_end(&mut out) {
                    Ok(_) => Ok(out),
                    Err(err) if out.is_empty() || over_limit(&err).is_some() => Err(err),
                    Err(_) => Ok(out),
                }
            }
            _ => {
                let mut buf = vec![0; n];
                let got = self.read_at(0, &mut buf)?;
                buf.truncate(got);
                Ok(buf)
            }
        }
    }

    /// The whole content in memory, if it is at most `limit` bytes.
    pub(crate) fn materialize(&self, limit: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open()?.take(limit + 1).read_to_end(&mut out)?;
        if out.len() as u64 > limit {
            return Err(io::Error::other(OverLimit(limit)));
        }
        Ok(out)
    }
}

#[cfg(unix)]
fn positional_read(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

#[cfg(windows)]
fn positional_read(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, pos)
}

struct BlobReader<'a> {
    blob: Blob<'a>,
    pos: u64,
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.blob.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

struct Bounded<'b, R> {
    inner: R,
    left: u64,
    limit: u64,
    budget: &'b Budget,
}

impl<R: Read> Bounded<'_, R> {
    /// Reads one byte past a limit: a stream that has more is over it.
    fn past_limit(&mut self, limit: u64) -> io::Result<usize> {
        let mut probe = [0u8; 1];
        match self.inner.read(&mut probe)? {
            0 => Ok(0),
            _ => Err(io::Error::other(OverLimit(limit))),
        }
    }
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            return self.past_limit(self.limit);
        }
        let granted = self.budget.take_decoded(self.left.min(buf.len() as u64));
        if granted == 0 {
            return self.past_limit(self.budget.decoded_limit);
        }
        let want = usize::try_from(granted).unwrap_or(buf.len()).min(buf.len());
        let result = self.inner.read(&mut buf[..want]);
        let produced = result.as_ref().map_or(0, |n| *n as u64);
        // What was granted and not produced goes back to the file's budget.
        self.budget.give_back(granted - produced);
        self.left -= produced;
        result
    }
}

/// `inner` bounded to `limit` bytes and drawing on `budget`, as a decoded stream is: for
/// decoders aigate does not drive itself (a 7z block's members).
pub(crate) fn bounded<'b, R: Read + 'b>(
    inner: R,
    limit: u64,
    budget: &'b Budget,
) -> impl Read + 'b {
    Bounded {
        inner,
        left: limit,
        limit,
        budget,
    }
}

/// Whether an error message that went through the pickle reader was a bounded stream's
/// [`OverLimit`] (the pickle crate keeps only messages).
pub(crate) fn over_limit_message(message: &str) -> bool {
    message.starts_with("decoded data exceeds the limit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn decoded_streams_stop_at_their_limit() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&vec![0u8; 1 << 20]).unwrap();
        let packed = enc.finish().unwrap();
        let source = Blob::Memory(&packed);
        let budget = Budget::new(u64::MAX, 0);
        let blob = Blob::Decoded {
            source: &source,
            codec: Codec::Zlib,
            limit: 1000,
            budget: &budget,
        };
        let mut out = Vec::new();
        let err = blob.open().and_then(|mut r| r.read_to_end(&mut out)).err();
        assert_eq!(err.as_ref().and_then(over_limit), Some(1000));
        assert_eq!(out.len(), 1000);
    }

    #[test]
    fn streams_of_one_file_share_its_budget() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&vec![0u8; 3000]).unwrap();
        let packed = enc.finish().unwrap();
        let source = Blob::Memory(&packed);
        let budget = Budget::new(5000, 0);
        let blob = Blob::Decoded {
            source: &source,
            codec: Codec::Zlib,
            limit: u64::MAX,
            budget: &budget,
        };
        let mut out = Vec::new();
        blob.open().unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 3000);
        out.clear();
        let err = blob.open().unwrap().read_to_end(&mut out).unwrap_err();
        assert_eq!(over_limit(&err), Some(5000));
        assert_eq!(out.len(), 2000);
    }

    #[test]
    fn tails_skip_their_start_in_streams() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"headerDATA").unwrap();
        let packed = enc.finish().unwrap();
        let source = Blob::Memory(&packed);
        let budget = Budget::new(u64::MAX, 0);
        let blob = Blob::Decoded {
            source: &source,
            codec: Codec::Zlib,
            limit: u64::MAX,
            budget: &budget,
        };
        assert_eq!(blob.tail(6).head(100).unwrap(), b"DATA");
        let memory = Blob::Memory(b"headerDATA");
        assert_eq!(memory.tail(6).head(100).unwrap(), b"DATA");
        assert_eq!(memory.tail(60).head(100).unwrap(), b"");
    }

    #[test]
    fn slices_are_bounded() {
        let data = [1u8, 2, 3, 4];
        let blob = Blob::Memory(&data);
        assert!(blob.slice(2, 3).is_none());
        assert_eq!(
            blob.slice(1, 2).map(|b| b.head(10).ok()),
            Some(Some(vec![2, 3]))
        );
    }
}
