#!/usr/bin/env python3
"""The store's speed: pushing a model to the file store (`aigate store push`: every file copied
once, hashed on the way and verified) and restoring it (`aigate rollback`: every file copied
back into a staging folder, verified, swapped into place), against `cp` of the same bytes in the
same run.

    python3 bench/store.py            # a 4 GiB model (4 x 1 GiB shards)
    python3 bench/store.py --quick    # 4 x 64 MiB (CI smoke run)

With s3s-fs on PATH (the S3-compatible server the tests use; `cargo install s3s-fs --version
0.14.1 --features binary`), the same push and restore also go to an S3 store on 127.0.0.1, against
boto3 (from PyPI, in a venv under bench/work) uploading and downloading the same four files with
its default transfer settings, which are what `aws s3 cp` uses (multipart from 8 MiB, ten
threads).

Each figure is the median of `--runs` runs after a warm-up, files in the page cache. The store
is emptied before every push; each restore brings back version 1 from version 2, whose only
change is one shard, so the restore copies the whole folder (4 shards) as cp does.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
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


KEY, SECRET = "AKIAAIGATEBENCH", "aigate-bench-secret-key"
BOTO3_VERSION = "1.44.8"

BOTO3_SCRIPT = r"""
import sys, time, boto3
from boto3.s3.transfer import TransferConfig
mode, endpoint, bucket, prefix, *files = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="%s", aws_secret_access_key="%s")
config = TransferConfig()  # the defaults aws s3 cp uses
start = time.perf_counter()
for i, path in enumerate(files):
    key = f"{prefix}/{i}"
    if mode == "upload":
        s3.upload_file(path, bucket, key, Config=config)
    else:
        s3.download_file(bucket, key, path, Config=config)
print(time.perf_counter() - start)
""" % (KEY, SECRET)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3_server(root: Path):
    """s3s-fs on 127.0.0.1 serving `root` (bucket `models`), or None when it is not installed."""
    binary = os.environ.get("AIGATE_S3S_FS") or shutil.which("s3s-fs")
    if not binary:
        return None, None
    shutil.rmtree(root, ignore_errors=True)
    (root / "models").mkdir(parents=True)
    port = free_port()
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(port), "--access-key", KEY,
         "--secret-key", SECRET, str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                server.kill()
                sys.exit("s3s-fs did not start")
            time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def boto3_python():
    venv = WORK / "boto3-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet",
                        "--disable-pip-version-check", f"boto3=={BOTO3_VERSION}"], check=True)
    return str(python)


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
    s3_bench(args, project, aigate, weights, copies, total)
    shutil.rmtree(project, ignore_errors=True)


def s3_bench(args, project, aigate, weights, copies, total):
    server_root = WORK / "s3s-root"
    server, endpoint = s3_server(server_root)
    if server is None:
        print("  S3: s3s-fs is not on PATH; the S3 figures were not measured")
        return
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AIGATE_ACTOR="bench")
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_ENDPOINT_URL", None)

    def sh(cmd):
        subprocess.run(cmd, cwd=project, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def timed_sh(cmd, before=None):
        if before:
            before()
        start = time.perf_counter()
        sh(cmd)
        return time.perf_counter() - start

    try:
        store = f'\n[store]\nurl = "s3://models/aigate"\nendpoint = "{endpoint}"\n'
        push_store = f'\n[store]\nurl = "s3://models/push"\nendpoint = "{endpoint}"\n'
        model = '[[model]]\nname = "big"\npath = "models/big"\n'
        (project / "s3.toml").write_text(model + store)
        (project / "s3-push.toml").write_text(model + push_store)
        # Both versions in the S3 store for the restores: version 2 is current; roll back to 1
        # from the file store, push it, then return to 2 and push that.
        sh([aigate, "rollback", "big", "--to", "1"])
        sh([aigate, "--config", "s3.toml", "store", "push"])
        sh([aigate, "rollback", "big", "--to", "2"])
        sh([aigate, "--config", "s3.toml", "store", "push"])

        def empty_push():
            shutil.rmtree(server_root / "models" / "push", ignore_errors=True)

        push = [aigate, "--config", "s3-push.toml", "store", "push"]
        timed_sh(push, empty_push)
        pushes = statistics.median(timed_sh(push, empty_push) for _ in range(args.runs))
        restores = []
        for i in range(args.runs + 1):
            target = "1" if i % 2 == 0 else "2"
            restores.append(timed_sh([aigate, "--config", "s3.toml", "rollback", "big", "--to",
                                      target]))
        restore = statistics.median(restores[1:])

        python = boto3_python()
        files = sorted(str(p) for p in weights.iterdir())
        downloads = project / "boto3-download"
        downloads.mkdir(exist_ok=True)
        targets = [str(downloads / Path(f).name) for f in files]

        def boto3(mode, paths):
            out = subprocess.run([python, "-c", BOTO3_SCRIPT, mode, endpoint, "models", "boto3",
                                  *paths], check=True, capture_output=True, text=True, env=env)
            return float(out.stdout.strip())

        boto3("upload", files)
        uploads = statistics.median(boto3("upload", files) for _ in range(args.runs))
        boto3("download", targets)
        fetched = statistics.median(boto3("download", targets) for _ in range(args.runs))
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(server_root, ignore_errors=True)
    print(f"  S3 (s3s-fs on 127.0.0.1; boto3 {BOTO3_VERSION} with aws s3 cp's transfer settings)")
    print(f"  boto3 upload_file     {uploads:7.3f} s  {total / uploads / 1e9:5.2f} GB/s")
    print(f"  aigate store push     {pushes:7.3f} s  {total / pushes / 1e9:5.2f} GB/s"
          f"  ({pushes / uploads:.2f}x boto3, {pushes / copies:.2f}x cp; hashed, verified)")
    print(f"  boto3 download_file   {fetched:7.3f} s  {total / fetched / 1e9:5.2f} GB/s")
    print(f"  aigate rollback       {restore:7.3f} s  {total / restore / 1e9:5.2f} GB/s"
          f"  ({restore / fetched:.2f}x boto3; verified, rescanned, swapped)")


if __name__ == "__main__":
    main()
