//! Finds code that runs on load in model files, without loading them.
//!
//! Formats are sniffed from content, never from names, by the readers of the format registry
//! (`formats`): raw pickles, PyTorch zip checkpoints and legacy files (stacked pickles, and the
//! tar form), NumPy `.npy` (object arrays hold a pickle) and `.npz`, joblib files raw or
//! compressed (zlib, gzip, bz2, xz, lzma, lz4, joblib 0.9's `ZF`), zip and tar archives, nested
//! to a bound. Containers hand their members back to the same dispatcher. Pickles are analysed
//! by [`aigate_pickle`] and their globals judged by [`GlobalPolicy`].
//!
//! Every reader is bounded ([`ScanLimits`]), and each file has a budget of decoded bytes and of
//! pickle opcodes over all its members; what cannot be analysed is a finding, never a silent
//! pass. Files are read with positional reads: a checkpoint's tensor bytes are not read. A bug
//! in a reader is caught per file ([`Scanner::scan_files`]) and reported as an
//! `internal-error` for that file, so one bad input cannot end a run.

#![forbid(unsafe_code)]

mod dispatch;
mod findings;
mod formats;
mod globals;
pub mod rules;
mod source;
mod template;
mod walk;

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use aigate_report::{Finding, INTERNAL_ERROR, InputError, Location, Scanned, Severity};

pub use formats::hdf5::{Hdf5Attributes, root_attributes_of as hdf5_root_attributes};
pub use formats::safetensors::{Tensor as SafetensorsTensor, tensors as safetensors_tensors};
pub use globals::{GlobalPolicy, PatternError, Verdict};
pub use rules::RULES;
pub use walk::{InputKind, STDIN, Walk, Walked, walk};

use dispatch::Cx;
use formats::NameHint;
use source::{Blob, Budget};

/// The scanner's name and version, recorded with verdicts.
pub const SCANNER_VERSION: &str = concat!("aigate-scan ", env!("CARGO_PKG_VERSION"));

/// A format the registry reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatInfo {
    /// Its name in reports.
    pub name: &'static str,
    /// Its reader's version.
    pub version: u32,
    /// The magic numbers its sniff recognises.
    pub magics: &'static [&'static [u8]],
}

/// Every format the registry reads, in sniffing order.
pub fn formats() -> Vec<FormatInfo> {
    formats::FORMATS
        .iter()
        .map(|f| FormatInfo {
            name: f.name(),
            version: f.version(),
            magics: f.magics(),
        })
        .collect()
}

/// Bounds on containers and decoding, beside the pickle analyser's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Limits of each pickle analysis.
    pub pickle: aigate_pickle::Limits,
    /// Containers nested in containers (zip in zip, compressed tar, …).
    pub max_depth: u32,
    /// Members of one archive.
    pub max_members: u64,
    /// Bytes one compressed stream may decode to.
    pub max_decoded_bytes: u64,
    /// Bytes all the compressed streams of one file may decode to together, at the least; a
    /// file may decode to [`ScanLimits::decoded_bytes_per_byte`] times its size when that is
    /// more, up to [`ScanLimits::max_decoded_bytes_per_file`].
    pub min_decoded_bytes_per_file: u64,
    /// How many decoded bytes a file may yield for each of its own bytes.
    pub decoded_bytes_per_byte: u64,
    /// The most all the streams of one file may decode to, whatever its size.
    pub max_decoded_bytes_per_file: u64,
    /// Bytes of one member held in memory where random access needs it (a zip inside a
    /// compressed stream).
    pub max_in_memory: u64,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            pickle: aigate_pickle::Limits::default(),
            max_depth: 8,
            max_members: 1 << 20,
            max_decoded_bytes: 16 << 30,
            min_decoded_bytes_per_file: 4 << 30,
            decoded_bytes_per_byte: 1024,
            max_decoded_bytes_per_file: 64 << 30,
            max_in_memory: 1 << 30,
        }
    }
}

impl ScanLimits {
    /// The budget of one file of `size` bytes: decoded bytes as the limits say, and pickle
    /// opcodes enough for every byte it holds or decodes to (an opcode takes at least one byte),
    /// and never fewer than one analysis may use.
    fn budget(&self, size: u64) -> Budget {
        let decoded = size.saturating_mul(self.decoded_bytes_per_byte).clamp(
            self.min_decoded_bytes_per_file,
            self.max_decoded_bytes_per_file,
        );
        let opcodes = size.saturating_add(decoded).max(self.pickle.max_opcodes);
        Budget::new(decoded, opcodes)
    }
}

/// Choices that change what a scan reports, not what it decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// List every global each pickle imports, safe ones included, in [`Scanned::globals`].
    pub list_globals: bool,
}

/// What scanning one file found.
#[derive(Debug, Default)]
pub struct FileScan {
    /// Findings, in the order found.
    pub findings: Vec<Finding>,
    /// The file and the members whose format was recognised.
    pub scanned: Vec<Scanned>,
    /// Bytes of the file that could not be read (I/O errors, not format errors).
    pub errors: Vec<InputError>,
}

impl FileScan {
    /// The most severe finding.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    fn failed(display: &str, message: String) -> FileScan {
        FileScan {
            errors: vec![InputError::new(display, message)],
            ..FileScan::default()
        }
    }
}

