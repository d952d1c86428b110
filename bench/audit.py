#!/usr/bin/env python3
"""Audit benchmark: aigate audit against pip-audit over the same advisory records, in one run.

A 1,000-package requirements file is generated from the most popular PyPI names
(crates/aigate-policy/data/pypi-popular.txt): every package that has advisories in the shipped
PyPA records (crates/aigate-advisory/tests/data/pypa) is pinned to a version inside an affected
range, the others to 1.0.0. aigate imports the records once (`aigate db update --from`, timed
apart) and audits the file; the whole process is timed, loading the database included.
pip-audit 2.10.1 (installed here from PyPI) audits the same file with `-s osv --osv-url` pointed
at bench/osv_server.py, a local OSV-compatible server over the same records; each run gets a fresh
cache, so that it queries every package. Reported: median wall and CPU time (user + system from
wait4) of each, the ratio, and whether both found the same advisories per package (aigate merges
records linked by aliases into one finding, so the comparison is by alias sets), with every
difference listed.

    python3 bench/audit.py [--runs 10] [--no-build] [--packages 1000]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policy import timed  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work" / "audit"
TOOLS = REPO / "bench" / "work" / "audit-tools"
RECORDS = REPO / "crates" / "aigate-advisory" / "tests" / "data" / "pypa"
POPULAR = REPO / "crates" / "aigate-policy" / "data" / "pypi-popular.txt"


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def tools_python():
    python = TOOLS / "bin" / "python"
    if not (TOOLS / "bin" / "pip-audit").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "pip-audit==2.10.1", "packaging", "PyYAML"], check=True)
    return python


def affected_version(python, folder):
    """For each package with advisories, one version an advisory's ECOSYSTEM range or list hits."""
    script = r'''
import json, sys, yaml
from pathlib import Path
from packaging.version import Version, InvalidVersion
out = {}
for path in sorted(Path(sys.argv[1]).glob("*/*.yaml")):
    try:
        r = yaml.safe_load(path.read_text())
    except Exception:
        continue
    if not isinstance(r, dict) or r.get("withdrawn"):
        continue
    for a in r.get("affected") or []:
        name = path.parent.name
        for v in a.get("versions") or []:
            try:
                Version(str(v))
            except InvalidVersion:
                continue
            out.setdefault(name, str(v))
print(json.dumps(out))
'''
    text = subprocess.run([str(python), "-c", script, str(folder / "vulns")], check=True,
                          capture_output=True, text=True).stdout
    return {normalise(k): v for k, v in json.loads(text).items()}


def requirements(python, count):
    hit = affected_version(python, RECORDS)
    names = [n.strip() for n in POPULAR.read_text().splitlines() if n.strip() and not n.startswith("#")]
    chosen, seen = [], set()
    for name in list(hit) + [normalise(n) for n in names]:
        if name not in seen and len(chosen) < count:
            seen.add(name)
            chosen.append(f"{name}=={hit.get(name, '1.0.0')}")
    return chosen


def aigate_found(report):
    found = {}
    for f in report["findings"]:
        if f["rule"] in ("audit-vulnerability", "audit-malicious-package"):
            name = f["location"]["subject"].split("/", 1)[1].split("@")[0]
            found.setdefault(name, []).append(set(f["details"]["ids"].split(", ")))
    return found


def pip_audit_found(report):
    found = {}
    for dep in report.get("dependencies", []):
        for v in dep.get("vulns", []):
            found.setdefault(normalise(dep["name"]), []).append({v["id"], *v.get("aliases", [])})
    return found


def compare(ours, theirs):
    """Differences per package: advisories one tool reports that share no id with the other's."""
    diffs = []
    for name in sorted(set(ours) | set(theirs)):
        a, b = ours.get(name, []), theirs.get(name, [])
        only_a = [g for g in a if not any(g & h for h in b)]
        only_b = [h for h in b if not any(h & g for g in a)]
        for g in only_a:
            diffs.append((name, "aigate only", sorted(g)))
        for h in only_b:
            diffs.append((name, "pip-audit only", sorted(h)))
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--packages", type=int, default=1000)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--aigate", type=Path, default=REPO / "target" / "release" / "aigate")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "aigate"], cwd=REPO, check=True)
    python = tools_python()
    WORK.mkdir(parents=True, exist_ok=True)
    req = WORK / "requirements.txt"
    lines = requirements(python, args.packages)
    req.write_text("\n".join(lines) + "\n")

    cache = WORK / "cache"
    env = dict(os.environ, AIGATE_CACHE_DIR=str(cache), PIP_CONFIG_FILE="/dev/null")
    env.pop("VIRTUAL_ENV", None)
    start = time.perf_counter()
    subprocess.run([str(args.aigate), "db", "update", "--from", str(RECORDS), "--quiet"], env=env, check=True)
    imported = time.perf_counter() - start

    audit = [str(args.aigate), "audit", "-r", str(req), "--format", "json"]
    out = subprocess.run(audit, env=env, capture_output=True, text=True)
    ours = aigate_found(json.loads(out.stdout))
    a_wall, a_cpu = timed(audit, args.runs, env=env)

    server = subprocess.Popen([str(python), str(REPO / "bench" / "osv_server.py"), str(RECORDS / "vulns")],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/v1/query"
        pa_cache = Path(tempfile.mkdtemp(prefix="pip-audit-cache-"))
        pip_audit = [str(TOOLS / "bin" / "pip-audit"), "-r", str(req), "--no-deps", "--disable-pip",
                     "-s", "osv", "--osv-url", url, "--cache-dir", str(pa_cache),
                     "--progress-spinner", "off", "-f", "json", "--aliases", "on"]

        def fresh():
            subprocess.run(["rm", "-rf", str(pa_cache)], check=True)
            pa_cache.mkdir()

        fresh()
        out = subprocess.run(pip_audit, capture_output=True, text=True)
        theirs = pip_audit_found(json.loads(out.stdout))
        p_wall, p_cpu = timed(pip_audit, args.runs, fresh=fresh)
    finally:
        server.terminate()

    diffs = compare(ours, theirs)
    print(f"packages audited: {len(lines)}, advisory records: {sum(1 for _ in (RECORDS / 'vulns').glob('*/*.yaml'))}")
    print(f"aigate db update --from (one-off import and index build): {imported * 1000:.0f} ms")
    print(f"{'tool':<34}{'wall ms':>10}{'cpu ms':>10}{'findings':>10}")
    print(f"{'aigate audit (whole process)':<34}{a_wall * 1000:>10.1f}{a_cpu * 1000:>10.1f}{sum(map(len, ours.values())):>10}")
    print(f"{'pip-audit -s osv (local server)':<34}{p_wall * 1000:>10.1f}{p_cpu * 1000:>10.1f}{sum(map(len, theirs.values())):>10}")
    print(f"ratio pip-audit / aigate: wall {p_wall / a_wall:.1f}x, cpu {p_cpu / a_cpu:.1f}x")
    print(f"target: aigate under 300 ms: {'met' if a_wall < 0.3 else 'NOT met'}")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    if diffs:
        print(f"{len(diffs)} differences:")
        for name, side, ids in diffs:
            print(f"  {name}: {side}: {', '.join(ids)}")
    else:
        print("both found the same advisories for every package")
    return 0


if __name__ == "__main__":
    sys.exit(main())
