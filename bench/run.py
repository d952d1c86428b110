#!/usr/bin/env python3
"""aigate scan against picklescan, in one run, on three inputs:

  (a) a 2 GiB PyTorch zip checkpoint (torch.save layout: data.pkl plus stored storages),
  (b) a 45 MB benign pickle of five million floats,
  (c) a zip of 20,000 small pickle members,
  (d) a 1 GiB pickle (float batches around a 256 MiB bytes payload), aigate only: it shows
      memory staying flat; picklescan would take minutes on it.

    python3 bench/run.py            # builds aigate --release, pip-installs picklescan, runs
    python3 bench/run.py --quick    # smaller inputs (for CI smoke runs): same shape, 1/16 size
    python3 bench/run.py --baseline OLD/aigate   # also time an earlier build, for regressions

Each tool scans each input `--runs` times after one warm-up run (so both read from the page
cache); the table gives the median wall time and the peak resident memory as GNU time reports
it (`/usr/bin/time -f %M`, Debian package `time`; the script installs it with apt-get when it is
missing), and the ratios picklescan / aigate.
Inputs are generated under bench/work/ (git-ignored) and reused when present. Nothing is
ever unpickled.
"""

import argparse
import io
import os
import pickle
import statistics
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"
PICKLESCAN = "picklescan==1.0.5"

GNU_TIME = "/usr/bin/time"


