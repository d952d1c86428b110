"""An independent OSV matcher for PyPI, the oracle `aigate-advisory`'s matching is compared with.

Reads OSV records (PyPA YAML, read with PyYAML's BaseLoader so that every scalar stays a string,
or OSV JSON) and evaluates each query (name, version) by the OSV schema's rules
(https://ossf.github.io/osv-schema/#evaluation) with `packaging`'s PEP 440 versions:

- a version listed in `versions` is affected (compared as versions; as text if not one);
- in each ECOSYSTEM range, events sorted by version (introduced "0" first, limit "*" last) are
  walked: at or above `introduced` affected, at or above `fixed` or above `last_affected` not;
  with `limit` events the version must be below one of them; other range types are skipped;
- withdrawn records are ignored.

Input (stdin): {"records": DIR, "queries": [[name, version], ...]}.
Output (stdout): {"results": [{"affected": [ids], "unknown": [ids]} | "invalid", ...]}.
"""

import json
import os
import sys

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

KINDS = ("introduced", "fixed", "last_affected", "limit")


def load(root):
    by_name = {}
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.endswith((".yaml", ".yml")):
                with open(path, encoding="utf-8") as f:
                    record = yaml.load(f, Loader=yaml.BaseLoader)
            elif name.endswith(".json"):
                with open(path, encoding="utf-8") as f:
                    record = json.load(f)
            else:
                continue
            if not isinstance(record, dict) or record.get("withdrawn"):
                continue
            for entry in record.get("affected") or []:
                package = entry.get("package") or {}
                if package.get("ecosystem") != "PyPI" or "name" not in package:
                    continue
                by_name.setdefault(canonicalize_name(package["name"]), []).append((record["id"], entry))
    return by_name


def bound(kind, text):
    if kind == "introduced" and text == "0":
        return (0, None)
    if kind == "limit" and text == "*":
        return (2, None)
    return (1, Version(text))


def in_range(version, events):
    """True or False; raises InvalidVersion when an event is no PEP 440 version."""
    parsed = []
    for event in events:
        kind = next((k for k in KINDS if k in event), None)
        if kind is not None:
            parsed.append((bound(kind, event[kind]), kind))
    parsed.sort(key=lambda p: p[0])
    limits = [b for b, k in parsed if k == "limit"]
    point = (1, version)
    if limits and not any(point < b for b in limits):
        return False
    affected = False
    for b, kind in parsed:
        if kind == "introduced" and b <= point:
            affected = True
        elif kind == "fixed" and b <= point:
            affected = False
        elif kind == "last_affected" and b < point:
            affected = False
    return affected


def check(version, entry):
    """'affected', 'no' or 'unknown'."""
    for listed in entry.get("versions") or []:
        try:
            if Version(listed) == version:
                return "affected"
        except InvalidVersion:
            if listed.strip() == str(version):
                return "affected"
    unknown = False
    for rng in entry.get("ranges") or []:
        if rng.get("type") != "ECOSYSTEM":
            continue
        try:
            if in_range(version, rng.get("events") or []):
                return "affected"
        except InvalidVersion:
            unknown = True
    return "unknown" if unknown else "no"


def main():
    request = json.load(sys.stdin)
    by_name = load(request["records"])
    results = []
    for name, text in request["queries"]:
        try:
            version = Version(text)
        except InvalidVersion:
            results.append("invalid")
            continue
        affected, unknown = set(), set()
        for advisory, entry in by_name.get(canonicalize_name(name), []):
            verdict = check(version, entry)
            if verdict == "affected":
                affected.add(advisory)
            elif verdict == "unknown":
                unknown.add(advisory)
        results.append({"affected": sorted(affected), "unknown": sorted(unknown - affected)})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
