//! A bounded, streaming pickle analyser: what a pickle imports and calls, without running it.
//!
//! It reads every opcode of protocols 0 to 5 with the semantics of CPython's C unpickler
//! (`Modules/_pickle.c`), not those of `pickletools`:
//!
//! - a `FRAME` cannot hide bytes: the C unpickler reads opcodes across frames, and where
//!   loaders read a frame differently (an operand past its end, a pickle that stops inside
//!   it) each reading is made and their findings unioned;
//! - joblib's array regions are read as joblib reads them and, in a second reading, as
//!   opcodes on the same stack, as every other loader reads them;
//! - several pickles stacked in one stream are all analysed (PyTorch's legacy format, and any
//!   loader that calls `pickle.load` twice);
//! - a parse error after a payload still reports the payload, with the error.
//!
//! An abstract interpreter keeps a stack and a memo of abstract values, so every import
//! (`GLOBAL`, `STACK_GLOBAL` with names built through the memo, `INST`, `OBJ`, `EXT1/2/4`) and
//! every call (`REDUCE`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`, `BUILD` reaching `__setstate__`)
//! is attributed to the callable it invokes, even when its result is discarded, and recorded by
//! kind ([`Invocations`]). `copyreg`'s reconstructors (`_reconstructor`, `__newobj__`,
//! `__newobj_ex__`, under Python 2's `copy_reg` too) are attributed to the class they make an
//! instance of, as `NEWOBJ` is, and so is a later `BUILD` on it.
//!
//! Byte and text payloads that are themselves pickles (raw, base64 or hex) are analysed as
//! nested pickles in place. joblib's interleaved array data (`NumpyArrayWrapper`) is skipped the
//! way joblib's unpickler reads it, and its object arrays are analysed as the pickles they are.
//!
//! Everything is bounded by [`Limits`]; payload bytes are skipped, never copied. This crate knows
//! nothing of files, formats or which globals are safe: see `aigate-scan` for that.

#![forbid(unsafe_code)]

mod interp;
mod joblib;
mod literals;
mod opcodes;
mod reader;
mod sniff;
mod value;

use std::io::{self, Read};

use serde::Serialize;

pub use opcodes::opcode_name;
pub use sniff::looks_like_pickle_start;

/// Bounds on the work and memory one analysis may use. Exceeding one stops the analysis with a
/// [`Stop::Limit`] naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Opcodes over the whole analysis, nested pickles included.
    pub max_opcodes: u64,
    /// Values on the stack at once.
    pub max_stack: usize,
    /// Marks on the mark stack at once.
    pub max_marks: usize,
    /// Entries in the memo of one pickle.
    pub max_memo: usize,
    /// Depth of pickles nested in pickles (embedded payloads, joblib object arrays).
    pub max_nesting: u32,
    /// Largest payload analysed as an embedded pickle.
    pub max_embedded_bytes: u64,
    /// Bytes of strings and tuples kept alive for the interpreter at once, and of dicts and
    /// call results kept over the whole analysis (each bound separately). Spending it stops
    /// nothing: later values are not kept, and [`Analysis::budget_spent`] says where.
    pub max_kept_bytes: u64,
    /// Complete pickles read from one stream before the rest is left alone (`None`: all).
    pub max_pickles: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_opcodes: 1 << 30,
            max_stack: 4 << 20,
            max_marks: 1 << 16,
            max_memo: 1 << 20,
            max_nesting: 4,
            max_embedded_bytes: 256 << 20,
            max_kept_bytes: 64 << 20,
            max_pickles: None,
        }
    }
}

impl Limits {
    /// These limits grown to fit an input of `len` bytes, so that real files fit them (a
    /// vocabulary of a million words memoizes a million strings): the memo may hold an entry
    /// for every four bytes, the mark stack a mark for every byte (a mark is one), and the
    /// kept bytes may reach sixteen times the input, each up to a ceiling that bounds memory
    /// whatever the input.
    pub fn scaled(self, len: u64) -> Limits {
        const MAX_MEMO: usize = 1 << 26;
        const MAX_MARKS: usize = 1 << 24;
        const MAX_KEPT: u64 = 1 << 30;
        let memo = usize::try_from(len / 4).unwrap_or(usize::MAX).min(MAX_MEMO);
        let marks = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_MARKS);
        let kept = len.saturating_mul(16).min(MAX_KEPT);
        Limits {
            max_memo: self.max_memo.max(memo),
            max_marks: self.max_marks.max(marks),
            max_kept_bytes: self.max_kept_bytes.max(kept),
            ..self
        }
    }
}

