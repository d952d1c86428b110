"""Shared machinery of aigate's differential oracles: inert recorders, the restricted
unpicklers, the tripwire, and the sandbox that every sample load happens in.

SAFETY: this is the one place in the project where a sample is fed to an unpickler, and only
this way (the "Restricting Globals" pattern of the Python documentation, made total):

* `SafeCUnpickler` subclasses `pickle.Unpickler` (the C unpickler) and `SafePyUnpickler`
  subclasses `pickle._Unpickler` (the pure-Python one, which joblib subclasses). Their
  `find_class` never imports anything: it records (module, name) and returns a *recorder*, a
  fresh class whose metaclass is `_RecorderMeta`. Their `persistent_load` returns a recorder
  too (or raises, like a plain `pickle.load`, when persistent ids are not accepted).
* A recorder is inert. Calling it (REDUCE, INST, OBJ), `__new__` (NEWOBJ, NEWOBJ_EX, INST
  with no arguments), `__setstate__` (BUILD), `__setitem__` (SETITEM, SETITEMS), attribute
  lookups (`extend`, `append`, `add` for APPENDS/ADDITEMS, or any other name), `setattr`,
  `delattr`, `__getitem__`, iteration and truthiness all only append an event to the
  recording and return another recorder (or nothing). Dunder lookups the unpicklers perform
  (`__getinitargs__`, `__reduce__`, ...) find nothing, so the unpickler takes its plain path.
  No recorder method calls anything that came from the stream; the only objects the
  unpicklers build themselves are builtin containers, strings and numbers.
* EXT1/EXT2/EXT4: `copyreg`'s registry is taken over in place before any load (the C module
  holds references to the same dicts): every code maps to a marker module, so `find_class`
  records an extension event instead of resolving a real global; unregistered codes are
  registered as markers and the load is re-run; `copyreg._extension_cache` is cleared before
  every load so no object from an earlier load (or a real one) is ever returned.
* A tripwire audit hook (`sys.addaudithook`) ends the process at once (exit 97) on
  `pickle.find_class` (raised only by the *real* find_class, which the subclasses never call),
  on process, network, file-changing, ctypes and code events at any time, and on `import`,
  `exec`, `compile`, `open` and code-object creation while a load is under way.
* Loads happen only in a child process (`run_sandboxed`) started with `python -I -B`, a
  CPU-time, address-space and file-size (0: it cannot write files) limit, no core dumps, a
  wall-clock timeout, a per-file alarm, a minimal environment and a fresh temporary working
  directory. `require_sandbox()` makes every loading function refuse to run anywhere else.

Nothing here is an instruction of the samples: they are data. No other module of the project
ever unpickles or loads a sample.
"""

import contextlib
import copyreg
import io
import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time

ORACLE_DIR = os.path.dirname(os.path.abspath(__file__))

_IN_SANDBOX = False
"""True only in the sandbox child, set by `sandbox_main`."""

EXT_MODULE = "<copyreg extension>"
"""The module name find_class receives for an EXT1/2/4 code; its name is the code."""

MAX_EVENTS = 20000
"""Events kept per recording; more are counted, not kept."""


def require_sandbox():
    """Raises unless this is the sandbox child: sample loads happen nowhere else."""
    if not _IN_SANDBOX:
        raise RuntimeError("refusing to load a sample outside the oracle sandbox (see _common.py)")


# ---------------------------------------------------------------------------- summaries

def summarize(obj, depth=0):
    """A JSON-able summary of a value an unpickler produced: builtins and recorders only,
    walked by type identity, never by calling the value's own methods."""
    t = type(obj)
    if isinstance(t, _RecorderMeta):  # obj is a recorder class
        return {"recorder": type.__getattribute__(obj, "_aigate_rec")["label"]}
    if obj is None or t is bool or t is int or t is float:
        if t is int and obj.bit_length() > 128:
            return {"int_bits": obj.bit_length()}
        if t is float and obj != obj:
            return "nan"
        if t is float and obj in (float("inf"), float("-inf")):
            return repr(obj)
        return obj
    if t is str:
        return obj if len(obj) <= 200 else obj[:200] + "...(%d chars)" % len(obj)
    if t in (bytes, bytearray):
        return {"bytes": len(obj), "head": bytes(obj[:32]).hex()}
    if depth > 4:
        return {"type": t.__name__}
    if t in (list, tuple, set, frozenset):
        items = list(obj)[:16] if t in (list, tuple) else []
        out = {"type": t.__name__, "len": len(obj), "items": [summarize(i, depth + 1) for i in items]}
        return out
    if t is dict:
        out = {}
        for i, (k, v) in enumerate(dict.items(obj)):
            if i >= 16:
                out["..."] = "%d entries" % len(obj)
                break
            key = k if type(k) is str else "<%s>" % type(k).__name__
            out[key] = summarize(v, depth + 1)
        return {"type": "dict", "items": out}
    return {"type": t.__name__}


