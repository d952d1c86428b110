#!/usr/bin/env python3
"""The joblib oracle: which pickle stream and which inline array regions `joblib.load`
reads.

    python3 oracles/joblib_oracle.py FILE... [--json]

It follows `joblib.load(path)` with joblib's own code: `_validate_fileobject_and_memmap`
detects the compressor from the first bytes (zlib, gzip, bz2, xz, lzma, lz4, or joblib 0.9's
`ZF` container) and wraps the file in joblib's own decompressor, as `joblib.load` does; then
the pickle is read by a subclass of joblib's `NumpyUnpickler` (itself a `pickle._Unpickler`,
the pure-Python unpickler), one `load()`, as `_unpickle` does. joblib's `load_build` override
is kept: after a BUILD whose object is a `NumpyArrayWrapper` it reads the array from the file
handle. For ZF files, joblib's `read_zfile` decompresses and a subclass of
`ZipNumpyUnpickler` reads the result, as `load_compatibility` does.

What the array reading reaches is recorded: for every `NumpyArrayWrapper` BUILD the offset in
the (decompressed) stream where the array starts and ends, its dtype, shape and count, and
whether it is an object array, whose data is a nested pickle that joblib loads with a fresh
pure-Python unpickler whose find_class is the outer one (joblib 1.6; its globals are
recorded with the outer ones).

SAFETY: `find_class` returns inert recorders (see `_common.py`) for every global except
`joblib.numpy_pickle.NumpyArrayWrapper` and the compat `NDArrayWrapper`/`ZNDArrayWrapper`,
which are recorded and then replaced by inert re-implementations: subclasses of joblib's
classes whose `read` only measures the array region (pad byte, count * itemsize bytes,
skipped) or records the sidecar file name the compat format would open (never opened). The
dtype that sizes the region is rebuilt only from a recorder of the exact global
`numpy.dtype` called with a str, and its `__setstate__` with plain data (nested dtypes rebuilt
the same way); anything else stops the read as unknown. Nothing else the stream names is
imported or called; loads run only inside the sandbox of `_common.run_sandboxed`.
"""

import io
import sys

import _common
from _common import Recording, describe_error, is_recorder, loading, require_sandbox

_J = {}


def prepare(options):
    import numpy
    import joblib
    from joblib import numpy_pickle, numpy_pickle_compat, numpy_pickle_utils
    _J.update(np=numpy, joblib=joblib, numpy_pickle=numpy_pickle, compat=numpy_pickle_compat,
              utils=numpy_pickle_utils)
    try:  # joblib registers lz4 only when importable
        import lz4.frame  # noqa: F401
    except ImportError:
        pass


class Unrebuildable(Exception):
    pass


def rebuild_dtype(value, depth=0):
    """A real numpy dtype for a recorder of `numpy.dtype(str, ...)` with its BUILD state."""
    np = _J["np"]
    if depth > 8:
        raise Unrebuildable("dtype nested too deep")
    if not is_recorder(value):
        raise Unrebuildable("the dtype is a %s, not numpy.dtype(...)" % type(value).__name__)
    info = _common._info(value)
    if info.get("kind") != "result" or tuple(info.get("origin") or ()) != ("numpy", "dtype") \
            or info.get("made_by_kind") != "global":
        raise Unrebuildable("the dtype is %s, not a call of numpy.dtype" % info["label"])
    args = info.get("raw_args") or ()
    if not args or type(args[0]) is not str or not all(type(a) is bool for a in args[1:3]):
        raise Unrebuildable("numpy.dtype called with other than (str, bool, bool)")
    dt = np.dtype(args[0], *args[1:3])
    state = info.get("raw_state")
    if state is not None:
        dt.__setstate__(_plain(state, depth))
    return dt


def _plain(state, depth):
    """The BUILD state of a dtype with nested dtype recorders rebuilt; plain data only."""
    t = type(state)
    if is_recorder(state):
        return rebuild_dtype(state, depth + 1)
    if state is None or t in (bool, int, float, str, bytes):
        return state
    if t is tuple:
        return tuple(_plain(s, depth) for s in state)
    if t is list:
        return [_plain(s, depth) for s in state]
    if t is dict:
        return {_plain(k, depth): _plain(v, depth) for k, v in state.items()}
    raise Unrebuildable("dtype state holds a %s" % t.__name__)


def _skip(fh, size):
    """Reads and drops `size` bytes, as joblib's chunked `_read_bytes` does; raises as it
    does when the stream ends first."""
    left = size
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            raise ValueError("EOF: reading array data, expected %d bytes got %d"
                             % (size, size - left))
        left -= len(chunk)


_CLASSES = {}


