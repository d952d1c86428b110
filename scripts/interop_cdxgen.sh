#!/usr/bin/env bash
# aigate against cdxgen (OWASP CycloneDX generator, from npm), on the example project:
#   1. what each SBOM records: components by type, and how many models and datasets carry the
#      SHA-256 of their weights;
#   2. `aigate sbom --check` on cdxgen's AI-BOM names what it lacks: the models and datasets it
#      misses, and the model it lists without any hash (sbom-artifact-unhashed, never the
#      "other bytes" alarm sbom-artifact-hash-differs), while aigate's own SBOM passes.
#
#   bash scripts/interop_cdxgen.sh [path/to/aigate]
#
# Needs node and npm (cdxgen 12.8.4 is installed under target/cdxgen).
set -euo pipefail
cd "$(dirname "$0")/.."
AIGATE=$(realpath "${1:-target/release/aigate}")
CDXGEN_VERSION=12.8.4
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
work=target/cdxgen
mkdir -p "$work"
if [ ! -x "$work/node_modules/.bin/cdxgen" ]; then
  npm install --prefix "$work" --silent --no-audit --no-fund "@cyclonedx/cdxgen@$CDXGEN_VERSION" >/dev/null
fi
rm -rf "$work/proj" && cp -r examples "$work/proj" && cp fixtures/python/uv/uv.lock "$work/proj/"
(cd "$work/proj" && "$AIGATE" lock --quiet >/dev/null)
# The Python inventory and the AI inventory together; nothing installed, nothing fetched.
FETCH_LICENSE=false "$work/node_modules/.bin/cdxgen" -t python -t ai --profile ml --no-install-deps \
  -o "$work/cdxgen.json" "$work/proj" >"$work/cdxgen.log" 2>&1
(cd "$work/proj" && "$AIGATE" sbom --lock uv.lock -r requirements.txt -o ../aigate.json)

status=0
(cd "$work/proj" && "$AIGATE" sbom --check ../aigate.json --format json >../check-aigate.json) || status=$?
if [ "$status" -ne 0 ]; then
  echo "aigate sbom --check on aigate's own SBOM exited $status" >&2
  exit 1
fi
status=0
(cd "$work/proj" && "$AIGATE" sbom --check ../cdxgen.json --format json >../check-cdxgen.json) || status=$?
if [ "$status" -ne 1 ]; then
  echo "aigate sbom --check on cdxgen's SBOM exited $status, expected 1" >&2
  exit 1
fi

python3 - "$work" "$CDXGEN_VERSION" <<'EOF'
import collections
import json
import sys

work, version = sys.argv[1], sys.argv[2]


def load(name):
    with open(f"{work}/{name}", encoding="utf-8") as f:
        return json.load(f)


def components(doc):
    stack, out = list(doc.get("components", [])), []
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.get("components", []))
    return out


def hashed(c):
    own = any(h.get("alg") == "SHA-256" for h in c.get("hashes", []))
    return own or any(hashed(s) for s in c.get("components", []))


print(f"{'':34} {'aigate':>8} {'cdxgen ' + version:>14}")
docs = {"aigate": load("aigate.json"), "cdxgen": load("cdxgen.json")}
rows = collections.OrderedDict()
for tool, doc in docs.items():
    top = doc.get("components", [])
    for kind in ("library", "framework", "machine-learning-model", "data"):
        rows.setdefault(f"{kind} components", {})[tool] = sum(c["type"] == kind for c in top)
    ml = [c for c in top if c["type"] in ("machine-learning-model", "data")]
    rows.setdefault("models/datasets with SHA-256", {})[tool] = sum(hashed(c) for c in ml)
    rows.setdefault("models with a modelCard", {})[tool] = sum("modelCard" in c for c in ml)
    rows.setdefault("dependency graph entries", {})[tool] = len(doc.get("dependencies", []))
for label, counts in rows.items():
    print(f"{label:34} {counts.get('aigate', 0):>8} {counts.get('cdxgen', 0):>14}")

report = load("check-cdxgen.json")
by_subject = {}
for f in report["findings"]:
    if f["rule"].startswith("sbom-artifact"):
        by_subject[f["location"].get("subject", "")] = f["rule"]
print("\naigate sbom --check on cdxgen's SBOM:")
for subject, rule in sorted(by_subject.items()):
    print(f"  {subject:34} {rule}")
expected = {
    "model:tiny-net": "sbom-artifact-unhashed",
    "model:churn-forest": "sbom-artifact-missing",
    "model:downloaded-checkpoint": "sbom-artifact-missing",
    "dataset:embeddings": "sbom-artifact-missing",
}
if by_subject != expected:
    sys.exit(f"expected {expected}, got {by_subject}")
if any(f["rule"].startswith("sbom-artifact") for f in load("check-aigate.json")["findings"]):
    sys.exit("aigate's own SBOM does not pass its check")
EOF
