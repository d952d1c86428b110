#!/usr/bin/env python3
"""The differential harness: what the real loaders read against what aigate reads.

    python3 oracles/differential.py AIGATE_BIN PATH... [--json OUT] [--known TSV] [--quiet]

For every file (directories are walked) it runs the loader oracles (`loaders.py`: pickle C
and pure-Python, numpy, joblib, zipfile and PyTorch's zip reader, tarfile and PyTorch's
legacy tar loop, recursively into members) in their sandbox, and `aigate scan --format json`
(with `--list-globals` when the binary accepts it), and compares, per member chain:

* `global-missed`: a global some loader resolves that aigate reports nowhere in the file;
* `global-only-embedded`: aigate reports it only inside an embedded (second-stage) pickle,
  while a loader resolves it when the file itself is loaded;
* `global-misplaced`: aigate reports it, but under another member than the loader reads it
  from (member names or boundaries differ);
* `call-missed`: a loader calls the global (REDUCE, NEWOBJ, INST, OBJ, or BUILD on what it
  made) and aigate says it is only imported;
* `extension-missed`: a loader reaches an EXT extension code and aigate reports none there;
* `member-missed`: a container member a loader reads as a NumPy array or a container, of
  which aigate reports nothing.

Where loaders disagree with each other, the union counts. Globals aigate reports that no loader
reaches are informational, and so are oracle errors. Without `--list-globals`, aigate lists
only globals that are not on its allowlist: an oracle global missing from its findings is then
probed (a one-global pickle scanned by the same binary) and, when aigate judges it safe,
counted as "unverifiable in findings mode" rather than as a divergence.

Exit status: 0 when nothing diverges (or, with `--known`, when every divergence is listed in
the known file), 1 otherwise, 2 on usage errors. `--json OUT` writes the full summary.
"""

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

SYNTHETIC_STEP = re.compile(r"^(?:(?:deflate|zlib|gzip|bz2|bzip2|xz|lzma|lz4|zstd) stream"
                            r"|object array pickle|record @ \d+)$")
DOTTED = re.compile(r"^[^\W\d]\w*(?:\.[^\W\d]\w*)*$")
EMBEDDED_STEP = re.compile(r"^embedded pickle \(.*\) @ \d+$")
KINDS = ("global-missed", "global-only-embedded", "global-misplaced", "call-missed",
         "extension-missed", "member-missed")


# ---------------------------------------------------------------------------- aigate

def supports_list_globals(aigate):
    try:
        out = subprocess.run([aigate, "scan", "--help"], capture_output=True, timeout=60)
    except OSError as exc:
        raise SystemExit("cannot run %s: %s" % (aigate, exc))
    return b"--list-globals" in out.stdout + out.stderr


def run_aigate(aigate, paths, list_globals, config):
    """aigate's JSON report over `paths`, in batches."""
    report = {"findings": [], "scanned": [], "errors": []}
    for i in range(0, len(paths), 200):
        cmd = [aigate, "scan", "--format", "json", "--config", config]
        if list_globals:
            cmd.append("--list-globals")
        cmd += paths[i:i + 200]
        proc = subprocess.run(cmd, capture_output=True, timeout=1800)
        if proc.returncode not in (0, 1, 2) or not proc.stdout.strip():
            raise SystemExit("aigate failed (%d): %s" % (proc.returncode, proc.stderr.decode()[-2000:]))
        part = json.loads(proc.stdout)
        for key in report:
            report[key].extend(part.get(key, []))
    return report


def location_chain(loc):
    """(chain of member names, embedded?) of an aigate location, old or new shape."""
    chain, embedded = [], False
    if "steps" in loc:
        for step in loc.get("steps") or []:
            if not isinstance(step, dict):
                continue
            if "member" in step:
                chain.append(step["member"])
            elif "embedded" in step:
                embedded = True
    else:
        for step in loc.get("members") or []:
            if EMBEDDED_STEP.match(step):
                embedded = True
            elif not SYNTHETIC_STEP.match(step):
                chain.append(step)
    return shown_chain(chain), embedded


def split_dotted(dotted, known):
    """(module, name) for aigate's `module.name` detail: the split an oracle global with the
    same dotted form uses, else the first dot."""
    if dotted in known:
        return known[dotted]
    module, _, name = dotted.partition(".")
    return module, name


