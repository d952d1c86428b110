#!/usr/bin/env bash
# Shell completions, exercised by the real shells: bash completes `aigate ch` to `check` and
# `aigate check --allow-m` to `--allow-missing`; zsh and fish (when installed) accept their
# scripts. Usage: scripts/test_completions.sh path/to/aigate
set -euo pipefail
aigate=${1:?usage: $0 path/to/aigate}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$aigate" completions bash > "$work/aigate.bash"
bash -n "$work/aigate.bash"
got=$(bash -c '
  source "$1"
  COMP_WORDS=(aigate ch); COMP_CWORD=1; COMP_LINE="aigate ch"; COMP_POINT=${#COMP_LINE}
  _aigate aigate ch aigate
  printf "%s\n" "${COMPREPLY[@]}"
' _ "$work/aigate.bash")
if ! grep -qx check <<<"$got"; then
  echo "bash: completing 'aigate ch' gave: $got" >&2
  exit 1
fi
got=$(bash -c '
  source "$1"
  COMP_WORDS=(aigate check --allow-m); COMP_CWORD=2; COMP_LINE="aigate check --allow-m"; COMP_POINT=${#COMP_LINE}
  _aigate aigate --allow-m check
  printf "%s\n" "${COMPREPLY[@]}"
' _ "$work/aigate.bash")
if ! grep -qx -- --allow-missing <<<"$got"; then
  echo "bash: completing 'aigate check --allow-m' gave: $got" >&2
  exit 1
fi
echo "bash: completions work"

if command -v zsh >/dev/null 2>&1; then
  "$aigate" completions zsh > "$work/_aigate"
  zsh -n "$work/_aigate"
  echo "zsh: script parses"
else
  echo "zsh: not installed; skipped"
fi
if command -v fish >/dev/null 2>&1; then
  "$aigate" completions fish > "$work/aigate.fish"
  fish --no-execute "$work/aigate.fish"
  errors=$(fish -c "source $work/aigate.fish" 2>&1 >/dev/null)
  if [ -n "$errors" ]; then
    echo "fish: the script does not load cleanly: $errors" >&2
    exit 1
  fi
  got=$(fish -c "source $work/aigate.fish; complete -C 'aigate ch'")
  if ! grep -q '^check' <<<"$got"; then
    echo "fish: completing 'aigate ch' gave: $got" >&2
    exit 1
  fi
  echo "fish: completions work"
else
  echo "fish: not installed; skipped"
fi