# ---------------------------------------------------------------------------- recorders

class Recording:
    """The events of one load, in order: imports, calls, builds, mutations."""

    def __init__(self, position=None):
        self.events = []
        self.dropped = 0
        self.position = position or (lambda: None)
        self._next = 0
        self.globals = {}  # (module, name) -> recorder, for import counts

    def new_id(self):
        self._next += 1
        return self._next

    def add(self, event):
        event["pos"] = self.position()
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)
        else:
            self.dropped += 1

    # -- the recorders ------------------------------------------------------------------

    def recorder(self, kind, label, origin=None, parent=None, extra=None):
        """A new recorder class. `origin` is the (module, name) of the global it comes from
        (for a global itself, or what its call or attribute chain started at)."""
        info = {"id": self.new_id(), "kind": kind, "label": label, "origin": origin,
                "parent": parent, "recording": self}
        if extra:
            info.update(extra)
        ns = {
            "_aigate_rec": info,
            "__new__": staticmethod(_rec_new),
            "__setstate__": classmethod(_rec_setstate),
            "__module__": "aigate_oracle_recorder",
            "__qualname__": label[:200],
        }
        return _RecorderMeta(label[:200] or "recorder", (), ns)

    def global_recorder(self, module, name, how="find_class"):
        if module == EXT_MODULE:
            code = int(name)
            real = REAL_EXTENSIONS.get(code)
            self.add({"kind": "extension", "code": code,
                      "registered_in_stock_python": False,
                      "registered_here": list(real) if real else None})
            return self.recorder("extension", "ext#%d" % code, origin=None)
        self.add({"kind": "global", "module": module, "name": name, "via": how})
        return self.recorder("global", "%s.%s" % (module, name), origin=(module, name))

    def persistent_recorder(self, pid):
        self.add({"kind": "persistent_load", "pid": summarize(pid)})
        return self.recorder("persistent", "persistent(%s)" % _short(pid))


def _short(value):
    s = summarize(value)
    text = json.dumps(s, default=str)
    return text[:60]


def _info(cls):
    return type.__getattribute__(cls, "_aigate_rec")


def _target(cls):
    info = _info(cls)
    return {"target": info["label"], "target_id": info["id"], "target_kind": info["kind"],
            "origin": list(info["origin"]) if info["origin"] else None,
            "made_by_kind": info.get("made_by_kind")}


def _result(cls, what, args=(), kwargs=None):
    """Records a call-like event on `cls` and returns the recorder for its result."""
    info = _info(cls)
    rec = info["recording"]
    event = {"kind": what}
    event.update(_target(cls))
    event["args"] = [summarize(a) for a in args[:8]]
    if kwargs:
        event["kwargs"] = {str(k): summarize(v) for k, v in list(kwargs.items())[:8]}
    rec.add(event)
    origin = info["origin"]
    # The raw arguments are kept (references only) for joblib_oracle's dtype rebuild.
    return rec.recorder("result", "%s(...)#%d" % (info["label"], len(rec.events)),
                        origin=origin, parent=info["id"],
                        extra={"made_by": info["id"], "made_by_kind": info["kind"],
                               "call": what, "raw_args": args})


def _rec_new(cls, *args, **kwargs):
    # `cls.__new__(cls, *args)`: NEWOBJ, NEWOBJ_EX, INST/OBJ with no arguments.
    if isinstance(type(cls), type) and isinstance(cls, _RecorderMeta):
        return _result(cls, "new", args, kwargs)
    raise TypeError("recorder __new__ called on a non-recorder")


def _rec_setstate(cls, state):
    # BUILD: `inst.__setstate__(state)`.
    info = _info(cls)
    event = {"kind": "build"}
    event.update(_target(cls))
    event["state"] = summarize(state)
    event["made_by"] = info.get("made_by")
    info["recording"].add(event)
    info["raw_state"] = state


