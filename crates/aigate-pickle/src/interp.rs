//! The abstract interpreter: `_pickle.c`'s `load` loop over abstract values.

use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

use crate::joblib::{JOBLIB, JoblibArray, VENDORED, joblib_layout, joblib_wrapper_kind};
use crate::literals::{
    decode_text, is_float, le_signed, parse_int, parse_memo_index, raw_unicode_escape,
    unquote_string,
};
use crate::opcodes::*;
use crate::reader::{Line, ReadError, Reader, Region};
use crate::sniff::{self, is_dotted_identifier};
use crate::value::{GlobalRef, Heap, KeptText, KeptTuple, Live, Object, Value};
use crate::{
    Analysis, Embedded, Encoding, GlobalUse, Invocations, Limit, Limits, Readings, Stop,
    Unresolved, UnresolvedKind,
};

/// Library helpers that are `cls.__new__(cls)` of the class passed to them, as copyreg's
/// `__newobj__` is: scikit-learn's distance metrics reduce to `newObj(cls)` (module moved in
/// 1.1 and renamed in 0.22).
const NEW_OF_CLASS: &[(&str, &str)] = &[
    ("sklearn.neighbors._dist_metrics", "newObj"),
    ("sklearn.neighbors.dist_metrics", "newObj"),
    ("sklearn.metrics._dist_metrics", "newObj"),
];

/// Longest `str` kept for the interpreter (module and attribute names, dict keys, dtype codes).
const KEEP_STR: u64 = 1024;
/// Longest line kept for `GLOBAL`, `INST` and `PERSID` operands.
const KEEP_LINE: usize = 64 * 1024;
/// Most items kept in a tuple or dict.
const KEEP_ITEMS: usize = 32;
/// Bytes peeked to decide whether a payload is an embedded pickle.
const SNIFF: usize = 256;

type Step<T = ()> = Result<T, Stop>;

/// Whose reading of the stream an [`Analyzer`] follows. The loaders read the same bytes
/// differently in two places, and every reading is kept (what is safe for one loader and
/// not another is unsafe):
/// - a `NumpyArrayWrapper`'s array after its `BUILD`: joblib reads it as array data when
///   the class is its own ([`joblib_wrapper_kind`]), every other loader as more opcodes on
///   the same stack and memo;
/// - an operand that goes past the end of a `FRAME` with bytes left in it (no pickler writes
///   one): `_pickle.c` over a file with `peek` or over bytes reads across the frame's end,
///   over a file without (`BytesIO`) it drops the rest of the frame and reads the operand
///   after it; `pickle.py` refuses it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Loader {
    /// The array wrapper classes ([`JOBLIB`], [`VENDORED`]) whose arrays are read as arrays.
    wrappers: u8,
    /// Reads as `_pickle.c` over a file without `peek`.
    unpeekable: bool,
}

impl Loader {
    /// `_pickle.c` over a buffered file or bytes; joblib's arrays read as arrays, under
    /// both of joblib's classes.
    const MAIN: Loader = Loader {
        wrappers: JOBLIB | VENDORED,
        unpeekable: false,
    };

    /// `_pickle.c` over a buffered file: every array region is opcodes.
    const PLAIN: Loader = Loader {
        wrappers: 0,
        unpeekable: false,
    };

    /// `_pickle.c` over a file without `peek`.
    const UNPEEKABLE: Loader = Loader {
        wrappers: 0,
        unpeekable: true,
    };

    /// joblib with only the wrapper classes `wrappers` its own.
    const fn joblib(wrappers: u8) -> Loader {
        Loader {
            wrappers,
            unpeekable: false,
        }
    }

    /// The other readings what the readings so far saw makes necessary.
    fn needed(readings: Readings) -> impl Iterator<Item = Loader> {
        let seen = readings.wrappers;
        [
            (seen != 0).then_some(Loader::PLAIN),
            (seen & VENDORED != 0).then_some(Loader::joblib(JOBLIB)),
            (seen == JOBLIB | VENDORED).then_some(Loader::joblib(VENDORED)),
            readings.unpeekable.then_some(Loader::UNPEEKABLE),
        ]
        .into_iter()
        .flatten()
    }
}

/// Most readings of one stream: [`Loader::MAIN`] and every other [`Loader::needed`].
const MAX_READINGS: usize = 5;

/// Every loader's reading of the stream `open` opens (once per reading), unioned: the main
/// reading, then the others where the readings so far show they may differ.
pub(crate) fn analyze_readings<R: Read, E>(
    mut open: impl FnMut() -> Result<R, E>,
    limits: &Limits,
    depth: u32,
) -> Result<Analysis, E> {
    let mut out = Analyzer::new(limits, depth, Loader::MAIN).run(open()?);
    let mut seen = out.readings;
    let mut done = vec![Loader::MAIN];
    let out_of_opcodes = |out: &Analysis| {
        matches!(
            out.stop,
            Some(Stop::Limit {
                limit: Limit::Opcodes,
                ..
            })
        )
    };
    while done.len() < MAX_READINGS && !out_of_opcodes(&out) {
        let Some(loader) = Loader::needed(seen).find(|l| !done.contains(l)) else {
            break;
        };
        done.push(loader);
        let limits = Limits {
            max_opcodes: limits.max_opcodes.saturating_sub(out.opcodes),
            ..*limits
        };
        let other = Analyzer::new(&limits, depth, loader).run(open()?);
        seen = seen.union(other.readings);
        out.absorb(other);
    }
    Ok(out)
}

/// A kind of invocation, as [`Invocations`] counts them.
#[derive(Clone, Copy)]
enum Kind {
    Reduce,
    Inst,
    New,
    Build,
}

fn name(op: u8) -> &'static str {
    opcode_name(op).unwrap_or("?")
}

