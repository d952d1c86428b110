#!/usr/bin/env python3
"""The pickle oracle: what CPython's own unpicklers read from a stream.

    python3 oracles/pickle_oracle.py FILE... [--json]

For every stream it runs both unpicklers, the C one (`pickle.Unpickler`, what `pickle.load`,
`numpy.load` and `torch.load` use) over a buffered file (with `peek`, as `open(path, 'rb')`
gives) and over a `BytesIO` (no `peek`: the two read stacked pickles from different offsets
when frames are involved), and the pure-Python one (`pickle._Unpickler`, which joblib
subclasses). Each keeps calling `load()` with a new unpickler until the stream ends or a load
fails, as PyTorch's legacy format and other stacked-pickle readers do. For every pickle it
records every global resolved (module, name, in order), every call, `__new__` and BUILD on
what the stream made, every extension code and persistent id, where the pickle stops (offset
after STOP as the file position shows it) and, if a load fails, the error and offset. Events
are recorded as they happen, so a parse error after a payload still lists the payload.
A stream that fails on a non-ASCII 8-bit string is read again with encoding='latin1' (as
torch and numpy(encoding=...) allow).

SAFETY: every load goes through `_common.SafeCUnpickler` / `SafePyUnpickler`, whose
`find_class` and `persistent_load` return inert recorders, inside the sandboxed child of
`_common.run_sandboxed` (rlimits, timeouts, temp cwd, tripwire). See `_common.py`; nothing
the stream names is ever imported or called.
"""

import io
import sys

import _common
from _common import (Recording, SafeCUnpickler, SafePyUnpickler, describe_error, loading,
                     register_marker_extension, require_sandbox, unregistered_code)

ZIP_MAGIC = b"PK\x03\x04"

VARIANTS = (
    ("pickle-c-file", "c", "file"),
    ("pickle-c-bytesio", "c", "bytesio"),
    ("pickle-py-file", "python", "file"),
)


def _stream(data, kind):
    if kind == "file":
        return io.BufferedReader(io.BytesIO(data), buffer_size=8192)
    return io.BytesIO(data)


def _at_end(f, kind):
    if kind == "file":
        return f.peek(1) == b""
    return f.tell() >= len(f.getbuffer())


def load_stacked(data, unpickler="c", stream="file", encoding="ASCII", persistent=True,
                 max_pickles=1000):
    """Loads pickle after pickle from `data` with one restricted unpickler; returns the
    pickles with their events. Extension codes are registered as markers and the whole read
    re-run, so that EXT opcodes are recorded rather than stopping the load."""
    require_sandbox()
    for _attempt in range(65):
        result, code = _load_stacked_once(data, unpickler, stream, encoding, persistent,
                                          max_pickles)
        if code is None:
            return result
        register_marker_extension(code)
    return result


def _load_stacked_once(data, unpickler, stream, encoding, persistent, max_pickles):
    f = _stream(data, stream)
    cls = SafeCUnpickler if unpickler == "c" else SafePyUnpickler
    pickles = []
    while len(pickles) < max_pickles and not _at_end(f, stream):
        start = f.tell()
        recording = Recording(position=f.tell)
        entry = {"index": len(pickles), "start": start}
        try:
            with loading():
                cls(f, recording, persistent=persistent, encoding=encoding).load()
        except _common.OracleTimeout:
            raise
        except Exception as exc:  # the load failed here: what it read so far still counts
            code = unregistered_code(exc)
            if code is not None:
                return None, code
            entry["error"] = describe_error(exc)
        entry["end"] = f.tell()
        entry["events"] = recording.events
        if recording.dropped:
            entry["events_dropped"] = recording.dropped
        pickles.append(entry)
        if "error" in entry:
            break
    return {"pickles": pickles, "size": len(data), "truncated_at_max": len(pickles) >= max_pickles}, None


def summarize_run(run):
    """Globals (with import, call and build counts), extension codes and indirect calls of
    a run's pickles."""
    globals_, order = {}, []
    ext, indirect, persistent = [], 0, 0
    by_id = {}
    for p in run["pickles"]:
        for ev in p["events"]:
            kind = ev["kind"]
            if kind == "global":
                key = (ev["module"], ev["name"])
                if key not in globals_:
                    globals_[key] = {"module": key[0], "name": key[1], "imports": 0, "calls": 0,
                                     "builds": 0, "first_pickle": p["index"], "first_pos": ev["pos"]}
                    order.append(key)
                globals_[key]["imports"] += 1
            elif kind == "extension":
                ext.append({"code": ev["code"], "pickle": p["index"], "pos": ev["pos"]})
            elif kind == "persistent_load":
                persistent += 1
            elif kind in ("call", "new"):
                origin = tuple(ev["origin"]) if ev.get("origin") else None
                if ev["target_kind"] == "global" and origin in globals_:
                    globals_[origin]["calls"] += 1
                else:
                    indirect += 1
            elif kind == "build":
                origin = tuple(ev["origin"]) if ev.get("origin") else None
                if ev["target_kind"] == "result" and ev.get("made_by_kind") == "global" \
                        and origin in globals_:
                    globals_[origin]["builds"] += 1
    del by_id
    errors = [p["error"] for p in run["pickles"] if "error" in p]
    return {"globals": [globals_[k] for k in order], "extensions": ext,
            "indirect_calls": indirect, "persistent_ids": persistent,
            "pickles": len(run["pickles"]),
            "stops": [p["end"] for p in run["pickles"] if "error" not in p],
            "error": errors[-1] if errors else None,
            "error_pickle": run["pickles"][-1]["index"] if errors else None}


def pickle_reads(data, chain, variants=VARIANTS, persistent=None, max_pickles=1000,
                 keep_events=True):
    """Every variant's read of `data`, one dict per variant (and a latin-1 re-read where a
    load failed on decoding). `persistent=None`: accepted unless the data starts like a zip,
    which torch opens as a zip and a plain pickle.load refuses at its first PERSID."""
    require_sandbox()
    if persistent is None:
        persistent = not data.startswith(ZIP_MAGIC)
    reads = []
    for loader, unpickler, stream in variants:
        for encoding in ("ASCII", "latin1"):
            run = load_stacked(data, unpickler, stream, encoding, persistent, max_pickles)
            read = {"chain": list(chain), "loader": loader + ("" if encoding == "ASCII" else "+latin1"),
                    "unpickler": unpickler, "stream": stream, "encoding": encoding,
                    "persistent_load": persistent}
            read.update(summarize_run(run))
            if keep_events:
                read["detail"] = run["pickles"]
            reads.append(read)
            err = read["error"]
            if not (err and err["type"] == "UnicodeDecodeError"):
                break
    return reads


def oracle_file(path, options):
    with open(path, "rb") as f:
        data = f.read()
    return {"path": path, "size": len(data), "oracle": "pickle",
            "reads": pickle_reads(data, [], keep_events=options.get("events", True))}


if __name__ == "__main__":
    sys.exit(_common.cli("pickle_oracle:oracle_file", __doc__.splitlines()[1]))
