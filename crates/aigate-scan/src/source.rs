//! Where a scanner's bytes come from: a region of a file read with positional reads (so that a
//! 2 GiB checkpoint is never read whole), a buffer in memory, or a stream decoded from another
//! source. Decoded streams are bounded: a decompression bomb stops with [`OverLimit`].

use std::fs::File;
use std::io::{self, Read};

/// Memory an xz or lzma decoder may use, dictionary included: 96 MiB, above the 64 MiB that
/// `xz -9` and Python's `lzma` at preset 9 need, so that a header declaring a huge dictionary
/// is an error rather than an allocation.
const LZMA_MEMORY_KIB: u32 = 96 * 1024;

/// The compression codecs a stream may be decoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Deflate,
    Zlib,
    Gzip,
    Bzip2,
    Xz,
    Lzma,
    Lz4,
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
            Codec::Lz4 => "lz4",
        }
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
    /// `source` decoded with `codec`, producing at most `limit` bytes.
    Decoded {
        source: &'a Blob<'a>,
        codec: Codec,
        limit: u64,
    },
}

impl<'a> Blob<'a> {
    /// The size, where it is known without decoding.
    pub(crate) fn len(&self) -> Option<u64> {
        match self {
            Blob::Region { len, .. } => Some(*len),
            Blob::Memory(data) => Some(data.len() as u64),
            Blob::Decoded { .. } => None,
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
            Blob::Decoded { .. } => None,
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
            Blob::Decoded { .. } => Err(io::Error::other("decoded streams have no random access")),
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
            Blob::Decoded {
                source,
                codec,
                limit,
            } => {
                let raw = source.open()?;
                let decoder: Box<dyn Read + 'a> = match codec {
                    Codec::Deflate => Box::new(flate2::read::DeflateDecoder::new(raw)),
                    Codec::Zlib => Box::new(flate2::read::ZlibDecoder::new(raw)),
                    Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
                    Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
                    Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(raw)),
                    Codec::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
                        raw,
                        true,
                        LZMA_MEMORY_KIB,
                    )),
                    Codec::Lzma => Box::new(
                        lzma_rust2::LzmaReader::new_mem_limit(raw, LZMA_MEMORY_KIB, None)
                            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?,
                    ),
                };
                Box::new(Bounded {
                    inner: decoder,
                    left: limit,
                    limit,
                })
            }
        })
    }

    /// Up to `n` bytes from the start.
    pub(crate) fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        match self {
            Blob::Decoded { .. } => {
                let mut out = Vec::with_capacity(n);
                self.open()?.take(n as u64).read_to_end(&mut out)?;
                Ok(out)
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

struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(OverLimit(self.limit))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
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
        enc.write_all(&vec![0u8; 1 << 20]).ok();
        let packed = enc.finish().unwrap_or_default();
        let source = Blob::Memory(&packed);
        let blob = Blob::Decoded {
            source: &source,
            codec: Codec::Zlib,
            limit: 1000,
        };
        let mut out = Vec::new();
        let err = blob.open().and_then(|mut r| r.read_to_end(&mut out)).err();
        assert_eq!(err.as_ref().and_then(over_limit), Some(1000));
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