class _RecorderMeta(type):
    """The metaclass of recorders: every operation an unpickler can perform on a class or
    on an object it made is recorded here and goes no further."""

    def __call__(cls, *args, **kwargs):
        return _result(cls, "call", args, kwargs)

    def __getattr__(cls, name):
        # Only reached when normal lookup fails. Dunders are absent, so unpicklers take
        # their plain paths; other names are bound-method recorders (extend, append, add).
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        info = _info(cls)
        rec = info["recording"]
        event = {"kind": "getattr", "attr": name}
        event.update(_target(cls))
        rec.add(event)
        return rec.recorder("attribute", "%s.%s" % (info["label"], name), origin=info["origin"],
                            parent=info["id"], extra={"attr_of": info["id"]})

    def __setattr__(cls, name, value):
        info = _info(cls)
        event = {"kind": "setattr", "attr": str(name), "value": summarize(value)}
        event.update(_target(cls))
        info["recording"].add(event)

    def __delattr__(cls, name):
        info = _info(cls)
        event = {"kind": "delattr", "attr": str(name)}
        event.update(_target(cls))
        info["recording"].add(event)

    def __setitem__(cls, key, value):
        info = _info(cls)
        event = {"kind": "setitem", "key": summarize(key), "value": summarize(value)}
        event.update(_target(cls))
        info["recording"].add(event)

    def __getitem__(cls, key):
        return _result(cls, "getitem", (key,))

    def __delitem__(cls, key):
        info = _info(cls)
        event = {"kind": "delitem", "key": summarize(key)}
        event.update(_target(cls))
        info["recording"].add(event)

    def __iter__(cls):
        return iter(())

    def __len__(cls):
        return 0

    def __bool__(cls):
        return False

    def __repr__(cls):
        return "<recorder %s>" % _info(cls)["label"]

    def __instancecheck__(cls, instance):
        return False

    def __subclasscheck__(cls, subclass):
        return False


def is_recorder(obj):
    return isinstance(type(obj), type) and isinstance(obj, _RecorderMeta)


# ---------------------------------------------------------------------------- copyreg

REAL_EXTENSIONS = {}
"""Extension codes registered in this process before the takeover: code -> (module, name)."""


def take_over_extension_registry():
    """Points every registered extension code at the marker module, in place (the C module
    keeps references to these very dicts), and empties the cache."""
    for code, pair in list(copyreg._inverted_registry.items()):
        if pair[0] != EXT_MODULE:
            REAL_EXTENSIONS[code] = pair
            copyreg._extension_registry.pop(pair, None)
            register_marker_extension(code)
    copyreg._extension_cache.clear()


def register_marker_extension(code):
    key = (EXT_MODULE, str(code))
    copyreg._inverted_registry[code] = key
    copyreg._extension_registry[key] = code


def unregistered_code(exc):
    """The code of an 'unregistered extension code N' ValueError, else None."""
    if type(exc) is ValueError and str(exc).startswith("unregistered extension code "):
        try:
            code = int(str(exc).rsplit(" ", 1)[1])
        except ValueError:
            return None
        return code if 0 < code <= 0x7FFFFFFF else None
    return None


# ---------------------------------------------------------------------------- unpicklers

class _Restricted:
    """What both restricted unpicklers share. `persistent`: whether persistent ids are
    accepted (they are by torch's loaders; a plain pickle.load raises)."""

    def _setup(self, recording, persistent):
        self._aigate_recording = recording
        self._aigate_persistent = persistent

    def find_class(self, module, name):
        # Never super().find_class: nothing is imported, nothing the stream names is reached.
        return self._aigate_recording.global_recorder(str(module), str(name))

    def persistent_load(self, pid):
        if not self._aigate_persistent:
            raise pickle.UnpicklingError(
                "A load persistent id instruction was encountered, but no persistent_load "
                "function was specified.")
        return self._aigate_recording.persistent_recorder(pid)


class SafeCUnpickler(_Restricted, pickle.Unpickler):
    """The C unpickler with inert globals. Only for use inside the sandbox."""

    def __init__(self, file, recording, persistent=True, encoding="ASCII"):
        require_sandbox()
        pickle.Unpickler.__init__(self, file, encoding=encoding, errors="strict")
        self._setup(recording, persistent)


class SafePyUnpickler(_Restricted, pickle._Unpickler):
    """The pure-Python unpickler with inert globals. Only for use inside the sandbox."""

    def __init__(self, file, recording, persistent=True, encoding="ASCII"):
        require_sandbox()
        pickle._Unpickler.__init__(self, file, encoding=encoding, errors="strict")
        self._setup(recording, persistent)