def aigate_view(report, path):
    """What aigate saw in one file: per chain, globals (with calls and embedded flags),
    extension-code findings, formats."""
    chains = {}

    def at(chain):
        return chains.setdefault(chain, {"globals": {}, "ext": 0, "formats": [], "findings": 0})

    for s in report["scanned"]:
        loc = s.get("location", {})
        if loc.get("path") != path:
            continue
        chain, embedded = location_chain(loc)
        entry = at(chain)
        entry["formats"].append(s.get("format"))
        for g in s.get("globals") or []:
            dotted = "%s.%s" % (g.get("module"), g.get("name"))
            rec = entry["globals"].setdefault(dotted, {"calls": 0, "imports": 0, "embedded": True,
                                                       "top": False})
            rec["calls"] = max(rec["calls"], int(g.get("calls", 0)))
            rec["imports"] += int(g.get("imports", 0))
            rec["top"] = rec["top"] or not embedded
    for f in report["findings"]:
        loc = f.get("location", {})
        if loc.get("path") != path:
            continue
        chain, embedded = location_chain(loc)
        entry = at(chain)
        entry["findings"] += 1
        details = f.get("details") or {}
        if f.get("rule") == "pickle-extension-code":
            entry["ext"] += 1
        dotted = details.get("global")
        if dotted:
            rec = entry["globals"].setdefault(dotted, {"calls": 0, "imports": 0, "embedded": True,
                                                       "top": False})
            rec["calls"] = max(rec["calls"], int(details.get("calls", "0") or 0))
            rec["imports"] += int(details.get("imports", "0") or 0)
            rec["top"] = rec["top"] or not embedded
    return chains


# ---------------------------------------------------------------------------- oracles

UNDECODED = re.compile("[\udc80-\udcff\ufffd]+")


def shown_chain(chain):
    """A member chain, compared the same way on both sides: Python decodes member names that
    are not UTF-8 with `surrogateescape` (a lone surrogate per byte), which a Rust string
    cannot hold, and aigate shows U+FFFD per undecodable sequence; each run of either is one
    U+FFFD here."""
    return tuple(UNDECODED.sub("\ufffd", part) if isinstance(part, str) else part
                 for part in chain)


def oracle_view(result):
    """Per chain: globals with the loaders reaching them and their call counts; extension
    codes; listings; npy headers."""
    chains = {}

    def at(chain):
        return chains.setdefault(shown_chain(chain), {"globals": {}, "ext": {}, "errors": []})

    for read in result.get("reads", []):
        entry = at(read["chain"])
        for g in read.get("globals", []):
            dotted = "%s.%s" % (g["module"], g["name"])
            rec = entry["globals"].setdefault(dotted, {"module": g["module"], "name": g["name"],
                                                       "loaders": [], "calls": 0})
            if read["loader"] not in rec["loaders"]:
                rec["loaders"].append(read["loader"])
            rec["calls"] = max(rec["calls"], g.get("calls", 0) + g.get("builds", 0))
        for e in read.get("extensions", []):
            entry["ext"].setdefault(e["code"], []).append(read["loader"])
        if read.get("error"):
            entry["errors"].append((read["loader"], read["error"]))
    return chains


def interesting_members(result):
    """Member chains a loader reads as a NumPy array or a container."""
    out = {}
    for h in result.get("headers", []):
        if "error" not in h and h.get("chain"):
            out[tuple(h["chain"])] = "numpy.load (%s)" % h.get("dtype")
    for listing in result.get("listings", []):
        if listing.get("chain"):
            out.setdefault(tuple(listing["chain"]), listing["loader"])
    return out


# ---------------------------------------------------------------------------- probing

def _su(text):
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw
    return b"X" + struct.pack("<I", len(raw)) + raw


class Prober:
    """Asks aigate whether it judges a global safe: a one-global pickle, scanned."""

    def __init__(self, aigate, config):
        self.aigate, self.config, self.cache = aigate, config, {}

    def safe(self, pairs):
        todo = [p for p in pairs if p not in self.cache]
        if todo:
            with tempfile.TemporaryDirectory(prefix="aigate-probe-") as d:
                files = []
                for i, (module, name) in enumerate(todo):
                    path = os.path.join(d, "probe%05d.pkl" % i)
                    try:
                        data = b"\x80\x04" + _su(module) + _su(name) + b"\x93."
                    except UnicodeEncodeError:
                        self.cache[(module, name)] = None
                        continue
                    with open(path, "wb") as f:
                        f.write(data)
                    files.append((path, (module, name)))
                if files:
                    report = run_aigate(self.aigate, [p for p, _ in files], False, self.config)
                    flagged = {f["location"]["path"] for f in report["findings"]
                               if (f.get("details") or {}).get("global")}
                    for path, pair in files:
                        self.cache[pair] = path not in flagged
        return {p: self.cache.get(p) for p in pairs}


