#!/usr/bin/env python3
"""aigate policy and deps against uv and pip on the inputs the targets name, in one run:

  (a) a 1,000-package uv.lock (the 1,000 most downloaded PyPI names, 6 wheels and an sdist
      each, a dependency graph) with its pyproject.toml: `aigate policy --lock` (target: the
      whole process under 50 ms), `aigate deps --lock`, against `uv export --frozen` (uv reading
      the same lock and writing requirements) and `uv pip compile`-free `pip-audit --dry-run`
      reading the exported requirements (pip-audit's input stage; the audit itself needs the
      network and is not run);
  (b) a 300-distribution environment (dist-info folders with METADATA and RECORD, and each
      package's files): `aigate policy --env` with the RECORD re-hash (target: under 100 ms),
      against `pip list --path` and `pip check` reading the same site-packages.

    python3 bench/policy.py             # builds aigate --release, installs uv and pip-audit
                                        # into bench/work/policy-tools, runs
    python3 bench/policy.py --runs 5 --no-build --aigate path/to/aigate

Each command runs once to warm the page cache, then --runs times; the table gives the median
wall time and the median CPU time (user + system of the process, from wait4: on a shared,
loaded machine wall time mostly measures the wait for a core), and the ratios peer / aigate
(for the venv, against aigate without the RECORD re-hash, which the peers do not do). Inputs are generated under bench/work/policy (git-ignored).
Nothing is fetched but the two tools; nothing is installed into the generated environment.
"""

import argparse
import base64
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work" / "policy"
TOOLS = REPO / "bench" / "work" / "policy-tools"
POPULAR = REPO / "crates" / "aigate-policy" / "data" / "pypi-popular.txt"
UV = "uv==0.13.9"
PIP_AUDIT = "pip-audit==2.9.0"