def measure(cmd):
    """Wall time of `cmd` and its own peak RSS. GNU time reports the exec'd program's maximum
    resident set; a fork from this Python would count the interpreter's pages too."""
    start = time.perf_counter()
    proc = subprocess.run([GNU_TIME, "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    lines = proc.stderr.strip().splitlines()
    return {"wall": wall, "peak_kib": int(lines[-1]), "code": proc.returncode,
            "stderr": "\n".join(lines[:-1])[-500:]}


def torch_zip(path, total_bytes):
    """A checkpoint in torch.save's zip layout: data.pkl referencing N stored float32 storages
    through persistent ids, exactly as torch writes them (protocol 2, _rebuild_tensor_v2)."""
    chunk = 64 << 20
    n = max(1, total_bytes // chunk)
    numel = chunk // 4

    class Storage:
        def __init__(self, key):
            self.key = key

    class Rebuild:
        def __init__(self, key):
            self.key = key

        def __reduce__(self):
            return (rebuild_tensor_v2, (Storage(self.key), 0, (numel,), (1,), False, ordered_dict()))

    import collections
    import types
    torch_utils = types.ModuleType("torch._utils")
    sys.modules.setdefault("torch", types.ModuleType("torch"))
    sys.modules["torch._utils"] = torch_utils

    def rebuild_tensor_v2(*args):
        raise RuntimeError("never called: only pickled")

    rebuild_tensor_v2.__module__ = "torch._utils"
    rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch_utils._rebuild_tensor_v2 = rebuild_tensor_v2

    def float_storage():
        raise RuntimeError("never called")

    float_storage.__module__, float_storage.__qualname__ = "torch", "FloatStorage"
    sys.modules["torch"].FloatStorage = float_storage
    ordered_dict = collections.OrderedDict

    class TorchPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", float_storage, obj.key, "cpu", numel)
            return None

    state = collections.OrderedDict((f"layers.{i}.weight", Rebuild(str(i))) for i in range(n))
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(state)
    block = os.urandom(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr("checkpoint/data.pkl", buf.getvalue())
        zf.writestr("checkpoint/byteorder", "little")
        for i in range(n):
            with zf.open(f"checkpoint/data/{i}", "w", force_zip64=True) as f:
                for _ in range(chunk >> 20):
                    f.write(block)
        zf.writestr("checkpoint/version", "3\n")


def make_inputs(scale):
    WORK.mkdir(parents=True, exist_ok=True)
    inputs = {
        "a": (WORK / f"checkpoint-{scale}.pt", "2 GiB torch zip checkpoint"),
        "b": (WORK / f"floats-{scale}.pkl", "45 MB pickle of 5,000,000 floats"),
        "c": (WORK / f"members-{scale}.zip", "zip of 20,000 pickle members"),
    }
    if not inputs["a"][0].exists():
        torch_zip(inputs["a"][0], (2 << 30) // scale)
    if not inputs["b"][0].exists():
        inputs["b"][0].write_bytes(pickle.dumps([float(i) for i in range(5_000_000 // scale)], protocol=4))
    if not inputs["c"][0].exists():
        with zipfile.ZipFile(inputs["c"][0], "w", zipfile.ZIP_STORED) as zf:
            for i in range(20_000 // scale):
                zf.writestr(f"shard/m{i:05}.pkl", pickle.dumps({"id": i, "w": [0.5] * 8}, protocol=4))
    big = WORK / f"huge-{scale}.pkl"
    if not big.exists():
        write_huge_pickle(big, (1 << 30) // scale)
    inputs["d"] = (big, "1 GiB pickle (aigate only)")
    return inputs


def write_huge_pickle(path, total):
    """A list of float batches (MARK, 1,000 BINFLOATs, APPENDS) with one BINBYTES8 payload of a
    quarter of the size in the middle: written opcode by opcode, never built in memory."""
    batch = b"(" + (b"G" + struct.pack(">d", 0.5)) * 1000 + b"e"
    payload = total // 4
    with open(path, "wb") as f:
        f.write(b"\x80\x04]")
        written = 3
        half = (total - payload) // 2
        while written < half:
            f.write(batch * 64)
            written += len(batch) * 64
        f.write(b"\x8e" + struct.pack("<Q", payload))
        zeros = bytes(1 << 20)
        for _ in range(payload >> 20):
            f.write(zeros)
        f.write(b"a")
        written += 9 + payload + 1
        while written < total:
            f.write(batch * 64)
            written += len(batch) * 64
        f.write(b".")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1/16-size inputs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="another aigate binary to time in the same run")
    args = parser.parse_args()
    scale = 16 if args.quick else 1

    if not Path(GNU_TIME).exists():
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PICKLESCAN], check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "aigate"], cwd=REPO, check=True)
    aigate = str(REPO / "target" / "release" / "aigate")
    picklescan = [sys.executable, "-m", "picklescan.cli"]
    inputs = make_inputs(scale)

    rows = []
    for key, (path, label) in inputs.items():
        size = path.stat().st_size
        tools = {"aigate": [aigate, "scan", "--quiet", str(path)]}
        if args.baseline:
            tools["baseline"] = [args.baseline, "scan", "--quiet", str(path)]
        if key != "d":
            tools["picklescan"] = [*picklescan, "--path", str(path)]
        result = {}
        for tool, cmd in tools.items():
            warm = measure(cmd)
            if warm["code"] not in (0, 1):
                print(f"{tool} on {path.name} exited {warm['code']}: {warm['stderr']}", file=sys.stderr)
            runs = [measure(cmd) for _ in range(args.runs)]
            result[tool] = (statistics.median(r["wall"] for r in runs), max(r["peak_kib"] for r in runs) / 1024)
        rows.append((key, label, size, result))

    print(f"\n{'input':<40} {'size':>9} {'aigate':>9} {'picklescan':>11} {'time ratio':>11} "
          f"{'aigate RSS':>11} {'ps RSS':>9} {'RSS ratio':>10}")
    for key, label, size, r in rows:
        at, am = r["aigate"]
        if "picklescan" in r:
            pt, pm = r["picklescan"]
            print(f"({key}) {label:<36} {size / 2**20:>7.0f}MB {at:>8.3f}s {pt:>10.3f}s {pt / at:>10.1f}x "
                  f"{am:>9.1f}MB {pm:>7.1f}MB {pm / am:>9.1f}x")
        else:
            print(f"({key}) {label:<36} {size / 2**20:>7.0f}MB {at:>8.3f}s {'-':>11} {'-':>11} "
                  f"{am:>9.1f}MB {'-':>9} {'-':>10}")
    if args.baseline:
        print(f"\n{'input':<40} {'aigate':>9} {'baseline':>9} {'ratio':>7} {'RSS':>9} {'base RSS':>9}")
        for key, label, size, r in rows:
            at, am = r["aigate"]
            bt, bm = r["baseline"]
            print(f"({key}) {label:<36} {at:>8.3f}s {bt:>8.3f}s {at / bt:>6.2f}x {am:>7.1f}MB {bm:>7.1f}MB")
    print(f"\nmedian of {args.runs} runs after a warm-up; {os.cpu_count()} cores; {PICKLESCAN}")


if __name__ == "__main__":
    main()
