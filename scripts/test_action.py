"""Runs the shell steps of action.yml (the composite GitHub Action) as the runner would.

    python scripts/test_action.py WHEEL_DIR

Each `shell: bash` step runs as GitHub runs it (`bash --noprofile --norc -eo pipefail`), with
its `env` and `working-directory` expressions filled in from the inputs, the earlier steps'
outputs, and GITHUB_OUTPUT / GITHUB_PATH files. The `uses:` steps (setup-python, upload-sarif)
need GitHub and are not run; their conditions are checked as text. Installing uses the wheel
in WHEEL_DIR through pip's find-links with no index, so nothing comes from PyPI: the install
step's identity check is tried on the real wheel and on a look-alike wheel named aigate.

Needs ruamel.yaml (check-jsonschema's YAML reader).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parent.parent
ACTION = YAML(typ="safe").load((REPO / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]


def fail(message: str) -> None:
    sys.exit(f"test_action: {message}")


def step(name_start: str) -> dict:
    for s in STEPS:
        if s.get("name", "").startswith(name_start):
            return s
    fail(f"action.yml has no step named {name_start!r}...")
    raise AssertionError


class Runner:
    """One job: the inputs, the outputs so far, the PATH additions."""

    def __init__(self, inputs: dict[str, str], temp: Path):
        self.inputs = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            fail(f"no such inputs in action.yml: {unknown}")
        self.inputs.update(inputs)
        self.temp = temp
        self.outputs: dict[str, dict[str, str]] = {}
        self.path: list[str] = []

    def expr(self, text: str) -> str:
        def value(m: re.Match) -> str:
            e = m.group(1).strip()
            if e.startswith("inputs."):
                return self.inputs[e[len("inputs."):]]
            if e == "github.action_path":
                return str(REPO)
            if e == "runner.temp":
                return str(self.temp)
            m2 = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", e)
            if m2:
                return self.outputs.get(m2.group(1), {}).get(m2.group(2), "")
            fail(f"an expression the test does not know: {e}")
            raise AssertionError

        return re.sub(r"\$\{\{(.*?)\}\}", value, text)

    def run(self, s: dict) -> subprocess.CompletedProcess:
        if s.get("shell") != "bash":
            fail(f"step {s.get('name')!r} is not a bash step")
        out = self.temp / "github_output"
        path = self.temp / "github_path"
        out.write_text("")
        path.write_text("")
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env["PATH"] = os.pathsep.join([*reversed(self.path), env["PATH"]])
        env.update({k: self.expr(str(v)) for k, v in s.get("env", {}).items()})
        env.update(GITHUB_OUTPUT=str(out), GITHUB_PATH=str(path))
        script = self.temp / "step.sh"
        script.write_text(s["run"])
        cwd = self.temp / self.expr(s.get("working-directory", "."))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
        )
        if "id" in s:
            self.outputs[s["id"]] = dict(
                line.split("=", 1) for line in out.read_text().splitlines() if "=" in line
            )
        self.path += [p for p in path.read_text().splitlines() if p]
        return proc


def fake_wheel(directory: Path) -> Path:
    """A wheel named aigate that is not this project's (no Project-URL of it), doing nothing."""
    name = "aigate-9.9.9"
    files = {
        f"{name}.dist-info/METADATA": "Metadata-Version: 2.1\nName: aigate\nVersion: 9.9.9\n"
        "Project-URL: Homepage, https://example.invalid/someone-else\n",
        f"{name}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test_action\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}.dist-info/RECORD,,")
    files[f"{name}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return wheel


def main() -> None:
    if len(sys.argv) != 2:
        fail("usage: test_action.py WHEEL_DIR")
    wheels = Path(sys.argv[1]).resolve()
    version = next(wheels.glob("aigate-*.whl")).name.split("-")[1]
    install, run, verdict = step("Install aigate"), step("Run aigate"), step("aigate's verdict")
    upload = step("Upload the SARIF")
    for needed in ("always()", "inputs.upload-sarif == 'true'", "steps.run.outputs.sarif-file != ''"):
        if needed not in upload.get("if", ""):
            fail(f"the upload step's condition lacks {needed}")
    if not upload.get("uses", "").startswith("github/codeql-action/upload-sarif@"):
        fail("the upload step does not use github/codeql-action/upload-sarif")
    if "always()" not in verdict.get("if", ""):
        fail("the verdict step does not run after a failed upload")

    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    with tempfile.TemporaryDirectory() as t:
        temp = Path(t)
        os.environ.update(offline)

        # The real wheel, by version: installed, identity accepted, aigate on PATH.
        job = Runner({"version": f"v{version}", "args": "scan models/"}, temp)
        proc = job.run(install)
        if proc.returncode != 0:
            fail(f"the install step failed:\n{proc.stdout}{proc.stderr}")
        if f"aigate {version}" not in proc.stdout:
            fail(f"the install step did not print aigate {version}:\n{proc.stdout}")
        print(f"install step: aigate {version} from the wheel, identity accepted")

        shutil.copytree(REPO / "examples" / "models", temp / "models")
        proc = job.run(run)
        out = job.outputs["run"]
        if proc.returncode != 0 or out.get("exit-code") != "1":
            fail(f"the run step on the examples: step exit {proc.returncode}, outputs {out}\n{proc.stderr}")
        sarif = json.loads(Path(out["sarif-file"]).read_text())
        if Path(out["sarif-file"]) != temp / "aigate.sarif" or sarif.get("version") != "2.1.0":
            fail(f"the SARIF report is not where asked or not SARIF 2.1.0: {out}")
        rules = {r.get("ruleId") for r in sarif["runs"][0].get("results", [])}
        if "pickle-unsafe-global" not in rules:
            fail(f"the SARIF report lacks pickle-unsafe-global: {rules}")
        proc = job.run(verdict)
        if proc.returncode != 1 or "::error::" not in proc.stdout:
            fail(f"the verdict step on findings exited {proc.returncode}:\n{proc.stdout}")
        print("run step on the examples: exit-code 1, SARIF 2.1.0 with pickle-unsafe-global; verdict fails with 1")

        for args, code in (("scan models/tiny-net", "0"), ("scan no-such-folder", "2")):
            job.inputs.update(args=args, **{"sarif-file": "reports/out.sarif"})
            (temp / "reports").mkdir(exist_ok=True)
            proc = job.run(run)
            got = job.outputs["run"].get("exit-code")
            if proc.returncode != 0 or got != code:
                fail(f"the run step with `{args}`: step exit {proc.returncode}, exit-code {got}, expected {code}")
            proc = job.run(verdict)
            if str(proc.returncode) != code:
                fail(f"the verdict step for exit-code {code} exited {proc.returncode}")
            print(f"run step with `{args}`: exit-code {code}; verdict exits {code}")

        # A look-alike named aigate: the install step must refuse it.
        other = temp / "other-wheels"
        other.mkdir()
        fake_wheel(other)
        os.environ["PIP_FIND_LINKS"] = str(other)
        job = Runner({"version": "9.9.9"}, temp / "other-wheels")
        proc = job.run(install)
        if proc.returncode == 0 or "is not aigate-dev/aigate's" not in proc.stdout + proc.stderr:
            fail(f"the install step accepted a package named aigate from someone else:\n{proc.stdout}{proc.stderr}")
        if job.path:
            fail("the install step put a foreign aigate on PATH")
        print("install step: a look-alike package named aigate is refused")
    print("test_action: every check passed")


if __name__ == "__main__":
    main()
