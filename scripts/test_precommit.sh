#!/usr/bin/env bash
# The pre-commit hooks, with the real pre-commit from PyPI: a throwaway git repository whose
# .pre-commit-config.yaml takes this checkout (at HEAD) as its hook repository, so pre-commit
# reads the real .pre-commit-hooks.yaml, clones the repository and pip-installs it (maturin
# builds aigate from the clone). Both hooks run: a clean commit of a pinned, approved project must
# pass; a staged malicious pickle must be refused by aigate-scan, and a commit that changes a
# pinned dataset must be refused by aigate-check, each naming the rule.
#
#   bash scripts/test_precommit.sh
#
# pre-commit clones the committed state: commit before running it. The build reuses the
# checkout's compiled dependencies (CARGO_TARGET_DIR is this checkout's target/); aigate's own
# crates are compiled again, since the clone's sources are newer than their artifacts.
# AIGATE_PRECOMMIT_PROFILE=release (the default) builds as a user's install does (about 3 min
# on two cores after `cargo build --release`; the checkout's next release build then relinks
# aigate). AIGATE_PRECOMMIT_PROFILE=dev passes `--profile dev` to maturin (MATURIN_PEP517_ARGS)
# and reuses what `cargo test --workspace` built (about 2 min); CI uses that.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD

PRE_COMMIT_VERSION=4.7.0
profile=${AIGATE_PRECOMMIT_PROFILE:-release}
# The aigate that pins the test project before its first commit (the hooks use their own).
case "$profile" in
  release) aigate=$checkout/target/release/aigate ;;
  *) aigate=$checkout/target/debug/aigate ;;
esac

fail() {
  echo "test_precommit: $*" >&2
  exit 1
}

[ -x "$aigate" ] || fail "$aigate is missing: build it first (cargo build, with --release for the release profile)"
for f in .pre-commit-hooks.yaml pyproject.toml; do
  git ls-files --error-unmatch "$f" >/dev/null 2>&1 || fail "$f is not committed; pre-commit clones HEAD, commit first"
done
if ! git diff --quiet HEAD -- .pre-commit-hooks.yaml pyproject.toml Cargo.toml Cargo.lock crates; then
  fail "the hooks, pyproject.toml or the crates differ from HEAD; pre-commit clones HEAD, commit first"
fi
rev=$(git rev-parse HEAD)

if ! target/precommit-venv/bin/pre-commit --version 2>/dev/null | grep -qx "pre-commit $PRE_COMMIT_VERSION"; then
  python3 -m venv target/precommit-venv
  target/precommit-venv/bin/pip install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION"
fi
pre_commit=$checkout/target/precommit-venv/bin/pre-commit

# The manifest itself, both hooks (aigate-check included), as pre-commit validates it.
"$pre_commit" validate-manifest .pre-commit-hooks.yaml

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A fresh pre-commit cache: the hook's environment is installed from nothing, as for a user.
export PRE_COMMIT_HOME=$work/pre-commit-home
export CARGO_TARGET_DIR=$checkout/target
# aigate's own user folders, away from this machine's (the hooks inherit the environment).
export AIGATE_CACHE_DIR=$work/aigate-cache AIGATE_CONFIG_DIR=$work/aigate-config
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
case "$profile" in
  release) unset MATURIN_PEP517_ARGS ;;
  dev) export MATURIN_PEP517_ARGS="--profile dev" ;;
  *) fail "AIGATE_PRECOMMIT_PROFILE must be release or dev, not '$profile'" ;;
esac

project=$work/project
mkdir -p "$project/models"
cd "$project"
git init -q .
git config user.name "aigate CI"
git config user.email "ci@aigate.invalid"
git config commit.gpgsign false
cat >.pre-commit-config.yaml <<EOF
repos:
  - repo: $checkout
    rev: $rev
    hooks:
      - id: aigate-scan
      - id: aigate-check
EOF
"$pre_commit" install >/dev/null

# A clean commit: a benign pickle (written, never loaded) and a dataset, declared in aigate.toml,
# pinned and approved in aigate.lock, with the custody log; the store stays out of git.
python3 -c 'import pickle, sys; open(sys.argv[1], "wb").write(pickle.dumps({"a": [1, 2]}))' models/clean.pkl
mkdir -p data
printf 'id,text\n1,hello\n' >data/tickets.csv
echo "a project with one benign pickle and one dataset" >README.txt
cat >aigate.toml <<'EOF'
[[model]]
name = "clean"
path = "models/clean.pkl"
owner = "ml-platform"