@contextlib.contextmanager
def loading():
    """Marks a load in progress for the tripwire, with a fresh extension cache."""
    require_sandbox()
    copyreg._extension_cache.clear()
    _LOADING[0] = True
    try:
        yield
    finally:
        _LOADING[0] = False
        copyreg._extension_cache.clear()


def describe_error(exc):
    return {"type": type(exc).__name__, "message": str(exc)[:300]}


# ---------------------------------------------------------------------------- tripwire

_LOADING = [False]

_ALWAYS_FATAL = (
    "pickle.find_class", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "os.remove", "os.rmdir", "os.rename", "os.truncate",
    "os.chmod", "os.chown", "os.link", "os.symlink", "os.mkdir", "os.startfile", "os.putenv",
    "os.unsetenv", "subprocess.Popen", "pty.spawn", "shutil.rmtree", "shutil.copyfile",
    "shutil.move", "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata",
    "socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo", "urllib.Request",
    "webbrowser.open", "builtins.input", "code.interact", "sys.settrace", "sys.setprofile",
    "winreg", "msvcrt",
)
_FATAL_WHILE_LOADING = ("exec", "compile", "open", "code.__new__", "marshal.loads",
                        "marshal.load", "function.__new__", "cpython.run_command",
                        "cpython.run_file", "import")


def _die(event, args):
    try:
        os.write(2, ("aigate oracle tripwire: audit event %r %s during %s; exiting\n"
                     % (event, repr(args)[:200], "a load" if _LOADING[0] else "the oracle"))
                 .encode("utf-8", "replace"))
    finally:
        os._exit(97)


def _audit(event, args):
    if event in _ALWAYS_FATAL or event.split(".")[0] in ("winreg", "msvcrt"):
        _die(event, args)
    if _LOADING[0] and event in _FATAL_WHILE_LOADING:
        if event == "import" and args and str(args[0]).startswith("encodings."):
            return
        _die(event, args)


def _prewarm():
    """Codecs and modules a load may touch lazily, imported before the tripwire arms."""
    import codecs
    for codec in ("ascii", "latin-1", "latin1", "utf-8", "raw-unicode-escape", "unicode-escape",
                  "raw_unicode_escape", "unicode_escape", "cp437"):
        codecs.lookup(codec)
        b"x".decode(codec)
    import codecs
    codecs.escape_decode(b"")
    import _compat_pickle  # noqa: F401
    import zlib, bz2, lzma  # noqa: F401,E401


# ---------------------------------------------------------------------------- sandbox

DEFAULT_LIMITS = {"cpu_seconds": 120, "memory_mb": 3072, "wall_seconds": 300,
                  "file_seconds": 30}


def _limits(cpu_seconds, memory_mb):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return apply


def run_sandboxed(task, paths, options=None, limits=None, python=None):
    """Runs `task` of the oracle modules on `paths` in a sandboxed child. Returns one result
    per path, in order. A child that dies is retried one path at a time, so one hostile
    sample costs only its own result."""
    limits = dict(DEFAULT_LIMITS, **(limits or {}))
    if os.environ.get("AIGATE_ORACLE_MEMORY_MB"):
        limits["memory_mb"] = int(os.environ["AIGATE_ORACLE_MEMORY_MB"])
    paths = [os.path.abspath(p) for p in paths]
    results = _run_child(task, paths, options or {}, limits, python)
    if results is not None:
        return results
    if len(paths) == 1:
        return [_child_failure]
    out = []
    for p in paths:
        one = _run_child(task, [p], options or {}, limits, python)
        out.append(one[0] if one else dict(_child_failure, path=p))
    return out


_child_failure = {"error": {"type": "OracleDied", "message": "the sandboxed oracle process died"}}


