#!/usr/bin/env bash
# The Python package: builds the wheel (maturin, bin bindings, pyproject.toml) and the sdist from
# this checkout, installs the wheel the three ways Python teams install tools (pip into a fresh
# venv, `uv tool install`, `pipx install`; uv and pipx from PyPI at pinned versions) and runs each
# installed `aigate`; last, `cargo install --path crates/aigate --locked` installs it too.
#
#   bash scripts/test_wheel.sh
#
# The wheel is built with the release profile into the default target directory, and with
# `--strip false`: then maturin runs `cargo rustc --release --locked --bin aigate` with no extra
# flags, which after `cargo build --release --locked -p aigate` is all fresh (4 s). pyproject.toml's
# `strip = true` adds `-C strip=symbols` for the aigate crate, a different unit that costs one
# more compile of it (2.5-3 min on two cores); the release wheels and `pip install .` strip.
# Leaves target/wheels/*.whl, target/maturin-venv (maturin) and target/wheel-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

MATURIN_VERSION=1.16.0
UV_VERSION=0.13.9
PIPX_VERSION=1.18.4

fail() {
  echo "test_wheel: $*" >&2
  exit 1
}

expected_version=$(cargo metadata --no-deps --locked --format-version 1 \
  | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "aigate"))')

if ! target/maturin-venv/bin/maturin --version 2>/dev/null | grep -qx "maturin $MATURIN_VERSION"; then
  python3 -m venv target/maturin-venv
  target/maturin-venv/bin/pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
fi
maturin=target/maturin-venv/bin/maturin

rm -rf target/wheels
# No extra RUSTFLAGS either: they would change every crate's fingerprint and rebuild them all.
env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u MATURIN_STRIP \
  "$maturin" build --release --locked --strip false --quiet -o target/wheels
shopt -s nullglob
wheels=(target/wheels/aigate-"$expected_version"-*.whl)
shopt -u nullglob
[ "${#wheels[@]}" -eq 1 ] || fail "expected one wheel target/wheels/aigate-$expected_version-*.whl, found: $(ls target/wheels)"
wheel=${wheels[0]}
echo "wheel: $wheel ($(du -k "$wheel" | cut -f1) KiB)"

# The wheel holds the binary as a script and metadata that matches Cargo.toml; nothing else.
python3 - "$wheel" "$expected_version" <<'EOF'
import sys, zipfile
wheel, version = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
data = f"aigate-{version}.data/scripts/"
if not any(n in (data + "aigate", data + "aigate.exe") for n in names):
    sys.exit(f"test_wheel: the wheel has no {data}aigate: {names}")
meta = zipfile.ZipFile(wheel).read(f"aigate-{version}.dist-info/METADATA").decode()
for line in (f"Version: {version}", "Name: aigate", "Requires-Python: >=3.9"):
    if line not in meta.splitlines():
        sys.exit(f"test_wheel: METADATA lacks {line!r}")
if not any(l in ("License-Expression: Apache-2.0", "License: Apache-2.0") for l in meta.splitlines()):
    sys.exit("test_wheel: METADATA does not give the licence Apache-2.0")
licences = [n for n in names if n.startswith(f"aigate-{version}.dist-info/") and "LICENSE" in n]
if not licences:
    sys.exit(f"test_wheel: the wheel carries no LICENSE in its dist-info: {names}")
extra = [n for n in names if not n.startswith((data, f"aigate-{version}.dist-info/"))]
if extra:
    sys.exit(f"test_wheel: unexpected files in the wheel: {extra}")
EOF

# The sdist: the crates, Cargo.lock and pyproject.toml, without test data or fuzzing.
rm -rf target/sdist
"$maturin" sdist -o target/sdist >/dev/null 2>&1 || fail "maturin sdist failed"
sdist=$(ls target/sdist/aigate-"$expected_version".tar.gz) || fail "no sdist in target/sdist"
python3 - "$sdist" "$expected_version" <<'EOF'
import sys, tarfile
sdist, version = sys.argv[1], sys.argv[2]
root = f"aigate-{version}/"
names = [n[len(root):] for n in tarfile.open(sdist).getnames()]
for needed in ("pyproject.toml", "Cargo.toml", "Cargo.lock", "README.md", "crates/aigate/Cargo.toml",
               "crates/aigate/src/main.rs", "crates/aigate-scan/data/denylist.txt"):
    if needed not in names:
        sys.exit(f"test_wheel: the sdist lacks {needed}")
