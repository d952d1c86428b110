#!/usr/bin/env python3
"""Regenerate aigate-policy's embedded list of popular PyPI names (the typosquat and
dependency-confusion reference).

    python3 scripts/gen_popular.py [SOURCE.tsv]          # rewrites crates/aigate-policy/data/pypi-popular.txt
    python3 scripts/gen_popular.py --check [SOURCE.tsv]  # exits 1 if the file would change

SOURCE is a `rank<TAB>name` file of the most downloaded PyPI projects (default:
../shared/data/pypi-popular.tsv, the 2026 download ranking of the 15,000 most downloaded
projects). The output is compact: one PEP 503-normalised name per line, most downloaded first,
so that a name's rank is its line number; duplicates after normalisation keep the better rank.
To refresh from live data, export the top projects of the public "top PyPI packages" dataset
(hugovk.github.io/top-pypi-packages, 30-day downloads) as `rank<TAB>name` and pass it here.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "aigate-policy" / "data" / "pypi-popular.txt"
DEFAULT = ROOT.parent / "shared" / "data" / "pypi-popular.tsv"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build(source: Path) -> str:
    ranked = []
    for line in source.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip().isdigit():
            continue  # the header, or a blank line
        ranked.append((int(fields[0]), normalise(fields[1].strip())))
    ranked.sort()
    seen, names = set(), []
    for _, name in ranked:
        if name and name not in seen:
            seen.add(name)
            names.append(name)
    return "".join(f"{n}\n" for n in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = build(args.source)
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date; run scripts/gen_popular.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} names to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
