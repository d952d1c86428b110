#!/usr/bin/env python3
"""The matrix of library versions aigate's allowlist is generated from, and the virtual
environments that hold them.

    python3 scripts/allowlist_matrix.py [ENV...]     # builds target/allowlist-matrix/ENV

Each environment is a CPython 3.11 virtual environment under `target/allowlist-matrix/`
(never committed), with wheels cached under `target/pip-cache/`. PyTorch from PyPI is a CUDA build that
does not import without its `nvidia-*` libraries, even on a CPU, so it is installed with its
dependencies (2 to 4 GB per version, downloaded once into the cache); set
`AIGATE_MATRIX_NO_TORCH=1` to leave it out (the collection then says torch was skipped). Versions are chosen to have CPython 3.11 wheels for linux
x86_64: the 2023 releases, the 2024 releases, and the current ones; and a `legacy` environment
on CPython 3.7 with the releases that wrote the old models people still load (gensim 3.8, statsmodels
0.9, scikit-learn 0.22), whose names current releases no longer have and which only importing those
releases can inspect. `scripts/gen_allowlist.py
--matrix` runs the collection in every environment and merges what they write.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "target" / "allowlist-matrix"
CACHE = ROOT / "target" / "pip-cache"

# name -> (packages installed together, torch version or None)
MATRIX = {
    # 2022-era: the oldest scikit-learn and PyTorch with CPython 3.11 wheels.
    "2022": (["numpy==1.24.4", "pandas==1.5.3", "scikit-learn==1.1.3", "joblib==1.1.1",
              "scipy==1.10.1"], "1.13.1"),
    # 2023-era.
    "2023": (["numpy==1.24.4", "pandas==2.0.3", "scikit-learn==1.3.2", "joblib==1.3.2",
              "scipy==1.11.4", "statsmodels==0.14.0", "gensim==4.3.2", "lightgbm==4.1.0",
              "xgboost==2.0.3", "nltk==3.8.1", "omegaconf==2.3.0"], "2.0.1"),
    # 2024-era: the last NumPy 1.x line, and the model libraries people pickled with it.
    "2024": (["numpy==1.26.4", "pandas==2.2.2", "scikit-learn==1.5.1", "joblib==1.4.2",
              "scipy==1.13.1", "statsmodels==0.14.2", "gensim==4.3.3", "lightgbm==4.5.0",
              "xgboost==2.1.1", "catboost==1.2.5", "nltk==3.9.1", "omegaconf==2.3.0",
              "spacy==3.7.5", "transformers==4.44.2", "accelerate==0.33.0"], "2.4.1"),
    # NumPy 2.0 with the pandas and scikit-learn of early 2025.
    "2025": (["numpy==2.0.2", "pandas==2.2.3", "scikit-learn==1.6.1", "joblib==1.4.2",
              "scipy==1.14.1"], "2.6.0"),
    # Current releases.
    "current": (["numpy==2.4.6", "pandas==3.1.1", "scikit-learn==1.9.1", "joblib==1.6.0",
                 "scipy==1.17.1", "statsmodels==0.15.0", "gensim==4.4.0", "lightgbm==4.7.0",
                 "xgboost==3.2.0", "catboost==1.2.10", "nltk==3.10.4", "omegaconf==2.3.1",
                 "spacy==3.8.18", "transformers==5.24.0", "accelerate==1.15.0"], "2.15.0"),
    # The releases that wrote the models people still keep and load: gensim 3.8.3 (the last
    # 3.x; its old_saveload loader reads every model gensim 0.12 to 3.x wrote, under the
    # names those wrote), statsmodels 0.9 (whose results pickles statsmodels' own tests still
    # read), scikit-learn 0.22 (the last with `sklearn.datasets.base`), and Morfessor 2.0.6
    # (the segmentation models gensim's VarEmbed wrapper loads). On CPython 3.7, the newest
    # those have wheels for; the NumPy, SciPy and pandas of their day.
    "legacy": (["numpy==1.16.6", "scipy==1.2.3", "pandas==0.24.2", "scikit-learn==0.22.2.post1",
                "joblib==0.14.1", "statsmodels==0.9.0", "gensim==3.8.3", "Morfessor==2.0.6"],
               None),
}
# The interpreter of an environment that is not CPython 3.11: $AIGATE_MATRIX_PYTHON37, or a
# pyenv installation of 3.7, or python3.7 on PATH.
PYTHON = {"legacy": "3.7"}


def interpreter(version):
    tag = version.replace(".", "")
    candidates = [os.environ.get(f"AIGATE_MATRIX_PYTHON{tag}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob(f"{version}.*/bin/python{version}"))[-1:]
    for c in candidates:
        if c and Path(c).exists():
            return c
    found = shutil.which(f"python{version}")
    if found and subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:
        return found
    return None


def python_of(env):
    return BASE / env / "bin" / "python"


def pip(env, *args):
    cmd = [str(python_of(env)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--cache-dir", str(CACHE), "--prefer-binary", *args]
    print("+ " + " ".join(cmd[3:]), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)


def build(env):
    packages, torch = MATRIX[env]
    done = BASE / env / ".aigate-built"
    if done.exists():
        return
    python = sys.executable
    if env in PYTHON:
        python = interpreter(PYTHON[env])
        if not python:
            raise subprocess.CalledProcessError(1, f"python{PYTHON[env]}", "not found")
    subprocess.run([python, "-m", "venv", "--clear", str(BASE / env)], check=True)
    pip(env, *packages)
    if torch and not os.environ.get("AIGATE_MATRIX_NO_TORCH"):
        # Pinned together with the rest, so that nothing else moves.
        pip(env, "torch" if torch == "latest" else f"torch=={torch}", *packages)
    done.write_text("\n".join(packages + ([f"torch=={torch}"] if torch else [])) + "\n")


def main():
    CACHE.mkdir(parents=True, exist_ok=True)
    envs = sys.argv[1:] or list(MATRIX)
    failed = []
    for env in envs:
        try:
            build(env)
            print(f"{env}: ready", file=sys.stderr, flush=True)
        except subprocess.CalledProcessError as err:
            failed.append(env)
            print(f"{env}: failed: {err}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
