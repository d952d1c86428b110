//! Abstract values: what the interpreter needs to know of each stack and memo entry. Contents
//! are kept only where an analysis needs them (names for `STACK_GLOBAL`, joblib array headers),
//! and only within the kept-bytes budget.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

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

/// A dict whose first entries are kept.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    pub(crate) entries: Vec<(Value, Value)>,
}

impl Dict {
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().rev().find_map(|(k, v)| match k {
            Value::Str(s) if &**s == key => Some(v),
            _ => None,
        })
    }
}

/// The result of a call: which global made it, with what arguments, and the state `BUILD` gave.
#[derive(Debug)]
pub(crate) struct Object {
    /// The class or function whose code handles this object (`None`: not statically known).
    pub(crate) origin: Option<Rc<GlobalRef>>,
    pub(crate) args: Value,
    pub(crate) state: Option<Value>,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    BigInt,
    Float,
    /// A `str` whose text is kept.
    Str(Rc<str>),
    /// A `str` too long, or over budget, to keep.
    Text,
    Bytes,
    /// A tuple whose items are kept.
    Tuple(Rc<[Value]>),
    /// A tuple too long to keep.
    LongTuple,
    List,
    Set,
    FrozenSet,
    Dict(Rc<RefCell<Dict>>),
    Global(Rc<GlobalRef>),
    Object(Rc<RefCell<Object>>),
    /// What `persistent_load` returned.
    Persistent,
    /// A global whose name is not statically known (`STACK_GLOBAL` on computed names, `EXT*`).
    Dynamic,
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
            Value::Object(o) => match &o.borrow().origin {
                Some(g) => format!("the result of calling {g}"),
                None => "the result of an unresolved call".into(),
            },
            Value::Persistent => "an object returned by persistent_load".into(),
            Value::Dynamic => "a global with a computed name".into(),
        }
    }

    /// Whether the value may be callable when a real unpickler holds it. Plain data is not:
    /// calling it raises, so such a call is a malformed pickle rather than a code path.
    pub(crate) fn may_be_callable(&self) -> bool {
        matches!(
            self,
            Value::Global(_) | Value::Object(_) | Value::Persistent | Value::Dynamic
        )
    }

    /// Whether the value may be a tuple at run time (call arguments must be).
    pub(crate) fn may_be_tuple(&self) -> bool {
        matches!(
            self,
            Value::Tuple(_)
                | Value::LongTuple
                | Value::Object(_)
                | Value::Persistent
                | Value::Global(_)
                | Value::Dynamic
        )
    }

    /// Whether the value may be a `str` at run time.
    pub(crate) fn may_be_str(&self) -> bool {
        matches!(
            self,
            Value::Str(_) | Value::Text | Value::Object(_) | Value::Persistent | Value::Dynamic
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
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}
