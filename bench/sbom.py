#!/usr/bin/env python3
"""SBOM benchmark: aigate sbom against cyclonedx-py on the same environment, in one run.

A real virtual environment (python3 -m venv) gets 500 distributions written into its
site-packages (dist-info folders with METADATA, RECORD and INSTALLER, as bench/policy.py writes
them; nothing is installed or run), and a project beside it declares three models (safetensors
files) in aigate.toml, locked once with `aigate lock`. Timed, whole process: `aigate sbom --env
VENV` (libraries, models with their SHA-256 from aigate.lock) and `cyclonedx-py environment VENV`
(cyclonedx-bom 7.5.0 from PyPI, which lists libraries only and starts the environment's Python
to find them). Reported: median wall and CPU time (user + system from wait4), the ratio, and
what each document lists.

    python3 bench/sbom.py [--runs 10] [--no-build] [--packages 500]
"""

import argparse
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policy import timed, write_env  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work" / "sbom"
TOOLS = REPO / "bench" / "work" / "sbom-tools"
POPULAR = REPO / "crates" / "aigate-policy" / "data" / "pypi-popular.txt"


def safetensors(values: int) -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [values], "data_offsets": [0, 4 * values]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * (4 * values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--packages", type=int, default=500)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--aigate", type=Path, default=REPO / "target" / "release" / "aigate")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "aigate"], cwd=REPO, check=True)
    if not (TOOLS / "bin" / "cyclonedx-py").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "cyclonedx-bom==7.5.0"], check=True)
    subprocess.run(["rm", "-rf", str(WORK)], check=True)
    project = WORK / "project"
    venv = project / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    names = [n.strip() for n in POPULAR.read_text().splitlines() if n.strip() and not n.startswith("#")]
    site = next((venv / "lib").glob("python3*/site-packages"))
    tmp = WORK / "dists"
    write_env(tmp, names[: args.packages])
    for entry in (tmp / "lib" / "python3.11" / "site-packages").iterdir():
        entry.rename(site / entry.name)
    models = project / "models"
    models.mkdir()
    toml = []
    for i, size in enumerate((1 << 16, 1 << 18, 1 << 20)):
        (models / f"model-{i}.safetensors").write_bytes(safetensors(size))
        toml.append(f'[[model]]\nname = "model-{i}"\npath = "models/model-{i}.safetensors"\nowner = "ml"\n')
    (project / "aigate.toml").write_text("\n".join(toml))
    env = dict(os.environ, PIP_CONFIG_FILE="/dev/null", AIGATE_CONFIG_DIR=str(WORK / "config"))
    env.pop("VIRTUAL_ENV", None)
    subprocess.run([str(args.aigate), "lock", "--quiet"], cwd=project, env=env, check=True,
                   stdout=subprocess.DEVNULL)

    ours_cmd = [str(args.aigate), "--config", str(project / "aigate.toml"), "sbom", "--env", str(venv),
                "-o", str(WORK / "aigate.json")]
    theirs_cmd = [str(TOOLS / "bin" / "cyclonedx-py"), "environment", str(venv),
                  "--output-file", str(WORK / "cyclonedx-py.json")]
    os.chdir(project)
    a_wall, a_cpu = timed(ours_cmd, args.runs, env=env)
    c_wall, c_cpu = timed(theirs_cmd, args.runs, env=env)
    ours = json.loads((WORK / "aigate.json").read_text())
    theirs = json.loads((WORK / "cyclonedx-py.json").read_text())

    def kinds(doc):
        out = {}
        for c in doc.get("components", []):
            out[c["type"]] = out.get(c["type"], 0) + 1
        return ", ".join(f"{n} {k}" for k, n in sorted(out.items()))

    print(f"environment: {args.packages} distributions; project: 3 models")
    print(f"{'tool':<28}{'wall ms':>10}{'cpu ms':>10}  components")
    print(f"{'aigate sbom':<28}{a_wall * 1000:>10.1f}{a_cpu * 1000:>10.1f}  {kinds(ours)}")
    print(f"{'cyclonedx-py environment':<28}{c_wall * 1000:>10.1f}{c_cpu * 1000:>10.1f}  {kinds(theirs)}")
    print(f"ratio cyclonedx-py / aigate: wall {c_wall / a_wall:.1f}x, cpu {c_cpu / a_cpu:.1f}x")
    print(f"target: aigate under 200 ms: {'met' if a_wall < 0.2 else 'NOT met'}")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
