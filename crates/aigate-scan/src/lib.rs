//! Finds code that runs on load in model files, without loading them.
//!
//! Formats are sniffed from content, never from names: raw pickles, PyTorch zip checkpoints and
//! legacy files (stacked pickles, and the tar form), NumPy `.npy` (object arrays hold a pickle)
//! and `.npz`, joblib files raw or compressed (zlib, gzip, bz2, xz, lzma, lz4), zip and tar
//! archives, nested to a bound. Containers hand their members back to the same dispatcher.
//! Pickles are analysed by [`aigate_pickle`] and their globals judged by [`GlobalPolicy`].
//!
//! Every reader is bounded ([`ScanLimits`]); what cannot be analysed is a finding, never a
//! silent pass. Files are read with positional reads: a checkpoint's tensor bytes are not read.

#![forbid(unsafe_code)]

mod findings;
mod formats;
mod policy;
pub mod rules;
mod source;
mod walk;

use std::fs::File;
use std::io;
use std::path::Path;

use aigate_report::{Finding, Location, Scanned, Severity};

pub use policy::{GlobalPolicy, PatternError, Verdict};
pub use rules::RULES;
pub use walk::{Walked, walk};

use findings::{Reach, pickle_findings};
use formats::Hint;
use source::{Blob, Codec};

/// The scanner's name and version, recorded with verdicts.
pub const SCANNER_VERSION: &str = concat!("aigate-scan ", env!("CARGO_PKG_VERSION"));

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
            max_in_memory: 1 << 30,
        }
    }
}

/// What scanning one file found.
#[derive(Debug, Default)]
pub struct FileScan {
    /// Findings, in the order found.
    pub findings: Vec<Finding>,
    /// The file and the members whose format was recognised.
    pub scanned: Vec<Scanned>,
}

impl FileScan {
    /// The most severe finding.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// The scanner: a global policy and limits.
#[derive(Debug, Clone)]
pub struct Scanner {
    policy: GlobalPolicy,
    limits: ScanLimits,
}

impl Scanner {
    /// A scanner with the user's `[scan] allow` and `deny` patterns.
    pub fn new(
        allow: &[String],
        deny: &[String],
        limits: ScanLimits,
    ) -> Result<Self, PatternError> {
        Ok(Scanner {
            policy: GlobalPolicy::new(allow, deny)?,
            limits,
        })
    }

    /// The policy globals are judged by.
    pub fn policy(&self) -> &GlobalPolicy {
        &self.policy
    }

    /// Scans one file. `display` is the name findings carry. Only errors that stop the file
    /// from being read at all are returned; everything else is a finding.
    pub fn scan_file(&self, path: &Path, display: &str) -> io::Result<FileScan> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let blob = Blob::Region {
            file: &file,
            offset: 0,
            len,
        };
        let mut cx = Cx {
            scanner: self,
            out: FileScan::default(),
        };
        cx.scan(&blob, &Location::file(display), Hint::from_name(display), 0)?;
        Ok(cx.out)
    }

    /// Scans bytes in memory, as if they were a file named `display`.
    pub fn scan_bytes(&self, data: &[u8], display: &str) -> FileScan {
        let mut cx = Cx {
            scanner: self,
            out: FileScan::default(),
        };
        let loc = Location::file(display);
        if let Err(err) = cx.scan(&Blob::Memory(data), &loc, Hint::from_name(display), 0) {
            cx.container_error(&loc, rules::ZIP_MALFORMED, &err);
        }
        cx.out
    }
}

/// The state of one file's scan.
pub(crate) struct Cx<'s> {
    scanner: &'s Scanner,
    out: FileScan,
}

