#!/usr/bin/env python3
"""A local OSV-compatible query server for the audit benchmark: `POST /v1/query` with
{"package": {"name", "ecosystem": "PyPI"}, "version"} answers {"vulns": [...]} from the PyPA
advisory-database records in a folder (vulns/<package>/<ID>.yaml), as api.osv.dev would.

A test server for bench/audit.py only: it listens on 127.0.0.1, reads nothing but the records
folder, and matches versions with `packaging` (PEP 440), ECOSYSTEM ranges and `versions` lists,
skipping withdrawn records.

    python3 bench/osv_server.py RECORDS_DIR   # prints the port it listens on, then serves
"""

import datetime
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def rfc3339(value):
    """YAML timestamps as OSV's JSON writes them (`2023-07-20T14:52:00Z`)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def load(folder):
    """Records by the normalised name of every PyPI package they affect."""
    index = {}
    for path in sorted(Path(folder).rglob("*.yaml")):
        try:
            record = yaml.safe_load(path.read_text(encoding="utf-8"))
        except Exception:
            continue
        if not isinstance(record, dict) or record.get("withdrawn"):
            continue
        record = json.loads(json.dumps(record, default=rfc3339))
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("ecosystem") == "PyPI" and package.get("name"):
                index.setdefault(normalise(package["name"]), []).append(record)
    return index


def parse(text):
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


def in_range(version, events):
    affected = False
    for event in events:
        for kind, bound in event.items():
            if kind == "introduced":
                if bound == "0" or ((b := parse(bound)) is not None and version >= b):
                    affected = True
            elif kind == "fixed":
                if (b := parse(bound)) is not None and version >= b:
                    affected = False
            elif kind == "last_affected":
                if (b := parse(bound)) is not None and version > b:
                    affected = False
    return affected


def affects(record, name, version):
    for affected in record.get("affected") or []:
        package = affected.get("package") or {}
        if normalise(package.get("name", "")) != name:
            continue
        if any(parse(v) == version for v in affected.get("versions") or []):
            return True
        for r in affected.get("ranges") or []:
            if r.get("type") == "ECOSYSTEM" and in_range(version, r.get("events") or []):
                return True
    return False


def serve(records):
    index = load(records)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            query = json.loads(self.rfile.read(length) or b"{}")
            name = normalise((query.get("package") or {}).get("name", ""))
            version = parse(query.get("version", ""))
            vulns = []
            if version is not None:
                vulns = [r for r in index.get(name, []) if affects(r, name, version)]
            body = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1])
