#!/usr/bin/env python3
"""`aigate verify` on one artifact of many small files, and on a configuration of many artifacts,
against `sha256sum` over the same files in the same run: verification should cost what hashing
costs, and checking a configuration should be linear in its size.

    python3 bench/verify.py            # 10,000 / 40,000 / 100,000 files; 16,000 / 100,000 artifacts
    python3 bench/verify.py --quick    # 2,000 / 8,000 files; 4,000 artifacts

Inputs are written under bench/work/verify/ (git-ignored). Figures are informative.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work" / "verify"


def timed(cmd, cwd, **kw):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    return time.perf_counter() - start, proc


def files_project(n):
    root = WORK / f"files-{n}"
    if not (root / "aigate.lock").exists():
        shutil.rmtree(root, ignore_errors=True)
        (root / "models" / "m").mkdir(parents=True)
        for i in range(n):
            (root / "models" / "m" / f"f{i:06d}.bin").write_bytes(b"weights %d\n" % i)
        (root / "aigate.toml").write_text('[[model]]\nname = "m"\npath = "models/m"\n')
        subprocess.run([AIGATE, "lock"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([AIGATE, "approve", "m", "--by", "bench"], cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
    return root


def config_project(n):
    root = WORK / f"config-{n}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "aigate.toml").write_text("".join(
        f'[[dataset]]\nname = "d{i}"\npath = "data/d{i}.csv"\n\n' for i in range(n)))
    (root / "aigate.lock").write_text("version = 1\n")
    return root


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "aigate"], cwd=REPO, check=True)
    sizes = [2000, 8000] if args.quick else [10000, 40000, 100000]
    configs = [4000] if args.quick else [16000, 100000]
    print(f"{'files':>8} {'aigate verify':>14} {'sha256sum':>10} {'ratio':>6}")
    for n in sizes:
        root = files_project(n)
        peer = "find models -type f -print0 | xargs -0 sha256sum"
        # One warm-up run of each, so that both read from the page cache.
        timed([AIGATE, "verify", "-q"], root)
        timed(peer, root, shell=True)
        t_aigate, proc = timed([AIGATE, "verify", "-q"], root)
        if proc.returncode != 0:
            sys.exit(f"verify failed: {proc.stderr.decode()}")
        t_peer, _ = timed(peer, root, shell=True)
        print(f"{n:>8} {t_aigate:>13.2f}s {t_peer:>9.2f}s {t_aigate / t_peer:>5.2f}x")
    print(f"\n{'artifacts':>9} {'config checked':>15}")
    for n in configs:
        root = config_project(n)
        t, _ = timed([AIGATE, "verify", "-q"], root)
        print(f"{n:>9} {t:>14.2f}s")


AIGATE = str(REPO / "target" / "release" / "aigate")

if __name__ == "__main__":
    main()
