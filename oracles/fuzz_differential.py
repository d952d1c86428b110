#!/usr/bin/env python3
"""Differential fuzzing: mutants of the fixtures through the harness for a fixed budget.

    python3 oracles/fuzz_differential.py AIGATE_BIN --budget-seconds N --seed S

Mutants come from `mutate.py` (seeded, reproducible: the same seed gives the same mutants in
the same order); each batch goes through `differential.py`. Every mutant that diverges is
saved as a regression case under `fixtures/differential/` (the file, named by its content
hash, and a `.json` with the seed, index, source, mutations, the oracle view and the aigate
view of each divergence), at most `--per-signature` per signature (divergence kind, mutation
names, loaders), so that one defect does not fill the folder. At the end every saved case is
re-checked by the harness, and `fixtures/differential/known.tsv` lists each divergence it
finds (file, kind, chain, global, note): CI runs the harness over the folder with
`--known fixtures/differential/known.tsv`, which fails only on divergences not listed there.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import differential  # noqa: E402
import mutate  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def manifest_seeds(manifest):
    seeds = []
    with open(manifest, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            path = os.path.join(REPO, line.split("\t")[0])
            if os.path.isfile(path):
                seeds.append(os.path.relpath(path, REPO))
    return seeds


def default_note(case):
    """What made the case: the crafted description, or the mutations applied."""
    try:
        with open(case + ".json", encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return ""
    if meta.get("crafted"):
        return "crafted: " + meta.get("what", "")
    return "mutations: " + ", ".join(m["mutation"] for m in meta.get("mutations", []))


def signature(d, applied):
    return "|".join([d["kind"], ",".join(sorted({a["mutation"] for a in applied})),
                     ",".join(sorted(d["loaders"]))])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aigate")
    parser.add_argument("--budget-seconds", type=float, default=60)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--manifest", default=os.path.join(REPO, "fixtures", "manifest.tsv"))
    parser.add_argument("--out", default=os.path.join(REPO, "fixtures", "differential"))
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--per-signature", type=int, default=2)
    parser.add_argument("--python", help="interpreter for the oracle sandbox")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    seeds = manifest_seeds(args.manifest)
    os.makedirs(args.out, exist_ok=True)
    started = time.monotonic()
    counts, saved, tried, index = {}, [], 0, 0
    # signatures already represented by saved cases count toward the cap
    for name in sorted(os.listdir(args.out)):
        if name.endswith(".json"):
            with open(os.path.join(args.out, name)) as f:
                meta = json.load(f)
            for sig in meta.get("signatures", []):
                counts[sig] = counts.get(sig, 0) + 1
    mode = None
    while time.monotonic() - started < args.budget_seconds:
        with tempfile.TemporaryDirectory(prefix="aigate-fuzz-") as work:
            batch = {}
            for i, source, data, applied in mutate.generate(args.seed, index + args.batch, seeds,
                                                            start=index):
                path = os.path.join(work, "m%06d%s" % (i, os.path.splitext(source)[1]))
                with open(path, "wb") as f:
                    f.write(data)
                batch[path] = (i, source, data, applied)
            index += args.batch
            if not batch:
                continue
            summary = differential.run(args.aigate, sorted(batch), args.python)
            mode = summary["mode"]
            tried += len(batch)
            by_file = {}
            for d in summary["divergences"]:
                by_file.setdefault(d["file"], []).append(d)
            for path, divs in by_file.items():
                i, source, data, applied = batch[path]
                sigs = sorted({signature(d, applied) for d in divs})
                if all(counts.get(s, 0) >= args.per_signature for s in sigs):
                    continue
                for s in sigs:
                    counts[s] = counts.get(s, 0) + 1
                digest = hashlib.sha256(data).hexdigest()[:12]
                name = "%s%s" % (digest, os.path.splitext(source)[1] or ".bin")
                target = os.path.join(args.out, name)
                shutil.copyfile(path, target)
                meta = {"seed": args.seed, "index": i, "source": source, "mutations": applied,
                        "signatures": sigs, "aigate_mode": mode,
                        "divergences": [{k: v for k, v in d.items() if k != "file"} for d in divs]}
                with open(target + ".json", "w", encoding="utf-8") as f:
                    json.dump(meta, f, indent=1, default=str)
                saved.append(name)
        print("fuzz: %d mutant(s), %d case(s) saved, %.0f s" % (tried, len(saved), time.monotonic() - started),
              flush=True)
    # Re-check every saved case and rewrite the list of known divergences.
    cases = sorted(os.path.join(os.path.relpath(args.out, REPO), n) for n in os.listdir(args.out)
                   if not n.endswith((".json", ".tsv", ".md")))
    known_path = os.path.join(args.out, "known.tsv")
    notes = differential.load_known(known_path)
    if cases:
        summary = differential.run(args.aigate, cases, args.python)
        with open(known_path, "w", encoding="utf-8") as f:
            f.write("# file\tkind\tchain\tglobal\tnote (written by oracles/fuzz_differential.py; "
                    "notes are kept across runs)\n")
            for d in sorted(summary["divergences"], key=differential.divergence_key):
                key = differential.divergence_key(d)
                f.write(key + "\t" + (notes.get(key) or default_note(d["file"])) + "\n")
        print("re-checked %d saved case(s): %d divergence(s) listed in %s"
              % (len(cases), len(summary["divergences"]), os.path.relpath(known_path, REPO)))
    print("fuzz done: seed %s, %d mutant(s) in %.0f s, aigate in %s mode, %d new case(s)"
          % (args.seed, tried, time.monotonic() - started, mode, len(saved)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