def digest(*parts) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def write_lock(root: Path, names: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    deps = names[:50]
    (root / "pyproject.toml").write_text(
        '[project]\nname = "project"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = [\n" + "".join(f'    "{n}",\n' for n in deps) + "]\n"
    )
    out = ['version = 1\nrevision = 3\nrequires-python = ">=3.11"\n']
    out.append(
        '\n[[package]]\nname = "project"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        "dependencies = [\n" + "".join(f'    {{ name = "{n}" }},\n' for n in deps) + "]\n"
        "\n[package.metadata]\nrequires-dist = [\n"
        + "".join(f'    {{ name = "{n}" }},\n' for n in deps)
        + "]\n"
    )
    for i, name in enumerate(names):
        version = f"1.{i % 40}.{i % 7}"
        us = name.replace("-", "_")
        graph = sorted({names[(i + d * 17) % len(names)] for d in (1, 2, 3)} - {name})
        out.append(
            f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
            'source = { registry = "https://pypi.org/simple" }\n'
            "dependencies = [\n" + "".join(f'    {{ name = "{d}" }},\n' for d in graph) + "]\n"
            f'sdist = {{ url = "https://files.pythonhosted.org/packages/ab/cd/{us}-{version}.tar.gz", '
            f'hash = "sha256:{digest(name, "sdist")}", size = 123456, upload-time = "2025-01-01T00:00:00Z" }}\n'
            "wheels = [\n"
            + "".join(
                f'    {{ url = "https://files.pythonhosted.org/packages/ab/cd/{us}-{version}-cp3{w}-none-any.whl", '
                f'hash = "sha256:{digest(name, w)}", size = 65432, upload-time = "2025-01-01T00:00:00Z" }},\n'
                for w in range(6)
            )
            + "]\n"
        )
    (root / "uv.lock").write_text("".join(out))


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_env(root: Path, names: list[str]) -> None:
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    (root / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    for i, name in enumerate(names):
        us = name.replace("-", "_")
        version = f"1.{i % 40}.{i % 7}"
        pkg = site / us
        pkg.mkdir(exist_ok=True)
        rows = []
        for f in range(8):
            data = f"# {name} module {f}\n".encode() * 200
            (pkg / f"m{f}.py").write_bytes(data)
            rows.append(f"{us}/m{f}.py,{record_hash(data)},{len(data)}")
        info = site / f"{us}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        files = {
            "METADATA": f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nLicense-Expression: MIT\n\n".encode(),
            "INSTALLER": b"pip\n",
            "WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        for fname, data in files.items():
            (info / fname).write_bytes(data)
            rows.append(f"{info.name}/{fname},{record_hash(data)},{len(data)}")
        rows.append(f"{info.name}/RECORD,,")
        (info / "RECORD").write_text("\n".join(rows) + "\n")


def timed(cmd, runs, cwd=None, env=None, fresh=None) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system, from wait4) of `runs` runs, after
    one warm-up; `fresh`, when given, is called before each run (untimed)."""

    def once():
        if fresh:
            fresh()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read() if proc.stderr else b""
        if code not in (0, 1):
            sys.exit(f"{' '.join(map(str, cmd))} failed ({code}): {err.decode()[-2000:]}")
        return elapsed, usage.ru_utime + usage.ru_stime

    once()
    samples = [once() for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--aigate", type=Path, default=REPO / "target" / "release" / "aigate",
                    help="the aigate binary to time (default: target/release/aigate, built first)")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "aigate"], cwd=REPO, check=True)
    aigate = args.aigate.resolve()
    if not (TOOLS / "bin" / "uv").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "--quiet", UV, PIP_AUDIT], check=True)
    uv, pip, pip_audit = (TOOLS / "bin" / t for t in ("uv", "pip", "pip-audit"))
    names = POPULAR.read_text().split()
    lock_dir, env_dir, unknown_dir = WORK / "lock", WORK / "venv", WORK / "unknown-lock"
    if not (lock_dir / "uv.lock").exists():
        write_lock(lock_dir, names[:1000])
    if not (unknown_dir / "uv.lock").exists():
        # Names on no list: every one goes through every typosquat heuristic.
        write_lock(unknown_dir, [f"acme-component-{i}" for i in range(1000)])
    if not (env_dir / "pyvenv.cfg").exists():
        write_env(env_dir, names[:300])
    site = env_dir / "lib" / "python3.11" / "site-packages"
    env = {**os.environ, "UV_NO_CACHE": "1", "UV_OFFLINE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    exported = WORK / "exported.txt"
    subprocess.run([uv, "export", "--frozen", "--no-hashes", "-o", exported], cwd=lock_dir, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    a = timed([aigate, "policy", "--lock", lock_dir / "uv.lock"], args.runs, cwd=WORK, env=env)
    rows.append(("1,000-package uv.lock: aigate policy", a, None))
    n = timed([aigate, "policy", "--lock", unknown_dir / "uv.lock"], args.runs, cwd=WORK, env=env)
    rows.append(("1,000 unlisted names: aigate policy (every typosquat heuristic)", n, None))
    d = timed([aigate, "deps", "--lock", lock_dir / "uv.lock", "--format", "json"], args.runs, cwd=WORK, env=env)
    rows.append(("1,000-package uv.lock: aigate deps --format json", d, None))
    u = timed([uv, "export", "--frozen", "-o", "/dev/null"], args.runs, cwd=lock_dir, env=env)
    rows.append(("1,000-package uv.lock: uv export --frozen", u, a))
    p = timed([pip_audit, "--dry-run", "--no-deps", "--disable-pip", "-r", exported], args.runs, cwd=WORK, env=env)
    rows.append(("exported requirements: pip-audit --dry-run --no-deps --disable-pip", p, a))
    e = timed([aigate, "policy", "--env", env_dir], args.runs, cwd=WORK, env=env)
    rows.append(("300-distribution venv: aigate policy (RECORD re-hash)", e, None))
    e2 = timed([aigate, "policy", "--env", env_dir, "--no-record-check"], args.runs, cwd=WORK, env=env)
    rows.append(("300-distribution venv: aigate policy --no-record-check", e2, None))
    pl = timed([pip, "list", "--path", site, "--format", "json"], args.runs, cwd=WORK, env=env)
    rows.append(("300-distribution venv: pip list --path --format json", pl, e2))
    pc = timed([sys.executable, "-m", "pip", "check"], args.runs, cwd=WORK, env={**env, "PYTHONPATH": str(site)})
    rows.append(("300-distribution venv: pip check (PYTHONPATH=site-packages)", pc, e2))
    width = max(len(r[0]) for r in rows)
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'input: command'.ljust(width)}  wall ms   CPU ms  peer/aigate (wall, CPU)")
    for label, (wall, cpu), base in rows:
        ratio = f"{wall / base[0]:6.1f}x {cpu / max(base[1], 1e-4):6.1f}x" if base else ""
        print(f"{label.ljust(width)}  {wall * 1000:7.1f}  {cpu * 1000:7.1f}  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
