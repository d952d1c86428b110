#!/usr/bin/env python3
"""The zip oracle: which central directory and members Python's `zipfile` reads (NumPy's
`.npz` reader and most tools use it), and what PyTorch's own reader reads, when torch is
importable.

    python3 oracles/zip_oracle.py FILE... [--json]

`zipfile`: the end record it finds (`zipfile._EndRecData`: the last 22 bytes, else the last
signature in the final 64 KiB, then the ZIP64 locator right before it), the offset it corrects
every member by (data prepended to the archive), the start of the central directory, and for
every central directory entry (duplicates included, in order): name, header offset, flags,
compression method, sizes, CRC; then for each, `ZipFile.open(info)` as a loader would: the
offset of the data it reads (after the *local* header's name and extra field), and the bytes a
streaming read returns, up to a cap, with the error where the read stops (name mismatch,
encryption, unsupported method, bad CRC at the end, truncation). The bytes read before an
error are kept: a streaming loader (`numpy.load` on an `.npz`) has consumed them.

PyTorch (`torch._C.PyTorchFileReader`, miniz; reads no pickle): `get_all_records()` and each
record's bytes via `get_record`. `torch.load` reads `data.pkl` this way. torch is optional:
set AIGATE_ORACLE_NO_TORCH=1 to skip it.

Nothing is extracted to disk and no member is loaded here: member bytes go back to the caller
(`loaders.py` hands them to the other oracles).
"""

import hashlib
import io
import os
import sys
import zipfile

import _common
from _common import describe_error

MEMBER_CAP = 64 << 20
"""Bytes read from one member."""
MAX_MEMBERS = 10000

_torch = None


def prepare(options):
    global _torch
    if os.environ.get("AIGATE_ORACLE_NO_TORCH") or options.get("torch") is False:
        return
    try:
        import torch  # noqa: F401  (optional; before the tripwire arms)
        _torch = torch
    except Exception:
        _torch = None


def torch_version():
    return getattr(_torch, "__version__", None)


def _digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def read_stream(stream, cap=MEMBER_CAP):
    """Reads `stream` to its end, `cap` bytes at most: (bytes, error or None). `read1` where
    the stream has it, so that the bytes that arrived before an error are kept (what a
    consumer reading small pieces, such as an unpickler, has seen)."""
    chunks, total = [], 0
    read = getattr(stream, "read1", stream.read)
    try:
        while total < cap:
            chunk = read(min(1 << 16, cap - total))
            if not chunk:
                return b"".join(chunks), None
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks), {"type": "Capped", "message": "read capped at %d bytes" % cap}
    except _common.OracleTimeout:
        raise
    except Exception as exc:
        return b"".join(chunks), describe_error(exc)


def zipfile_listing(data, chain):
    """`zipfile`'s reading of `data`: (listing, members) where members are
    (name, bytes, open_stream) for each central directory entry."""
    listing = {"chain": list(chain), "loader": "zipfile", "members": []}
    members = []
    fp = io.BytesIO(data)
    try:
        endrec = zipfile._EndRecData(fp)
    except Exception as exc:
        endrec = None
        listing["end_record_error"] = describe_error(exc)
    if endrec:
        listing["end_record"] = {
            "offset": endrec[zipfile._ECD_LOCATION], "entries": endrec[zipfile._ECD_ENTRIES_TOTAL],
            "cd_size": endrec[zipfile._ECD_SIZE], "cd_offset": endrec[zipfile._ECD_OFFSET],
            "comment_len": len(endrec[zipfile._ECD_COMMENT]),
            "zip64": endrec[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64}
    try:
        zf = zipfile.ZipFile(fp)
    except Exception as exc:
        listing["error"] = describe_error(exc)
        return listing, members
    listing["start_dir"] = zf.start_dir
    if endrec:
        listing["prepended"] = zf.start_dir - endrec[zipfile._ECD_OFFSET]
    for index, info in enumerate(zf.infolist()[:MAX_MEMBERS]):
        m = {"index": index, "name": info.filename, "orig_filename": info.orig_filename,
             "header_offset": info.header_offset, "flags": info.flag_bits,
             "compress_type": info.compress_type, "compress_size": info.compress_size,
             "file_size": info.file_size, "crc": info.CRC, "extra_len": len(info.extra)}
        try:
            stream = zf.open(info)
        except _common.OracleTimeout:
            raise
        except Exception as exc:
            m["error"] = describe_error(exc)
            m["read_bytes"] = 0
            listing["members"].append(m)
            continue
        try:
            m["data_offset"] = stream._fileobj.tell()
        except Exception:
            pass
        content, error = read_stream(stream)
        m["read_bytes"] = len(content)
        m["sha256"] = _digest(content)
        if error:
            m["error"] = error
        listing["members"].append(m)
        members.append((info.filename, content, lambda info=info: zf.open(info)))
    if len(zf.infolist()) > MAX_MEMBERS:
        listing["members_capped"] = MAX_MEMBERS
    return listing, members


def torch_listing(data, chain, prefix_hint=None):
    """PyTorch's reading of `data`, or None when torch is not importable."""
    if _torch is None:
        return None, []
    listing = {"chain": list(chain), "loader": "torch-zip", "torch": _torch.__version__,
               "members": []}
    members = []
    try:
        reader = _torch._C.PyTorchFileReader(io.BytesIO(data))
        records = reader.get_all_records()
    except _common.OracleTimeout:
        raise
    except Exception as exc:
        listing["error"] = describe_error(exc)
        return listing, members
    prefix = prefix_hint
    listing["archive_prefix"] = prefix
    for index, name in enumerate(records[:MAX_MEMBERS]):
        full = "%s/%s" % (prefix, name) if prefix else name
        m = {"index": index, "record": name, "name": full}
        try:
            content = bytes(reader.get_record(name))
        except _common.OracleTimeout:
            raise
        except Exception as exc:
            m["error"] = describe_error(exc)
            listing["members"].append(m)
            continue
        m["read_bytes"] = len(content)
        m["sha256"] = _digest(content)
        listing["members"].append(m)
        members.append((full, content, None))
    return listing, members


def archive_prefix(listing):
    """The archive name torch prefixes records with: the first entry's top folder."""
    names = [m["name"] for m in listing.get("members", [])]
    if not names:
        return None
    first = names[0]
    return first.split("/", 1)[0] if "/" in first else None


def oracle_file(path, options):
    with open(path, "rb") as f:
        data = f.read()
    out = {"path": path, "size": len(data), "oracle": "zip", "listings": []}
    listing, _members = zipfile_listing(data, [])
    out["listings"].append(listing)
    tl, _ = torch_listing(data, [], archive_prefix(listing))
    if tl is not None:
        out["listings"].append(tl)
    else:
        out["notes"] = ["torch is not importable: PyTorch's reader was not run"]
    return out


if __name__ == "__main__":
    sys.exit(_common.cli("zip_oracle:oracle_file", __doc__.splitlines()[1]))
