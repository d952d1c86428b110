#!/usr/bin/env python3
"""Regenerate aigate's allowlist of pickle globals from what ML libraries themselves write.

    python3 scripts/gen_allowlist.py            # rewrites crates/aigate-scan/data/allowlist.txt
                                                # and crates/aigate-scan/data/compat_pickle.txt
    python3 scripts/gen_allowlist.py --check    # exits 1 if the files would change

How the list is built, library by library (each one optional: a library that is not installed
is skipped and said so):

- PyTorch: the globals `torch.load(weights_only=True)` accepts
  (`torch._weights_only_unpickler._get_allowed_globals()`), plus every global referenced by
  `torch.save` of tensors of every dtype, quantized, sparse and meta tensors, parameters, the
  state dicts of common modules and optimizers, sizes, devices and dtypes.
- NumPy: every global in pickles of arrays of every dtype (structured, datetime, object), scalars,
  masked arrays and random generators; `numpy.core` spellings are added beside `numpy._core`
  ones because NumPy 1.x writes those and NumPy 2 still reads them.
- pandas: frames, series, every index type, categoricals, timestamps, periods, intervals, sparse
  and extension arrays.
- scikit-learn: every estimator class `sklearn.utils.all_estimators()` lists, and every global
  in the pickles of those estimators, unfitted and fitted on a small dataset.
- joblib: its array wrappers. The standard library: `collections` containers, `datetime`,
  `decimal`, `fractions`, `uuid.UUID`, `copyreg._reconstructor` and harmless builtins.

Only pickles are written (with `pickle.dumps` / `torch.save` to memory); they are read back with
`pickletools.genops`, which decodes opcodes and never loads. Anything on the denylist
(`crates/aigate-scan/data/denylist.txt`) is refused even if a library writes it, and said so.
"""

import argparse
import collections
import io
import pickle
import pickletools
import sys
import warnings
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "crates" / "aigate-scan" / "data"

STDLIB = [
    ("builtins", n)
    for n in (
        "set frozenset slice range complex bytearray bytes dict list tuple int float str bool "
        "object NoneType Ellipsis NotImplemented"
    ).split()
] + [
    ("collections", n) for n in ("OrderedDict", "defaultdict", "deque", "Counter", "namedtuple")
] + [
    ("datetime", n) for n in ("datetime", "date", "time", "timedelta", "timezone", "tzinfo")
] + [
    ("copyreg", "_reconstructor"),
    ("copyreg", "__newobj__"),
    ("copyreg", "__newobj_ex__"),
    ("_codecs", "encode"),
    ("decimal", "Decimal"),
    ("fractions", "Fraction"),
    ("uuid", "UUID"),
    ("uuid", "SafeUUID"),
    ("enum", "Enum"),
    ("zoneinfo", "ZoneInfo"),
    ("array", "array"),
    ("array", "_array_reconstructor"),
]
# collections.namedtuple builds a class from strings with exec; it is never written by pickle.
STDLIB.remove(("collections", "namedtuple"))


def globals_in(data: bytes):
    """Every (module, name) a pickle imports, read with pickletools (never loaded)."""
    found, memo, recent = set(), {}, []
    for op, arg, _pos in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            module, name = arg.split(" ", 1)
            found.add((module, name))
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            recent.append(arg)
        elif op.name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = recent[-1] if recent else None
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            recent.append(memo.get(arg))
        elif op.name == "STACK_GLOBAL":
            found.add((recent[-2], recent[-1]))
        else:
            recent.append(None)
    return found


def all_pickles(data: bytes):
    """Globals in a stream of stacked pickles or a torch zip archive."""
    if data[:2] == b"PK":
        out = set()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                if name.endswith(".pkl"):
                    out |= globals_in(zf.read(name))
        return out
    out, rest = set(), data
    while rest:
        ops = list(pickletools.genops(rest))
        out |= globals_in(rest)
        end = ops[-1][2] + 1
        rest = rest[end:]
        if rest[:1] != b"\x80":
            break
    return out


def dumps_all(objects):
    out = set()
    for obj in objects:
        for proto in (2, 4, 5):
            try:
                out |= globals_in(pickle.dumps(obj, protocol=proto))
            except Exception:  # some objects refuse some protocols; others cover them
                pass
    return out


