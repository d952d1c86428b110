#!/usr/bin/env python3
"""Regenerate aigate's allowlist of pickle globals from what ML libraries themselves write.

    python3 scripts/allowlist_matrix.py           # builds the environments (target/, slow once)
    python3 scripts/gen_allowlist.py --matrix     # rewrites crates/aigate-scan/data/allowlist.txt,
                                                  # allowlist_matrix.txt and compat_pickle.txt
    python3 scripts/gen_allowlist.py --matrix --check   # exits 1 if the files would change
    python3 scripts/gen_allowlist.py --matrix --env legacy --merge
                                    # merges one environment into the committed files without
                                    # rebuilding the others (a use refused anywhere stays so)
    python3 scripts/gen_allowlist.py              # from this interpreter's libraries only
    python3 scripts/gen_allowlist.py --collect OUT.json  # one environment's collection

`--matrix` runs the collection in every environment of `scripts/allowlist_matrix.py` (the
2022-era, 2024-era and current releases of NumPy, pandas, scikit-learn, joblib, SciPy, PyTorch
and the model libraries, and the `legacy` releases on CPython 3.7 that wrote the old gensim,
statsmodels and scikit-learn models people still load) and merges them; `allowlist_matrix.txt` records the number of globals
each library's pickles reference in each environment, and what inspection refused.

What is collected, library by library (each optional: a library that is not installed is
skipped and said so):

- PyTorch: the globals `torch.load(weights_only=True)` accepts
  (`torch._weights_only_unpickler._get_allowed_globals()`), plus every global referenced by
  `torch.save` of tensors of every dtype, quantized, sparse and meta tensors, parameters, the
  state dicts of common modules and optimizers, sizes, devices, dtypes and `TorchVersion`.
- NumPy: arrays of every dtype (structured, datetime, object), scalars, masked arrays, random
  generators, type objects, `numpy.matrix` and record arrays; `numpy.core` and `numpy._core`
  spellings are mirrored (NumPy 1.x writes the first, NumPy 2 the second, and each reads both).
- pandas: frames, series, every index type, categoricals, timestamps, periods, intervals, sparse
  and extension arrays.
- scikit-learn: every estimator class `sklearn.utils.all_estimators()` lists, and every global
  in the pickles of those estimators, unfitted and fitted on a small dataset.
- joblib: its array wrapper. The standard library: containers, dates, decimals, UUIDs,
  `argparse.Namespace`, `pathlib` paths, compiled regular expressions, `typing` aliases.
- SciPy sparse matrices and arrays; gensim, statsmodels, LightGBM, XGBoost, CatBoost, spaCy and
  NLTK models and results; OmegaConf containers; transformers' `TrainingArguments`.

Every pickle is written at protocols 0, 2, 4 and 5 and read back with `pickletools.genops` and a
symbolic stack (never loaded), which records how the stream uses each global: `import` (passed
on as a value), `new` (NEWOBJ), `build` (BUILD on what it made: `__setstate__` or `__dict__`),
`call` (REDUCE, INST, OBJ). Each use is then admitted by INSPECTION of the class or function in
this interpreter (trusted libraries are imported, nothing is unpickled): the source of what that
use runs (`__new__` for new; `__setstate__` and `__setattr__` for build; `__init__`, `__new__`,
`__post_init__` and a metaclass `__call__` for call; the function itself) is parsed, and a use
whose code calls something that runs or loads code, reaches processes, files or the network, or
reflects with computed names is refused (listed in allowlist_matrix.txt), unless a reviewer
read it and recorded why it is inert in REVIEWED. A class the library only instantiates is
admitted for calls with arguments only when its constructor is shown inert that way. Compiled
code has no source: it is admitted for the uses the library itself makes of it. Every environment
inspects every entry, not only those its libraries write, and a use refused in any environment
where the name resolves is refused in all (a use seen in an old version's files is admitted
only if the current versions' classes are inert in it too). Anything on the denylist
(`crates/aigate-scan/data/denylist.txt`) is refused even if a library writes it, and said so.
"""

import argparse
import ast
import collections
import importlib
import inspect
import io
import json
import pickle
import pickletools
import sys
import textwrap
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


OPS = {op.name: op for op in pickletools.opcodes}
# The legacy environment runs CPython 3.7, whose ast has Str/Num/Bytes/NameConstant for
# constants and no NamedExpr.
CONSTANTS = tuple(getattr(ast, n) for n in ("Constant", "Str", "Num", "Bytes", "NameConstant")
                  if hasattr(ast, n))
NON_PLAIN = tuple(getattr(ast, n) for n in ("Call", "Lambda", "Await", "Yield", "YieldFrom",
                                            "NamedExpr") if hasattr(ast, n))
# copyreg's reconstructors, under both spellings (Python 2 wrote copy_reg).
RECONSTRUCTOR = {("global", m, "_reconstructor") for m in ("copyreg", "copy_reg")}
NEWOBJ_HELPERS = {("global", m, n) for m in ("copyreg", "copy_reg")
                  for n in ("__newobj__", "__newobj_ex__")}


class Obj:
    """An object the stream made, with the global that made it (for BUILD)."""

    def __init__(self, origin):
        self.origin = origin


