#!/usr/bin/env python3
"""The union of the loaders' views of a file: every oracle applied to the file and,
recursively, to every member a container reader returns.

    python3 oracles/loaders.py FILE... [--json]

For each blob (the file, then each member):

* pickle: `pickle_oracle` (C unpickler over a buffered file and over BytesIO, pure-Python
  unpickler; stacked pickles; persistent ids accepted unless the blob starts like a zip);
* NumPy: when the blob starts with the `.npy` magic, `numpy_oracle` (header; object-array
  data unpickled as `numpy.load` does, from the member stream for zip members);
* joblib: `joblib_oracle` (`joblib.load`: compressor detection, decompression, NumpyUnpickler
  with inline arrays);
* zip: `zip_oracle` when `zipfile` opens the blob (prepended data included) and PyTorch's
  reader when torch is importable; each member is a blob one level down;
* tar: `tar_oracle` when `tarfile.open(mode='r:*')` opens it; each member read as a file is a
  blob one level down; PyTorch's legacy tar loop when there is a `storages` member.

Chains name the members from the outermost container in, as the container readers name
them. Everything runs in the sandbox of `_common.py`; nothing is extracted to disk.
"""

import os
import sys

import _common
from _common import require_sandbox

MAX_DEPTH = 8
MAX_BLOBS = 2000


def prepare(options):
    for name in ("numpy_oracle", "joblib_oracle", "zip_oracle"):
        __import__(name).prepare(options)
    import pickle_oracle, tar_oracle  # noqa: F401,E401


class View:
    def __init__(self, options):
        self.reads, self.listings, self.headers, self.notes = [], [], [], []
        self.blobs = 0
        self.options = options

    def blob(self, data, chain, open_stream=None, depth=0):
        require_sandbox()
        import joblib_oracle
        import numpy_oracle
        import pickle_oracle
        import tar_oracle
        import zip_oracle
        self.blobs += 1
        if self.blobs > MAX_BLOBS:
            self.notes.append({"chain": chain, "note": "blob limit %d reached" % MAX_BLOBS})
            return
        keep = self.options.get("events", False)
        self.reads.extend(pickle_oracle.pickle_reads(data, chain, keep_events=keep))
        if data.startswith(numpy_oracle.MAGIC):
            import io
            opener = open_stream or (lambda: io.BufferedReader(io.BytesIO(data)))
            header, reads = numpy_oracle.npy_reads(opener, chain)
            self.headers.append(header)
            self.reads.extend(self._strip(reads, keep))
        self.reads.extend(self._strip([joblib_oracle.joblib_read(data, chain)], keep))
        if depth >= MAX_DEPTH:
            self.notes.append({"chain": chain, "note": "nesting limit %d reached" % MAX_DEPTH})
            return
        listing, members = zip_oracle.zipfile_listing(data, chain)
        if "error" not in listing:
            self.listings.append(listing)
            tl, tmembers = zip_oracle.torch_listing(data, chain, zip_oracle.archive_prefix(listing))
            if tl is not None:
                self.listings.append(tl)
        else:
            tl, tmembers = zip_oracle.torch_listing(data, chain, None)
            if tl is not None and "error" not in tl:
                self.listings.append(tl)
        for name, content, opener in members:
            self.blob(content, chain + [name], opener, depth + 1)
        seen = {(name, zip_oracle._digest(content)) for name, content, _ in members}
        for name, content, _ in tmembers if tl is not None else ():
            if (name, zip_oracle._digest(content)) not in seen:  # bytes zipfile did not read
                self.blob(content, chain + [name], None, depth + 1)
        tlisting, tmembers = tar_oracle.tarfile_listing(data, chain)
        if "error" not in tlisting or tlisting["members"]:
            self.listings.append(tlisting)
            for name, content, _ in tmembers:
                self.blob(content, chain + [name], None, depth + 1)
            self.reads.extend(self._strip(tar_oracle.torch_legacy_reads(tmembers, chain), keep))

    @staticmethod
    def _strip(reads, keep):
        if not keep:
            for r in reads:
                r.pop("detail", None)
        return reads


def view_file(path, options):
    if os.path.isdir(path):
        return {"path": path, "error": {"type": "IsADirectory", "message": "pass files"}}
    with open(path, "rb") as f:
        data = f.read()
    v = View(options)
    v.blob(data, [])
    import zip_oracle
    return {"path": path, "size": len(data), "oracle": "loaders", "reads": v.reads,
            "listings": v.listings, "headers": v.headers, "notes": v.notes,
            "torch": zip_oracle.torch_version()}


if __name__ == "__main__":
    sys.exit(_common.cli("loaders:view_file", __doc__.splitlines()[1]))