def from_torch(note):
    try:
        import torch
        import torch._weights_only_unpickler as wou
    except ImportError:
        note.append("torch: not installed, skipped")
        return set()
    out = set()
    for key, value in wou._get_allowed_globals().items():
        dotted = key if isinstance(key, str) else value
        module, _, name = dotted.rpartition(".")
        out.add((module, name))
    samples = []
    for dtype in [
        torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int16,
        torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128,
        getattr(torch, "float8_e4m3fn", torch.float16), getattr(torch, "uint16", torch.int16),
    ]:
        samples.append(torch.zeros(2, 3).to(dtype))
    samples.append(torch.nn.Parameter(torch.randn(3)))
    samples.append(torch.randn(4, 4)[:, 1])
    samples.append(torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.quint8))
    samples.append(
        torch.quantize_per_channel(torch.randn(2, 3), torch.tensor([0.1, 0.2]),
                                   torch.tensor([0, 0]), 0, torch.qint8))
    dense = torch.eye(4)
    samples += [dense.to_sparse(), dense.to_sparse_csr(), dense.to_sparse_csc(),
                dense.to_sparse_bsr((2, 2))]
    samples.append(torch.empty(3, device="meta"))
    samples += [torch.Size([2, 3]), torch.device("cpu"), torch.float32, torch.strided,
                torch.channels_last]
    modules = [
        torch.nn.Linear(4, 3), torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm1d(4),
        torch.nn.LayerNorm(4), torch.nn.Embedding(10, 4), torch.nn.LSTM(4, 4),
        torch.nn.TransformerEncoderLayer(8, 2),
    ]
    for module in modules:
        samples.append(module.state_dict())
        params = list(module.parameters())
        if params:
            for opt in (torch.optim.SGD(params, lr=0.1, momentum=0.9), torch.optim.Adam(params)):
                loss = sum(p.float().sum() for p in params)
                loss.backward()
                opt.step()
                samples.append(opt.state_dict())
    for sample in samples:
        for legacy in (False, True):
            buf = io.BytesIO()
            try:
                torch.save(sample, buf, _use_new_zipfile_serialization=not legacy)
            except Exception as err:
                note.append(f"torch: cannot save {type(sample).__name__}: {err}")
                continue
            out |= all_pickles(buf.getvalue())
    note.append(f"torch {torch.__version__}: {len(samples)} samples")
    return out


def from_numpy(note):
    try:
        import numpy as np
    except ImportError:
        note.append("numpy: not installed, skipped")
        return set()
    arrays = [np.zeros(3, dtype=t) for t in np.typecodes["All"] if t not in "O"]
    arrays += [
        np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8", (2,))]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.array([1], dtype="timedelta64[s]"),
        np.array([1, "a", None], dtype=object),
        np.asfortranarray(np.ones((2, 2))),
        np.ma.masked_array([1, 2], mask=[0, 1]),
        np.float64(1.0), np.int32(1), np.bool_(True), np.str_("x"), np.datetime64("2020"),
        np.dtype("f8"), np.dtype([("x", "f4")]),
        np.random.RandomState(0), np.random.default_rng(0), np.random.Generator(np.random.PCG64(0)),
        np.random.MT19937(0), np.random.Philox(0), np.random.SFC64(0), np.random.PCG64DXSM(0),
    ]
    out = dumps_all(arrays)
    # NumPy 2 writes numpy._core; NumPy 1.x wrote numpy.core, which NumPy 2 still reads.
    out |= {("numpy.core" + m[len("numpy._core"):], n) for m, n in out if m.startswith("numpy._core")}
    note.append(f"numpy {np.__version__}: {len(arrays)} samples")
    return out


def from_pandas(note):
    try:
        import numpy as np
        import pandas as pd
    except ImportError:
        note.append("pandas: not installed, skipped")
        return set()
    idx = [
        pd.RangeIndex(3), pd.Index([1, 2]), pd.Index(["a"]), pd.Index([1.5]),
        pd.DatetimeIndex(["2020-01-01"]), pd.TimedeltaIndex(["1D"]), pd.PeriodIndex(["2020Q1"], freq="Q"),
        pd.CategoricalIndex(["a"]), pd.IntervalIndex.from_breaks([0, 1]),
        pd.MultiIndex.from_tuples([(1, "a")]),
    ]
    objects = idx + [
        pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": pd.Categorical(["u", "v"])}),
        pd.Series([1.0, 2.0], name="s"), pd.Timestamp("2020-01-01", tz="UTC"),
        pd.Timedelta("1D"), pd.Period("2020Q1"), pd.Interval(0, 1),
        pd.Series(pd.arrays.SparseArray([0, 1])), pd.array([1, None], dtype="Int64"),
        pd.array(["a", None], dtype="string"), pd.array([True, None], dtype="boolean"),
        pd.DataFrame(np.ones((2, 2))).set_index(0),
    ]
    out = dumps_all(objects)
    note.append(f"pandas {pd.__version__}: {len(objects)} samples")
    return out


