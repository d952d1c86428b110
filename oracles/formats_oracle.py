#!/usr/bin/env python3
"""Differential check of aigate's readers of safetensors, GGUF, ONNX and HDF5 against the
reference parsers, read for metadata only:

  safetensors  safetensors.safe_open(path, "np").keys()  (parses and validates the header)
  gguf         gguf.GGUFReader(path)                      (memory-maps, parses every field)
  onnx         onnx.load(path, load_external_data=False)  (parses the protobuf; no data read)
  7z           py7zr.SevenZipFile(path).list() and .testzip() (lists, decompresses, checks CRCs)
  hdf5         h5py.File(path, "r").attrs                 (the root group's attributes; no dataset
                                                           is read, nothing is deserialised)

For HDF5 the comparison is exact: aigate's view of the root attributes (printed by the
`hdf5_attributes` example of aigate-scan, built beside the binary under examples/) must name the
same attributes as h5py, with the same bytes for every attribute h5py reads as one string
(`model_config`, `training_config`, `keras_version`, `backend`, …). A file h5py reads that aigate
calls `hdf5-malformed` is a false alarm; one whose attributes aigate declares it cannot read
(`hdf5-unscannable`: dense attribute storage) fails closed and is counted apart.

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
             "7z": "sevenz-malformed", "hdf5": "hdf5-malformed"}
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
    if path.suffix in (".h5", ".hdf5", ".mat"):
        return "hdf5"
    return None


def h5py_attributes(path):
    """{name: bytes of its one string, or None} as h5py reads the root attributes; None if
    h5py refuses the file. An attribute h5py lists but cannot read maps to the string "error"."""
    import h5py
    import numpy as np
    try:
        with h5py.File(str(path), "r") as f:
            out = {}
            for name in f.attrs:
                try:
                    value = f.attrs[name]
                except Exception:
                    out[name] = "error"
                    continue
                if isinstance(value, str):
                    out[name] = value.encode("utf-8", "surrogateescape")
                elif isinstance(value, (bytes, np.bytes_)):
                    out[name] = bytes(value)
                else:
                    out[name] = None
            return out
    except Exception:
        return None


def aigate_attributes(aigate, path):
    """aigate's view of the root attributes: ({name: bytes or None}, duplicates, error)."""
    example = Path(aigate).parent / "examples" / "hdf5_attributes"
    out = subprocess.run([str(example), str(path)], capture_output=True, text=True, check=True)
    [view] = json.loads(out.stdout)
    names = [a["name"] for a in view["attributes"]]
    attrs = {a["name"]: bytes.fromhex(a["bytes_hex"]) if a["bytes_hex"] is not None else None
             for a in view["attributes"]}
    return attrs, len(names) != len(set(names)), view["error"]


def compare_hdf5(aigate, path, rules, counts):
    """Problems between h5py's and aigate's view of an HDF5 file's root attributes."""
    ref = h5py_attributes(path)
    ours, duplicates, error = aigate_attributes(aigate, path)
    problems = []
    # A file whose attribute values h5py cannot all read is one Keras cannot load either.
    if ref is None or "error" in ref.values():
        return False, problems
    if "hdf5-malformed" in rules:
        problems.append(f"h5py reads it, aigate reports hdf5-malformed ({error})")
        return True, problems
    if "hdf5-unscannable" in rules and error is not None:
        counts["unscannable"] += 1
        # What aigate read before it stopped must still be what h5py reads.
        missing = set()
    else:
        missing = set(ref) - set(ours)
    extra = set(ours) - set(ref)
    if missing or extra or duplicates:
        problems.append(f"attribute names differ: h5py only {sorted(missing)}, aigate only {sorted(extra)}"
                        + (", aigate lists one twice" if duplicates else ""))
    for name in sorted(set(ref) & set(ours)):
        theirs, mine = ref[name], ours[name]
        if theirs != mine:
            problems.append(f"attribute {name!r}: h5py reads {theirs!r:.80}, aigate {mine!r:.80}")
    if isinstance(ref.get("model_config"), bytes):
        counts["keras"] += 1
    counts["compared"] += 1
    return True, problems


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
    checked = failing = lenient = sevenz_checked = sevenz_agree = hdf5_files = 0
    hdf5_counts = {"compared": 0, "keras": 0, "unscannable": 0}
    for path in paths:
        kind = kind_of(path)
        if kind is None or not path.is_file():
            continue
        checked += 1
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        if kind == "7z":
            accepted, facts = reference(kind, path)
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
        if kind == "hdf5":
            hdf5_files += 1
            accepted, problems = compare_hdf5(aigate, path, rules, hdf5_counts)
            facts = set()
            malformed = bool({"hdf5-malformed", "hdf5-unscannable"} & rules)
        else:
            accepted, facts = reference(kind, path)
            malformed = MALFORMED[kind] in rules
            problems = []
        # Failing: the loader reads what aigate calls broken (a false alarm), or sees something
        # reaching out of the model that aigate does not report (a miss).
        if accepted and malformed and kind != "hdf5":
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
    print(f"{checked} files checked against safetensors, gguf, onnx, py7zr and h5py: {failing} failing "
          f"(false alarms or misses), {lenient} the reference refuses and aigate reads; "
          f"7z: {sevenz_agree} of {sevenz_checked} agree with py7zr's listing")
    print(f"hdf5: {hdf5_files} files, {hdf5_counts['compared']} read by h5py and compared attribute by "
          f"attribute ({hdf5_counts['keras']} with a model_config), {hdf5_counts['unscannable']} of them "
          f"with attributes aigate declares unscannable")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