# ---------------------------------------------------------------------------- comparison

def compare(path, result, report, mode, prober):
    """Divergences and notes for one file."""
    divergences, info = [], []
    if result.get("error"):
        info.append({"kind": "oracle-error", "error": result["error"]})
    oview = oracle_view(result)
    aview = aigate_view(report, path)
    all_aigate = {}
    for chain, entry in aview.items():
        for dotted, rec in entry["globals"].items():
            all_aigate.setdefault(dotted, []).append((chain, rec))
    known_split = {}
    for entry in oview.values():
        for dotted, g in entry["globals"].items():
            known_split[dotted] = (g["module"], g["name"])

    missing_pairs = []
    for chain, entry in oview.items():
        for dotted, g in entry["globals"].items():
            if dotted not in all_aigate:
                missing_pairs.append((g["module"], g["name"]))
    safe = prober.safe(sorted(set(missing_pairs))) if (mode == "findings" and missing_pairs) else {}
    unverifiable = 0

    for chain, entry in sorted(oview.items()):
        here = aview.get(chain, {"globals": {}, "ext": 0})
        for dotted, g in entry["globals"].items():
            base = {"file": path, "chain": list(chain), "global": dotted, "loaders": g["loaders"],
                    "oracle": {"calls": g["calls"]}}
            elsewhere = all_aigate.get(dotted, [])
            rec = here["globals"].get(dotted)
            if rec is None and not elsewhere:
                if mode == "findings" and safe.get((g["module"], g["name"])):
                    unverifiable += 1
                    continue
                if not (DOTTED.match(g["module"]) and DOTTED.match(g["name"])):
                    # No standard import resolves such a name (text that happens to start
                    # with a GLOBAL byte): informational.
                    info.append(dict(base, kind="odd-name-global-missed"))
                    continue
                divergences.append(dict(base, kind="global-missed",
                                        aigate={"seen": False,
                                                "formats": here.get("formats", [])}))
                continue
            if rec is None:
                top = [list(c) for c, r in elsewhere if r["top"]]
                emb = [list(c) for c, r in elsewhere if not r["top"]]
                divergences.append(dict(base, kind="global-misplaced",
                                        aigate={"seen_at": top or emb}))
                continue
            if not rec["top"]:
                divergences.append(dict(base, kind="global-only-embedded",
                                        aigate={"seen_at": [list(chain)], "embedded": True}))
                continue
            if g["calls"] > 0 and rec["calls"] == 0:
                divergences.append(dict(base, kind="call-missed",
                                        aigate={"calls": 0, "imports": rec["imports"]}))
        for code, loaders in entry["ext"].items():
            if here.get("ext", 0) == 0:
                divergences.append({"file": path, "chain": list(chain), "global": "EXT#%d" % code,
                                    "kind": "extension-missed", "loaders": sorted(set(loaders)),
                                    "oracle": {"code": code}, "aigate": {"extension_findings": 0}})
    reached = {c for c, e in oview.items() if e["globals"] or e["ext"]}
    for chain, loader in sorted(interesting_members(result).items()):
        covered = any(c[:len(chain)] == chain for c in aview)
        if not covered and not any(r[:len(chain)] == chain for r in reached):
            divergences.append({"file": path, "chain": list(chain), "global": None,
                                "kind": "member-missed", "loaders": [loader],
                                "oracle": {"read_as": loader}, "aigate": {"reported": False}})
    oracle_globals = {d for e in oview.values() for d in e["globals"]}
    extra = sorted(d for d in all_aigate if d not in oracle_globals)
    if extra:
        info.append({"kind": "aigate-only-globals", "globals": extra[:50]})
    return divergences, info, unverifiable


def divergence_key(d):
    what = d["global"] if d["global"] is not None else "-"
    return "\t".join([d["file"], d["kind"], " > ".join(d["chain"]) or "-", what])


def load_known(path):
    known = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 4:
                    known["\t".join(parts[:4])] = parts[4] if len(parts) > 4 else ""
    return known


