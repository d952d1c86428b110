#!/usr/bin/env python3
"""Differential check of aigate's readers of safetensors, GGUF and ONNX against the reference
parsers, read for metadata only:

  safetensors  safetensors.safe_open(path, "np").keys()  (parses and validates the header)
  gguf         gguf.GGUFReader(path)                      (memory-maps, parses every field)
  onnx         onnx.load(path, load_external_data=False)  (parses the protobuf; no data read)
  7z           py7zr.SevenZipFile(path).list() and .testzip() (lists, decompresses, checks CRCs)

For every such file among the format fixtures (and any paths given), the reference's verdict
(reads it / refuses it) must match aigate's (no `*-malformed` finding / a `*-malformed`
finding), and what the reference sees that reaches outside the model must be what aigate
reports: a GGUF chat template with Python internals, an ONNX external-data location or custom
domain. For 7z, the members py7zr lists (name and size) must be the members aigate read (its
report's `scanned` entries one member deep, and members named by findings), and an archive py7zr
reads whole must raise no `sevenz-malformed`. No model is run: these readers parse structure and
decompress, and never execute anything (py7zr only decompresses: nothing is unpickled).

    python3 oracles/formats_oracle.py target/release/aigate [--mutations N] [PATH...]

With --mutations, each fixture is also mutated N times (a byte of its first 4 KiB flipped, or the
file cut short, chosen by a fixed seed) and every mutant is checked the same way.
"""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MALFORMED = {"safetensors": "safetensors-malformed", "gguf": "gguf-malformed", "onnx": "onnx-malformed",
             "7z": "sevenz-malformed"}
# What aigate reports for a 7z archive it could not read whole, beside sevenz-malformed.
SEVENZ_UNREAD = {"sevenz-malformed", "sevenz-encrypted-header", "sevenz-encrypted-entry",
                 "sevenz-unsupported-compression", "container-budget-exceeded"}


def reference(kind, path):
    """(accepted, facts) as the reference parser sees the file."""
    facts = set()
    try:
        if kind == "7z":
            import py7zr
            with py7zr.SevenZipFile(str(path)) as z:
                listing = {(i.filename, i.uncompressed) for i in z.list() if not i.is_directory}
                facts.add(("listing", frozenset(listing)))
                if z.needs_password():
                    return False, facts
            with py7zr.SevenZipFile(str(path)) as z:
                if z.testzip() is not None:
                    return False, facts
        elif kind == "safetensors":
            from safetensors import safe_open
            with safe_open(str(path), "np") as f:
                list(f.keys())
        elif kind == "gguf":
            import gguf
            reader = gguf.GGUFReader(str(path))
            for name, field in reader.fields.items():
                if name.startswith("tokenizer.chat_template") and field.types and field.types[0] == gguf.GGUFValueType.STRING:
                    text = bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
                    if "__" in text:
                        facts.add("template-dunder")
        else:
            import onnx
            model = onnx.load(str(path), load_external_data=False)
            graphs = [model.graph] + [f for f in model.functions]
            while graphs:
                g = graphs.pop()
                tensors = list(getattr(g, "initializer", []))
                for node in g.node:
                    if node.domain not in ("", "ai.onnx", "ai.onnx.ml", "com.microsoft"):
                        facts.add("custom-domain")
                    for attr in node.attribute:
                        if attr.HasField("g"):
                            graphs.append(attr.g)
                        graphs.extend(attr.graphs)
                for t in tensors:
                    for e in t.external_data:
                        if e.key == "location" and (e.value.startswith("/") or ".." in e.value.split("/")):
                            facts.add("external-escape")
                        if e.key not in ("location", "offset", "length", "checksum", "basepath"):
                            facts.add("external-escape")
    except Exception:  # the reference refuses the file
        return False, facts
    return True, facts


def aigate_report(aigate, path):
    out = subprocess.run([aigate, "scan", "--format", "json", str(path)], capture_output=True, text=True)
    return json.loads(out.stdout)


def aigate_view(aigate, path):
    return {f["rule"] for f in aigate_report(aigate, path)["findings"]}


def aigate_members(report):
    """(name, size) of every member one step deep that aigate read, and the names findings give
    members it could not read (size None)."""
    read, named = set(), set()
    for entry in report["scanned"]:
        steps = entry["location"].get("steps", [])
        if len(steps) == 1 and "member" in steps[0]:
            read.add((steps[0]["member"], entry["size"]))
    for f in report["findings"]:
        steps = f["location"].get("steps", [])
        if steps and "member" in steps[0]:
            named.add(steps[0]["member"])
    return read, named