def globals_in(data: bytes):
    """Every (module, name) a pickle imports, with the uses the stream makes of it: `import`
    (passed on as a value), `new` (NEWOBJ), `build` (BUILD on what it made), `call` (REDUCE,
    INST, OBJ). Read with pickletools and a symbolic stack (never loaded)."""
    uses = collections.defaultdict(set)
    stack, marks, memo = [], [], {}

    def note(value, use):
        if isinstance(value, tuple) and value[:1] == ("global",):
            uses[value[1:]].add(use)

    def pop_mark():
        start = marks.pop() if marks else 0
        items = stack[start:]
        del stack[start:]
        return items

    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name in ("GLOBAL", "INST"):
            module, qual = arg.split(" ", 1)
            g = ("global", module, qual)
            uses[g[1:]].add("import")
            if name == "INST":
                pop_mark()
                uses[g[1:]].add("call")
                stack.append(Obj(g))
            else:
                stack.append(g)
        elif name == "STACK_GLOBAL":
            qual, module = stack.pop(), stack.pop()
            if isinstance(module, tuple) and isinstance(qual, tuple) and \
                    module[:1] == qual[:1] == ("str",):
                g = ("global", module[1], qual[1])
                uses[g[1:]].add("import")
                stack.append(g)
            else:
                stack.append(None)
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING",
                      "BINSTRING", "SHORT_BINSTRING"):
            stack.append(("str", arg))
        elif name == "MARK":
            marks.append(len(stack))
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo.get(arg))
        elif name == "REDUCE":
            args, func = stack.pop(), stack.pop()
            note(func, "call")
            origin = func
            # copyreg._reconstructor(cls, base, state): object.__new__(cls), then BUILD on it;
            # base.__new__ and base.__init__ run unless base is object.
            if func in RECONSTRUCTOR and isinstance(args, list) and args:
                origin = args[0]
                note(args[0], "new")
                if len(args) > 1 and args[1] not in (("global", "builtins", "object"),
                                                     ("global", "__builtin__", "object")):
                    note(args[1], "call")
            # copyreg.__newobj__(cls, *args) is cls.__new__(cls, *args), as NEWOBJ.
            elif func in NEWOBJ_HELPERS and isinstance(args, list) and args:
                origin = args[0]
                note(args[0], "new")
            stack.append(Obj(origin))
        elif name == "OBJ":
            items = pop_mark()
            if items:
                note(items[0], "call")
                stack.append(Obj(items[0]))
            else:
                stack.append(None)
        elif name in ("NEWOBJ", "NEWOBJ_EX"):
            if name == "NEWOBJ_EX":
                stack.pop()
            stack.pop()
            cls = stack.pop()
            note(cls, "new")
            stack.append(Obj(cls))
        elif name == "BUILD":
            stack.pop()
            if stack and isinstance(stack[-1], Obj):
                note(stack[-1].origin, "build")
        elif name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE"):
            if name == "TUPLE":
                items = pop_mark()
            else:
                n = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}[name]
                items = stack[len(stack) - n:] if n else []
                del stack[len(stack) - n:]
            stack.append(list(items))
        elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
            pop_mark()
        elif name == "APPEND":
            stack.pop()
        elif name == "SETITEM":
            del stack[-2:]
        elif name in ("STOP", "PROTO", "FRAME"):
            pass
        else:
            before = OPS[name].stack_before
            if pickletools.markobject in before:
                pop_mark()
                before = [b for b in before if b is not pickletools.markobject
                          and b is not pickletools.stackslice]
            if before:
                del stack[len(stack) - len(before):]
            stack.extend([None] * len(OPS[name].stack_after))
    return uses


def merge(into, more):
    for key, value in more.items():
        into.setdefault(key, set()).update(value)
    return into


def all_pickles(data: bytes):
    """Globals in a stream of stacked pickles or a torch zip archive."""
    out = {}
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                if name.endswith(".pkl"):
                    merge(out, globals_in(zf.read(name)))
        return out
    rest = data
    while rest:
        ops = list(pickletools.genops(rest))
        merge(out, globals_in(rest))
        end = ops[-1][2] + 1
        rest = rest[end:]
        if rest[:1] != b"\x80":
            break
    return out


def dumps_all(objects, protocols=(0, 2, 4, 5)):
    """Globals and their uses in the pickles of `objects`, at protocols 0 (the
    `copyreg._reconstructor` form), 2, 4 and 5."""
    out = {}
    for obj in objects:
        for proto in protocols:
            try:
                merge(out, globals_in(pickle.dumps(obj, protocol=proto)))
            except Exception:  # some objects refuse some protocols; others cover them
                pass
    return out


def from_torch(note):
    try:
        import torch
        import torch._weights_only_unpickler as wou
    except Exception as err:  # not installed, or a CUDA build without its libraries
        note.append(f"torch: cannot be imported ({type(err).__name__}: {err}"[:160] + "), skipped")
        return {}
    out = {}
    # What torch.load(weights_only=True) accepts, it accepts called with arguments.
    for key, value in wou._get_allowed_globals().items():
        dotted = key if isinstance(key, str) else value
        if not isinstance(dotted, str):
            continue
        module, _, name = dotted.rpartition(".")
        out.setdefault((module, name), set()).update({"import", "new", "build", "call"})
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
            merge(out, all_pickles(buf.getvalue()))
    merge(out, dumps_all([torch.torch_version.TorchVersion(torch.__version__)]))
    note.append(f"torch {torch.__version__}: {len(samples)} samples")
    return out


def from_numpy(note):
    try:
        import numpy as np
    except ImportError:
        note.append("numpy: not installed, skipped")
        return {}
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
        np.random.RandomState(0),
        # type objects, legacy containers and record arrays
        *sorted(set(np.sctypeDict.values()), key=str), np.ndarray, type(np.dtype("f8")),
        np.matrix([[1, 2]]), np.rec.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
        np.rec.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")])[0],
        np.ma.masked_array([[1.0]], mask=[[True]]).astype("f4"),
        np.array([np.datetime64("2020-01-01")], dtype=object),
    ]
    # The Generator API came with NumPy 1.17, PCG64DXSM with 1.21.
    if hasattr(np.random, "default_rng"):
        arrays += [np.random.default_rng(0), np.random.Generator(np.random.PCG64(0)),
                   np.random.MT19937(0), np.random.Philox(0), np.random.SFC64(0),
                   getattr(np.random, "PCG64DXSM", np.random.PCG64)(0)]
    out = dumps_all(arrays)
    # NumPy 2 writes numpy._core; NumPy 1.x wrote numpy.core, which NumPy 2 still reads.
    for (m, n), u in list(out.items()):
        if m.startswith("numpy._core"):
            out.setdefault(("numpy.core" + m[len("numpy._core"):], n), set()).update(u)
        elif m.startswith("numpy.core"):
            out.setdefault(("numpy._core" + m[len("numpy.core"):], n), set()).update(u)
    note.append(f"numpy {np.__version__}: {len(arrays)} samples")
    return out


