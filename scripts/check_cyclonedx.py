#!/usr/bin/env python3
"""Validate CycloneDX JSON documents with the CycloneDX project's own validator
(cyclonedx-python-lib, strict JSON validation: its bundled schemas of every version), beside the
Rust tests' validation against schemas/cyclonedx/.

    pip install "cyclonedx-python-lib[json-validation]"
    python3 scripts/check_cyclonedx.py sbom.json vex.json [...]

Each document is validated against the schema of its own specVersion.
"""

import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def main(paths):
    failed = 0
    for path in paths:
        text = open(path, encoding="utf-8").read()
        version = json.loads(text).get("specVersion", "")
        schema = getattr(SchemaVersion, "V" + version.replace(".", "_"), None)
        if schema is None:
            print(f"{path}: specVersion {version!r} is not one cyclonedx-python-lib knows")
            failed += 1
            continue
        error = JsonStrictValidator(schema).validate_str(text)
        if error is not None:
            print(f"{path}: CycloneDX {version}: {error}")
            failed += 1
        else:
            print(f"{path}: valid CycloneDX {version}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