impl Cx<'_> {
    pub(crate) fn limits(&self) -> &ScanLimits {
        &self.scanner.limits
    }

    pub(crate) fn finding(&mut self, finding: Finding) {
        self.out.findings.push(finding);
    }

    pub(crate) fn scanned(&mut self, loc: &Location, format: &str, size: u64) {
        self.out.scanned.push(Scanned {
            location: loc.clone(),
            format: format.to_owned(),
            size,
        });
    }

    /// Reports an I/O error inside a container as a finding of `rule`.
    pub(crate) fn container_error(&mut self, loc: &Location, rule: &str, err: &io::Error) {
        let (rule, message) = match source::over_limit(err) {
            Some(limit) => (
                rules::CONTAINER_BUDGET_EXCEEDED,
                format!(
                    "decoded data exceeds the limit of {limit} bytes; the rest was not analysed"
                ),
            ),
            None => (
                rule,
                format!("cannot be read: {}", err.to_string().to_lowercase()),
            ),
        };
        self.finding(Finding::new(rule, Severity::Medium, message, loc.clone()));
    }

    /// Sniffs `blob` and scans it with the scanner its content calls for.
    pub(crate) fn scan(
        &mut self,
        blob: &Blob<'_>,
        loc: &Location,
        hint: Hint,
        depth: u32,
    ) -> io::Result<()> {
        if depth > self.limits().max_depth {
            self.finding(Finding::new(
                rules::CONTAINER_BUDGET_EXCEEDED,
                Severity::Medium,
                format!(
                    "containers are nested more than {} deep; this member was not analysed",
                    self.limits().max_depth
                ),
                loc.clone(),
            ));
            return Ok(());
        }
        let head = blob.head(formats::HEAD)?;
        let decoded = matches!(blob, Blob::Decoded { .. });
        match formats::sniff(&head) {
            formats::Format::Zip => formats::zip::scan(self, blob, loc, depth),
            formats::Format::Tar => formats::tar::scan(self, blob, loc, depth),
            formats::Format::Npy => formats::npy::scan(self, blob, loc, &head),
            formats::Format::Compressed(codec) => self.decode(blob, codec, loc, hint, depth),
            formats::Format::JoblibZfile => {
                let Some(body) = blob.len().and_then(|len| {
                    blob.slice(
                        formats::ZFILE_HEADER,
                        len.saturating_sub(formats::ZFILE_HEADER),
                    )
                }) else {
                    return self.unrecognized(loc, "a joblib 0.9 zfile inside a stream");
                };
                self.decode(&body, Codec::Zlib, loc, hint, depth)
            }
            formats::Format::Unsupported(codec) => {
                self.finding(Finding::new(
                    rules::COMPRESSION_UNSUPPORTED,
                    Severity::Medium,
                    format!("compressed with {codec}, which aigate does not decode; its content was not analysed"),
                    loc.clone(),
                ));
                Ok(())
            }
            formats::Format::TorchLegacy => {
                // torch.load reads exactly five pickles (magic number, protocol version,
                // system info, the object, the storage keys); raw storages follow.
                self.pickle(
                    blob,
                    loc,
                    "pytorch-legacy",
                    Some(5),
                    Reach::Loaded,
                    decoded,
                    true,
                )
            }
            formats::Format::Pickle => {
                self.pickle(blob, loc, "pickle", None, hint.reach(), decoded, true)
            }
            formats::Format::Unknown => {
                if hint == Hint::RawData || !formats::may_start_pickle(&head) {
                    return if hint == Hint::Pickle {
                        self.unrecognized(loc, "content that is no known format")
                    } else {
                        Ok(())
                    };
                }
                let strong = hint == Hint::Pickle;
                self.pickle(blob, loc, "pickle", None, Reach::Loaded, decoded, strong)?;
                Ok(())
            }
        }
    }

    fn unrecognized(&mut self, loc: &Location, what: &str) -> io::Result<()> {
        self.finding(Finding::new(
            rules::FORMAT_UNRECOGNIZED,
            Severity::Medium,
            format!("named like a pickle, PyTorch or joblib file but holds {what}"),
            loc.clone(),
        ));
        Ok(())
    }

    fn decode(
        &mut self,
        blob: &Blob<'_>,
        codec: Codec,
        loc: &Location,
        hint: Hint,
        depth: u32,
    ) -> io::Result<()> {
        if let Some(size) = blob.len() {
            self.scanned(loc, codec.name(), size);
        }
        let decoded = Blob::Decoded {
            source: blob,
            codec,
            limit: self.limits().max_decoded_bytes,
        };
        let inner = loc.join(format!("{} stream", codec.name()));
        match self.scan(&decoded, &inner, hint, depth + 1) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.container_error(&inner, rules::COMPRESSION_CORRUPT, &err);
                Ok(())
            }
        }
    }

    /// Analyses `blob` as pickles. When `strong` is false, content that turns out not to be a
    /// pickle is left alone.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn pickle(
        &mut self,
        blob: &Blob<'_>,
        loc: &Location,
        format: &str,
        max_pickles: Option<u32>,
        reach: Reach,
        decoded: bool,
        strong: bool,
    ) -> io::Result<()> {
        let limits = aigate_pickle::Limits {
            max_pickles,
            ..self.limits().pickle
        };
        let analysis = aigate_pickle::analyze(blob.open()?, &limits);
        // A stream that cannot be read or decoded to its end is a finding whatever it holds.
        let unreadable = matches!(analysis.stop, Some(aigate_pickle::Stop::Io { .. }));
        if !analysis.is_pickle() && !unreadable {
            if !strong {
                return Ok(());
            }
            if !analysis.has_code_paths() {
                return self.unrecognized(loc, "content that is no known format");
            }
        }
        if reach == Reach::RawData && !analysis.has_code_paths() && !unreadable {
            return Ok(());
        }
        self.scanned(loc, format, blob.len().unwrap_or(analysis.bytes));
        pickle_findings(
            &analysis,
            loc,
            &self.scanner.policy,
            reach,
            decoded,
            &mut self.out.findings,
        );
        Ok(())
    }

    /// Records the findings of an analysis of a pickle that a loader unpickles.
    pub(crate) fn pickle_analysis(
        &mut self,
        analysis: &aigate_pickle::Analysis,
        loc: &Location,
        decoded: bool,
    ) -> io::Result<()> {
        pickle_findings(
            analysis,
            loc,
            &self.scanner.policy,
            Reach::Loaded,
            decoded,
            &mut self.out.findings,
        );
        Ok(())
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

impl Scanner {
    /// Scans files in parallel, returning each file's result in the order given.
    pub fn scan_files(
        &self,
        files: &[Walked],
        progress: &dyn Progress,
    ) -> Vec<io::Result<FileScan>> {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|f| {
                let result = self.scan_file(&f.path, &f.display);
                progress.file_done(f.size);
                result
            })
            .collect()
    }
}