def from_pandas(note):
    try:
        import numpy as np
        import pandas as pd
    except ImportError:
        note.append("pandas: not installed, skipped")
        return {}
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
        pd.DataFrame(np.ones((2, 2))).set_index(0),
    ]
    # Extension arrays: sparse and nullable integers came with pandas 0.24 (`pd.arrays` with
    # 0.24 too), strings and booleans with 1.0.
    for make in (lambda: pd.Series(pd.arrays.SparseArray([0, 1])),
                 lambda: pd.array([1, None], dtype="Int64"),
                 lambda: pd.array(["a", None], dtype="string"),
                 lambda: pd.array([True, None], dtype="boolean")):
        try:
            objects.append(make())
        except (AttributeError, TypeError, ValueError):
            pass
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
        return {}
    rng = np.random.RandomState(0)
    X = np.abs(rng.rand(60, 4)) + 0.1
    # Binary, multiclass and continuous targets: estimators keep different helper types
    # (losses, links, label encoders) for each.
    targets = [np.array([0, 1] * 30), np.array([0, 1, 2] * 20), rng.rand(60)]
    out, fitted = {}, 0
    estimators = all_estimators()
    for name, cls in estimators:
        out.setdefault((cls.__module__, cls.__qualname__), set()).add("import")
        try:
            est = cls()
        except Exception:
            # Meta-estimators need arguments; they pickle as every estimator does (NEWOBJ,
            # then BUILD with the state), which inspection then judges.
            out[(cls.__module__, cls.__qualname__)] |= {"new", "build"}
            continue
        merge(out, dumps_all([est]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits = 0
            for args in [(X, y) for y in targets] + [(X,)]:
                try:
                    est = cls().fit(*args)
                except Exception:
                    continue
                merge(out, dumps_all([est]))
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
        return {}
    note.append(f"joblib {joblib.__version__}")
    # joblib.dump writes NumpyArrayWrapper with NEWOBJ and BUILD; joblib < 0.10 wrote the other
    # two, which its unpickler reads.
    return {(jnp.__name__, n): {"import", "new", "build"}
            for n in ("NumpyArrayWrapper", "NDArrayWrapper", "ZNDArrayWrapper")}


def from_stdlib(note):
    """Objects of the standard library that checkpoints carry beside tensors: hyperparameters
    as `argparse.Namespace` (fairseq), paths (Lightning, Hydra), compiled regular expressions,
    `typing` aliases in annotated configurations, enums, dates, decimals."""
    import argparse as ap
    import datetime as dt
    import decimal
    import enum
    import fractions
    import pathlib
    import re
    import typing
    import uuid

    class Colour(enum.Enum):  # noqa: the class itself is local: only the stdlib names count
        RED = 1

    objects = [
        ap.Namespace(lr=0.1, arch="transformer", layers=[1, 2], data=pathlib.PurePosixPath("d")),
        pathlib.PurePosixPath("a/b"), pathlib.PosixPath("/tmp/x"), pathlib.PureWindowsPath("c:/x"),
        pathlib.PurePath("a"),
        re.compile(r"\w+", re.I), re.compile(b"x"), re.I | re.M,
        typing.List, typing.Dict, typing.Any, typing.Optional, typing.Union, typing.Tuple,
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), dt.date(2024, 1, 1),
        dt.time(1, 2), dt.timedelta(1), dt.timezone(dt.timedelta(hours=1)),
        decimal.Decimal("1.5"), fractions.Fraction(1, 3), uuid.uuid4(),
        collections.OrderedDict(a=1), collections.defaultdict(list), collections.deque([1]),
        collections.Counter("ab"), {1, 2}, frozenset([1]), slice(1, 2), range(3), 1j,
        bytearray(b"x"), bytes(b"x"), Ellipsis, NotImplemented, type(None),
    ]
    out = dumps_all(objects)
    out = {k: v for k, v in out.items() if k[0] != "__main__"}
    note.append(f"stdlib {sys.version.split()[0]}: {len(objects)} samples")
    return out


def from_extras(note):
    """The model and result classes of the ML and statistics libraries whose models are
    pickled as a matter of course, and the configuration objects checkpoints carry."""
    import numpy as np

    rng = np.random.RandomState(0)
    X = rng.rand(40, 3)
    y = np.array([0, 1] * 20)
    out = {}

    def take(label, make):
        try:
            module = __import__(label)
            version = getattr(module, "__version__", "?")
        except ImportError:
            note.append(f"{label}: not installed, skipped")
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                objects = make()
        except Exception as err:  # a library that changed its API: say so, go on
            note.append(f"{label} {version}: samples failed: {type(err).__name__}: {err}"[:200])
            return
        found = dumps_all(objects)
        for key, value in found.items():
            out.setdefault(key, set()).update(value)
            SOURCE_OF.setdefault(key, set()).add(label)
        note.append(f"{label} {version}: {len(objects)} samples")

    def scipy_objects():
        import scipy.sparse as sp
        m = sp.random(4, 4, density=0.5, random_state=0)
        made = [m.tocsr(), m.tocsc(), m.tocoo(), m.tolil(), m.todok(), m.tobsr(), m.todia()]
        for name in ("csr_array", "csc_array", "coo_array", "lil_array", "dok_array"):
            if hasattr(sp, name):
                made.append(getattr(sp, name)(m))
        return made

    def gensim_objects():
        from gensim.corpora import Dictionary
        from gensim.models import Doc2Vec, FastText, LdaModel, TfidfModel, Word2Vec
        from gensim.models.doc2vec import TaggedDocument
        import gensim
        texts = [["a", "b", "c"], ["b", "c", "d"], ["a", "d"]] * 5
        d = Dictionary(texts)
        corpus = [d.doc2bow(t) for t in texts]
        # gensim 4 renamed Word2Vec's and FastText's size and iter to vector_size and epochs.
        old = int(gensim.__version__.split(".")[0]) < 4
        wv_args = dict(size=4, iter=1) if old else dict(vector_size=4, epochs=1)
        w2v = Word2Vec(texts, min_count=1, workers=1, **wv_args)
        return [d, w2v, w2v.wv, TfidfModel(corpus), LdaModel(corpus, num_topics=2, id2word=d),
                FastText(texts, min_count=1, workers=1, **wv_args),
                Doc2Vec([TaggedDocument(t, [i]) for i, t in enumerate(texts)], vector_size=4,
                        min_count=1, epochs=1, workers=1)]

    def statsmodels_objects():
        import statsmodels.api as sm
        Xc = sm.add_constant(X)
        made = [sm.OLS(X[:, 0], Xc).fit(), sm.Logit(y, Xc).fit(disp=0),
                sm.GLM(y, Xc, family=sm.families.Binomial()).fit(), sm.WLS(X[:, 0], Xc).fit()]
        # State-space results (SARIMAX): what statsmodels' own tests keep from 0.9 on.
        made.append(sm.tsa.SARIMAX(X[:, 0], order=(1, 0, 0)).fit(disp=0))
        return made

    def lightgbm_objects():
        import lightgbm as lgb
        clf = lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, y)
        return [clf, clf.booster_, lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(X, X[:, 0])]

    def xgboost_objects():
        import xgboost as xgb
        clf = xgb.XGBClassifier(n_estimators=2).fit(X, y)
        return [clf, clf.get_booster(), xgb.XGBRegressor(n_estimators=2).fit(X, X[:, 0])]

    def catboost_objects():
        import catboost as cb
        return [cb.CatBoostClassifier(iterations=2, verbose=0, allow_writing_files=False).fit(X, y),
                cb.CatBoostRegressor(iterations=2, verbose=0, allow_writing_files=False)
                .fit(X, X[:, 0])]

    def spacy_objects():
        import spacy
        nlp = spacy.blank("en")
        return [nlp.vocab, nlp("a small text"), nlp.vocab.strings]

    def nltk_objects():
        import nltk
        from nltk.classify import NaiveBayesClassifier
        from nltk.probability import ConditionalFreqDist, FreqDist
        from nltk.stem import PorterStemmer, SnowballStemmer
        from nltk.tokenize.punkt import PunktSentenceTokenizer, PunktTrainer
        trainer = PunktTrainer()
        trainer.train("Mr. Smith went. Dr. Who came. It rained. " * 20)
        return [nltk.Tree("S", ["a"]), FreqDist("abc"), ConditionalFreqDist([("a", "b")]),
                PorterStemmer(), SnowballStemmer("english"),
                PunktSentenceTokenizer(trainer.get_params()),
                NaiveBayesClassifier.train([({"f": 1}, "x"), ({"f": 0}, "y")])]

    def morfessor_objects():
        # The segmentation models gensim's VarEmbed wrapper loads.
        import morfessor
        model = morfessor.BaselineModel()
        model.load_data([(3, "walking"), (2, "talked"), (1, "walked"), (2, "talking")])
        model.train_batch()
        return [model]

    def omegaconf_objects():
        from omegaconf import OmegaConf
        cfg = OmegaConf.create({"model": {"lr": 0.1, "layers": [1, 2]}, "name": "${model.lr}"})
        return [cfg, OmegaConf.create([1, {"a": None}]), cfg.model]

    def transformers_objects():
        from transformers import PretrainedConfig, TrainingArguments
        return [TrainingArguments(output_dir="out", report_to=[]), PretrainedConfig()]

    take("scipy", scipy_objects)
    take("gensim", gensim_objects)
    take("statsmodels", statsmodels_objects)
    take("lightgbm", lightgbm_objects)
    take("xgboost", xgboost_objects)
    take("catboost", catboost_objects)
    take("spacy", spacy_objects)
    take("nltk", nltk_objects)
    take("morfessor", morfessor_objects)
    take("omegaconf", omegaconf_objects)
    take("transformers", transformers_objects)
    return out