/// The scanner: the rules for globals, limits and options.
#[derive(Debug, Clone)]
pub struct Scanner {
    globals: GlobalPolicy,
    limits: ScanLimits,
    options: ScanOptions,
}

impl Scanner {
    /// A scanner with the user's `[scan] allow` and `deny` patterns.
    pub fn new(
        allow: &[String],
        deny: &[String],
        limits: ScanLimits,
    ) -> Result<Self, PatternError> {
        Ok(Scanner {
            globals: GlobalPolicy::new(allow, deny)?,
            limits,
            options: ScanOptions::default(),
        })
    }

    /// The same scanner with other options.
    #[must_use]
    pub fn with_options(mut self, options: ScanOptions) -> Self {
        self.options = options;
        self
    }

    /// The rules globals are judged by.
    pub fn globals(&self) -> &GlobalPolicy {
        &self.globals
    }

    /// Scans one file. `display` is the name findings carry. A file that cannot be opened is
    /// an error in the result; everything else is a finding.
    pub fn scan_file(&self, path: &Path, display: &str) -> FileScan {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) => return FileScan::failed(display, err.to_string().to_lowercase()),
        };
        let len = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(err) => return FileScan::failed(display, err.to_string().to_lowercase()),
        };
        let blob = Blob::Region {
            file: &file,
            offset: 0,
            len,
        };
        self.scan_blob(&blob, len, display)
    }

    /// Scans bytes in memory, as if they were a file named `display`. Not isolated: a bug
    /// panics, as the fuzzers want.
    pub fn scan_bytes(&self, data: &[u8], display: &str) -> FileScan {
        self.scan_blob(&Blob::Memory(data), data.len() as u64, display)
    }

    fn scan_blob(&self, blob: &Blob<'_>, len: u64, display: &str) -> FileScan {
        let budget = self.limits.budget(len);
        let mut cx = Cx::new(self, &budget);
        cx.scan(
            blob,
            &Location::file(display),
            NameHint::from_name(display),
            0,
        );
        cx.out
    }

    /// Scans one file so that a bug in a reader becomes an `internal-error` finding for this
    /// file instead of ending the run.
    pub fn scan_file_isolated(&self, path: &Path, display: &str) -> FileScan {
        isolated(display, || self.scan_file(path, display))
    }

    /// Scans what a stream yields (standard input, a pipe, a device), read once into memory
    /// up to [`ScanLimits::max_in_memory`]: a longer stream is an error, never a partial pass.
    pub fn scan_stream(&self, input: &Walked) -> FileScan {
        match read_stream(input, self.limits.max_in_memory) {
            Ok(data) => isolated(&input.display, || self.scan_bytes(&data, &input.display)),
            Err(message) => FileScan::failed(&input.display, message),
        }
    }

    /// Scans inputs in parallel, each isolated from the others, returning each one's result in
    /// the order given.
    pub fn scan_files(&self, files: &[Walked], progress: &dyn Progress) -> Vec<FileScan> {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|f| {
                let result = match f.kind {
                    InputKind::File => self.scan_file_isolated(&f.path, &f.display),
                    InputKind::Stream => self.scan_stream(f),
                };
                progress.file_done(f.size);
                result
            })
            .collect()
    }
}

/// Reads a stream whole, up to `limit` bytes.
fn read_stream(input: &Walked, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut data = Vec::new();
    let read = if input.path.as_os_str() == STDIN {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut data)
    } else {
        File::open(&input.path).and_then(|f| f.take(limit + 1).read_to_end(&mut data))
    };
    read.map_err(|err| err.to_string().to_lowercase())?;
    if data.len() as u64 > limit {
        return Err(format!(
            "the stream holds more than the {limit} bytes aigate reads from a stream; save it to a file and scan that"
        ));
    }
    Ok(data)
}

/// Runs one file's scan; a panic inside it becomes that file's `internal-error` finding.
fn isolated(display: &str, scan: impl FnOnce() -> FileScan) -> FileScan {
    match catch_unwind(AssertUnwindSafe(scan)) {
        Ok(scan) => scan,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a reader panicked".to_owned());
            FileScan {
                findings: vec![
                    Finding::new(
                        &INTERNAL_ERROR,
                        format!("the scan of this file failed inside aigate: {what}"),
                        Location::file(display),
                    )
                    .with_hint("the file was not analysed; treat it as unchecked"),
                ],
                ..FileScan::default()
            }
        }
    }
}

/// Told of progress while files are scanned in parallel.
pub trait Progress: Sync {
    /// A file of `bytes` bytes is done.
    fn file_done(&self, bytes: u64);
}

/// Ignores progress.
pub struct NoProgress;

impl Progress for NoProgress {
    fn file_done(&self, _bytes: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_scan_becomes_an_internal_error_for_its_file_only() {
        let scan = isolated("models/broken.pkl", || panic!("index out of bounds"));
        assert_eq!(scan.findings.len(), 1);
        let finding = &scan.findings[0];
        assert_eq!(finding.rule, "internal-error");
        assert_eq!(finding.location.path, "models/broken.pkl");
        assert!(
            finding.message.contains("index out of bounds"),
            "{}",
            finding.message
        );
        let fine = isolated("models/fine.pkl", FileScan::default);
        assert!(fine.findings.is_empty());
    }
}
