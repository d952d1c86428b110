#!/usr/bin/env python3
"""aigate scan against picklescan and ModelScan, in one run, on the formats beside pickles:

  (a) a 4 GiB safetensors file (one header, eight 512 MiB tensors),
  (b) a 4 GiB GGUF file (a Llama-3 chat template, a 128k-token vocabulary, eight tensors),
  (c) a Hugging Face model folder of 200 files (sharded safetensors, configs, tokenizer files,
      a chat template), 1.2 GiB in all.

(a) and (b) must scan in time proportional to their headers, not their size: the table shows
the throughput that implies. Files are sparse where the format allows (tensor bytes are holes),
so making them costs no disk; a tool that reads the tensors reads zeros at page-cache speed.

    python3 bench/formats.py          # pip-installs picklescan and modelscan into a venv
    python3 bench/formats.py --quick  # 1/16 sizes, for CI smoke runs

Each tool scans each input `--runs` times after one warm-up; the median wall time and peak
resident memory (GNU time) are reported, with the ratios peer / aigate. Nothing is loaded.
"""

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work" / "formats"
VENV = Path(os.environ.get("BENCH_VENV", REPO / "target" / "bench-venv"))
PEERS = ["picklescan==1.0.5", "modelscan==0.8.5"]
GNU_TIME = "/usr/bin/time"

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim"
    " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)


def measure(cmd):
    start = time.perf_counter()
    proc = subprocess.run([GNU_TIME, "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    lines = proc.stderr.strip().splitlines()
    return {"wall": wall, "peak_kib": int(lines[-1]) if lines else 0, "code": proc.returncode}


def sparse_file(path, header, total):
    """`header`, then holes up to `total` bytes."""
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(total)


def safetensors(path, total):
    n = 8
    size = (total - 4096) // n // 4 * 4
    header, at = {}, 0
    for i in range(n):
        header[f"model.layers.{i}.weight"] = {"dtype": "F32", "shape": [size // 4], "data_offsets": [at, at + size]}
        at += size
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    sparse_file(path, struct.pack("<Q", len(raw)) + raw, 8 + len(raw) + at)


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(path, total):
    kv = [
        (gguf_string("general.architecture"), 8, gguf_string("llama")),
        (gguf_string("general.alignment"), 4, struct.pack("<I", 32)),
        (gguf_string("tokenizer.chat_template"), 8, gguf_string(LLAMA3)),
    ]
    tokens = b"".join(gguf_string(f"tok{i}") for i in range(128_000))
    kv.append((gguf_string("tokenizer.ggml.tokens"), 9, struct.pack("<IQ", 8, 128_000) + tokens))
    n = 8
    size = (total - (4 << 20)) // n // 32 * 32
    tensors = b""
    for i in range(n):
        tensors += gguf_string(f"blk.{i}.weight") + struct.pack("<I", 1) + struct.pack("<Q", size // 4)
        tensors += struct.pack("<IQ", 0, i * size)
    head = b"GGUF" + struct.pack("<IQQ", 3, n, len(kv))
    head += b"".join(k + struct.pack("<I", t) + v for k, t, v in kv) + tensors
    head += b"\0" * (-len(head) % 32)
    sparse_file(path, head, len(head) + n * size)


def hf_folder(root, total):
    root.mkdir(parents=True, exist_ok=True)
    shards = 8
    for i in range(shards):
        safetensors(root / f"model-{i + 1:05d}-of-{shards:05d}.safetensors", total // shards)
    (root / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    (root / "tokenizer_config.json").write_text(json.dumps({"chat_template": LLAMA3, "bos_token": "<|begin_of_text|>"}))
    (root / "generation_config.json").write_text(json.dumps({"temperature": 0.6}))
    (root / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {}}))
    (root / "README.md").write_text("---\nlicense: llama3\n---\n# model\n")
    for i in range(200 - shards - 5):
        (root / f"extra_{i:03d}.json").write_text(json.dumps({"i": i}))


def peer_bin(name):
    return str(VENV / "bin" / name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scale = 16 if args.quick else 1
    WORK.mkdir(parents=True, exist_ok=True)
    inputs = {
        "safetensors 4 GiB": WORK / f"model-{scale}.safetensors",
        "gguf 4 GiB": WORK / f"model-{scale}.gguf",
        "hf folder, 200 files": WORK / f"hf-{scale}",
    }
    safetensors(inputs["safetensors 4 GiB"], (4 << 30) // scale)
    gguf(inputs["gguf 4 GiB"], (4 << 30) // scale)
    hf_folder(inputs["hf folder, 200 files"], (1200 << 20) // scale)

    if not Path(GNU_TIME).exists():
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
    if not (VENV / "bin" / "modelscan").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *PEERS], check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "aigate"], cwd=REPO, check=True)
    tools = {
        "aigate": lambda p: [str(REPO / "target" / "release" / "aigate"), "scan", "--quiet", str(p)],
        "picklescan": lambda p: [peer_bin("picklescan"), "--path", str(p)],
        "modelscan": lambda p: [peer_bin("modelscan"), "-p", str(p)],
    }
    print(f"{'input':24} {'tool':11} {'median s':>9} {'peak MiB':>9} {'exit':>5}  vs aigate")
    for label, path in inputs.items():
        base = None
        for tool, cmd in tools.items():
            measure(cmd(path))
            runs = [measure(cmd(path)) for _ in range(args.runs)]
            wall = statistics.median(r["wall"] for r in runs)
            peak = max(r["peak_kib"] for r in runs) / 1024
            base = wall if tool == "aigate" else base
            ratio = "" if tool == "aigate" else f"{wall / base:6.1f}x slower"
            print(f"{label:24} {tool:11} {wall:9.3f} {peak:9.1f} {runs[-1]['code']:>5}  {ratio}")


if __name__ == "__main__":
    sys.exit(main())