SOURCE_OF = {}

# Names that older releases wrote and that the current ones still resolve when unpickling (for
# the files people kept): found by scripts/test_upstream.py in the data the projects ship. Each
# is inspected in every environment where it resolves, like any other entry, for the uses old
# pickles make of it: classes are instantiated (NEWOBJ, or copyreg._reconstructor) and built;
# reconstructors are called and what they return is built; other functions are only referenced
# as values.
LEGACY = {
    "numpy": [("numpy.matrixlib.defmatrix", "matrix"), ("numpy.random", "__RandomState_ctor"),
              ("numpy.core.records", "recarray"), ("numpy.core.records", "record"),
              ("numpy.core._internal", "_reconstruct")],
    "gensim": [(f"gensim.models.{m}", n) for m, n in [
        ("keyedvectors", "Vocab"), ("word2vec", "Vocab"), ("doc2vec", "DocvecsArray"),
        ("keyedvectors", "EuclideanKeyedVectors"), ("keyedvectors", "Word2VecKeyedVectors"),
        ("wrappers.fasttext", "FastTextKeyedVectors"), ("word2vec", "Word2VecVocab"),
        ("word2vec", "Word2VecTrainables"), ("phrases", "Phraser"), ("phrases", "Phrases"),
        ("phrases", "original_scorer"), ("keyedvectors", "FastTextKeyedVectors"),
        ("wrappers.fasttext", "FastText"), ("doc2vec", "Doctag"), ("doc2vec", "Doc2VecTrainables"),
        ("doc2vec", "Doc2VecVocab"), ("keyedvectors", "Doc2VecKeyedVectors"),
        ("tfidfmodel", "smartirs_normalize"), ("tfidfmodel", "smartirs_wglobal"),
        ("tfidfmodel", "smartirs_wlocal"), ("ldaseqmodel", "LdaSeqModel"), ("ldaseqmodel", "sslm"),
        ("atmodel", "AuthorTopicModel"), ("atmodel", "AuthorTopicState"),
        ("fasttext", "FastTextVocab"), ("fasttext", "FastTextTrainables"),
        ("ensemblelda", "EnsembleLda"), ("ensemblelda", "mass_masking"),
        ("ensemblelda", "CBDBSCAN"), ("ensemblelda", "Topic"), ("ensemblelda", "Cluster"),
        ("nmf", "Nmf"), ("poincare", "PoincareModel"), ("poincare", "NegativesBuffer"),
        ("poincare", "PoincareKeyedVectors"), ("ldamodel", "LdaModel"), ("ldamodel", "LdaState"),
        ("lsimodel", "LsiModel"), ("lsimodel", "Projection"), ("hdpmodel", "HdpModel"),
        ("rpmodel", "RpModel"), ("logentropy_model", "LogEntropyModel"),
        ("normmodel", "NormModel"), ("translation_matrix", "TranslationMatrix")]],
    # scikit-learn < 0.24 pickled its datasets' Bunch under the module that was removed then.
    "sklearn": [("sklearn.datasets.base", "Bunch")],
    "statsmodels": [("statsmodels.tsa.statespace.sarimax", "SARIMAXResultsWrapper"),
                    ("statsmodels.tsa.statespace.sarimax", "SARIMAXResults"),
                    ("statsmodels.tsa.statespace.sarimax", "SARIMAX"),
                    ("statsmodels.tools.decorators", "ResettableCache")],
}


