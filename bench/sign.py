#!/usr/bin/env python3
"""Signing and verifying a 4 GiB model folder (8 x 512 MiB of random bytes) with aigate
(`aigate sign` and `aigate verify-sig`) and with OpenSSF model-signing 1.1.1 (`model_signing sign key`
and `verify key`), in the same run, on the same files, with the same P-256 key.

    python3 bench/sign.py            # 8 x 512 MiB
    python3 bench/sign.py --quick    # 8 x 32 MiB (CI smoke run)

Both use the `files` serialization with SHA-256 (model-signing's default, and the only one its
CLI verifies) and hash files in parallel with the CPU's SHA extensions (OpenSSL for
model-signing, RustCrypto's sha2 for aigate). Each command runs once as a warm-up (files in the
page cache), then `--runs` times; the median is reported. model-signing is installed from PyPI
into a venv (INTEROP_VENV to reuse one). The folder is made under target/, never committed.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEYS = REPO / "crates" / "aigate-attest" / "tests" / "data" / "model-signing-1.1.1" / "keys"


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(cmd, runs):
    timed(cmd)  # warm-up: the page cache, the interpreter's imports
    return statistics.median(timed(cmd) for _ in range(runs))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = (32 << 20) if args.quick else (512 << 20)
    count = 8
    work = REPO / "target" / "bench-sign" / f"{size >> 20}m"
    model = work / "model"
    model.mkdir(parents=True, exist_ok=True)
    block = os.urandom(16 << 20)
    for i in range(count):
        path = model / f"model-{i:05d}-of-{count:05d}.safetensors"
        if not path.exists() or path.stat().st_size != size:
            with open(path, "wb") as f:
                for j in range(size // len(block)):
                    f.write(bytes([i, j & 0xFF]) + block[2:])

    venv = Path(os.environ.get("INTEROP_VENV", REPO / "target" / "interop-venv"))
    if not (venv / "bin" / "model_signing").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "model-signing==1.1.1", "pyopenssl"], check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "aigate"],
                   cwd=REPO, check=True)
    aigate = str(REPO / "target" / "release" / "aigate")
    ms = str(venv / "bin" / "model_signing")
    key, pub = str(KEYS / "ec_p256.key.pem"), str(KEYS / "ec_p256.pub.pem")
    ours_sig, theirs_sig = str(work / "aigate.sig"), str(work / "model-signing.sig")

    rows = []
    for what, ours, theirs in [
        ("sign",
         [aigate, "sign", "--key", key, "--signature", ours_sig, str(model)],
         [ms, "sign", "key", str(model), "--private_key", key, "--signature", theirs_sig]),
        ("verify",
         [aigate, "verify-sig", "--key", pub, "--signature", ours_sig, str(model)],
         [ms, "verify", "key", str(model), "--signature", theirs_sig, "--public_key", pub]),
    ]:
        a = median(ours, args.runs)
        b = median(theirs, args.runs)
        rows.append((what, a, b))
    # Each verifies the other's signature too, on the same files.
    subprocess.run([aigate, "verify-sig", "--key", pub, "--signature", theirs_sig, str(model)],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([ms, "verify", "key", str(model), "--signature", ours_sig, "--public_key", pub],
                   check=True, stdout=subprocess.DEVNULL)

    total = count * size
    print(f"{count} x {size >> 20} MiB ({total / 2**30:.2f} GiB), files/sha256, P-256, "
          f"{os.cpu_count()} cores, median of {args.runs} runs after a warm-up")
    for what, a, b in rows:
        print(f"  {what:6}  aigate {a:7.3f} s ({total / a / 2**30:5.2f} GiB/s)   "
              f"model-signing 1.1.1 {b:7.3f} s ({total / b / 2**30:5.2f} GiB/s)   aigate {b / a:4.1f}x faster")
    print("  each verified the other's signature of the same folder")


if __name__ == "__main__":
    sys.exit(main())