def expand(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    out.append(os.path.join(root, name))
        else:
            out.append(p)
    return out


def run(aigate, paths, python=None, mode="auto", limits=None, options=None):
    """The comparison over `paths`: a summary dict."""
    files = expand(paths)
    started = time.monotonic()
    if mode == "auto":
        mode = "list-globals" if supports_list_globals(aigate) else "findings"
    with tempfile.NamedTemporaryFile("w", suffix=".toml", prefix="aigate-empty-") as cfg:
        cfg.write("# empty: built-in policy only\n")
        cfg.flush()
        report = run_aigate(aigate, files, mode == "list-globals", cfg.name)
        prober = Prober(aigate, cfg.name)
        if limits is None:
            limits = {}
            if torch_importable(python):
                limits["memory_mb"] = 8192
        results = []
        for i in range(0, len(files), 16):
            results.extend(_common.run_sandboxed("loaders:view_file", files[i:i + 16],
                                                 options or {}, limits, python))
        divergences, notes, unverifiable = [], [], 0
        torch_versions = set()
        for path, result in zip(files, results):
            d, info, u = compare(path, result, report, mode, prober)
            divergences.extend(d)
            unverifiable += u
            if result.get("torch"):
                torch_versions.add(result["torch"])
            for i in info:
                notes.append(dict(i, file=path))
    return {"mode": mode, "files": len(files), "divergences": divergences, "notes": notes,
            "unverifiable_in_findings_mode": unverifiable,
            "torch": sorted(torch_versions) or None, "seconds": round(time.monotonic() - started, 1),
            "oracle_errors": sum(1 for n in notes if n["kind"] == "oracle-error")}


_TORCH = {}


def torch_importable(python):
    key = python or sys.executable
    if key not in _TORCH:
        if os.environ.get("AIGATE_ORACLE_NO_TORCH"):
            _TORCH[key] = False
        else:
            probe = subprocess.run([key, "-I", "-c", "import importlib.util as u; "
                                    "print(u.find_spec('torch') is not None)"],
                                   capture_output=True, timeout=60)
            _TORCH[key] = probe.stdout.strip() == b"True"
    return _TORCH[key]


def human(summary, known=None, new=None):
    lines = ["differential: %d file(s), aigate in %s mode, torch %s, %.1f s"
             % (summary["files"], summary["mode"],
                ", ".join(summary["torch"]) if summary["torch"] else "not importable (PyTorch's reader not run)",
                summary["seconds"])]
    by_kind = {}
    for d in summary["divergences"]:
        by_kind.setdefault(d["kind"], []).append(d)
    for kind in KINDS:
        for d in by_kind.get(kind, []):
            mark = ""
            if known is not None:
                mark = "known " if divergence_key(d) in known else "NEW   "
            lines.append("  %s%-21s %s%s  %s  (%s)" % (
                mark, kind, d["file"], "".join(" > " + c for c in d["chain"]),
                d["global"] or "", ", ".join(d["loaders"])))
    lines.append("%d divergence(s)%s; %d oracle error(s); %d global(s) unverifiable in findings mode"
                 % (len(summary["divergences"]),
                    "" if new is None else " (%d new, %d known)" % (len(new), len(summary["divergences"]) - len(new)),
                    summary["oracle_errors"], summary["unverifiable_in_findings_mode"]))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aigate")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--json", metavar="OUT", help="write the JSON summary here ('-': stdout)")
    parser.add_argument("--known", metavar="TSV", help="known divergences: only new ones fail")
    parser.add_argument("--mode", choices=("auto", "list-globals", "findings"), default="auto")
    parser.add_argument("--python", help="interpreter for the oracle sandbox (default: this one)")
    parser.add_argument("--quiet", action="store_true", help="only the last line")
    args = parser.parse_args(argv)
    summary = run(args.aigate, args.paths, args.python, args.mode)
    known = load_known(args.known) if args.known else None
    new = None
    if known is not None:
        keys = {divergence_key(d) for d in summary["divergences"]}
        new = [d for d in summary["divergences"] if divergence_key(d) not in known]
        summary["new"] = new
        summary["fixed"] = sorted(k for k in known if k.split("\t")[0] in
                                  {os.path.normpath(p) for p in expand(args.paths)} and k not in keys)
    if args.json:
        text = json.dumps(summary, indent=1, default=str)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(text + "\n")
    text = human(summary, known, new)
    print(text.splitlines()[-1] if args.quiet else text)
    if known is not None and summary.get("fixed"):
        print("%d known divergence(s) no longer diverge; remove them from %s:"
              % (len(summary["fixed"]), args.known))
        for k in summary["fixed"]:
            print("  " + k.replace("\t", "  "))
    failing = new if new is not None else summary["divergences"]
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