/// The ways a pickle invokes one global, each counted: what each runs differs (a class only
/// made with `NEWOBJ` and given its state with `BUILD` never has its `__init__` run with
/// arguments the file chooses; one reached by `REDUCE` does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Invocations {
    /// `REDUCE`: called with an argument tuple; also the base class `copyreg._reconstructor`
    /// is given (other than `object`), whose `__new__` and `__init__` it calls with the state.
    pub reduce: u32,
    /// `INST` and `OBJ` (protocols 0 and 1): the class called with arguments.
    pub inst: u32,
    /// `NEWOBJ` and `NEWOBJ_EX`, and the class `copyreg.__newobj__`, `__newobj_ex__` and
    /// `_reconstructor` make an instance of: `cls.__new__(cls, ...)`, no `__init__`.
    pub newobj: u32,
    /// `BUILD` on an instance it made: its `__setstate__(state)`, or its `__dict__` updated.
    pub build: u32,
}

impl Invocations {
    /// Whether it is called with arguments (`REDUCE`, `INST`, `OBJ`).
    pub fn called(&self) -> bool {
        self.reduce > 0 || self.inst > 0
    }

    /// Every invocation of every kind.
    pub fn total(&self) -> u32 {
        self.reduce
            .saturating_add(self.inst)
            .saturating_add(self.newobj)
            .saturating_add(self.build)
    }

    /// The larger of these and `other`, kind by kind: two readings of the same bytes.
    fn max(&self, other: &Invocations) -> Invocations {
        Invocations {
            reduce: self.reduce.max(other.reduce),
            inst: self.inst.max(other.inst),
            newobj: self.newobj.max(other.newobj),
            build: self.build.max(other.build),
        }
    }

    /// These and `other` together.
    pub fn add(&mut self, other: &Invocations) {
        self.reduce = self.reduce.saturating_add(other.reduce);
        self.inst = self.inst.saturating_add(other.inst);
        self.newobj = self.newobj.saturating_add(other.newobj);
        self.build = self.build.saturating_add(other.build);
    }
}

/// One global the pickle imports, with how often it is imported and called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GlobalUse {
    /// The module, as written in the pickle.
    pub module: String,
    /// The name inside the module, as written (may be dotted in protocol 4 and later).
    pub name: String,
    /// Offset of the first opcode that imported it.
    pub offset: u64,
    /// The opcode that first imported it (`GLOBAL`, `STACK_GLOBAL`, `INST`).
    pub opcode: &'static str,
    /// How many times it is imported.
    pub imports: u32,
    /// How many times it is invoked, of every kind in `invoked_by`.
    pub calls: u32,
    /// Offset and opcode of its first invocation.
    pub first_call: Option<(u64, &'static str)>,
    /// Every way it is invoked, each counted.
    pub invoked_by: Invocations,
}

impl GlobalUse {
    /// `module.name`.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// What kind of thing an [`Unresolved`] event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnresolvedKind {
    /// A call whose callable is not a global: the result of another call, a persistent object.
    Call,
    /// `STACK_GLOBAL` whose module or name is not a constant string.
    Import,
    /// `EXT1/2/4`: a global named only by a number in the copyreg extension registry.
    Extension,
    /// `BUILD` applied to a global itself: sets attributes on a class or function.
    GlobalMutation,
}

/// An import or call the analysis could not attribute to a named global.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    /// What kind.
    pub kind: UnresolvedKind,
    /// Offset of the opcode.
    pub offset: u64,
    /// The opcode.
    pub opcode: &'static str,
    /// What was called or imported, as far as it is known.
    pub what: String,
}

