#!/usr/bin/env python3
"""The tar oracle: the members Python's `tarfile` lists and the bytes it reads for each,
with `tarfile.open(mode='r:*')`'s transparent gzip/bz2/xz decompression (the reader
PyTorch's legacy format and many tools use), and PyTorch's reading of its 2017 tar format.

    python3 oracles/tar_oracle.py FILE... [--json]

For every member `tarfile` lists (after GNU long names, PAX and Solaris extended headers and
PAX global headers are applied, as `tarfile` applies them): name, typeflag, size, header
offset, data offset, PAX keys, link name, and whether `extractfile` reads it as a file
(regular and unknown types; links are followed to their target, which is listed itself).
Member bytes are read with `extractfile`, up to a cap, keeping what was read before an error.
Nothing is extracted to disk.

PyTorch's legacy tar (`torch.load` on a tar with a `storages` member): its own reading loop,
reimplemented from `torch/serialization.py` `legacy_load` (torch need not be installed):
`storages` is a count pickle, then per storage a pickle `(key, location, storage_type)` and
raw data (an int64 element count, then count * element size bytes, the size taken from the
storage class name as `torch._utils._element_size` gives it), then a views pickle; `tensors`
is a count pickle, then per tensor a pickle and 4 + 4 + 16 * ndim + 8 raw bytes; `pickle` is
one load with persistent ids. Each of these loads is the restricted C unpickler of
`_common.py` over a stream without `peek` (torch opens them unbuffered) or, for `pickle`,
over `extractfile`'s buffered stream, inside the sandbox.
"""

import hashlib
import io
import struct
import sys
import tarfile

import _common
from _common import Recording, SafeCUnpickler, describe_error, loading, require_sandbox

MEMBER_CAP = 64 << 20
MAX_MEMBERS = 10000

# torch._utils._element_size by legacy storage class name.
ELEMENT_SIZE = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1,
    "BoolStorage": 1, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
    "QUInt8Storage": 1, "QInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
}


def read_stream(stream, cap=MEMBER_CAP):
    chunks, total = [], 0
    try:
        while total < cap:
            chunk = stream.read(min(1 << 16, cap - total))
            if not chunk:
                return b"".join(chunks), None
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks), {"type": "Capped", "message": "read capped at %d bytes" % cap}
    except _common.OracleTimeout:
        raise
    except Exception as exc:
        return b"".join(chunks), describe_error(exc)


def tarfile_listing(data, chain):
    """`tarfile`'s reading of `data`: (listing, members) with (name, bytes, None) for every
    member `extractfile` reads as a file."""
    listing = {"chain": list(chain), "loader": "tarfile", "members": []}
    members = []
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except _common.OracleTimeout:
        raise
    except Exception as exc:
        listing["error"] = describe_error(exc)
        return listing, members
    listing["compression"] = {"_Stream": "?", "GzipFile": "gzip", "BZ2File": "bz2",
                              "LZMAFile": "xz"}.get(type(tf.fileobj).__name__, "none")
    try:
        while len(tf.members) < MAX_MEMBERS and tf.next() is not None:
            pass
    except _common.OracleTimeout:
        raise
    except Exception as exc:
        listing["error"] = describe_error(exc)
    for index, info in enumerate(tf.members):
        m = {"index": index, "name": info.name, "type": info.type.decode("latin-1"),
             "size": info.size, "header_offset": info.offset, "data_offset": info.offset_data,
             "pax_keys": sorted(info.pax_headers)[:16], "linkname": info.linkname}
        as_file = info.isreg() or info.type not in tarfile.SUPPORTED_TYPES
        m["read_as_file"] = as_file
        if as_file:
            try:
                stream = tf.extractfile(info)
                content, error = read_stream(stream)
            except _common.OracleTimeout:
                raise
            except Exception as exc:
                content, error = b"", describe_error(exc)
            m["read_bytes"] = len(content)
            m["sha256"] = hashlib.sha256(content).hexdigest()[:16]
            if error:
                m["error"] = error
            members.append((info.name, content, None))
        listing["members"].append(m)
    return listing, members


def _last_named(members, name):
    found = None
    for member_name, content, _ in members:
        if member_name == name:
            found = content
    return found


