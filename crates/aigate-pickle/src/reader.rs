//! A buffered, position-tracking reader over any `Read` with the few primitives the interpreter
//! needs. Payloads are skipped without being copied; lines are bounded.

use std::io::{self, Read};

/// The buffer starts small, so that thousands of small pickles (zip members) cost no more than
/// they need, and doubles up to `BUFFER` while a stream keeps filling it.
const INITIAL_BUFFER: usize = 4 * 1024;
const BUFFER: usize = 64 * 1024;

/// Why a read stopped.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The input ended in the middle of an opcode.
    Truncated,
    /// The underlying reader failed.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        ReadError::Io(err)
    }
}

/// A line read by [`Reader::line`].
pub(crate) enum Line<'a> {
    /// The line without its `\n`.
    Kept(&'a [u8]),
    /// The line was longer than the caller wanted kept; it was skipped.
    TooLong(u64),
    /// The input ended before a `\n`: what was left (kept, or too long).
    AtEnd(Option<&'a [u8]>),
}

/// A line as read, its kept bytes in the reader's scratch buffer.
enum RawLine {
    Kept,
    TooLong(u64),
    AtEnd { kept: bool },
}

pub(crate) struct Reader<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Absolute offset of `buf[start]`.
    pos: u64,
    eof: bool,
    scratch: Vec<u8>,
    /// After [`Reader::unread`]: when `pos` reaches the first offset, the input goes on at
    /// the second.
    resume: Option<(u64, u64)>,
    /// Where `_pickle.c`'s input buffer ends while it holds bytes not yet read: a `FRAME` is
    /// read ahead into it as a whole.
    buffer_end: Option<u64>,
    /// Read as `_pickle.c` reads a file without `peek` (`BytesIO`): an operand or line that
    /// goes past the end of its buffer is read from the file after it, the buffer's rest
    /// dropped.
    unpeekable: bool,
    /// How many reads went past the end of a read-ahead frame with bytes left in it: where an
    /// unpeekable reading starts to differ from this one.
    crossings: u64,
}