def sevenz_problems(accepted, facts, report):
    """Where aigate's view of a 7z archive differs from py7zr's."""
    rules = {f["rule"] for f in report["findings"]}
    read, named = aigate_members(report)
    listing = next((dict(l) for tag, l in facts if tag == "listing"), None)
    problems = []
    if accepted and "sevenz-malformed" in rules:
        problems.append("py7zr reads it whole, aigate reports sevenz-malformed")
    if listing is not None:
        for name, size in sorted(listing.items()):
            if (name, size) in read:
                continue
            if name in named and rules & SEVENZ_UNREAD:
                continue  # reported as not read (encrypted, past a limit, after an error)
            if not accepted and rules & SEVENZ_UNREAD:
                continue  # py7zr fails on it too
            problems.append(f"py7zr lists {name!r} ({size} bytes), aigate read {sorted(n for n, _ in read)}")
        extra = {n for n, _ in read} - set(listing)
        if extra:
            problems.append(f"aigate read members py7zr does not list: {sorted(extra)}")
    elif not (rules & SEVENZ_UNREAD) and read:
        problems.append("py7zr cannot list it, aigate read members without a finding")
    return problems


def kind_of(path):
    if path.suffix == ".safetensors":
        return "safetensors"
    if path.suffix == ".gguf":
        return "gguf"
    if path.suffix == ".onnx":
        return "onnx"
    if path.suffix == ".7z":
        return "7z"
    return None


EXPECT = {
    "template-dunder": {"template-unsafe-access", "template-dynamic-access"},
    "custom-domain": {"onnx-custom-op"},
    "external-escape": {"onnx-external-data"},
}


def mutants(paths, count, scratch):
    import random
    rng = random.Random(20261202)
    out = []
    for path in paths:
        if kind_of(path) is None or not path.is_file():
            continue
        data = path.read_bytes()
        for i in range(count):
            b = bytearray(data)
            if rng.random() < 0.3 and len(b) > 16:
                b = b[: rng.randrange(8, len(b))]
            else:
                at = rng.randrange(0, min(len(b), 4096))
                b[at] ^= 1 << rng.randrange(8)
            m = scratch / f"{path.stem}-{i}{path.suffix}"
            m.write_bytes(bytes(b))
            out.append(m)
    return out


def main():
    import tempfile
    args = sys.argv[1:]
    aigate = args.pop(0)
    count = 0
    if args[:1] == ["--mutations"]:
        count = int(args[1])
        args = args[2:]
    paths = [Path(p) for p in args] or sorted((REPO / "fixtures" / "formats").rglob("*"))
    scratch = Path(tempfile.mkdtemp())
    paths = paths + mutants(paths, count, scratch)
    checked = failing = lenient = sevenz_checked = sevenz_agree = 0
    for path in paths:
        kind = kind_of(path)
        if kind is None or not path.is_file():
            continue
        accepted, facts = reference(kind, path)
        checked += 1
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        if kind == "7z":
            report = aigate_report(aigate, path)
            problems = sevenz_problems(accepted, facts, report)
            rules = {f["rule"] for f in report["findings"]}
            sevenz_checked += 1
            if problems:
                failing += 1
                print(f"DIFF {shown}: " + "; ".join(problems))
            elif not accepted and not rules & SEVENZ_UNREAD:
                lenient += 1
                print(f"lenient {shown}: py7zr refuses it; aigate reads it")
            else:
                sevenz_agree += 1
            continue
        rules = aigate_view(aigate, path)
        malformed = MALFORMED[kind] in rules
        # Failing: the loader reads what aigate calls broken (a false alarm), or sees something
        # reaching out of the model that aigate does not report (a miss).
        problems = []
        if accepted and malformed:
            problems.append(f"the reference reads it, aigate reports {MALFORMED[kind]}")
        for fact in sorted(facts):
            if not EXPECT[fact] & rules:
                problems.append(f"the reference sees {fact}; aigate reports {sorted(rules)}")
        if problems:
            failing += 1
            print(f"DIFF {shown}: " + "; ".join(problems))
        elif not accepted and not malformed:
            # The loader refuses a file aigate reads without finding it broken: nothing loads,
            # so nothing is missed; counted, as it shows where aigate is more lenient.
            lenient += 1
            print(f"lenient {shown}: the reference refuses it; aigate reads it")
    print(f"{checked} files checked against safetensors, gguf, onnx and py7zr: {failing} failing "
          f"(false alarms or misses), {lenient} the reference refuses and aigate reads; "
          f"7z: {sevenz_agree} of {sevenz_checked} agree with py7zr's listing")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