def _load_one(f, recording, persistent):
    """One restricted C load from `f`; extension codes become markers (the load is re-run
    from the same offset)."""
    start = f.tell()
    for _attempt in range(65):
        f.seek(start)
        recording.events.clear()
        try:
            with loading():
                return SafeCUnpickler(f, recording, persistent=persistent).load(), None
        except _common.OracleTimeout:
            raise
        except Exception as exc:
            code = _common.unregistered_code(exc)
            if code is None:
                return None, describe_error(exc)
            _common.register_marker_extension(code)
    return None, {"type": "TooManyExtensions", "message": "extension codes"}


def _record(read, index, start, f, recording, error):
    read["detail"].append(dict({"index": index, "start": start, "end": f.tell(),
                                "events": list(recording.events)},
                               **({"error": error} if error else {})))


def torch_legacy_reads(members, chain):
    """PyTorch's legacy tar loop over the `storages`, `tensors` and `pickle` members."""
    require_sandbox()
    import pickle_oracle
    reads = []
    storages = _last_named(members, "storages")
    if storages is None:
        return reads
    for name in ("storages", "tensors"):
        content = _last_named(members, name)
        if content is None:
            continue
        read = {"chain": list(chain) + [name], "loader": "torch-legacy-tar", "unpickler": "c",
                "detail": [], "records": 0}
        f = io.BytesIO(content)
        index = 0

        def one(persistent=False):
            nonlocal index
            rec = Recording(position=f.tell)
            start = f.tell()
            value, error = _load_one(f, rec, persistent)
            _record(read, index, start, f, rec, error)
            index += 1
            return value, error

        count, error = one()
        try:
            if error is None:
                if type(count) is not int:
                    raise TypeError("the count pickle is not an int")
                for _ in range(min(count, 1 << 20)):
                    args, error = one()
                    if error:
                        break
                    read["records"] += 1
                    if name == "storages":
                        _key, _location, storage_type = args
                        label = (_common._info(storage_type)["label"]
                                 if _common.is_recorder(storage_type) else repr(storage_type))
                        size = ELEMENT_SIZE.get(label.rsplit(".", 1)[-1])
                        if size is None:
                            raise TypeError("no element size for %s" % label)
                        (numel,) = struct.unpack("<q", f.read(8))
                        if numel < 0 or f.tell() + numel * size > len(content):
                            raise EOFError("storage data runs past the member")
                        f.seek(numel * size, 1)
                    else:
                        (ndim,) = struct.unpack("<i", f.read(4))
                        f.read(4)
                        if ndim < 0:
                            raise ValueError("negative ndim")
                        raw = f.read(16 * ndim + 8)
                        if len(raw) < 16 * ndim + 8:
                            raise EOFError("tensor record runs past the member")
                if error is None and name == "storages":
                    one()  # the storage views
        except _common.OracleTimeout:
            raise
        except Exception as exc:
            read["walk_error"] = describe_error(exc)
        run = {"pickles": read["detail"]}
        summary = pickle_oracle.summarize_run(run)
        read.update(summary)
        if read.get("walk_error") and not read.get("error"):
            read["error"] = read["walk_error"]
        reads.append(read)
    pickle_member = _last_named(members, "pickle")
    if pickle_member is not None:
        read = {"chain": list(chain) + ["pickle"], "loader": "torch-legacy-tar", "unpickler": "c",
                "detail": []}
        f = io.BufferedReader(io.BytesIO(pickle_member))
        rec = Recording(position=f.tell)
        _value, error = _load_one(f, rec, True)
        _record(read, 0, 0, f, rec, error)
        read.update(pickle_oracle.summarize_run({"pickles": read["detail"]}))
        reads.append(read)
    return reads


def oracle_file(path, options):
    with open(path, "rb") as f:
        data = f.read()
    listing, members = tarfile_listing(data, [])
    return {"path": path, "size": len(data), "oracle": "tar", "listings": [listing],
            "reads": torch_legacy_reads(members, [])}


if __name__ == "__main__":
    sys.exit(_common.cli("tar_oracle:oracle_file", __doc__.splitlines()[1]))
