//! Abstract values: what the interpreter needs to know of each stack and memo entry. Contents
//! are kept only where an analysis needs them (names for `STACK_GLOBAL`, joblib array headers),
//! and only within the kept-bytes budget.
//!
//! Mutable values (dicts, call results) live in a per-analysis [`Heap`] and are referred to by
//! index, never by `Rc`: a pickle may put a dict inside itself, and reference counting would
//! leak such a cycle. The heap is dropped with the analysis.

use std::cell::Cell;
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

/// Bytes of strings and tuples alive in the interpreter: each kept value counts until its last
/// copy is dropped, so the budget bounds memory, not the size of the file.
pub(crate) type Live = Rc<Cell<u64>>;

/// A kept `str`, counted in [`Live`] while it exists.
pub(crate) struct KeptText {
    text: Box<str>,
    cost: u64,
    live: Live,
}

impl KeptText {
    pub(crate) fn new(text: &str, cost: u64, live: &Live) -> Self {
        live.set(live.get() + cost);
        KeptText {
            text: text.into(),
            cost,
            live: Rc::clone(live),
        }
    }
}

impl Drop for KeptText {
    fn drop(&mut self) {
        self.live.set(self.live.get().saturating_sub(self.cost));
    }
}

impl Deref for KeptText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for KeptText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

/// A kept tuple, counted in [`Live`] while it exists.
pub(crate) struct KeptTuple {
    items: Box<[Value]>,
    cost: u64,
    live: Live,
}

impl KeptTuple {
    pub(crate) fn new(items: &[Value], cost: u64, live: &Live) -> Self {
        live.set(live.get() + cost);
        KeptTuple {
            items: items.into(),
            cost,
            live: Rc::clone(live),
        }
    }
}

impl Drop for KeptTuple {
    fn drop(&mut self) {
        self.live.set(self.live.get().saturating_sub(self.cost));
    }
}

impl Deref for KeptTuple {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.items
    }
}

impl fmt::Debug for KeptTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.items, f)
    }
}

/// A global as imported by the pickle, with its index in the analysis' list of globals.
#[derive(Debug)]
pub(crate) struct GlobalRef {
    pub(crate) index: usize,
    pub(crate) module: Rc<str>,
    pub(crate) name: Rc<str>,
}

impl GlobalRef {
    pub(crate) fn is(&self, module: &str, name: &str) -> bool {
        &*self.module == module && &*self.name == name
    }
}

impl fmt::Display for GlobalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.module, self.name)
    }
}

/// Where a dict's kept entries and a call result's arguments and state live.
#[derive(Debug, Default)]
pub(crate) struct Heap {
    dicts: Vec<Vec<(Value, Value)>>,
    objects: Vec<ObjectData>,
}

/// What a call result keeps: its arguments and the state `BUILD` gave it.
#[derive(Debug)]
pub(crate) struct ObjectData {
    pub(crate) args: Value,
    pub(crate) state: Option<Value>,
}

impl Heap {
    pub(crate) fn new_dict(&mut self) -> u32 {
        self.dicts.push(Vec::new());
        (self.dicts.len() - 1) as u32
    }

