#!/usr/bin/env python3
"""The store's speed: pushing a model to the file store (`aigate store push`: every file copied
once, hashed on the way and verified) and restoring it (`aigate rollback`: every file copied
back into a staging folder, verified, swapped into place), against `cp` of the same bytes in the
same run.

    python3 bench/store.py            # a 4 GiB model (4 x 1 GiB shards)
    python3 bench/store.py --quick    # 4 x 64 MiB (CI smoke run)

Each figure is the median of `--runs` runs after a warm-up, files in the page cache. The store
is emptied before every push; each restore brings back version 1 from version 2, whose only
change is one shard, so the restore copies the whole folder (4 shards) as cp does.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"


def run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(cmd, cwd, before=None):
    if before:
        before()
    start = time.perf_counter()
    run(cmd, cwd)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    size = (64 << 20) if args.quick else (1 << 30)
    project = WORK / f"store-{size >> 20}m"
    if project.exists():
        shutil.rmtree(project)
    weights = project / "models" / "big"
    weights.mkdir(parents=True)
    block = os.urandom(16 << 20)
    for i in range(4):
        with open(weights / f"shard-{i}.bin", "wb") as f:
            for j in range(size // len(block)):
                f.write(bytes([i, j & 0xFF]) + block[2:])
    (project / "aigate.toml").write_text('[[model]]\nname = "big"\npath = "models/big"\n')
    if not args.no_build:
        run(["cargo", "build", "--release", "-q", "-p", "aigate"], REPO)
    aigate = str(REPO / "target" / "release" / "aigate")
    env_by = ["--by", "bench"]

    # Version 1, approved and pushed; version 2 differs in one shard.
    run([aigate, "lock", "--no-store", *env_by], project)
    run([aigate, "store", "push"], project)
    run([aigate, "approve", "big", *env_by], project)
    with open(weights / "shard-0.bin", "r+b") as f:
        f.write(b"v2")
    run([aigate, "lock", *env_by], project)
    run([aigate, "approve", "big", *env_by], project)

    # Pushes go to a second store (the same lock, through a configuration naming it), emptied
    # before each run, so that the project's own store keeps both versions for the restores.
    (project / "push.toml").write_text(
        '[[model]]\nname = "big"\npath = "models/big"\n\n[store]\nurl = "file://push-store"\n'
    )
    push_store = project / "push-store"

    def empty_store():
        shutil.rmtree(push_store, ignore_errors=True)

    copy_dest = project / "copy"

    def clear_copy():
        shutil.rmtree(copy_dest, ignore_errors=True)

    push = [aigate, "--config", "push.toml", "store", "push"]
    cp = ["cp", "-r", str(weights), str(copy_dest)]
    timed(push, project, empty_store)
    timed(cp, project, clear_copy)
    pushes = statistics.median(timed(push, project, empty_store) for _ in range(args.runs))
    copies = statistics.median(timed(cp, project, clear_copy) for _ in range(args.runs))

    # Restores alternate between versions 1 and 2, so that each one moves the whole folder.
    restores = []
    for i in range(args.runs + 1):
        target = "1" if i % 2 == 0 else "2"
        restores.append(timed([aigate, "rollback", "big", "--to", target, *env_by], project))
    restore = statistics.median(restores[1:])
    total = 4 * size
    gib = total / (1 << 30)
    print(f"store benchmark: a {gib:g} GiB model (4 files), median of {args.runs} runs")
    print(f"  cp -r                 {copies:7.3f} s  {total / copies / 1e9:5.2f} GB/s")
    print(f"  aigate store push     {pushes:7.3f} s  {total / pushes / 1e9:5.2f} GB/s"
          f"  ({pushes / copies:.2f}x cp; hashed and verified)")
    print(f"  aigate rollback       {restore:7.3f} s  {total / restore / 1e9:5.2f} GB/s"
          f"  ({restore / copies:.2f}x cp; verified, rescanned, swapped)")
    shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