fn malformed(offset: u64, message: impl Into<String>) -> Stop {
    Stop::Malformed {
        offset,
        message: message.into(),
    }
}

fn read_failed(err: ReadError, offset: u64, op: u8) -> Stop {
    match err {
        ReadError::Truncated => malformed(
            offset,
            format!("data ends in the middle of {} (truncated pickle)", name(op)),
        ),
        ReadError::Io(err) => Stop::Io {
            message: err.to_string().to_lowercase(),
        },
    }
}

/// The per-pickle state of `_pickle.c`'s Unpickler: stack, marks, memo.
struct Machine {
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    /// Where the last `FRAME` ends: `pickle.py` reads a frame ahead as a whole, so what its
    /// readers (joblib's among them) do at a `STOP` or an array depends on the bytes left in it.
    frame_end: Option<u64>,
}

impl Machine {
    fn new() -> Self {
        Machine {
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            frame_end: None,
        }
    }

    /// The stack index below which pops may not go: the last mark, as `Pdata`'s fence.
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self, offset: u64) -> Step<Value> {
        if self.stack.len() <= self.fence() {
            return Err(malformed(offset, "unpickling stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| malformed(offset, "unpickling stack underflow"))
    }

    fn top(&self, offset: u64) -> Step<&Value> {
        if self.stack.len() <= self.fence() {
            return Err(malformed(offset, "unpickling stack underflow"));
        }
        self.stack
            .last()
            .ok_or_else(|| malformed(offset, "unpickling stack underflow"))
    }

    /// Pops the last mark and returns the stack index it pointed at; the items above it are
    /// `stack[mark..]`, which the caller truncates.
    fn pop_mark(&mut self, offset: u64) -> Step<usize> {
        self.marks
            .pop()
            .ok_or_else(|| malformed(offset, "could not find MARK"))
    }
}

pub(crate) struct Analyzer<'l> {
    limits: &'l Limits,
    loader: Loader,
    depth: u32,
    out: Analysis,
    index: HashMap<Box<str>, Rc<GlobalRef>>,
    well_formed_globals: usize,
    /// Bytes of dicts and call results kept in the heap (which lives as long as the analysis).
    kept: u64,
    /// Bytes of strings and tuples alive now.
    live: Live,
    /// Offset of the opcode being read, for budget notes.
    at: u64,
    signals: u64,
    heap: Heap,
}

impl<'l> Analyzer<'l> {
    pub(crate) fn new(limits: &'l Limits, depth: u32, loader: Loader) -> Self {
        Analyzer {
            limits,
            loader,
            depth,
            out: Analysis::default(),
            index: HashMap::new(),
            well_formed_globals: 0,
            kept: 0,
            live: Live::default(),
            at: 0,
            signals: 0,
            heap: Heap::default(),
        }
    }

    pub(crate) fn run<R: Read>(mut self, input: R) -> Analysis {
        let mut reader = Reader::new(input);
        if self.loader.unpeekable {
            reader = reader.unpeekable();
        }
        self.out.starts_with_proto = matches!(reader.peek(1), Ok([PROTO]));
        self.run_stream(&mut reader);
        self.out.readings.unpeekable |= reader.crossings() > 0;
        self.out.bytes = reader.pos();
        self.out.odd_names_only = !self.out.globals.is_empty() && self.well_formed_globals == 0;
        self.out
    }

    fn run_stream<R: Read>(&mut self, reader: &mut Reader<R>) {
        loop {
            match reader.at_end() {
                Ok(true) => break,
                Ok(false) => {}
                Err(err) => {
                    self.out.stop = Some(read_failed(err, reader.pos(), STOP));
                    break;
                }
            }
            if self
                .limits
                .max_pickles
                .is_some_and(|max| self.out.pickles >= max)
            {
                break;
            }
            let start = reader.pos();
            let signals = self.signals;
            let first = reader.peek(1).ok().and_then(|h| h.first().copied());
            match self.run_one(reader) {
                Ok(None) => self.out.pickles += 1,
                Ok(Some(rest)) if self.loader.unpeekable => {
                    self.out.pickles += 1;
                    // The file is already past the frame: the next load starts there.
                    if reader.skip(rest).is_err() {
                        break;
                    }
                }
                Ok(Some(rest)) => {
                    self.out.pickles += 1;
                    if let Err(stop) = self.frame_rest(reader, rest) {
                        self.out.stop = Some(stop);
                        break;
                    }
                }
                Err(stop) => {
                    let quiet_failure = self.signals == signals
                        && first != Some(PROTO)
                        && matches!(stop, Stop::Malformed { .. });
                    if self.out.pickles > 0 && quiet_failure {
                        self.out.trailing = Some(start);
                    } else {
                        self.out.stop = Some(stop);
                    }
                    break;
                }
            }
        }
    }

    /// A pickle ended `rest` bytes before the end of its frame. The C unpickler over a buffered
    /// file reads the next pickle right after the `STOP`; over `BytesIO`, and the pure-Python
    /// one, after the frame. The main stream goes on after the frame; the rest of the frame is
    /// read here as the stacked pickles the C unpickler would find (a pickle it would start in
    /// the frame and end after it is read only as far as the frame goes).
    fn frame_rest<R: Read>(&mut self, r: &mut Reader<R>, rest: u64) -> Step {
        let start = r.pos();
        let data = self.frame_bytes(r, rest, start)?;
        let mut sub = Reader::new(&data[..]);
        loop {
            match sub.at_end() {
                Ok(false) => {}
                Ok(true) | Err(_) => return Ok(()),
            }
            match self.run_one(&mut sub) {
                Ok(_) => self.out.pickles += 1,
                Err(stop @ Stop::Limit { .. }) => return Err(stop),
                Err(_) => return Ok(()),
            }
        }
    }

    /// Reads the `rest` bytes left in a frame (fewer when the input ends first, as `pickle.py`
    /// would), bounded by the embedded-pickle size.
    fn frame_bytes<R: Read>(&mut self, r: &mut Reader<R>, rest: u64, offset: u64) -> Step<Vec<u8>> {
        if rest > self.limits.max_embedded_bytes {
            return Err(Stop::Limit {
                limit: Limit::EmbeddedBytes,
                value: self.limits.max_embedded_bytes,
                offset,
            });
        }
        let mut data = Vec::new();
        Region {
            reader: r,
            left: rest,
        }
        .read_to_end(&mut data)
        .map_err(|err| Stop::Io {
            message: err.to_string().to_lowercase(),
        })?;
        Ok(data)
    }

    fn count_opcode(&mut self, offset: u64) -> Step {
        self.out.opcodes += 1;
        if self.out.opcodes > self.limits.max_opcodes {
            return Err(Stop::Limit {
                limit: Limit::Opcodes,
                value: self.limits.max_opcodes,
                offset,
            });
        }
        Ok(())
    }

    fn push(&self, m: &mut Machine, value: Value, offset: u64) -> Step {
        if m.stack.len() >= self.limits.max_stack {
            return Err(Stop::Limit {
                limit: Limit::Stack,
                value: self.limits.max_stack as u64,
                offset,
            });
        }
        m.stack.push(value);
        Ok(())
    }

    /// Notes that the kept-bytes budget was spent: values are no longer kept, and what they
    /// would have shown is reported as one budget finding, never as findings about code.
    fn spent(&mut self) {
        self.out.budget_spent.get_or_insert(self.at);
    }

    fn keep(&mut self, bytes: u64) -> bool {
        if self.kept + bytes > self.limits.max_kept_bytes {
            self.spent();
            return false;
        }
        self.kept += bytes;
        true
    }

    fn text(&mut self, text: &str) -> Value {
        if text.len() as u64 > KEEP_STR {
            return Value::Text;
        }
        let cost = text.len() as u64 + 16;
        if self.live.get() + cost > self.limits.max_kept_bytes {
            self.spent();
            return Value::Unkept;
        }
        Value::Str(Rc::new(KeptText::new(text, cost, &self.live)))
    }

    fn tuple(&mut self, items: &[Value]) -> Value {
        if items.len() > KEEP_ITEMS {
            return Value::LongTuple;
        }
        let cost = items.len() as u64 * 24 + 16;
        if self.live.get() + cost > self.limits.max_kept_bytes {
            self.spent();
            return Value::LongTuple;
        }
        Value::Tuple(Rc::new(KeptTuple::new(items, cost, &self.live)))
    }

    fn import(&mut self, module: &str, name: &str, offset: u64, op: u8) -> Rc<GlobalRef> {
        self.import_as(module, name, offset, self::name(op))
    }

    fn import_as(
        &mut self,
        module: &str,
        name: &str,
        offset: u64,
        opcode: &'static str,
    ) -> Rc<GlobalRef> {
        self.signals += 1;
        let key: Box<str> = format!("{module}\n{name}").into();
        if let Some(global) = self.index.get(&key) {
            self.out.globals[global.index].imports += 1;
            return Rc::clone(global);
        }
        if is_dotted_identifier(module.as_bytes()) && is_dotted_identifier(name.as_bytes()) {
            self.well_formed_globals += 1;
        }
        let global = Rc::new(GlobalRef {
            index: self.out.globals.len(),
            module: Rc::from(module),
            name: Rc::from(name),
        });
        self.out.globals.push(GlobalUse {
            module: module.to_owned(),
            name: name.to_owned(),
            offset,
            opcode,
            imports: 1,
            calls: 0,
            first_call: None,
            invoked_by: Invocations::default(),
        });
        self.index.insert(key, Rc::clone(&global));
        global
    }

    fn unresolved(&mut self, kind: UnresolvedKind, offset: u64, op: u8, what: String) {
        self.signals += 1;
        self.out.unresolved.push(Unresolved {
            kind,
            offset,
            opcode: name(op),
            what,
        });
    }

    /// Records an invocation of `global` by `op` (its kind read from the opcode unless given).
    fn note_call(&mut self, global: &GlobalRef, offset: u64, op: u8, kind: Option<Kind>) {
        let entry = &mut self.out.globals[global.index];
        entry.calls = entry.calls.saturating_add(1);
        entry.first_call.get_or_insert((offset, name(op)));
        let by = &mut entry.invoked_by;
        let count = match kind.unwrap_or(match op {
            NEWOBJ | NEWOBJ_EX => Kind::New,
            BUILD => Kind::Build,
            INST | OBJ => Kind::Inst,
            _ => Kind::Reduce,
        }) {
            Kind::Reduce => &mut by.reduce,
            Kind::Inst => &mut by.inst,
            Kind::New => &mut by.newobj,
            Kind::Build => &mut by.build,
        };
        *count = count.saturating_add(1);
    }

    /// Calls `callable` with `args`, as `REDUCE`, `INST`, `OBJ`, `NEWOBJ` and `NEWOBJ_EX` do.
    fn call(&mut self, callable: &Value, args: Value, offset: u64, op: u8) -> Step<Value> {
        let origin = match callable {
            Value::Global(global) => {
                self.note_call(global, offset, op, None);
                Some(self.reconstructed(global, &args, offset, op))
            }
            // Made from values the budget did not keep: the budget finding covers it.
            Value::Unkept => return Ok(Value::Unkept),
            other if other.may_be_callable() => {
                self.unresolved(
                    UnresolvedKind::Call,
                    offset,
                    op,
                    format!("calls {}", other.describe()),
                );
                None
            }
            other => {
                return Err(malformed(
                    offset,
                    format!(
                        "{} calls {}, which is not callable",
                        name(op),
                        other.describe()
                    ),
                ));
            }
        };
        let slot = self.keep(64).then(|| self.heap.new_object(args));
        Ok(Value::Object(Object { origin, slot }))
    }

    /// What a call of `global` with `args` makes an instance of. Besides `copyreg`'s, the
    /// library helpers that are `cls.__new__(cls)` of the class they are given
    /// ([`NEW_OF_CLASS`]) count the same way. `copyreg`'s reconstructors
    /// (Python 2's `copy_reg` is the same module under `_compat_pickle`) make one of the class
    /// they are given: `_reconstructor(cls, base, state)` is `object.__new__(cls)`, or
    /// `base.__new__(cls, state)` then `base.__init__(obj, state)`; `__newobj__(cls, *args)`
    /// and `__newobj_ex__(cls, args, kwargs)` are `cls.__new__(cls, ...)`. The class is
    /// recorded as instantiated (as `NEWOBJ` does), a `base` other than `object` as called,
    /// and a later `BUILD` reaches the class' `__setstate__`.
    fn reconstructed(
        &mut self,
        global: &Rc<GlobalRef>,
        args: &Value,
        offset: u64,
        op: u8,
    ) -> Rc<GlobalRef> {
        let copyreg = |n: &str| global.is("copyreg", n) || global.is("copy_reg", n);
        let reconstructor = copyreg("_reconstructor");
        let new_of_class = copyreg("__newobj__")
            || copyreg("__newobj_ex__")
            || NEW_OF_CLASS.iter().any(|(m, n)| global.is(m, n));
        if !(reconstructor || new_of_class) {
            return Rc::clone(global);
        }
        let Value::Tuple(items) = args else {
            return Rc::clone(global);
        };
        let Some(Value::Global(cls)) = items.first() else {
            return Rc::clone(global);
        };
        let cls = Rc::clone(cls);
        self.note_call(&cls, offset, op, Some(Kind::New));
        if reconstructor
            && let Some(Value::Global(base)) = items.get(1)
            && !(base.is("builtins", "object") || base.is("__builtin__", "object"))
        {
            let base = Rc::clone(base);
            self.note_call(&base, offset, op, Some(Kind::Reduce));
        }
        cls
    }

    /// A method call on a container-like target (`append`, `__setitem__`, `add`): plain
    /// containers are data; objects of known classes run their class' code (already attributed
    /// to the class); anything else is an unresolved call.
    fn mutate(&mut self, target: &Value, method: &str, offset: u64, op: u8) -> Step {
        match target {
            Value::List | Value::Dict(_) | Value::Set | Value::Unkept => Ok(()),
            Value::Object(obj) if obj.origin.is_some() => Ok(()),
            Value::Object(_) | Value::Persistent | Value::Dynamic | Value::Global(_) => {
                self.unresolved(
                    UnresolvedKind::Call,
                    offset,
                    op,
                    format!("calls {method} on {}", target.describe()),
                );
                Ok(())
            }
            other => Err(malformed(
                offset,
                format!(
                    "{} on {}, which has no {method}",
                    name(op),
                    other.describe()
                ),
            )),
        }
    }

    /// Reads a `str` or `bytes` payload of `len` bytes: analyses it as an embedded pickle when it
    /// looks like one, keeps short text, and skips everything else without copying it.
    fn payload<R: Read>(
        &mut self,
        r: &mut Reader<R>,
        len: u64,
        text: bool,
        offset: u64,
        op: u8,
    ) -> Step<Value> {
        let fail = |err| read_failed(err, offset, op);
        let keep_text = text && len <= KEEP_STR;
        // Where `_pickle.c` reads the operand from decides what is peeked at below.
        r.operand(len).map_err(fail)?;
        let encoding = if len >= 4 {
            let head = r.peek(SNIFF.min(len as usize)).map_err(fail)?;
            sniff::embedded_encoding(head)
        } else {
            None
        };
        if let Some(encoding) = encoding {
            if len > self.limits.max_embedded_bytes {
                self.signals += 1;
                let analysis = Analysis {
                    stop: Some(Stop::Limit {
                        limit: Limit::EmbeddedBytes,
                        value: self.limits.max_embedded_bytes,
                        offset,
                    }),
                    ..Analysis::default()
                };
                self.out.embedded.push(Embedded {
                    offset,
                    encoding,
                    len,
                    analysis: Box::new(analysis),
                });
                r.skip(len).map_err(fail)?;
                return Ok(if text { Value::Text } else { Value::Bytes });
            }
            let data = r.take(len as usize).map_err(fail)?;
            self.embedded(&data, encoding, offset)?;
            return Ok(if keep_text {
                self.text(&decode_text(&data))
            } else if text {
                Value::Text
            } else {
                Value::Bytes
            });
        }
        if keep_text {
            let data = r.take(len as usize).map_err(fail)?;
            return Ok(self.text(&decode_text(&data)));
        }
        r.skip(len).map_err(fail)?;
        Ok(if text { Value::Text } else { Value::Bytes })
    }

    /// Analyses a payload that looks like a pickle; records it when it is one.
    fn embedded(&mut self, data: &[u8], encoding: Encoding, offset: u64) -> Step {
        if self.depth >= self.limits.max_nesting {
            return Err(Stop::Limit {
                limit: Limit::Nesting,
                value: u64::from(self.limits.max_nesting),
                offset,
            });
        }
        let Some(bytes) = sniff::decode(data, encoding) else {
            return Ok(());
        };
        let limits = Limits {
            max_opcodes: self.limits.max_opcodes.saturating_sub(self.out.opcodes),
            max_pickles: None,
            ..*self.limits
        };
        let Ok(nested) = analyze_readings(
            || Ok::<_, std::convert::Infallible>(&bytes[..]),
            &limits,
            self.depth + 1,
        );
        self.out.opcodes += nested.opcodes;
        if let Some(
            stop @ Stop::Limit {
                limit: Limit::Opcodes,
                ..
            },
        ) = &nested.stop
        {
            return Err(stop.clone());
        }
        if nested.is_pickle() && (nested.has_code_paths() || nested.pickles > 0) {
            self.signals += 1;
            self.out.embedded.push(Embedded {
                offset,
                encoding,
                len: data.len() as u64,
                analysis: Box::new(nested),
            });
        }
        Ok(())
    }

    /// Reads a line operand, as `GLOBAL`, `INST`, `PERSID` and the protocol 0 numbers do.
    /// A line the input ends inside is truncated, except for the names of `GLOBAL` and `INST`
    /// (`at_end`): both unpicklers take what `readline` returned and drop its last byte as
    /// if it were the newline (`_pickle.c` needs two bytes, so one byte is still an error),
    /// and resolve the global so named.
    fn line<R: Read>(&mut self, r: &mut Reader<R>, offset: u64, op: u8) -> Step<String> {
        self.line_or_rest(r, offset, op, false)
    }

    fn line_or_rest<R: Read>(
        &mut self,
        r: &mut Reader<R>,
        offset: u64,
        op: u8,
        at_end: bool,
    ) -> Step<String> {
        match r
            .line(KEEP_LINE)
            .map_err(|err| read_failed(err, offset, op))?
        {
            Line::Kept(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
            Line::AtEnd(Some(bytes)) if at_end && bytes.len() >= 2 => {
                Ok(String::from_utf8_lossy(&bytes[..bytes.len() - 1]).into_owned())
            }
            Line::AtEnd(_) => Err(read_failed(ReadError::Truncated, offset, op)),
            Line::TooLong(len) => Err(malformed(
                offset,
                format!(
                    "{} operand of {len} bytes is longer than {KEEP_LINE}",
                    name(op)
                ),
            )),
        }
    }

    /// Reads one pickle, up to and including its `STOP`; returns how many bytes of its last
    /// frame are left after the `STOP`, if any.
    fn run_one<R: Read>(&mut self, r: &mut Reader<R>) -> Step<Option<u64>> {
        let mut m = Machine::new();
        loop {
            let offset = r.pos();
            let op = r.byte().map_err(|err| read_failed(err, offset, STOP))?;
            self.count_opcode(offset)?;
            self.at = offset;
            let fail = |err| read_failed(err, offset, op);
            match op {
                MARK => {
                    if m.marks.len() >= self.limits.max_marks {
                        return Err(Stop::Limit {
                            limit: Limit::Marks,
                            value: self.limits.max_marks as u64,
                            offset,
                        });
                    }
                    m.marks.push(m.stack.len());
                }
                STOP => {
                    m.pop(offset)?;
                    let here = r.pos();
                    let buffered = r.buffered();
                    if self.loader.unpeekable {
                        return Ok((buffered > 0).then_some(buffered));
                    }
                    let rest = m
                        .frame_end
                        .filter(|end| *end > here)
                        .map_or(0, |end| end - here);
                    // A frame that ends elsewhere than the read-ahead buffer (one frame inside
                    // another) starts the next pickle elsewhere for `_pickle.c` without `peek`.
                    self.out.readings.unpeekable |= buffered != rest;
                    return Ok((rest > 0).then_some(rest));
                }
                POP => {
                    if m.marks.last() == Some(&m.stack.len()) {
                        m.marks.pop();
                    } else {
                        m.pop(offset)?;
                    }
                }
                POP_MARK => {
                    let mark = m.pop_mark(offset)?;
                    m.stack.truncate(mark);
                }
                DUP => {
                    let top = m.top(offset)?.clone();
                    self.push(&mut m, top, offset)?;
                }
                FLOAT => {
                    let line = self.line(r, offset, op)?;
                    if !is_float(&line) {
                        return Err(malformed(offset, format!("invalid FLOAT {line:?}")));
                    }
                    self.push(&mut m, Value::Float, offset)?;
                }
                INT | LONG => {
                    let line = self.line(r, offset, op)?;
                    let value = parse_int(&line, op == LONG).ok_or_else(|| {
                        malformed(offset, format!("invalid {} {line:?}", name(op)))
                    })?;
                    self.push(&mut m, value, offset)?;
                }
                BININT => {
                    let v = i32::from_le_bytes(r.array().map_err(fail)?);
                    self.push(&mut m, Value::Int(i64::from(v)), offset)?;
                }
                BININT1 => {
                    let v = r.byte().map_err(fail)?;
                    self.push(&mut m, Value::Int(i64::from(v)), offset)?;
                }
                BININT2 => {
                    let v = u16::from_le_bytes(r.array().map_err(fail)?);
                    self.push(&mut m, Value::Int(i64::from(v)), offset)?;
                }
                LONG1 => {
                    let n = r.byte().map_err(fail)?;
                    let value = if n <= 8 {
                        let bytes = r.take(usize::from(n)).map_err(fail)?;
                        Value::Int(le_signed(&bytes))
                    } else {
                        r.skip(u64::from(n)).map_err(fail)?;
                        Value::BigInt
                    };
                    self.push(&mut m, value, offset)?;
                }
                LONG4 => {
                    let n = i32::from_le_bytes(r.array().map_err(fail)?);
                    let n = u64::try_from(n)
                        .map_err(|_| malformed(offset, "LONG pickle has negative byte count"))?;
                    r.skip(n).map_err(fail)?;
                    self.push(&mut m, Value::BigInt, offset)?;
                }
                BINFLOAT => {
                    r.skip(8).map_err(fail)?;
                    self.push(&mut m, Value::Float, offset)?;
                }
                NONE => self.push(&mut m, Value::None, offset)?,
                NEWTRUE => self.push(&mut m, Value::Bool(true), offset)?,
                NEWFALSE => self.push(&mut m, Value::Bool(false), offset)?,
                STRING => {
                    let raw = match r.line(KEEP_LINE).map_err(fail)? {
                        Line::Kept(bytes) => Some(bytes.to_vec()),
                        Line::TooLong(_) => None,
                        Line::AtEnd(_) => return Err(fail(ReadError::Truncated)),
                    };
                    let value = match raw {
                        Some(raw) => {
                            let decoded = unquote_string(&raw).ok_or_else(|| {
                                malformed(offset, "the STRING opcode argument must be quoted")
                            })?;
                            self.string_payload(&decoded, offset)?
                        }
                        None => Value::Text,
                    };
                    self.push(&mut m, value, offset)?;
                }
                UNICODE => {
                    let value = match r.line(KEEP_LINE).map_err(fail)? {
                        Line::Kept(bytes) => {
                            let decoded = raw_unicode_escape(bytes);
                            self.string_payload(decoded.as_bytes(), offset)?
                        }
                        Line::TooLong(_) => Value::Text,
                        Line::AtEnd(_) => return Err(fail(ReadError::Truncated)),
                    };
                    self.push(&mut m, value, offset)?;
                }
                BINSTRING => {
                    let n = i32::from_le_bytes(r.array().map_err(fail)?);
                    let n = u64::try_from(n).map_err(|_| {
                        malformed(offset, "BINSTRING pickle has negative byte count")
                    })?;
                    let v = self.payload(r, n, true, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                SHORT_BINSTRING | SHORT_BINUNICODE => {
                    let n = r.byte().map_err(fail)?;
                    let v = self.payload(r, u64::from(n), true, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                BINUNICODE => {
                    let n = u32::from_le_bytes(r.array().map_err(fail)?);
                    let v = self.payload(r, u64::from(n), true, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                BINUNICODE8 => {
                    let n = u64::from_le_bytes(r.array().map_err(fail)?);
                    let v = self.payload(r, n, true, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                SHORT_BINBYTES => {
                    let n = r.byte().map_err(fail)?;
                    let v = self.payload(r, u64::from(n), false, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                BINBYTES => {
                    let n = u32::from_le_bytes(r.array().map_err(fail)?);
                    let v = self.payload(r, u64::from(n), false, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                BINBYTES8 | BYTEARRAY8 => {
                    let n = u64::from_le_bytes(r.array().map_err(fail)?);
                    let v = self.payload(r, n, false, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                NEXT_BUFFER => self.push(&mut m, Value::Bytes, offset)?,
                READONLY_BUFFER => {
                    m.top(offset)?;
                }
                EMPTY_TUPLE => {
                    let v = self.tuple(&[]);
                    self.push(&mut m, v, offset)?;
                }
                TUPLE1 | TUPLE2 | TUPLE3 => {
                    let n = usize::from(op - TUPLE1 + 1);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(m.pop(offset)?);
                    }
                    items.reverse();
                    let v = self.tuple(&items);
                    self.push(&mut m, v, offset)?;
                }
                TUPLE => {
                    let mark = m.pop_mark(offset)?;
                    let v = self.tuple(&m.stack[mark..]);
                    m.stack.truncate(mark);
                    self.push(&mut m, v, offset)?;
                }
                EMPTY_LIST => self.push(&mut m, Value::List, offset)?,
                LIST => {
                    let mark = m.pop_mark(offset)?;
                    m.stack.truncate(mark);
                    self.push(&mut m, Value::List, offset)?;
                }
                EMPTY_DICT => {
                    let v = self.new_dict();
                    self.push(&mut m, v, offset)?;
                }
                DICT => {
                    let mark = m.pop_mark(offset)?;
                    if !(m.stack.len() - mark).is_multiple_of(2) {
                        return Err(malformed(offset, "odd number of items for DICT"));
                    }
                    let dict = self.new_dict();
                    self.fill_dict(&dict, &m.stack[mark..]);
                    m.stack.truncate(mark);
                    self.push(&mut m, dict, offset)?;
                }
                EMPTY_SET => self.push(&mut m, Value::Set, offset)?,
                FROZENSET => {
                    let mark = m.pop_mark(offset)?;
                    m.stack.truncate(mark);
                    self.push(&mut m, Value::FrozenSet, offset)?;
                }
                APPEND => {
                    m.pop(offset)?;
                    let target = m.top(offset)?.clone();
                    self.mutate(&target, "append", offset, op)?;
                }
                APPENDS | ADDITEMS | SETITEMS => {
                    let mark = m.pop_mark(offset)?;
                    if mark == 0 || mark > m.stack.len() || mark <= m.fence() {
                        return Err(malformed(offset, "unpickling stack underflow"));
                    }
                    // `_pickle.c` does nothing with no items, whatever the target is.
                    if mark == m.stack.len() {
                        continue;
                    }
                    let target = m.stack[mark - 1].clone();
                    if op == SETITEMS {
                        if !(m.stack.len() - mark).is_multiple_of(2) {
                            return Err(malformed(offset, "odd number of items for SETITEMS"));
                        }
                        self.fill_dict(&target, &m.stack[mark..]);
                    }
                    m.stack.truncate(mark);
                    let method = match op {
                        APPENDS => "extend",
                        ADDITEMS => "add",
                        _ => "__setitem__",
                    };
                    self.mutate(&target, method, offset, op)?;
                }
                SETITEM => {
                    let value = m.pop(offset)?;
                    let key = m.pop(offset)?;
                    let target = m.top(offset)?.clone();
                    self.fill_dict(&target, &[key, value]);
                    self.mutate(&target, "__setitem__", offset, op)?;
                }
                GET | BINGET | LONG_BINGET => {
                    let index = match op {
                        GET => {
                            let line = self.line(r, offset, op)?;
                            parse_memo_index(&line).ok_or_else(|| {
                                malformed(offset, format!("invalid GET index {line:?}"))
                            })?
                        }
                        BINGET => u64::from(r.byte().map_err(fail)?),
                        _ => u64::from(u32::from_le_bytes(r.array().map_err(fail)?)),
                    };
                    let value = m.memo.get(&index).cloned().ok_or_else(|| {
                        malformed(offset, format!("memo value not found at index {index}"))
                    })?;
                    self.push(&mut m, value, offset)?;
                }
                PUT | BINPUT | LONG_BINPUT | MEMOIZE => {
                    let index = match op {
                        PUT => {
                            let line = self.line(r, offset, op)?;
                            parse_memo_index(&line).ok_or_else(|| {
                                malformed(offset, format!("invalid PUT index {line:?}"))
                            })?
                        }
                        BINPUT => u64::from(r.byte().map_err(fail)?),
                        LONG_BINPUT => u64::from(u32::from_le_bytes(r.array().map_err(fail)?)),
                        _ => m.memo.len() as u64,
                    };
                    let value = m.top(offset)?.clone();
                    if m.memo.len() >= self.limits.max_memo && !m.memo.contains_key(&index) {
                        return Err(Stop::Limit {
                            limit: Limit::Memo,
                            value: self.limits.max_memo as u64,
                            offset,
                        });
                    }
                    m.memo.insert(index, value);
                }
                GLOBAL | INST => {
                    let module = self.line_or_rest(r, offset, op, true)?;
                    let attr = self.line_or_rest(r, offset, op, true)?;
                    let global = self.import(&module, &attr, offset, op);
                    if op == GLOBAL {
                        self.push(&mut m, Value::Global(global), offset)?;
                    } else {
                        let mark = m.pop_mark(offset)?;
                        let args = self.tuple(&m.stack[mark..]);
                        m.stack.truncate(mark);
                        let v = self.call(&Value::Global(global), args, offset, op)?;
                        self.push(&mut m, v, offset)?;
                    }
                }
                STACK_GLOBAL => {
                    let attr = m.pop(offset)?;
                    let module = m.pop(offset)?;
                    let v = match (module.as_str(), attr.as_str()) {
                        (Some(module), Some(attr)) => {
                            Value::Global(self.import(module, attr, offset, op))
                        }
                        _ if matches!(module, Value::Unkept) || matches!(attr, Value::Unkept) => {
                            Value::Unkept
                        }
                        _ if module.may_be_str() && attr.may_be_str() => {
                            self.unresolved(
                                UnresolvedKind::Import,
                                offset,
                                op,
                                format!(
                                    "imports a global whose module is {} and name is {}",
                                    module.describe(),
                                    attr.describe()
                                ),
                            );
                            Value::Dynamic
                        }
                        _ => return Err(malformed(offset, "STACK_GLOBAL requires str")),
                    };
                    self.push(&mut m, v, offset)?;
                }
                EXT1 | EXT2 | EXT4 => {
                    let code = match op {
                        EXT1 => u32::from(r.byte().map_err(fail)?),
                        EXT2 => u32::from(u16::from_le_bytes(r.array().map_err(fail)?)),
                        _ => u32::from_le_bytes(r.array().map_err(fail)?),
                    };
                    if code == 0 {
                        return Err(malformed(offset, "EXT specifies code <= 0"));
                    }
                    self.unresolved(
                        UnresolvedKind::Extension,
                        offset,
                        op,
                        format!("imports the global registered as extension code {code}"),
                    );
                    self.push(&mut m, Value::Dynamic, offset)?;
                }
                REDUCE => {
                    let args = m.pop(offset)?;
                    let callable = m.pop(offset)?;
                    if !args.may_be_iterable() {
                        return Err(malformed(offset, "REDUCE arguments must be iterable"));
                    }
                    let v = self.call(&callable, args, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                OBJ => {
                    let mark = m.pop_mark(offset)?;
                    if m.stack.len() == mark {
                        return Err(malformed(offset, "OBJ without a class"));
                    }
                    let cls = m.stack[mark].clone();
                    let args = self.tuple(&m.stack[mark + 1..]);
                    m.stack.truncate(mark);
                    let v = self.call(&cls, args, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                NEWOBJ | NEWOBJ_EX => {
                    if op == NEWOBJ_EX {
                        m.pop(offset)?;
                    }
                    let args = m.pop(offset)?;
                    let cls = m.pop(offset)?;
                    if !args.may_be_iterable() {
                        return Err(malformed(
                            offset,
                            format!("{} args must be iterable", name(op)),
                        ));
                    }
                    let v = self.call(&cls, args, offset, op)?;
                    self.push(&mut m, v, offset)?;
                }
                BUILD => {
                    let state = m.pop(offset)?;
                    let inst = m.top(offset)?.clone();
                    self.build(r, &inst, state, offset, &mut m.frame_end)?;
                }
                PERSID => {
                    self.line(r, offset, op)?;
                    self.push(&mut m, Value::Persistent, offset)?;
                }
                BINPERSID => {
                    m.pop(offset)?;
                    self.push(&mut m, Value::Persistent, offset)?;
                }
                PROTO => {
                    let proto = r.byte().map_err(fail)?;
                    if proto > HIGHEST_PROTOCOL {
                        return Err(malformed(
                            offset,
                            format!("unsupported pickle protocol: {proto}"),
                        ));
                    }
                }
                FRAME => {
                    // The C unpickler reads a frame ahead but parses opcodes across frame
                    // boundaries, so the length hides nothing: read on as one stream. Where
                    // it ends matters to what follows a STOP or a joblib array in it.
                    let len = u64::from_le_bytes(r.array().map_err(fail)?);
                    r.frame(len).map_err(fail)?;
                    m.frame_end = Some(r.pos().saturating_add(len));
                }
                other => {
                    let shown = if other.is_ascii_graphic() {
                        format!("'{}'", other as char)
                    } else {
                        format!("'\\x{other:02x}'")
                    };
                    return Err(malformed(offset, format!("invalid load key, {shown}")));
                }
            }
        }
    }

    /// A `STRING` or `UNICODE` operand, decoded: embedded pickle check, then kept or not.
    fn string_payload(&mut self, decoded: &[u8], offset: u64) -> Step<Value> {
        if decoded.len() >= 4 && self.depth < self.limits.max_nesting {
            let head = &decoded[..decoded.len().min(SNIFF)];
            if let Some(encoding) = sniff::embedded_encoding(head) {
                self.embedded(decoded, encoding, offset)?;
            }
        }
        Ok(self.text(&decode_text(decoded)))
    }

    fn new_dict(&mut self) -> Value {
        Value::Dict(self.keep(32).then(|| self.heap.new_dict()))
    }

    /// Keeps the first entries of a dict with a heap slot; other targets keep nothing.
    fn fill_dict(&mut self, target: &Value, items: &[Value]) {
        let Value::Dict(Some(id)) = target else {
            return;
        };
        for pair in items.chunks_exact(2) {
            let full = self.heap.dict(*id).len() >= KEEP_ITEMS;
            if full || !self.keep(48) {
                return;
            }
            if let Some(entries) = self.heap.dict_mut(*id) {
                entries.push((pair[0].clone(), pair[1].clone()));
            }
        }
    }

    /// `BUILD`: `inst.__setstate__(state)` or an update of `inst.__dict__`.
    fn build<R: Read>(
        &mut self,
        r: &mut Reader<R>,
        inst: &Value,
        state: Value,
        offset: u64,
        frame_end: &mut Option<u64>,
    ) -> Step {
        match inst {
            Value::Object(obj) => {
                let origin = obj.origin.clone();
                match &origin {
                    Some(global) => self.note_call(global, offset, BUILD, None),
                    None => self.unresolved(
                        UnresolvedKind::Call,
                        offset,
                        BUILD,
                        "calls __setstate__ of the result of an unresolved call".into(),
                    ),
                }
                if let Some(data) = obj.slot.and_then(|id| self.heap.object_mut(id)) {
                    data.state = Some(state);
                }
                if let Some(global) = origin {
                    let kind = joblib_wrapper_kind(&global);
                    self.out.readings.wrappers |= kind;
                    if kind & self.loader.wrappers != 0 {
                        self.joblib_array(r, obj, &global, offset, frame_end)?;
                    }
                }
                Ok(())
            }
            Value::Global(global) => {
                self.unresolved(
                    UnresolvedKind::GlobalMutation,
                    offset,
                    BUILD,
                    format!("sets attributes of the global {global} itself"),
                );
                Ok(())
            }
            Value::Persistent | Value::Dynamic => {
                self.unresolved(
                    UnresolvedKind::Call,
                    offset,
                    BUILD,
                    format!("calls __setstate__ of {}", inst.describe()),
                );
                Ok(())
            }
            // Plain data has no `__setstate__`: `pickle.py` updates its `__dict__` only when
            // the state is truthy (`{}`, `None`, `(None, None)` are no-ops on anything), and
            // the state is not always known here, so BUILD on data reads on.
            _ => Ok(()),
        }
    }

    /// joblib writes a `NumpyArrayWrapper`'s array right after its `BUILD`, outside the pickle
    /// opcodes, and its unpickler reads it there: raw bytes after an alignment pad, or, for
    /// object arrays, a whole pickle of its own, which joblib loads.
    ///
    /// This is joblib's reading: its unpickler is `pickle.py`'s, which has read the current
    /// frame ahead; it reads the array from the file, after the frame, and then reads on in
    /// the frame. Every other loader reads the array as opcodes ([`Loader::PLAIN`]).
    fn joblib_array<R: Read>(
        &mut self,
        r: &mut Reader<R>,
        wrapper: &Object,
        global: &GlobalRef,
        offset: u64,
        frame_end: &mut Option<u64>,
    ) -> Step {
        let layout = wrapper
            .slot
            .and_then(|id| self.heap.object(id))
            .and_then(|data| data.state.as_ref())
            .and_then(|state| joblib_layout(&self.heap, state));
        let layout = match (layout, self.out.budget_spent) {
            (Some(layout), _) => layout,
            // The state was not kept: the budget, not the file, is why it is unknown.
            (None, Some(_)) => {
                return Err(Stop::Limit {
                    limit: Limit::KeptBytes,
                    value: self.limits.max_kept_bytes,
                    offset,
                });
            }
            (None, None) => {
                return Err(malformed(
                    offset,
                    format!(
                        "the state of {global} does not describe an array whose bytes can be skipped"
                    ),
                ));
            }
        };
        let fail = |err| read_failed(err, offset, BUILD);
        let rest_start = r.pos();
        let rest = match frame_end.take() {
            Some(end) if end > rest_start => Some(self.frame_bytes(r, end - rest_start, offset)?),
            _ => None,
        };
        match layout {
            JoblibArray::Objects => {
                if self.depth + 1 > self.limits.max_nesting {
                    return Err(Stop::Limit {
                        limit: Limit::Nesting,
                        value: u64::from(self.limits.max_nesting),
                        offset,
                    });
                }
                self.depth += 1;
                let result = self.run_one(r);
                self.depth -= 1;
                result?;
            }
            JoblibArray::Raw { aligned, bytes } => {
                let pad = if aligned {
                    let head = r.peek(1).map_err(fail)?;
                    1 + u64::from(*head.first().ok_or_else(|| fail(ReadError::Truncated))?)
                } else {
                    0
                };
                r.skip(pad.saturating_add(bytes)).map_err(fail)?;
            }
        }
        if let Some(rest) = rest {
            r.unread(&rest, rest_start);
        }
        Ok(())
    }
}