    pub(crate) fn dict(&self, id: u32) -> &[(Value, Value)] {
        self.dicts.get(id as usize).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn dict_mut(&mut self, id: u32) -> Option<&mut Vec<(Value, Value)>> {
        self.dicts.get_mut(id as usize)
    }

    /// The value of the last entry whose key is the str `key`.
    pub(crate) fn dict_get(&self, id: u32, key: &str) -> Option<&Value> {
        self.dict(id).iter().rev().find_map(|(k, v)| match k {
            Value::Str(s) if &***s == key => Some(v),
            _ => None,
        })
    }

    pub(crate) fn new_object(&mut self, args: Value) -> u32 {
        self.objects.push(ObjectData { args, state: None });
        (self.objects.len() - 1) as u32
    }

    pub(crate) fn object(&self, id: u32) -> Option<&ObjectData> {
        self.objects.get(id as usize)
    }

    pub(crate) fn object_mut(&mut self, id: u32) -> Option<&mut ObjectData> {
        self.objects.get_mut(id as usize)
    }
}

/// The result of a call: the global whose code handles it, and where its data is kept.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    /// The class or function whose code handles this object (`None`: not statically known).
    pub(crate) origin: Option<Rc<GlobalRef>>,
    /// Its arguments and state in the [`Heap`], when the kept-bytes budget allowed.
    pub(crate) slot: Option<u32>,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    BigInt,
    Float,
    /// A `str` whose text is kept.
    Str(Rc<KeptText>),
    /// A `str` too long, or over budget, to keep.
    Text,
    Bytes,
    /// A tuple whose items are kept.
    Tuple(Rc<KeptTuple>),
    /// A tuple too long to keep.
    LongTuple,
    List,
    Set,
    FrozenSet,
    /// A dict, with its kept entries in the heap when the budget allowed.
    Dict(Option<u32>),
    Global(Rc<GlobalRef>),
    Object(Object),
    /// What `persistent_load` returned.
    Persistent,
    /// A global whose name is not statically known (`STACK_GLOBAL` on computed names, `EXT*`).
    Dynamic,
    /// Anything made from a `str` that was not kept because the kept-bytes budget was spent:
    /// not known, and not evidence of anything (the budget finding covers it).
    Unkept,
}

impl Value {
    /// A few words naming the value, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "a bool".into(),
            Value::Int(_) | Value::BigInt => "an int".into(),
            Value::Float => "a float".into(),
            Value::Str(s) if s.len() <= 40 => format!("the str {s:?}"),
            Value::Str(_) | Value::Text => "a str".into(),
            Value::Bytes => "bytes".into(),
            Value::Tuple(_) | Value::LongTuple => "a tuple".into(),
            Value::List => "a list".into(),
            Value::Set => "a set".into(),
            Value::FrozenSet => "a frozenset".into(),
            Value::Dict(_) => "a dict".into(),
            Value::Global(g) => format!("the global {g}"),
            Value::Object(o) => match &o.origin {
                Some(g) => format!("the result of calling {g}"),
                None => "the result of an unresolved call".into(),
            },
            Value::Persistent => "an object returned by persistent_load".into(),
            Value::Dynamic => "a global with a computed name".into(),
            Value::Unkept => "a value not kept (budget)".into(),
        }
    }

    /// Whether the value may be callable when a real unpickler holds it. Plain data is not:
    /// calling it raises, so such a call is a malformed pickle rather than a code path.
    pub(crate) fn may_be_callable(&self) -> bool {
        matches!(
            self,
            Value::Global(_)
                | Value::Object(_)
                | Value::Persistent
                | Value::Dynamic
                | Value::Unkept
        )
    }

    /// Whether the value may be iterable at run time: call arguments must be. `_pickle.c`
    /// wants a tuple, but `pickle.py` calls `func(*args)`, which takes any iterable; a
    /// reader of the union accepts what either does.
    pub(crate) fn may_be_iterable(&self) -> bool {
        matches!(
            self,
            Value::Tuple(_)
                | Value::LongTuple
                | Value::List
                | Value::Set
                | Value::FrozenSet
                | Value::Dict(_)
                | Value::Str(_)
                | Value::Text
                | Value::Bytes
                | Value::Object(_)
                | Value::Persistent
                | Value::Global(_)
                | Value::Dynamic
                | Value::Unkept
        )
    }

    /// Whether the value may be a `str` at run time.
    pub(crate) fn may_be_str(&self) -> bool {
        matches!(
            self,
            Value::Str(_)
                | Value::Text
                | Value::Object(_)
                | Value::Persistent
                | Value::Dynamic
                | Value::Unkept
        )
    }

    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(&***s),
            _ => None,
        }
    }
}