def _run_child(task, paths, options, limits, python):
    global _child_failure
    request = json.dumps({"task": task, "paths": paths, "options": options,
                          "file_seconds": limits["file_seconds"]})
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "1",
           "JOBLIB_MULTIPROCESSING": "0",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "AIGATE_ORACLE_TEST_REGISTER_EXT",
                "AIGATE_ORACLE_NO_TORCH"):
        if key in os.environ:
            env[key] = os.environ[key]
    with tempfile.TemporaryDirectory(prefix="aigate-oracle-") as cwd:
        env["HOME"] = cwd
        env["TMPDIR"] = cwd
        cmd = [python or sys.executable, "-I", "-B", os.path.join(ORACLE_DIR, "_sandbox_child.py")]
        try:
            proc = subprocess.run(cmd, input=request.encode(), capture_output=True, cwd=cwd,
                                  env=env, timeout=limits["wall_seconds"],
                                  preexec_fn=_limits(limits["cpu_seconds"], limits["memory_mb"]))
        except subprocess.TimeoutExpired:
            _child_failure = {"error": {"type": "OracleTimeout",
                                        "message": "wall-clock limit of %ss" % limits["wall_seconds"]}}
            return None
        leftovers = sorted(os.listdir(cwd))
    if proc.returncode != 0:
        why = ("tripwire" if proc.returncode == 97 else "exit status %d" % proc.returncode)
        _child_failure = {"error": {"type": "OracleDied", "message": why,
                                    "stderr": proc.stderr.decode("utf-8", "replace")[-2000:]}}
        if proc.returncode == 97:
            raise SystemExit("aigate oracle: the tripwire fired; this is a bug in the oracle's "
                             "restriction, not a property of the sample:\n"
                             + proc.stderr.decode("utf-8", "replace")[-2000:])
        return None
    try:
        results = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    except ValueError:
        return None
    if len(results) != len(paths):
        return None
    if leftovers:
        for r in results:
            r.setdefault("warnings", []).append("the oracle's working directory was left with %s"
                                                % leftovers)
    return results


def sandbox_main():
    """The child: arms the tripwire, reads the request, runs the task on each path."""
    global _IN_SANDBOX
    request = json.loads(sys.stdin.read())
    test_ext = os.environ.get("AIGATE_ORACLE_TEST_REGISTER_EXT")
    if test_ext:  # self-test only: a process where a library registered a real code
        code, module, name = test_ext.split(":")
        copyreg.add_extension(module, name, int(code))
    take_over_extension_registry()
    _prewarm()
    import importlib
    task_module, task_function = request["task"].split(":")
    module = importlib.import_module(task_module)
    func = getattr(module, task_function)
    if hasattr(module, "prepare"):
        module.prepare(request["options"])
    sys.addaudithook(_audit)
    _IN_SANDBOX = True
    out = sys.stdout
    seconds = request.get("file_seconds", 30)

    def on_alarm(signum, frame):
        raise OracleTimeout("per-file limit of %ss" % seconds)

    signal.signal(signal.SIGALRM, on_alarm)
    for path in request["paths"]:
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            result = func(path, request["options"])
        except OracleTimeout as exc:
            result = {"path": path, "error": describe_error(exc)}
        except MemoryError as exc:
            result = {"path": path, "error": describe_error(exc)}
        except RecursionError as exc:
            result = {"path": path, "error": describe_error(exc)}
        except Exception as exc:  # a bug of the oracle itself, reported, never hidden
            import traceback
            result = {"path": path, "error": {"type": "OracleBug", "message": str(exc)[:300],
                                              "traceback": traceback.format_exc()[-3000:]}}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _LOADING[0] = False
        result.setdefault("path", path)
        result["oracle_seconds"] = round(time.monotonic() - started, 3)
        out.write(json.dumps(result, default=str) + "\n")
        out.flush()


class OracleTimeout(Exception):
    pass


def cli(task, description, argv=None):
    """The command line of one oracle: `python3 oracles/<oracle>.py FILE... [--json]`."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--json", action="store_true", help="print the full JSON (default: a summary)")
    parser.add_argument("--python", help="the interpreter for the sandbox (default: this one)")
    args = parser.parse_args(argv)
    results = run_sandboxed(task, args.files, python=args.python)
    for r in results:
        if args.json:
            print(json.dumps(r, indent=1, default=str))
        else:
            print(human_summary(r))
    return 0


def human_summary(result):
    lines = [result.get("path", "?")]
    if result.get("error"):
        lines.append("  error: %s" % result["error"])
    for read in result.get("reads", []):
        names = sorted({"%s.%s" % (g["module"], g["name"]) for g in read.get("globals", [])})
        where = " > ".join(read.get("chain", [])) or "(file)"
        lines.append("  %s [%s]: %s%s" % (where, read.get("loader"), ", ".join(names) or "no globals",
                                         "  (error: %s)" % read["error"]["message"][:80]
                                         if read.get("error") else ""))
    for listing in result.get("listings", []):
        where = " > ".join(listing.get("chain", [])) or "(file)"
        lines.append("  %s [%s]: %d member(s)%s" % (where, listing.get("loader"),
                                                   len(listing.get("members", [])),
                                                   "  (error: %s)" % listing["error"]["message"][:80]
                                                   if listing.get("error") else ""))
    return "\n".join(lines)