impl<R: Read> Reader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Reader {
            inner,
            buf: vec![0; INITIAL_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
            scratch: Vec::new(),
            resume: None,
            buffer_end: None,
            unpeekable: false,
            crossings: 0,
        }
    }

    /// Reads as `_pickle.c` reads a file without `peek`: see [`Reader::operand`].
    pub(crate) fn unpeekable(mut self) -> Self {
        self.unpeekable = true;
        self
    }

    /// Reads that went past the end of a read-ahead frame with bytes left in it.
    pub(crate) fn crossings(&self) -> u64 {
        self.crossings
    }

    /// Bytes of a read-ahead frame still in `_pickle.c`'s input buffer.
    pub(crate) fn buffered(&self) -> u64 {
        self.buffer_end
            .map_or(0, |end| end.saturating_sub(self.pos))
    }

    /// `_pickle.c` is about to read an operand of `n` bytes. From its input buffer when the
    /// buffer holds them; otherwise from the file: the C unpickler over a file with `peek`
    /// reads on where it is, over one without (`BytesIO`) the file is already past the frame
    /// it read ahead, so the rest of the frame is dropped and the operand read after it.
    #[inline]
    pub(crate) fn operand(&mut self, n: u64) -> Result<(), ReadError> {
        match self.buffer_end {
            Some(end) if self.pos.saturating_add(n) > end => self.operand_past(end),
            _ => Ok(()),
        }
    }

    /// [`Reader::operand`] where the operand does not fit what is left of the buffer.
    #[cold]
    fn operand_past(&mut self, end: u64) -> Result<(), ReadError> {
        self.buffer_end = None;
        if self.pos < end {
            self.crossings += 1;
            if self.unpeekable {
                self.skip_bytes(end - self.pos)?;
            }
        }
        Ok(())
    }

    /// `FRAME` of `len` bytes: `_pickle.c` reads it into its input buffer (from the file
    /// unless the buffer already holds it) and reads on from its start.
    pub(crate) fn frame(&mut self, len: u64) -> Result<(), ReadError> {
        let held = self
            .buffer_end
            .is_some_and(|end| self.pos < end && self.pos.saturating_add(len) <= end);
        if !held {
            self.operand(len)?;
            self.buffer_end = Some(self.pos.saturating_add(len));
        }
        Ok(())
    }

    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    /// Makes at least `want` bytes (at most the buffer size) available unless the input ends.
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        let want = want.min(BUFFER);
        if self.available() >= want {
            return Ok(self.available());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if (self.end == self.buf.len() || want > self.buf.len()) && self.buf.len() < BUFFER {
            let mut grown = vec![0; (self.buf.len() * 2).max(want).min(BUFFER)];
            grown[..self.end].copy_from_slice(&self.buf[..self.end]);
            self.buf = grown.into_boxed_slice();
        }
        while self.end < want && !self.eof {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(self.available())
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
        if let Some((at, to)) = self.resume
            && self.pos >= at
        {
            self.pos = to + (self.pos - at);
            self.resume = None;
        }
    }

    /// True when no byte is left.
    pub(crate) fn at_end(&mut self) -> Result<bool, ReadError> {
        Ok(self.fill(1)? == 0)
    }

    /// Up to `n` bytes (at most the buffer size) without consuming them.
    pub(crate) fn peek(&mut self, n: usize) -> Result<&[u8], ReadError> {
        let got = self.fill(n)?.min(n);
        Ok(&self.buf[self.start..self.start + got])
    }

    pub(crate) fn byte(&mut self) -> Result<u8, ReadError> {
        if self.available() == 0 && self.fill(1)? == 0 {
            return Err(ReadError::Truncated);
        }
        let b = self.buf[self.start];
        self.consume(1);
        Ok(b)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        self.operand(N as u64)?;
        if self.fill(N)? < N {
            return Err(ReadError::Truncated);
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.start..self.start + N]);
        self.consume(N);
        Ok(out)
    }

    /// Skips an operand of `n` bytes without keeping it.
    #[inline]
    pub(crate) fn skip(&mut self, n: u64) -> Result<(), ReadError> {
        self.operand(n)?;
        if (self.available() as u64) >= n {
            self.consume(n as usize);
            return Ok(());
        }
        self.skip_bytes(n)
    }

    fn skip_bytes(&mut self, mut n: u64) -> Result<(), ReadError> {
        loop {
            let here = (self.available() as u64).min(n) as usize;
            self.consume(here);
            n -= here as u64;
            if n == 0 {
                return Ok(());
            }
            if self.fill(1)? == 0 {
                return Err(ReadError::Truncated);
            }
        }
    }

    /// Reads exactly `n` bytes into a new vector. Callers bound `n`. The vector grows as the
    /// bytes arrive (a claimed length that is not there is never allocated) and ends with a
    /// capacity of exactly `n`, never the next power of two above it.
    pub(crate) fn take(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        self.operand(n as u64)?;
        let mut out = Vec::with_capacity(n.min(1 << 20));
        while out.len() < n {
            if self.available() == 0 && self.fill(1)? == 0 {
                return Err(ReadError::Truncated);
            }
            let here = self.available().min(n - out.len());
            if out.capacity() - out.len() < here {
                let grow = (n - out.len()).min(out.len().max(1 << 20));
                out.reserve_exact(grow.max(here));
            }
            out.extend_from_slice(&self.buf[self.start..self.start + here]);
            self.consume(here);
        }
        Ok(out)
    }

    /// Copies up to `out.len()` bytes into `out`; 0 at the end of input.
    pub(crate) fn read_some(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.available() == 0 && self.fill(1)? == 0 {
            return Ok(0);
        }
        let n = self.available().min(out.len());
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.consume(n);
        Ok(n)
    }

    /// Puts `data` back in front of the unread input, as bytes that start at offset `pos`:
    /// the rest of a frame that joblib's unpickler reads after an array it read from the file.
    pub(crate) fn unread(&mut self, data: &[u8], pos: u64) {
        let mut buf = Vec::with_capacity(data.len() + self.available());
        buf.extend_from_slice(data);
        buf.extend_from_slice(&self.buf[self.start..self.end]);
        self.end = buf.len();
        self.start = 0;
        self.buf = buf.into_boxed_slice();
        if !data.is_empty() {
            self.resume = Some((pos + data.len() as u64, self.pos));
            self.pos = pos;
        }
    }

    /// Reads a `\n`-terminated line. Lines longer than `keep` bytes are skipped and only their
    /// length is returned; a line cut off by the end of input is an error, as in CPython's
    /// `_Unpickler_Readline` callers that need the newline.
    ///
    /// A line with no `\n` before the end of a read-ahead frame is read by `_pickle.c` from
    /// the file: over a file without `peek`, from after the frame, which is the part of the
    /// same line from there on.
    pub(crate) fn line(&mut self, keep: usize) -> Result<Line<'_>, ReadError> {
        let cut = match self.buffer_end {
            Some(end) if self.pos < end => Some(end - self.pos),
            _ => None,
        };
        self.buffer_end = None;
        let mut raw = self.whole_line(keep)?;
        let len = match raw {
            RawLine::Kept => self.scratch.len() as u64 + 1,
            RawLine::TooLong(len) => len + 1,
            RawLine::AtEnd { kept: true } => self.scratch.len() as u64,
            RawLine::AtEnd { kept: false } => u64::MAX,
        };
        let mut from = 0;
        if let Some(cut) = cut {
            if len < cut {
                self.buffer_end = Some(self.pos + (cut - len));
            } else if len > cut {
                self.crossings += 1;
                if self.unpeekable {
                    from = usize::try_from(cut)
                        .unwrap_or(usize::MAX)
                        .min(self.scratch.len());
                    if let RawLine::TooLong(total) = raw {
                        raw = RawLine::TooLong(total.saturating_sub(cut));
                    }
                }
            }
        }
        Ok(match raw {
            RawLine::Kept => Line::Kept(&self.scratch[from..]),
            RawLine::TooLong(total) => Line::TooLong(total),
            RawLine::AtEnd { kept } => Line::AtEnd(kept.then_some(&self.scratch[from..])),
        })
    }

    fn whole_line(&mut self, keep: usize) -> Result<RawLine, ReadError> {
        self.scratch.clear();
        let mut total: u64 = 0;
        let mut kept = true;
        loop {
            if self.available() == 0 && self.fill(1)? == 0 {
                if total == 0 {
                    return Err(ReadError::Truncated);
                }
                return Ok(RawLine::AtEnd { kept });
            }
            let window = &self.buf[self.start..self.end];
            let (chunk_len, found) = match memchr::memchr(b'\n', window) {
                Some(i) => (i, true),
                None => (window.len(), false),
            };
            if kept {
                if self.scratch.len() + chunk_len <= keep {
                    self.scratch.extend_from_slice(&window[..chunk_len]);
                } else {
                    kept = false;
                    self.scratch.clear();
                }
            }
            total += chunk_len as u64;
            self.consume(chunk_len + usize::from(found));
            if found {
                return Ok(if kept {
                    RawLine::Kept
                } else {
                    RawLine::TooLong(total)
                });
            }
        }
    }
}

