//! The dispatcher: sniffs every input with the registry and hands it to the reader that claims
//! it; containers hand their members back here, so nesting needs no special code. It holds one
//! file's state ([`Cx`]): its findings, what it analysed, and its budget.

use std::io;

use aigate_pickle::{Analysis, Stop};
use aigate_report::{Finding, InputError, Location, Rule, Scanned, SeenGlobal, Step};

use crate::findings::{Reach, pickle_findings};
use crate::formats::other::{self, Unclaimed};
use crate::formats::{self, Input, NameHint};
use crate::rules::{
    COMPRESSION_CORRUPT, CONTAINER_BUDGET_EXCEEDED, EXECUTABLE_FILE, FORMAT_NOT_ANALYSED,
    FORMAT_UNRECOGNIZED, SCRIPT_FILE,
};
use crate::source::{self, Blob, Budget, Codec};
use crate::{FileScan, ScanLimits, Scanner};

/// How a pickle is to be read: what to call it, how many stacked pickles a loader reads, how it
/// is reached, and whether the content is known to be a pickle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PickleRead {
    /// The format name recorded for it.
    pub(crate) format: &'static str,
    /// The reader version recorded for it.
    pub(crate) version: u32,
    /// Complete pickles a loader reads before it stops (`None`: all).
    pub(crate) max_pickles: Option<u32>,
    /// How a loader reaches it.
    pub(crate) reach: Reach,
    /// What says the content is a pickle.
    pub(crate) claim: Claim,
}

/// What says that some content is a pickle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The format: a protocol header, or a place where a loader unpickles (a NumPy object
    /// array's data, a PyTorch legacy record). Whatever it holds is reported as a pickle.
    Format,
    /// Only its name. Content that is no pickle at all is `format-unrecognized`.
    Name,
    /// Nothing: it must show a pickle's structure (a `STOP`, a call) to be judged one.
    None,
}

/// Whether `dotted` could name a module or an attribute path: identifiers joined by dots.
fn importable(dotted: &str) -> bool {
    !dotted.is_empty()
        && dotted.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// The state of one file's scan.
pub(crate) struct Cx<'s> {
    scanner: &'s Scanner,
    budget: &'s Budget,
    pub(crate) out: FileScan,
}

impl<'s> Cx<'s> {
    pub(crate) fn new(scanner: &'s Scanner, budget: &'s Budget) -> Self {
        Cx {
            scanner,
            budget,
            out: FileScan::default(),
        }
    }

    /// The judge of globals (pickle globals, Keras modules, config targets).
    pub(crate) fn globals(&self) -> &crate::GlobalPolicy {
        &self.scanner.globals
    }

