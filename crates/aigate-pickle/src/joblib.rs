//! joblib's layout: a `NumpyArrayWrapper`'s array is written right after its `BUILD`, outside
//! the pickle opcodes, and joblib's unpickler reads it there (`numpy_pickle.py`,
//! `NumpyArrayWrapper.read_array`). This module reads, from the wrapper's state, how many bytes
//! to skip, or that an object array's own pickle follows.

use crate::value::{GlobalRef, Heap, Value};

/// joblib's own array wrapper class, `joblib.numpy_pickle.NumpyArrayWrapper`.
pub(crate) const JOBLIB: u8 = 1;
/// The copy scikit-learn vendored as `sklearn.externals.joblib` (up to 0.22).
pub(crate) const VENDORED: u8 = 2;

/// Which joblib's array wrapper a class is ([`JOBLIB`], [`VENDORED`], or 0 for none): joblib
/// checks `isinstance` against its own class, so only the modules that define it count; a
/// look-alike from any other module is an ordinary class, and the bytes after its `BUILD` are
/// opcodes to every loader. The two are one class where scikit-learn 0.21 and 0.22 made
/// `sklearn.externals.joblib` a shim over joblib, and two where it was a copy (before) or is
/// gone (after), so a file may be read with either, both or neither as an array wrapper.
pub(crate) fn joblib_wrapper_kind(global: &GlobalRef) -> u8 {
    if &*global.name != "NumpyArrayWrapper" {
        return 0;
    }
    match &*global.module {
        "joblib.numpy_pickle" => JOBLIB,
        "sklearn.externals.joblib.numpy_pickle" => VENDORED,
        _ => 0,
    }
}

pub(crate) enum JoblibArray {
    Objects,
    Raw { aligned: bool, bytes: u64 },
}

/// Reads shape, dtype and alignment from a `NumpyArrayWrapper` state dict.
pub(crate) fn joblib_layout(heap: &Heap, state: &Value) -> Option<JoblibArray> {
    let Value::Dict(Some(dict)) = state else {
        return None;
    };
    let dict = *dict;
    let Value::Object(dtype) = heap.dict_get(dict, "dtype")? else {
        return None;
    };
    let dtype = heap.object(dtype.slot?)?;
    let Value::Tuple(args) = &dtype.args else {
        return None;
    };
    let descr = args.first()?.as_str()?;
    let dtype_state = match &dtype.state {
        Some(Value::Tuple(items)) => Some(items.clone()),
        _ => None,
    };
    let flags = dtype_state
        .as_ref()
        .and_then(|s| s.get(7))
        .and_then(Value::as_int)
        .unwrap_or(0);
    let kind = descr.trim_start_matches(['<', '>', '|', '=']);
    if kind.starts_with('O') || flags & 1 != 0 {
        return Some(JoblibArray::Objects);
    }
    let elsize = dtype_state
        .as_ref()
        .and_then(|s| s.get(5))
        .and_then(Value::as_int)
        .filter(|e| *e > 0);
    let itemsize = match elsize {
        Some(e) => u64::try_from(e).ok()?,
        None => kind
            .get(1..)
            .and_then(|digits| digits.parse::<u64>().ok())
            .filter(|n| *n > 0)?,
    };
    let count = match heap.dict_get(dict, "shape")? {
        Value::Tuple(dims) => dims.iter().try_fold(1u64, |acc, d| {
            acc.checked_mul(u64::try_from(d.as_int()?).ok()?)
        })?,
        _ => return None,
    };
    let aligned = matches!(
        heap.dict_get(dict, "numpy_array_alignment_bytes"),
        Some(Value::Int(_))
    );
    Some(JoblibArray::Raw {
        aligned,
        bytes: count.checked_mul(itemsize)?,
    })
}