def _build_classes():
    numpy_pickle, compat, utils = _J["numpy_pickle"], _J["compat"], _J["utils"]
    np = _J["np"]

    class InertNumpyArrayWrapper(numpy_pickle.NumpyArrayWrapper):
        """joblib's NumpyArrayWrapper with `read` measuring the region instead of building
        an array."""

        def read(self, unpickler, ensure_native_byte_order):
            rec = unpickler._aigate_recording
            fh = unpickler.file_handle
            event = {"kind": "joblib-array", "start": fh.tell()}
            try:
                dtype = rebuild_dtype(getattr(self, "dtype", None))
                shape = self.shape
                count = 1 if len(shape) == 0 else int(np.multiply.reduce(
                    [np.int64(x) for x in shape]))
                event.update(dtype=str(dtype), shape=[int(x) for x in shape], count=count,
                             objects=bool(dtype.hasobject))
                if dtype.hasobject:
                    # joblib 1.6: Unpickler(file_handle) with the outer find_class.
                    inner = _common.SafePyUnpickler(fh, rec, persistent=False)
                    inner.find_class = unpickler.find_class
                    event["nested_pickle_start"] = fh.tell()
                    inner.load()
                else:
                    align = self.safe_get_numpy_array_alignment_bytes()
                    if align is not None:
                        pad = fh.read(1)
                        n = int.from_bytes(pad, byteorder="little")
                        event["padding"] = n
                        if n:
                            fh.read(n)
                    event["data_start"] = fh.tell()
                    _skip(fh, count * dtype.itemsize)
            except Exception as exc:
                event["error"] = describe_error(exc)
                event["end"] = fh.tell()
                rec.add(event)
                raise
            event["end"] = fh.tell()
            rec.add(event)
            return rec.recorder("joblib-array", "joblib array#%d" % len(rec.events))

    class InertNDArrayWrapper(compat.NDArrayWrapper):
        def read(self, unpickler):
            rec = unpickler._aigate_recording
            rec.add({"kind": "joblib-sidecar", "filename": _common.summarize(
                getattr(self, "filename", None)), "note": "joblib < 0.10 would np.load("
                "allow_pickle=True) this file next to the pickle; not opened"})
            return rec.recorder("joblib-sidecar", "joblib sidecar array")

    class InertZNDArrayWrapper(compat.ZNDArrayWrapper):
        def read(self, unpickler):
            rec = unpickler._aigate_recording
            rec.add({"kind": "joblib-sidecar", "filename": _common.summarize(
                getattr(self, "filename", None)), "note": "joblib < 0.10 would read_zfile "
                "this file next to the pickle; not opened"})
            return rec.recorder("joblib-sidecar", "joblib sidecar array")

    replacements = {
        ("joblib.numpy_pickle", "NumpyArrayWrapper"): InertNumpyArrayWrapper,
        ("joblib.numpy_pickle_compat", "NDArrayWrapper"): InertNDArrayWrapper,
        ("joblib.numpy_pickle_compat", "ZNDArrayWrapper"): InertZNDArrayWrapper,
    }

    class Restricted:
        def find_class(self, module, name):
            module, name = str(module), str(name)
            recorder = self._aigate_recording.global_recorder(module, name)
            return replacements.get((module, name), recorder)

        def persistent_load(self, pid):
            # NumpyUnpickler defines none: pickle._Unpickler's default raises.
            raise _J["utils"].pickle.UnpicklingError("unsupported persistent id encountered")

    class SafeNumpyUnpickler(Restricted, numpy_pickle.NumpyUnpickler):
        dispatch = numpy_pickle.NumpyUnpickler.dispatch

        def __init__(self, filename, fobj, recording):
            require_sandbox()
            self._aigate_recording = recording
            numpy_pickle.NumpyUnpickler.__init__(self, filename, fobj, True)

    class SafeZipNumpyUnpickler(Restricted, compat.ZipNumpyUnpickler):
        dispatch = compat.ZipNumpyUnpickler.dispatch

        def __init__(self, filename, fobj, recording):
            require_sandbox()
            self._aigate_recording = recording
            compat.ZipNumpyUnpickler.__init__(self, filename, file_handle=fobj)

    _CLASSES.update(numpy=SafeNumpyUnpickler, compat=SafeZipNumpyUnpickler)


def joblib_read(data, chain):
    """`joblib.load` of `data` as a file: one read dict."""
    require_sandbox()
    for _attempt in range(65):
        read, code = _joblib_read_once(data, chain)
        if code is None:
            return read
        _common.register_marker_extension(code)
    return read


def _joblib_read_once(data, chain):
    utils = _J["utils"]
    _build_classes()  # fresh classes: a BUILD on one of them must not outlive this read
    read = {"chain": list(chain), "loader": "joblib", "unpickler": "python",
            "joblib": _J["joblib"].__version__}
    f = io.BufferedReader(io.BytesIO(data))
    recording = Recording()
    try:
        read["compressor"] = utils._detect_compressor(f)
        with utils._validate_fileobject_and_memmap(f, "sample", None) as (fobj, _mmap):
            if isinstance(fobj, str):  # joblib 0.9's ZF container: load_compatibility
                f.seek(0)
                recording.position = lambda: None
                with loading():
                    unpickler = _CLASSES["compat"]("sample", f, recording)
                    recording.position = unpickler.file_handle.tell
                    unpickler.load()
            else:
                recording.position = fobj.tell
                with loading():
                    _CLASSES["numpy"]("sample", fobj, recording).load()
                read["end"] = fobj.tell()
    except _common.OracleTimeout:
        raise
    except Exception as exc:
        code = _common.unregistered_code(exc)
        if code is not None:
            return None, code
        read["error"] = describe_error(exc)
    import pickle_oracle
    run = {"pickles": [dict({"index": 0, "start": 0, "end": read.get("end"),
                             "events": recording.events},
                            **({"error": read["error"]} if "error" in read else {}))]}
    summary = pickle_oracle.summarize_run(run)
    summary.pop("error", None)
    read.update(summary)
    read["arrays"] = [e for e in recording.events if e["kind"] == "joblib-array"]
    read["sidecars"] = [e for e in recording.events if e["kind"] == "joblib-sidecar"]
    read["detail"] = run["pickles"]
    return read, None


def oracle_file(path, options):
    with open(path, "rb") as f:
        data = f.read()
    return {"path": path, "size": len(data), "oracle": "joblib", "reads": [joblib_read(data, [])]}


if __name__ == "__main__":
    sys.exit(_common.cli("joblib_oracle:oracle_file", __doc__.splitlines()[1]))