/// How an embedded pickle was encoded in its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The payload bytes are the pickle.
    Raw,
    /// The payload is base64 text of the pickle.
    Base64,
    /// The payload is hexadecimal text of the pickle.
    Hex,
    /// The payload is text whose characters are the pickle's bytes: how protocols 0 to 2
    /// write `bytes`, as `_codecs.encode(text, 'latin1')` (PyTorch saves with protocol 2).
    Latin1,
}

/// A pickle found inside a byte or text payload of another pickle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Embedded {
    /// Offset of the opcode carrying the payload.
    pub offset: u64,
    /// How it was encoded.
    pub encoding: Encoding,
    /// Payload length in bytes.
    pub len: u64,
    /// The nested analysis.
    pub analysis: Box<Analysis>,
}

/// A bound that stopped the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// [`Limits::max_opcodes`].
    Opcodes,
    /// [`Limits::max_stack`].
    Stack,
    /// [`Limits::max_marks`].
    Marks,
    /// [`Limits::max_memo`].
    Memo,
    /// [`Limits::max_nesting`].
    Nesting,
    /// [`Limits::max_embedded_bytes`].
    EmbeddedBytes,
    /// [`Limits::max_kept_bytes`].
    KeptBytes,
}

impl Limit {
    /// The name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Opcodes => "opcode count",
            Limit::Stack => "stack depth",
            Limit::Marks => "mark depth",
            Limit::Memo => "memo size",
            Limit::Nesting => "nesting depth",
            Limit::EmbeddedBytes => "embedded pickle size",
            Limit::KeptBytes => "kept bytes",
        }
    }
}

/// Why an analysis ended before the end of its input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Stop {
    /// The bytes are not a valid pickle from `offset` on; a loader would raise there.
    Malformed {
        /// Where.
        offset: u64,
        /// What, lower-case.
        message: String,
    },
    /// A bound was reached.
    Limit {
        /// Which.
        limit: Limit,
        /// The bound's value.
        value: u64,
        /// Where.
        offset: u64,
    },
    /// The reader failed.
    Io {
        /// The error, lower-case.
        message: String,
    },
}

/// What one stream holds: imports, calls, nested pickles and how the analysis ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// Pickles read to their `STOP`.
    pub pickles: u32,
    /// Globals imported, in the order first seen.
    pub globals: Vec<GlobalUse>,
    /// Imports and calls that could not be attributed to a named global.
    pub unresolved: Vec<Unresolved>,
    /// Pickles found inside payloads.
    pub embedded: Vec<Embedded>,
    /// Why the analysis stopped early, if it did.
    pub stop: Option<Stop>,
    /// Offset of bytes after the last complete pickle that do not form a pickle.
    pub trailing: Option<u64>,
    /// Whether the stream starts with a `PROTO` opcode.
    pub starts_with_proto: bool,
    /// Opcodes read, nested pickles included.
    pub opcodes: u64,
    /// Bytes consumed from the stream.
    pub bytes: u64,
    /// Offset where the kept-bytes budget was first spent: from there on, names computed from
    /// values that were not kept are unknown (and not reported as computed names).
    pub budget_spent: Option<u64>,
    /// Whether any global had a name that is not a dotted Python identifier.
    #[serde(skip)]
    pub odd_names_only: bool,
    /// Which other loaders' readings may differ from this one.
    #[serde(skip)]
    pub(crate) readings: Readings,
}

/// Where other loaders may read the same bytes differently ([`interp::Loader`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readings {
    /// The joblib array wrapper classes given a state (`joblib::JOBLIB`, `joblib::VENDORED`):
    /// joblib reads an array after each, other loaders read opcodes.
    pub(crate) wrappers: u8,
    /// An operand went past a frame's end, or a frame ended inside another.
    pub(crate) unpeekable: bool,
}

impl Readings {
    /// What this reading and `other` saw together.
    pub(crate) fn union(self, other: Readings) -> Readings {
        Readings {
            wrappers: self.wrappers | other.wrappers,
            unpeekable: self.unpeekable || other.unpeekable,
        }
    }
}