# What a library's own loader does to the names of an old pickle before unpickling it, so the
# class that runs under a written name is another one: gensim 3.x loads every model gensim 0.12
# to 3.2 wrote through gensim.models.deprecated.old_saveload.unpickle, which rewrites these
# module names in the bytes (its `file_bytes.replace` lines). A written name is inspected as
# itself where it resolves and as what such a loader makes of it where that resolves; a use
# either refuses is refused.
LOADER_RENAMES = [
    ("gensim.models.word2vec", "gensim.models.deprecated.word2vec"),
    ("gensim.models.keyedvectors", "gensim.models.deprecated.keyedvectors"),
    ("gensim.models.doc2vec", "gensim.models.deprecated.doc2vec"),
    ("gensim.models.fasttext", "gensim.models.deprecated.fasttext"),
]


def _resolve(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def resolutions(module, name):
    """Every object `module.name` loads as here: itself, and what a library's loader renames
    it to (LOADER_RENAMES), each that resolves."""
    found = []
    candidates = [(module, name)] + [(new + module[len(old):], name)
                                     for old, new in LOADER_RENAMES
                                     if module == old or module.startswith(old + ".")]
    for m, n in candidates:
        try:
            found.append(((m, n), _resolve(m, n)))
        except Exception:
            continue
    return found


def from_legacy(note):
    out = {}
    for lib, names in LEGACY.items():
        seen = 0
        for module, name in names:
            found = resolutions(module, name)
            if not found:
                continue
            obj = found[0][1]
            seen += 1
            if inspect.isclass(obj):
                uses = {"import", "new", "build"}
            elif name.startswith("__") or "reconstruct" in name or name.endswith("_ctor"):
                # Called, and what they return given its state: the pickle of an ndarray is
                # `_reconstruct(...)` then BUILD, as NumPy's own reconstructors are seen used.
                uses = {"import", "call", "build"}
            else:
                uses = {"import"}
            out[(module, name)] = uses
            SOURCE_OF.setdefault((module, name), set()).add(lib)
        note.append(f"legacy {lib}: {seen} of {len(names)} names resolve here")
    return out

# Inspection: what NEWOBJ, BUILD and a call with arguments run on an entry, read from the
# source of the methods involved (one level deep; compiled code has no source: it is admitted
# for the uses the library itself makes of it, and refused if on the denylist).
# Called by bare name (builtins) or as any attribute: run code, load native code, reach files,
# processes or the network.
RISKY_BARE = {"eval", "exec", "compile", "__import__", "open", "globals", "locals", "vars",
              "breakpoint", "input"}
RISKY_NAMES = {
    "import_module", "system", "popen", "Popen", "spawnl", "spawnv", "spawnve", "execv", "execve",
    "execl", "execlp", "execvp", "fork", "load_library", "LoadLibrary", "CDLL", "PyDLL", "dlopen",
    "urlopen", "urlretrieve", "from_pretrained", "exec_module", "find_spec", "run_path",
    "run_module", "getoutput", "check_output", "check_call", "memmap", "hf_hub_download",
    "snapshot_download", "get_file", "literal_eval", "register_new_resolver",
}
RISKY_ROOTS = {"os", "subprocess", "ctypes", "importlib", "sys", "builtins", "shutil", "socket",
               "urllib", "requests", "pickle", "cPickle", "marshal", "dill", "cloudpickle",
               "runpy", "tempfile", "shelve", "torch.hub", "torch.ops", "torch.classes"}
LOADERS = {"load", "loads"}
# Never admitted for a call, whoever writes them: they invoke or look up what they are given.
NEVER_CALLED = {("operator", "getitem"), ("_operator", "getitem"), ("builtins", "type"),
                ("__builtin__", "type")}


def _call_name(func):
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def _risks(fn):
    """What in `fn`'s source can run code, load code or data from elsewhere, or write."""
    try:
        src = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None  # compiled, or no source
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _call_name(node.func)
        last = dotted.rsplit(".", 1)[-1]
        root = dotted.split(".", 1)[0]
        if dotted in RISKY_BARE or last in RISKY_NAMES or \
                (root in RISKY_ROOTS and "." in dotted) or \
                any(dotted.startswith(r + ".") for r in RISKY_ROOTS if "." in r):
            found.add(dotted)
        elif last in LOADERS and "." in dotted and root not in ("json", "self"):
            found.add(dotted)
        elif dotted in ("getattr", "setattr", "delattr") and len(node.args) >= 2:
            # Reflection with a name the state chooses.
            if not isinstance(node.args[1], CONSTANTS):
                target = node.args[0]
                if not (isinstance(target, ast.Name) and target.id in ("self", "cls")):
                    found.add(f"{dotted} with a computed name")
    return found


def _methods(obj, names):
    out = []
    for name in names:
        fn = inspect.getattr_static(obj, name, None)
        if fn is None:
            continue
        fn = getattr(fn, "__func__", fn)
        if inspect.isfunction(fn):
            out.append((name, fn))
    return out


def inspect_entry(module, name, uses):
    """The uses of `module.name` that inspection admits, and why others are refused: every
    object the name loads as here (itself, and what a library's own loader renames it to) is
    inspected, and a use any of them refuses is refused."""
    found = resolutions(module, name)
    if not found:
        # Not importable here (another version's name): admitted for what was observed in an
        # environment where it is, so inspected there.
        return uses, {}
    admitted, refused = None, {}
    for (m, n), obj in found:
        a, r = _inspect_object(module, name, obj, uses)
        admitted = a if admitted is None else admitted & a
        for use, why in r.items():
            refused.setdefault(use, [])
            refused[use] = sorted(set(refused[use]) | {
                why_ if (m, n) == (module, name) else f"{why_} (as {m}.{n})" for why_ in why})
    return admitted - set(refused), refused


def _inspect_object(module, name, obj, uses):
    """inspect_entry for one object `module.name` resolves to."""
    refused = {}
    if inspect.isclass(obj):
        checks = {
            "new": _methods(obj, ["__new__"]),
            "build": _methods(obj, ["__setstate__", "__setattr__"]),
            "call": _methods(type(obj), ["__call__"]) + _methods(obj, ["__new__", "__init__",
                                                                       "__post_init__"]),
        }
    elif callable(obj):
        checks = {"new": [], "build": [], "call": [("", obj)] if inspect.isfunction(obj) else []}
    else:
        checks = {"new": [], "build": [], "call": []}
    for use, methods in checks.items():
        reasons = set()
        for mname, fn in methods:
            risks = _risks(fn)
            if risks:
                reasons |= {f"{mname or name} calls {r}" for r in risks}
        if (module, name) in NEVER_CALLED and use == "call":
            reasons.add("invokes or looks up what it is given")
        elif (module, name, use) in REVIEWED:
            reasons = set()
        if reasons:
            refused[use] = sorted(reasons)
    admitted = {u for u in uses if u not in refused}
    # A class that is only instantiated (NEWOBJ, BUILD) is admitted to be called with
    # arguments only when inspection shows that call inert: its `__init__` and any `__new__`,
    # `__post_init__` or metaclass `__call__` are Python code in which no call runs code, loads
    # code, or reaches files, processes or the network (`plain` when `__init__` only stores its
    # arguments). Compiled constructors are not admitted for calls they were not seen to make.
    if inspect.isclass(obj) and "new" in uses and "call" not in uses and "call" not in refused \
            and checks["call"] and all(_risks(fn) == set() for _, fn in checks["call"]):
        admitted.add("call")
        plain = all(_plain(obj, fn) for _, fn in checks["call"] if fn.__name__ == "__init__")
        PLAIN[(module, name)] = PLAIN.get((module, name), True) and plain
    return admitted, refused


PLAIN = {}

# Uses inspection flagged and a reviewer read and found inert: (module, name, use) -> why.
REVIEWED = {
    ("pandas.core.indexes.datetimes", "_new_DatetimeIndex", "call"):
        "vars() reads the array's own __dict__ (pandas' reconstructor of every DatetimeIndex)",
    ("pandas.core.indexes.timedeltas", "_new_TimedeltaIndex", "call"):
        "vars() reads the array's own __dict__ (pandas' reconstructor of every TimedeltaIndex)",
    ("lightgbm.basic", "Booster", "build"):
        "__setstate__ hands the model text to LightGBM's own library through ctypes "
        "(LGBM_BoosterLoadModelFromString); it names no file",
    ("numpy.core.records", "recarray", "build"):
        "sys.exc_info() re-raises what object.__setattr__ raised (NumPy 1.16's "
        "recarray.__setattr__); the rest sets a field of the array",
    ("numpy", "recarray", "build"):
        "sys.exc_info() re-raises what object.__setattr__ raised (NumPy 1.16's "
        "recarray.__setattr__); the rest sets a field of the array",
    ("torch._tensor", "_rebuild_from_type_v2", "call"):
        "setattr of the state's names on the tensor it rebuilt (torch 1.13 inline; torch 2.x "
        "does the same in torch._utils._set_obj_state); `func` is a global of the pickle, "
        "judged on its own; torch.load(weights_only=True) allows it",
    ("xgboost.core", "Booster", "build"):
        "__setstate__ hands the raw model to XGBoost's own library through ctypes "
        "(XGBoosterUnserializeFromBuffer); it names no file",
}
# Uses a reviewer showed inert that the library was not seen to make: (module, name) -> uses, why.
REVIEWED_EXTRA = {
    ("torch.torch_version", "TorchVersion"):
        ({"call"}, "a str subclass with no constructor of its own: calling it makes a string"),
}


def _plain(cls, fn):
    """Whether `fn` (an `__init__`) only stores its arguments on `self` and calls
    `super().__init__` with them: no other call, no property setter reached."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    func = tree.body[0] if tree.body else None
    if not isinstance(func, ast.FunctionDef) or func.name != "__init__":
        return False

    def simple(expr):
        return all(not isinstance(n, NON_PLAIN) for n in ast.walk(expr))

    for stmt in func.body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and
                                          isinstance(stmt.value, CONSTANTS)):
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                if not (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and
                        t.value.id == "self"):
                    return False
                if isinstance(inspect.getattr_static(cls, t.attr, None), property):
                    return False
            if stmt.value is not None and not simple(stmt.value):
                return False
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
                _call_name(stmt.value.func) == "super.__init__" and \
                all(simple(a) for a in stmt.value.args) and \
                all(simple(k.value) for k in stmt.value.keywords):
            continue
        return False
    return True


def denylist():
    entries = []
    for line in (DATA / "denylist.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.append(line)
    return entries


def denied(module, name, entries):
    full = f"{module}.{name}"
    return any(full == e or full.startswith(e + ".") for e in entries)


def py3_name(module, name):
    """The name CPython's unpickler loads for a Python 2 name (`__builtin__.getattr`)."""
    import _compat_pickle as cp

    if (module, name) in cp.NAME_MAPPING:
        return cp.NAME_MAPPING[(module, name)]
    return cp.IMPORT_MAPPING.get(module, module), name


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


COLLECTORS = (("stdlib", from_stdlib), ("torch", from_torch), ("numpy", from_numpy),
              ("pandas", from_pandas), ("sklearn", from_sklearn), ("joblib", from_joblib),
              ("extras", from_extras), ("legacy", from_legacy))
LIBRARIES = ("torch", "numpy", "pandas", "sklearn", "joblib", "scipy", "gensim", "statsmodels",
             "lightgbm", "xgboost", "catboost", "spacy", "nltk", "omegaconf", "transformers",
             "morfessor")


def collect():
    """Everything this interpreter's libraries write: entries with observed and admitted uses,
    the uses inspection refused, the libraries' versions and the number of globals each
    library's pickles reference."""
    note, found = [], {}
    # The curated standard-library types and reconstructors (C code, inert in every use).
    for m, n in STDLIB:
        if (m, n) in NEVER_CALLED:
            continue
        rec = found.setdefault((m, n), {"uses": set(), "sources": set()})
        rec["uses"] |= {"import", "new", "build", "call"}
        rec["sources"].add("stdlib")
    for source, fn in COLLECTORS:
        for key, uses in fn(note).items():
            m, n = key
            if m is None or n is None:
                continue
            rec = found.setdefault(key, {"uses": set(), "sources": set()})
            rec["uses"] |= set(uses) | {"import"}
            rec["sources"] |= SOURCE_OF.get(key, {source}) if source in ("extras", "legacy") \
                else {source}
    for (m, n), rec in found.items():
        admitted, refused = inspect_entry(m, n, rec["uses"])
        rec["admitted"], rec["refused"] = admitted, refused
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = importlib.import_module(lib).__version__
        except Exception:
            pass
    versions["python"] = sys.version.split()[0]
    counts = collections.Counter()
    for rec in found.values():
        for src in rec["sources"]:
            counts[src] += 1
    return {"note": note, "versions": versions, "counts": dict(counts),
            "entries": [{"module": m, "name": n, "uses": sorted(r["uses"]),
                         "admitted": sorted(r["admitted"]), "refused": r["refused"],
                         "sources": sorted(r["sources"])}
                        for (m, n), r in sorted(found.items())]}


USE_ORDER = ["import", "new", "build", "call"]


def committed():
    """What the committed files say, for `--merge`: the allowlist's entries with their uses and
    the versions that write them, the uses and entries the matrix refused, and the summary's
    lines by environment."""
    merged, refused_all, denied_all, env_lines = {}, {}, set(), []
    for line in (DATA / "allowlist.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        body, _, seen = line.partition("#")
        m, n, uses = body.split()
        tokens = [t for t in seen.strip().split(",") if t]
        merged[(m, n)] = {"admitted": set(uses.split(",")), "refused": set(),
                          "seen": {t for t in tokens if not t.startswith("+")},
                          "hidden": sum(int(t[1:]) for t in tokens if t.startswith("+")),
                          "shown": seen.strip()}
    section = None
    for line in (DATA / "allowlist_matrix.txt").read_text().splitlines():
        if line.startswith("# refused uses"):
            section = "uses"
        elif line.startswith("# refused entries (on the denylist): "):
            denied_all |= {e for e in line.split(": ", 1)[1].split(", ") if e}
        elif section == "uses" and line.startswith("#   "):
            what, _, why = line[4:].partition("): ")
            refused_all[what + ")"] = set(why.split("; "))
        elif section is None and not line.startswith(("# The ", "# the ", "# Generated",
                                                      "# env ")):
            env_lines.append(line)  # an environment's counts, or its notes
    for (m, n), rec in merged.items():
        rec["refused"] = {u for u in USE_ORDER if f"{m}.{n} ({u})" in refused_all}
    return merged, refused_all, denied_all, env_lines


def union_of(collections_by_env):
    """Every entry of every collection, with every use any environment admits for it."""
    uses = {}
    for col in collections_by_env.values():
        for e in col["entries"]:
            uses.setdefault((e["module"], e["name"]), set()).update(e["admitted"])
    return [[m, n, sorted(u)] for (m, n), u in sorted(uses.items())]


def cross_inspect(path):
    """The uses of each entry of `path` that inspection here refuses, and why: `module\tname`
    -> {use: [why]}, for the names that resolve here."""
    out = {}
    for module, name, uses in json.loads(Path(path).read_text()):
        try:
            _, refused = inspect_entry(module, name, set(uses))
        except Exception as err:  # a library that fails to import a name: it cannot load it
            refused = {}
            print(f"inspect {module}.{name}: {type(err).__name__}: {err}", file=sys.stderr)
        if refused:
            out[f"{module}\t{name}"] = refused
    return out


def render(collections_by_env, baseline=None):
    """The allowlist and the matrix summary from the collections of every environment; with
    `baseline` (what `committed()` read), those collections merged into the committed files:
    a use the new environments refuse is refused, one the committed matrix refused stays so."""
    entries = denylist()
    merged, refused_all, denied_all = {}, {}, set()
    if baseline:
        merged, refused_all, denied_all, _ = baseline
    for env, col in sorted(collections_by_env.items()):
        versions = col["versions"]
        for e in col["entries"]:
            key = (e["module"], e["name"])
            if denied(*key, entries) or denied(*py3_name(*key), entries):
                denied_all.add(f"{key[0]}.{key[1]}")
                continue
            rec = merged.setdefault(key, {"admitted": set(), "refused": set(), "seen": set()})
            rec["admitted"] |= set(e["admitted"])
            rec["admitted"] |= REVIEWED_EXTRA.get(key, (set(), ""))[0]
            rec["refused"] |= {u for u in e["refused"] if (*key, u) not in REVIEWED}
            for src in e["sources"]:
                version = versions.get(src, versions.get("python") if src == "stdlib" else None)
                rec["seen"].add(f"{src}=={version}" if version else src)
            for use, why in e["refused"].items():
                if (*key, use) in REVIEWED:
                    continue
                refused_all.setdefault(f"{key[0]}.{key[1]} ({use})", set()).update(why)
    for env, col in sorted(collections_by_env.items()):
        for dotted, refused in col.get("cross", {}).items():
            key = tuple(dotted.split("\t", 1))
            rec = merged.get(key)
            if rec is None:
                continue
            for use, why in refused.items():
                if (*key, use) in REVIEWED:
                    continue
                rec["refused"].add(use)
                refused_all.setdefault(f"{key[0]}.{key[1]} ({use})", set()).update(
                    f"{w} (in {env})" for w in why)
    lines = ["# Pickle globals that real ML artefacts use and that run no attacker-chosen code, with",
             "# the uses each is admitted for: import (passed on as a value), new (NEWOBJ), build",
             "# (BUILD: __setstate__ or __dict__ update), call (REDUCE/INST/OBJ: called with",
             "# arguments). Generated by scripts/gen_allowlist.py --matrix from the environments of",
             "# scripts/allowlist_matrix.py; do not edit. A use inspection refused in any version is",
             "# refused in all (see allowlist_matrix.txt for what was refused and why).",
             "# module name uses  # library==version that writes it"]
    for (m, n), rec in sorted(merged.items()):
        admitted = rec["admitted"] - rec["refused"]
        uses = ",".join(u for u in USE_ORDER if u in admitted) or "import"
        seen = sorted(rec["seen"])
        shown = ",".join(seen) if len(seen) <= 4 else ",".join(seen[:4]) + f",+{len(seen) - 4}"
        if rec.get("hidden"):
            # A committed line that names only some of its writers: which the new environments
            # add to is unknown, so it is kept as it was (merging again changes nothing).
            shown = rec["shown"]
        lines.append(f"{m} {n} {uses}  # {shown}")
    summary = ["# The allowlist's generation matrix: every environment, its library versions, and",
               "# the number of globals the pickles of each library reference there.",
               "# Generated by scripts/gen_allowlist.py --matrix; do not edit.",
               "# env library version globals"]
    kept = [line for line in (baseline[3] if baseline else [])
            if line.lstrip("# ").split(" ", 1)[0].rstrip(":") not in collections_by_env]
    summary += [line for line in kept if not line.startswith("#")]
    for env, col in sorted(collections_by_env.items()):
        for src, count in sorted(col["counts"].items()):
            libname = {"extras": "extras"}.get(src, src)
            version = col["versions"].get(libname, col["versions"]["python"] if src == "stdlib"
                                          else "-")
            summary.append(f"{env} {src} {version} {count}")
    summary += [line for line in kept if line.startswith("#")]
    for env, col in sorted(collections_by_env.items()):
        for line in col["note"]:
            if "skipped" in line or "failed" in line or "cannot be imported" in line:
                summary.append(f"# {env}: {line}"[:200])
    summary.append("# refused uses (inspection found code that runs, loads or writes):")
    for what, why in sorted(refused_all.items()):
        summary.append(f"#   {what}: {'; '.join(sorted(why))[:300]}")
    summary.append("# refused entries (on the denylist): " + ", ".join(sorted(denied_all)))
    return lines, summary, len(merged)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files would change")
    parser.add_argument("--collect", metavar="OUT",
                        help="write what this interpreter's libraries write, as JSON, and stop")
    parser.add_argument("--inspect", nargs=2, metavar=("IN", "OUT"),
                        help="inspect the entries of IN (JSON [module, name, uses]) with this "
                             "interpreter's libraries; write the uses refused here, and stop")
    parser.add_argument("--matrix", action="store_true",
                        help="collect in every environment of scripts/allowlist_matrix.py")
    parser.add_argument("--env", action="append", default=[],
                        help="with --matrix: only these environments")
    parser.add_argument("--merge", action="store_true",
                        help="with --matrix --env: merge those environments into the committed "
                             "files instead of regenerating them from every environment (a use "
                             "refused anywhere stays refused)")
    args = parser.parse_args()
    if args.collect:
        Path(args.collect).write_text(json.dumps(collect(), indent=1, sort_keys=True))
        return 0
    if args.inspect:
        Path(args.inspect[1]).write_text(json.dumps(cross_inspect(args.inspect[0]), indent=1,
                                                    sort_keys=True))
        return 0
    cols = {}
    if args.matrix:
        import subprocess

        sys.path.insert(0, str(ROOT / "scripts"))
        import allowlist_matrix as am

        for env in args.env or list(am.MATRIX):
            out = ROOT / "target" / "allowlist-matrix" / f"{env}.json"
            if not (am.BASE / env / ".aigate-built").exists():
                print(f"{env}: environment not built (python3 scripts/allowlist_matrix.py {env});"
                      " skipped", file=sys.stderr)
                continue
            subprocess.run([str(am.python_of(env)), __file__, "--collect", str(out)], check=True,
                           cwd=str(ROOT / "target"))
            cols[env] = json.loads(out.read_text())
        # Every environment inspects every entry, not only those it writes: a use one version
        # was seen to make is admitted only if no version where the name resolves refuses it.
        union = ROOT / "target" / "allowlist-matrix" / "union.json"
        union.write_text(json.dumps(union_of(cols)))
        for env in cols:
            out = ROOT / "target" / "allowlist-matrix" / f"{env}.inspect.json"
            subprocess.run([str(am.python_of(env)), __file__, "--inspect", str(union), str(out)],
                           check=True, cwd=str(ROOT / "target"))
            cols[env]["cross"] = json.loads(out.read_text())
    else:
        cols["here"] = collect()
    for env, col in cols.items():
        for line in col["note"]:
            print(f"{env}: {line}", file=sys.stderr)
    lines, summary, count = render(cols, committed() if args.merge else None)
    outputs = {DATA / "allowlist.txt": "\n".join(lines) + "\n",
               DATA / "allowlist_matrix.txt": "\n".join(summary) + "\n",
               DATA / "compat_pickle.txt": "\n".join(compat_lines()) + "\n"}
    changed = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in changed:
            print(f"would change: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed else 0
    for p, text in outputs.items():
        p.write_text(text)
    print(f"{count} globals allowed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
