#!/usr/bin/env python3
"""Hashing speed: `aigate lock` on a folder of 4 x 1 GiB files against `openssl dgst -sha256`
file by file, in the same run.

    python3 bench/hash.py            # 4 x 1 GiB
    python3 bench/hash.py --quick    # 4 x 64 MiB (CI smoke run)

OpenSSL uses the CPU's SHA extensions; so does RustCrypto's sha2, which aigate uses. A single
SHA-256 is sequential, so aigate's gain comes from hashing files on every core at once. Each
command runs `--runs` times after a warm-up (files in the page cache); the median is reported.
`aigate lock` also scans the files; random bytes are no model format, so that costs little.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"


def timed(cmd, cwd=None):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = (64 << 20) if args.quick else (1 << 30)
    project = WORK / f"hash-{size >> 20}m"
    weights = project / "models" / "big"
    weights.mkdir(parents=True, exist_ok=True)
    block = os.urandom(16 << 20)
    files = []
    for i in range(4):
        path = weights / f"shard-{i}.bin"
        if not path.exists() or path.stat().st_size != size:
            with open(path, "wb") as f:
                for j in range(size // len(block)):
                    f.write(bytes([i, j & 0xFF]) + block[2:])
        files.append(path)
    (project / "aigate.toml").write_text('[[model]]\nname = "big"\npath = "models/big"\n')
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "aigate"], cwd=REPO, check=True)
    # --no-store: hashing only; the store copy is bench/store.py's.
    aigate = [str(REPO / "target" / "release" / "aigate"), "lock", "--no-store"]
    openssl = lambda: [timed(["openssl", "dgst", "-sha256", str(f)]) for f in files]

    timed(aigate, cwd=project)
    openssl()
    ours = statistics.median(timed(aigate, cwd=project) for _ in range(args.runs))
    theirs = statistics.median(sum(openssl()) for _ in range(args.runs))
    total = 4 * size
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    print(f"4 x {size >> 20} MiB, {os.cpu_count()} cores, median of {args.runs} runs")
    print(f"  aigate lock (hash + scan)      {ours:7.3f} s  {total / ours / 2**30:5.2f} GiB/s")
    print(f"  openssl dgst -sha256, in turn  {theirs:7.3f} s  {total / theirs / 2**30:5.2f} GiB/s  ({version})")
    print(f"  aigate takes {ours / theirs:.0%} of OpenSSL's wall time")


if __name__ == "__main__":
    sys.exit(main())