impl Analysis {
    /// Whether the stream is a pickle at all, as opposed to other data that happens to start
    /// with a byte that is an opcode: it claims a protocol, completes a pickle, or imports a
    /// well-formed global.
    pub fn is_pickle(&self) -> bool {
        self.starts_with_proto
            || self.pickles > 0
            || (!self.globals.is_empty() && !self.odd_names_only)
            || !self.embedded.is_empty()
            || matches!(self.stop, Some(Stop::Limit { .. }))
    }

    /// Whether content that neither claims a protocol nor carries a pickle name has shown the
    /// structure of a pickle rather than text that happens to start with an opcode byte: a
    /// complete pickle (`STOP`), a call, or an embedded pickle. One import alone is not enough:
    /// `cat\ndog\n` reads as `GLOBAL cat.dog`.
    pub fn shows_pickle_structure(&self) -> bool {
        self.starts_with_proto
            || self.pickles > 0
            || self.globals.iter().any(|g| g.calls > 0)
            || self
                .unresolved
                .iter()
                .any(|u| u.kind == UnresolvedKind::Call)
            || !self.embedded.is_empty()
    }

    /// Whether anything was imported, called indirectly or embedded.
    pub fn has_code_paths(&self) -> bool {
        !self.globals.is_empty() || !self.unresolved.is_empty() || !self.embedded.is_empty()
    }

    /// Adds what another loader's reading of the same bytes reaches. That reading may run
    /// through array data as opcodes, so only what random bytes do not make is taken: the
    /// globals with importable names and how they are invoked, and extension codes where the
    /// reading completes a pickle. Running out of opcodes there is running out here; any
    /// other stop is the other loader's error after what it reached.
    fn absorb(&mut self, other: Analysis) {
        self.opcodes = self.opcodes.saturating_add(other.opcodes);
        if self.stop.is_none()
            && let Some(
                stop @ Stop::Limit {
                    limit: Limit::Opcodes,
                    ..
                },
            ) = other.stop
        {
            self.stop = Some(stop);
        }
        let mut index: std::collections::HashMap<(String, String), usize> = self
            .globals
            .iter()
            .enumerate()
            .map(|(i, g)| ((g.module.clone(), g.name.clone()), i))
            .collect();
        for global in other.globals {
            if !(sniff::is_dotted_identifier(global.module.as_bytes())
                && sniff::is_dotted_identifier(global.name.as_bytes()))
            {
                continue;
            }
            self.odd_names_only = false;
            let key = (global.module.clone(), global.name.clone());
            let Some(&at) = index.get(&key) else {
                index.insert(key, self.globals.len());
                self.globals.push(global);
                continue;
            };
            let mine = &mut self.globals[at];
            mine.imports = mine.imports.max(global.imports);
            mine.calls = mine.calls.max(global.calls);
            mine.invoked_by = mine.invoked_by.max(&global.invoked_by);
            if mine.first_call.is_none() {
                mine.first_call = global.first_call;
            }
        }
        if other.pickles > 0 {
            for ext in other.unresolved {
                let known = self
                    .unresolved
                    .iter()
                    .any(|u| u.kind == ext.kind && u.what == ext.what);
                if ext.kind == UnresolvedKind::Extension && !known {
                    self.unresolved.push(ext);
                }
            }
        }
    }
}

/// Analyses every pickle in the stream `open` opens, as every loader would read it: the
/// stream is opened again for each other loader's reading where it may differ (a file
/// joblib wrote, a frame an operand goes past), and what each reaches is unioned.
pub fn analyze<R: Read>(
    open: impl FnMut() -> io::Result<R>,
    limits: &Limits,
) -> io::Result<Analysis> {
    interp::analyze_readings(open, limits, 0)
}

/// Analyses every pickle in a byte slice, as [`analyze`] does.
pub fn analyze_bytes(input: &[u8], limits: &Limits) -> Analysis {
    let Ok(analysis) =
        interp::analyze_readings(|| Ok::<_, std::convert::Infallible>(input), limits, 0);
    analysis
}