def from_sklearn(note):
    try:
        import numpy as np
        import sklearn
        from sklearn.utils import all_estimators
    except ImportError:
        note.append("scikit-learn: not installed, skipped")
        return set()
    rng = np.random.RandomState(0)
    X = np.abs(rng.rand(60, 4)) + 0.1
    # Binary, multiclass and continuous targets: estimators keep different helper types
    # (losses, links, label encoders) for each.
    targets = [np.array([0, 1] * 30), np.array([0, 1, 2] * 20), rng.rand(60)]
    out, fitted = set(), 0
    estimators = all_estimators()
    for name, cls in estimators:
        out.add((cls.__module__, cls.__qualname__))
        try:
            est = cls()
        except Exception:
            continue
        out |= dumps_all([est])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits = 0
            for args in [(X, y) for y in targets] + [(X,)]:
                try:
                    est = cls().fit(*args)
                except Exception:
                    continue
                out |= dumps_all([est])
                fits += 1
            fitted += fits > 0
    note.append(f"scikit-learn {sklearn.__version__}: {len(estimators)} estimators, {fitted} fitted")
    return out


def from_joblib(note):
    try:
        import joblib
        import joblib.numpy_pickle as jnp
    except ImportError:
        note.append("joblib: not installed, skipped")
        return set()
    note.append(f"joblib {joblib.__version__}")
    return {(jnp.__name__, n) for n in ("NumpyArrayWrapper", "NDArrayWrapper", "ZNDArrayWrapper")}


def denylist():
    entries = []
    for line in (DATA / "denylist.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(line)
    return entries


def denied(module, name, entries):
    full = f"{module}.{name}"
    return any(full == e or full.startswith(e + ".") for e in entries)


def compat_lines():
    import _compat_pickle as cp

    lines = ["# CPython's _compat_pickle: Python 2 names and the Python 3 names unpicklers load.",
             "# Generated by scripts/gen_allowlist.py; do not edit.",
             "# module OLD NEW            a whole module moved",
             "# name OLD_MOD OLD_NAME NEW_MOD NEW_NAME"]
    for old, new in sorted(cp.IMPORT_MAPPING.items()):
        lines.append(f"module {old} {new}")
    for (om, on), (nm, nn) in sorted(cp.NAME_MAPPING.items()):
        lines.append(f"name {om} {on} {nm} {nn}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files would change")
    args = parser.parse_args()
    note = []
    found = {(m, n, "stdlib") for m, n in STDLIB}
    for source, collect in (("torch", from_torch), ("numpy", from_numpy), ("pandas", from_pandas),
                            ("sklearn", from_sklearn), ("joblib", from_joblib)):
        for m, n in collect(note):
            found.add((m, n, source))
    entries = denylist()
    allowed, refused = {}, set()
    for m, n, source in found:
        if m is None or n is None:
            continue
        if denied(m, n, entries):
            refused.add(f"{m}.{n}")
            continue
        allowed.setdefault((m, n), set()).add(source)
    lines = ["# Pickle globals that real ML artefacts use and that run no attacker-chosen code.",
             "# Generated by scripts/gen_allowlist.py from the libraries it found; do not edit.",
             "# " + "; ".join(note),
             "# module name  (libraries whose pickles reference it)"]
    for (m, n), sources in sorted(allowed.items()):
        lines.append(f"{m} {n}  # {','.join(sorted(sources))}")
    outputs = {DATA / "allowlist.txt": "\n".join(lines) + "\n",
               DATA / "compat_pickle.txt": "\n".join(compat_lines()) + "\n"}
    for line in note:
        print(line, file=sys.stderr)
    if refused:
        print("refused (on the denylist): " + ", ".join(sorted(refused)), file=sys.stderr)
    changed = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in changed:
            print(f"would change: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed else 0
    for p, text in outputs.items():
        p.write_text(text)
    print(f"{len(allowed)} globals allowed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