[[dataset]]
name = "tickets"
path = "data/tickets.csv"
owner = "data-eng"
EOF
printf '.aigate/*\n!.aigate/custody.jsonl\n' >.gitignore
"$aigate" lock --quiet >/dev/null
"$aigate" approve clean --by ci >/dev/null
"$aigate" approve tickets --by ci >/dev/null
git add .gitignore .pre-commit-config.yaml README.txt aigate.toml aigate.lock .aigate/custody.jsonl \
  models/clean.pkl data/tickets.csv
start=$(date +%s)
status=0
git commit -q -m "clean files" >"$work/clean.log" 2>&1 || status=$?
echo "first commit (installs the hook environment: clone and pip install, $profile profile): $(( $(date +%s) - start )) s"
if [ "$status" -ne 0 ]; then
  cat "$work/clean.log" >&2
  fail "the clean commit was refused (exit $status)"
fi
grep -q 'aigate scan.*Passed' "$work/clean.log" || { cat "$work/clean.log" >&2; fail "the aigate-scan hook did not run and pass on the clean commit"; }
grep -q 'aigate check.*Passed' "$work/clean.log" || { cat "$work/clean.log" >&2; fail "the aigate-check hook did not run and pass on the clean commit"; }

# A malicious pickle: __reduce__ returns (os.system, ("echo hi",)). pickle.dumps only writes
# the opcodes that would call it; nothing here ever loads the file.
python3 - models/evil.pkl <<'EOF'
import os, pickle, sys

class Payload:
    def __reduce__(self):
        return (os.system, ("echo hi",))

with open(sys.argv[1], "wb") as f:
    f.write(pickle.dumps(Payload(), protocol=2))
EOF
git add models/evil.pkl
start=$(date +%s)
status=0
git commit -q -m "a malicious pickle" >"$work/evil.log" 2>&1 || status=$?
echo "second commit (a staged malicious pickle): $(( $(date +%s) - start )) s"
if [ "$status" -eq 0 ]; then
  cat "$work/evil.log" >&2
  fail "git commit accepted a staged malicious pickle"
fi
grep -q 'aigate scan.*Failed' "$work/evil.log" || { cat "$work/evil.log" >&2; fail "the commit failed, but not by the aigate-scan hook"; }
grep -q 'pickle-unsafe-global' "$work/evil.log" || { cat "$work/evil.log" >&2; fail "the hook's output does not name pickle-unsafe-global"; }
grep -q 'models/evil.pkl' "$work/evil.log" || { cat "$work/evil.log" >&2; fail "the hook's output does not name models/evil.pkl"; }
[ "$(git rev-list --count HEAD)" -eq 1 ] || fail "a second commit was made"
grep -A3 'pickle-unsafe-global' "$work/evil.log" | head -n 2
git rm -q --cached models/evil.pkl
rm models/evil.pkl

# A pinned dataset changed after approval: no model file is staged, so aigate-scan is skipped and
# aigate-check (which runs on every commit) refuses it through verify.
printf 'id,text\n1,hello\n2,injected\n' >data/tickets.csv
git add data/tickets.csv
start=$(date +%s)
status=0
git commit -q -m "a changed dataset" >"$work/tampered.log" 2>&1 || status=$?
echo "third commit (a pinned dataset changed): $(( $(date +%s) - start )) s"
if [ "$status" -eq 0 ]; then
  cat "$work/tampered.log" >&2
  fail "git commit accepted a change to a pinned, approved dataset"
fi
grep -q 'aigate check.*Failed' "$work/tampered.log" || { cat "$work/tampered.log" >&2; fail "the commit failed, but not by the aigate-check hook"; }
grep -q 'verify-file-modified' "$work/tampered.log" || { cat "$work/tampered.log" >&2; fail "the aigate-check hook's output does not name verify-file-modified"; }
[ "$(git rev-list --count HEAD)" -eq 1 ] || fail "a commit was made"
echo "test_precommit: the clean commit passed; the malicious pickle was refused by aigate-scan and the changed dataset by aigate-check"