/// At most `left` bytes of a [`Reader`], as a `Read`: a region a nested analysis may read.
pub(crate) struct Region<'a, R> {
    pub(crate) reader: &'a mut Reader<R>,
    pub(crate) left: u64,
}

impl<R: Read> Read for Region<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = (out.len() as u64).min(self.left) as usize;
        let got = self.reader.read_some(&mut out[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_buffer_refills() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = Reader::new(&data[..]);
        r.skip(70_000).unwrap();
        assert_eq!(r.pos(), 70_000);
        let arr = r.array::<4>().unwrap();
        assert_eq!(
            arr,
            [data[70_000], data[70_001], data[70_002], data[70_003]]
        );
        let rest = r.take(129_996).unwrap();
        assert_eq!(rest, data[70_004..]);
        assert!(matches!(r.byte(), Err(ReadError::Truncated)));
    }

    #[test]
    fn unread_bytes_come_first_and_regions_stop_at_their_length() {
        let data = b"abcdefgh";
        let mut r = Reader::new(&data[..]);
        r.skip(2).unwrap();
        let mut region = Region {
            reader: &mut r,
            left: 3,
        };
        let mut got = Vec::new();
        region.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"cde");
        r.unread(b"XY", 1);
        assert_eq!(r.pos(), 1);
        assert_eq!(r.take(3).unwrap(), b"XYf");
        assert_eq!(r.pos(), 6);
        assert_eq!(r.take(2).unwrap(), b"gh");
        assert!(r.at_end().unwrap());
    }

    #[test]
    fn long_lines_are_skipped_not_kept() {
        let mut data = vec![b'a'; 100_000];
        data.extend_from_slice(b"\nshort\n");
        let mut r = Reader::new(&data[..]);
        assert!(matches!(r.line(10), Ok(Line::TooLong(100_000))));
        assert!(matches!(r.line(10), Ok(Line::Kept(b"short"))));
        assert!(matches!(r.line(10), Err(ReadError::Truncated)));
        let mut r = Reader::new(&b"cut"[..]);
        assert!(matches!(r.line(10), Ok(Line::AtEnd(Some(b"cut")))));
    }
}