    /// This file's budget, for readers that decode with a library of their own.
    pub(crate) fn budget(&self) -> &'s Budget {
        self.budget
    }

    pub(crate) fn limits(&self) -> &ScanLimits {
        &self.scanner.limits
    }

    pub(crate) fn finding(&mut self, finding: Finding) {
        self.out.findings.push(finding);
    }

    /// Records that `loc` was read as `format` by a reader at `version`.
    pub(crate) fn scanned(&mut self, loc: &Location, format: &str, version: u32, size: u64) {
        self.out.scanned.push(Scanned {
            location: loc.clone(),
            format: format.to_owned(),
            reader_version: version,
            size,
            globals: Vec::new(),
        });
    }

    /// `source` decoded with `codec`, bounded per stream and by this file's budget.
    pub(crate) fn decoded<'a>(&self, source: &'a Blob<'a>, codec: Codec) -> Blob<'a>
    where
        's: 'a,
    {
        Blob::Decoded {
            source,
            codec,
            limit: self.limits().max_decoded_bytes,
            budget: self.budget,
        }
    }

    /// Reports an I/O error met while reading `loc` as a finding of `rule`, or of
    /// `container-budget-exceeded` when a bound stopped the read.
    pub(crate) fn io_finding(&mut self, loc: &Location, rule: &Rule, err: &io::Error) {
        let finding = match source::over_limit(err) {
            Some(limit) => Finding::new(
                &CONTAINER_BUDGET_EXCEEDED,
                format!(
                    "decoded data exceeds the limit of {limit} bytes; the rest was not analysed"
                ),
                loc.clone(),
            )
            .with_detail("limit", limit.to_string()),
            None => Finding::new(
                rule,
                format!("cannot be read: {}", err.to_string().to_lowercase()),
                loc.clone(),
            ),
        };
        self.finding(finding);
    }

    /// Sniffs `blob` and has the reader its content calls for analyse it. Nothing here fails:
    /// what cannot be read is a finding, or, for the bytes of the file itself, an error.
    pub(crate) fn scan(&mut self, blob: &Blob<'_>, loc: &Location, hint: NameHint, depth: u32) {
        if depth > self.limits().max_depth {
            self.finding(Finding::new(
                &CONTAINER_BUDGET_EXCEEDED,
                format!(
                    "containers are nested more than {} deep; this member was not analysed",
                    self.limits().max_depth
                ),
                loc.clone(),
            ));
            return;
        }
        let head = match blob.head(formats::HEAD) {
            Ok(head) => head,
            Err(err) if blob.is_decoded() => {
                self.io_finding(loc, &COMPRESSION_CORRUPT, &err);
                return;
            }
            Err(err) => {
                self.out.errors.push(InputError::new(
                    loc.to_string(),
                    format!("cannot be read: {}", err.to_string().to_lowercase()),
                ));
                return;
            }
        };
        // `zipfile.ZipFile` opens anything that ends in a central directory, whatever comes
        // before it (a pickle, a prefix): such content is also read as the zip it ends in.
        let zip_at_end = |format: Option<&dyn formats::FormatScanner>| {
            hint != NameHint::RawData
                && format.is_none_or(|f| f.name() != "zip")
                && formats::zip::has_central_directory(blob)
        };
        let Some(format) = formats::sniff(&head, hint) else {
            self.unclaimed(blob, loc, &head, hint);
            if zip_at_end(None) {
                formats::zip::scan_also(self, blob, loc, depth);
            }
            return;
        };
        let input = Input {
            blob,
            loc,
            head: &head,
            hint,
            depth,
        };
        if let Err(err) = format.scan(self, &input) {
            let rule = if blob.is_decoded() {
                &COMPRESSION_CORRUPT
            } else {
                format.malformed_rule()
            };
            self.io_finding(loc, rule, &err);
        }
        if zip_at_end(Some(format)) {
            formats::zip::scan_also(self, blob, loc, depth);
        }
    }

    /// Reports what a file no reader claimed is, when it is more than data (fail closed: a
    /// model format aigate cannot read, native code, a script); records data as read.
    pub(crate) fn unclaimed(
        &mut self,
        blob: &Blob<'_>,
        loc: &Location,
        head: &[u8],
        hint: NameHint,
    ) {
        if hint == NameHint::RawData {
            return;
        }
        let kind = other::classify(head, formats::innermost_name(loc));
        let (rule, message) = match kind {
            Unclaimed::Executable(what) => (&EXECUTABLE_FILE, format!("native code: {what}")),
            _ if hint == NameHint::Pickle => {
                self.unrecognized(loc, "content that is no known format");
                return;
            }
            Unclaimed::NotAnalysed(what) => (
                &FORMAT_NOT_ANALYSED,
                format!("a {what}, a format aigate does not analyse yet"),
            ),
            Unclaimed::Script(what) => (&SCRIPT_FILE, format!("a {what}")),
            Unclaimed::Data => {
                let size = blob.len().unwrap_or(head.len() as u64);
                self.scanned(loc, "data", 1, size);
                return;
            }
        };
        self.finding(Finding::new(rule, message, loc.clone()));
    }

    /// A file named like a pickle whose content is `what`.
    pub(crate) fn unrecognized(&mut self, loc: &Location, what: &str) {
        self.finding(Finding::new(
            &FORMAT_UNRECOGNIZED,
            format!("named like a pickle, PyTorch or joblib file but holds {what}"),
            loc.clone(),
        ));
    }

    /// Decodes `blob` with `codec` and scans what comes out, one step deeper.
    pub(crate) fn scan_decoded(
        &mut self,
        blob: &Blob<'_>,
        codec: Codec,
        loc: &Location,
        hint: NameHint,
        depth: u32,
    ) {
        let decoded = self.decoded(blob, codec);
        let inner = loc.step(Step::Decoded(codec.name().to_owned()));
        self.scan(&decoded, &inner, hint, depth + 1);
    }

    /// The one way pickles are analysed: reads `blob` as `read` says, records what it found,
    /// and returns the analysis (`None` when the content turned out not to be a pickle and did
    /// not claim to be one).
    pub(crate) fn pickle(
        &mut self,
        blob: &Blob<'_>,
        loc: &Location,
        read: &PickleRead,
    ) -> io::Result<Option<Analysis>> {
        let base = self.limits().pickle.scaled(blob.size_hint());
        let limits = aigate_pickle::Limits {
            max_pickles: read.max_pickles,
            max_opcodes: base.max_opcodes.min(self.budget.opcodes_left()),
            ..base
        };
        let analysis = aigate_pickle::analyze(|| blob.open(), &limits)?;
        self.budget.spend_opcodes(analysis.opcodes);
        // A stream that cannot be read or decoded to its end is a finding whatever it holds.
        let unreadable = matches!(analysis.stop, Some(Stop::Io { .. }));
        if !unreadable {
            match read.claim {
                Claim::None if !analysis.shows_pickle_structure() => return Ok(None),
                // Text whose "imports" no loader could resolve (a CSV row is no module name)
                // fails at the first of them, before anything is called.
                Claim::None
                    if !analysis.globals.is_empty()
                        && !analysis
                            .globals
                            .iter()
                            .any(|g| importable(&g.module) && importable(&g.name)) =>
                {
                    return Ok(None);
                }
                Claim::Name if !analysis.is_pickle() && !analysis.has_code_paths() => {
                    self.unrecognized(loc, "content that is no known format");
                    return Ok(Some(analysis));
                }
                _ => {}
            }
            if read.reach == Reach::RawData && !analysis.has_code_paths() {
                return Ok(None);
            }
        }
        self.scanned(
            loc,
            read.format,
            read.version,
            blob.len().unwrap_or(analysis.bytes),
        );
        if self.scanner.options.list_globals
            && let Some(entry) = self.out.scanned.last_mut()
        {
            entry.globals = analysis
                .globals
                .iter()
                .map(|g| SeenGlobal {
                    module: g.module.clone(),
                    name: g.name.clone(),
                    imports: u64::from(g.imports),
                    calls: u64::from(g.calls),
                })
                .collect();
        }
        let mut analysis = analysis;
        if read.reach == Reach::TorchScript {
            analysis
                .globals
                .retain(|g| !formats::torchscript::resolves(&g.module, &g.name));
        }
        pickle_findings(
            &analysis,
            loc,
            &self.scanner.globals,
            read.reach,
            blob.is_decoded(),
            &mut self.out.findings,
        );
        Ok(Some(analysis))
    }
}
