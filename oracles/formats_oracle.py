#!/usr/bin/env python3
"""Differential check of aigate's readers of safetensors, GGUF and ONNX against the reference
parsers, read for metadata only:

  safetensors  safetensors.safe_open(path, "np").keys()  (parses and validates the header)
  gguf         gguf.GGUFReader(path)                      (memory-maps, parses every field)
  onnx         onnx.load(path, load_external_data=False)  (parses the protobuf; no data read)

For every such file among the format fixtures (and any paths given), the reference's verdict
(reads it / refuses it) must match aigate's (no `*-malformed` finding / a `*-malformed`
finding), and what the reference sees that reaches outside the model must be what aigate
reports: a GGUF chat template with Python internals, an ONNX external-data location or custom
domain. No model is run: these readers parse structure and never execute anything.

    python3 oracles/formats_oracle.py target/release/aigate [--mutations N] [PATH...]

With --mutations, each fixture is also mutated N times (a byte of its first 4 KiB flipped, or the
file cut short, chosen by a fixed seed) and every mutant is checked the same way.
"""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MALFORMED = {"safetensors": "safetensors-malformed", "gguf": "gguf-malformed", "onnx": "onnx-malformed"}


def reference(kind, path):
    """(accepted, facts) as the reference parser sees the file."""
    facts = set()
    try:
        if kind == "safetensors":
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


def aigate_view(aigate, path):
    out = subprocess.run([aigate, "scan", "--format", "json", str(path)], capture_output=True, text=True)
    report = json.loads(out.stdout)
    return {f["rule"] for f in report["findings"]}


def kind_of(path):
    if path.suffix == ".safetensors":
        return "safetensors"
    if path.suffix == ".gguf":
        return "gguf"
    if path.suffix == ".onnx":
        return "onnx"
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
    checked = failing = lenient = 0
    for path in paths:
        kind = kind_of(path)
        if kind is None or not path.is_file():
            continue
        accepted, facts = reference(kind, path)
        rules = aigate_view(aigate, path)
        checked += 1
        malformed = MALFORMED[kind] in rules
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
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
    print(f"{checked} files checked against safetensors, gguf and onnx: {failing} failing "
          f"(false alarms or misses), {lenient} the reference refuses and aigate reads")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