bad = [n for n in names if n.startswith(("fixtures/", "fuzz/", "bench/", "oracles/", "target/"))
       or "/tests/" in n]
if bad:
    sys.exit(f"test_wheel: the sdist carries test data: {bad[:10]}")
EOF
echo "sdist: $sdist ($(du -k "$sdist" | cut -f1) KiB)"

rm -rf target/wheel-venv
python3 -m venv target/wheel-venv
target/wheel-venv/bin/pip install --quiet --disable-pip-version-check --no-index "$wheel"
installed=target/wheel-venv/bin/aigate
[ -x "$installed" ] || fail "installing the wheel put no aigate in target/wheel-venv/bin"

version_line=$("$installed" --version)
[ "$version_line" = "aigate $expected_version" ] \
  || fail "aigate --version printed '$version_line', expected 'aigate $expected_version'"
echo "$installed --version: $version_line"

status=0
"$installed" scan examples/ >target/wheel-scan.txt 2>&1 || status=$?
if [ "$status" -ne 1 ]; then
  cat target/wheel-scan.txt >&2
  fail "aigate scan examples/ from the wheel exited $status, expected 1 (the malicious checkpoint)"
fi
grep -q 'pickle-unsafe-global' target/wheel-scan.txt \
  || fail "aigate scan examples/ from the wheel did not report pickle-unsafe-global"
echo "$installed scan examples/: exit 1, $(tail -n 1 target/wheel-scan.txt)"

# `uv tool install` and `pipx install` of the same wheel, each into its own throwaway homes so
# that nothing of this machine's tools is touched; neither needs the network for a wheel with no
# dependencies (pipx may refresh its shared pip from PyPI).
tools=target/wheel-tools
rm -rf "$tools"
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION" "pipx==$PIPX_VERSION"
absolute_wheel=$PWD/$wheel
UV_TOOL_DIR=$PWD/$tools/uv UV_TOOL_BIN_DIR=$PWD/$tools/uv-bin UV_CACHE_DIR=$PWD/$tools/uv-cache \
  UV_PYTHON_DOWNLOADS=never UV_NO_CONFIG=1 \
  "$tools/venv/bin/uv" tool install --quiet --python "$(command -v python3)" "$absolute_wheel" \
  || fail "uv tool install of the wheel failed"
PIPX_HOME=$PWD/$tools/pipx PIPX_BIN_DIR=$PWD/$tools/pipx-bin PIPX_MAN_DIR=$PWD/$tools/pipx-man \
  "$tools/venv/bin/pipx" install --quiet --python "$(command -v python3)" "$absolute_wheel" >/dev/null \
  || fail "pipx install of the wheel failed"
for tool in uv pipx; do
  bin=$tools/$tool-bin/aigate
  [ -x "$bin" ] || fail "$tool installed no aigate in $tools/$tool-bin"
  line=$("$bin" --version)
  [ "$line" = "aigate $expected_version" ] || fail "aigate from $tool printed '$line'"
  status=0
  "$bin" scan examples/ >"$tools/$tool-scan.txt" 2>&1 || status=$?
  [ "$status" -eq 1 ] || { cat "$tools/$tool-scan.txt" >&2; fail "aigate scan examples/ from $tool exited $status, expected 1"; }
  echo "$tool-installed $bin: $line; scan examples/: exit 1"
done

# `cargo install --path crates/aigate --locked`, the Rust way, into a throwaway root. With the
# release build above in the same target directory it compiles nothing and copies the binary.
root=$PWD/target/cargo-install
rm -rf "$root"
env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS CARGO_TARGET_DIR="$PWD/target" \
  cargo install --path crates/aigate --locked --root "$root" --quiet \
  || fail "cargo install --path crates/aigate --locked failed"
line=$("$root/bin/aigate" --version)
[ "$line" = "aigate $expected_version" ] || fail "aigate from cargo install printed '$line'"
echo "cargo-installed $root/bin/aigate: $line"
