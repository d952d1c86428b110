#!/usr/bin/env python3
"""A seeded, format-aware mutator for the differential harness.

    python3 oracles/mutate.py --seed S --count N [--budget-seconds T] --out DIR SEED_FILE...

From seed files (the fixtures) it writes variants, each with a `.json` sidecar saying the
seed, the source file and every mutation applied with its parameters. The same
`--seed`/`--count` over the same seed files writes the same variants (each variant's random
stream is derived from "seed:index").

Mutations (chosen among those that apply to the seed's format):

* pickles: splice, duplicate or delete opcodes; alter length fields (BINUNICODE, BINBYTES,
  SHORT_*, BINSTRING, FRAME, LONG1/LONG4); insert, at an opcode boundary, a sequence that
  CPython's unpicklers accept as a no-op (protocol 0 INT/LONG/FLOAT/PUT/GET in the syntaxes
  `_pickle.c` and `pickle.py` accept: `+`, `_`, spaces, `0x`/`0o`/`0b`, leading zeros, `L`;
  BUILD with `{}` or `(None, None)` state; REDUCE with a list) followed by a payload; hide a
  payload behind a look-alike `NumpyArrayWrapper`; stack pickles across a frame boundary;
* zip: flags bits 0/3/11 and methods in local and central headers, re-compressed members
  (LZMA, bzip2), local/central sizes and name lengths, local vs central names, prepended
  data, end-record fields (disk numbers, counts, offsets), duplicate end records and central
  directories, a ZIP64 locator look-alike before the end record;
* tar: size fields in octal forms and base-256, typeflags, signed checksums, a non-file header
  whose size covers the next member, doubled GNU long names, PAX `path`/`size` records (and
  Solaris `X`, global `g` headers);
* NumPy: version bytes, header length, alternative spellings of an object descr (escapes,
  duplicate keys, comments, prefixes, `'object'`, comma and sub-array forms) over a pickle;
* joblib: the `ZF` header's length field forms, frames merged around an inline array;
* any: byte flips, truncation, prepended and appended data.

Payloads the mutator inserts import `aigate_mutant.payload` (no such module exists), so a
mutant is detectable and harmless even if something careless loaded it. Nothing here loads
or unpickles anything.
"""

import argparse
import io
import json
import os
import pickletools
import random
import re
import struct
import sys
import tarfile
import time
import zipfile
import zlib

PAYLOAD = b"caigate_mutant\npayload\n(tR0"
"""GLOBAL aigate_mutant.payload, MARK, TUPLE, REDUCE, POP: a call with no stack effect."""

NEUTRAL = [
    b"I0x10\n0", b"I+5\n0", b"I 5\n0", b"I5 \n0", b"I1_0\n0", b"I010\n0", b"I0o17\n0",
    b"I0b101\n0", b"L0x10L\n0", b"L1_000L\n0", b"L 5 L\n0", b"L+5\n0", b"L0X1F\n0",
    b"F1_0\n0", b"F 1\n0", b"Finf\n0", b"Fnan\n0", b"F1e5\n0", b"F.5\n0", b"F5.\n0",
    b"N\x94\x30", b"Np1_0\n0g1_0\n0", b"Np+1\n0g 1\n0", b"Np 7 \n0g7\n0",
    b"]NN\x86b0", b"}}b0", b"N}b0", b"I1\n}b0", b"cbuiltins\nprint\n]R0",
    b"cbuiltins\nprint\n}R0", b"\x8c\x00\x30", b"S''\n0", b'S""\n0', b"V\n0",
    b"\x8a\x00\x30", b"\x8b\x00\x00\x00\x00\x30", b"(0", b"(1", b"](e0", b"}(u0",
    b"\x8f(\x900", b"(\x910", b"(l0", b"(d0", b"(t0", b"\x80\x02", b"\x80\x05",
    b"\x95\x00\x00\x00\x00\x00\x00\x00\x00", b"I01\n0", b"I00\n0", b"S'a'\r\n0",
    b"Vab\\u00\n0", b"S'\\x6f'\n0",
]

LENGTH_OPS = {"BINUNICODE": (1, 4, "<I"), "BINBYTES": (1, 4, "<I"), "BINSTRING": (1, 4, "<i"),
              "SHORT_BINUNICODE": (1, 1, "<B"), "SHORT_BINBYTES": (1, 1, "<B"),
              "SHORT_BINSTRING": (1, 1, "<B"), "FRAME": (1, 8, "<Q"), "LONG1": (1, 1, "<B"),
              "LONG4": (1, 4, "<i"), "BINUNICODE8": (1, 8, "<Q"), "BINBYTES8": (1, 8, "<Q"),
              "BYTEARRAY8": (1, 8, "<Q")}


def opcodes(data):
    """(name, position, end) of the opcodes pickletools can read from the start."""
    out = []
    try:
        prev = None
        for op, _arg, pos in pickletools.genops(io.BytesIO(data)):
            if prev is not None:
                out[-1] = out[-1][:2] + (pos,)
            out.append((op.name, pos, None))
            prev = op
            if op.name == "STOP":
                break
    except Exception:
        pass
    if out and out[-1][2] is None:
        ends = [o[1] for o in out[1:]] + [len(data)]
        out = [(n, p, e if e is not None else ends[i]) for i, (n, p, e) in enumerate(out)]
    # STOP ends at pos+1
    fixed = []
    for i, (n, p, e) in enumerate(out):
        if n == "STOP":
            e = p + 1
        fixed.append((n, p, e))
    return fixed


def is_pickle(data):
    return len(opcodes(data)) >= 2


def boundary(data, rng, ops=None):
    ops = ops or opcodes(data)
    body = [p for n, p, e in ops if n not in ("PROTO", "FRAME")] or [0]
    return rng.choice(body)


# ---------------------------------------------------------------------------- pickles

def m_pickle_insert(data, rng):
    snippet = rng.choice(NEUTRAL)
    at = boundary(data, rng)
    return data[:at] + snippet + PAYLOAD + data[at:], {"snippet": snippet.decode("latin-1"), "at": at}


def m_pickle_payload(data, rng):
    at = boundary(data, rng)
    return data[:at] + PAYLOAD + data[at:], {"at": at}


def m_pickle_unframe(data, rng):
    """Drop FRAME opcodes (a C-unpickler no-op) so that inserted bytes keep frames honest
    for the pure-Python unpickler, then insert."""
    ops = opcodes(data)
    out, last = bytearray(), 0
    for n, p, e in ops:
        if n == "FRAME":
            out += data[last:p]
            last = e
    out += data[last:]
    out = bytes(out)
    snippet = rng.choice(NEUTRAL)
    at = boundary(out, rng)
    return out[:at] + snippet + PAYLOAD + out[at:], {"snippet": snippet.decode("latin-1"), "at": at}


def m_pickle_splice(data, rng):
    ops = opcodes(data)
    if len(ops) < 3:
        return None, None
    n, p, e = rng.choice(ops[1:-1])
    how = rng.choice(["delete", "duplicate", "move"])
    if how == "delete":
        return data[:p] + data[e:], {"op": n, "at": p, "how": how}
    if how == "duplicate":
        return data[:e] + data[p:e] + data[e:], {"op": n, "at": p, "how": how}
    chunk, rest = data[p:e], data[:p] + data[e:]
    at = rng.randrange(0, len(rest) + 1)
    return rest[:at] + chunk + rest[at:], {"op": n, "at": p, "to": at, "how": how}


def m_pickle_length(data, rng):
    ops = [o for o in opcodes(data) if o[0] in LENGTH_OPS]
    if not ops:
        return None, None
    n, p, e = rng.choice(ops)
    off, width, fmt = LENGTH_OPS[n]
    old = struct.unpack_from(fmt, data, p + off)[0]
    delta = rng.choice([-1, 1, -2, 2, 8, -8, 256, 1 << 16])
    new = old + delta if rng.random() < 0.7 else rng.choice([0, 1, (1 << (8 * width - 1)) - 1])
    if fmt in ("<i",):
        new = max(-(1 << 31), min(new, (1 << 31) - 1))
    else:
        new = max(0, min(new, (1 << (8 * width)) - 1))
    return data[:p + off] + struct.pack(fmt, new) + data[p + off + width:], {"op": n, "at": p, "old": old, "new": new}


NUMBER_FORMS = [lambda v: "+%d" % v, lambda v: " %d" % v, lambda v: "%d " % v,
                lambda v: "0x%x" % v, lambda v: "0o%o" % v, lambda v: "0b%s" % bin(v)[2:],
                lambda v: "%s_%s" % (str(v)[:1], str(v)[1:] or "0"), lambda v: "0%d" % v,
                lambda v: "%dL" % v, lambda v: "\t%d" % v, lambda v: "%d\r" % v]


def m_pickle_numbers(data, rng):
    """Rewrite a protocol 0 INT/LONG/PUT/GET/FLOAT argument in another syntax."""
    ops = [o for o in opcodes(data) if o[0] in ("INT", "LONG", "PUT", "GET", "FLOAT")]
    if not ops:
        return m_pickle_insert(data, rng)
    n, p, e = rng.choice(ops)
    text = data[p + 1:e - 1].decode("latin-1")
    digits = re.sub(r"[^0-9]", "", text) or "0"
    v = int(digits)
    form = rng.randrange(len(NUMBER_FORMS))
    new = NUMBER_FORMS[form](v).encode()
    if n == "FLOAT":
        new = rng.choice([b"1_0", b" 1", b"1e0", b"+1.0", b"inf", b"0x1p0", text.encode() + b" "])
    return data[:p + 1] + new + b"\n" + data[e:], {"op": n, "at": p, "old": text, "new": new.decode("latin-1")}


def fake_wrapper(module=b"evil.numpy_pickle"):
    """A look-alike NumpyArrayWrapper whose 'array' is PAYLOAD padded to 88 bytes."""
    def su(b):
        return b"\x8c" + bytes([len(b)]) + b
    hidden = PAYLOAD + b"N0" * ((88 - len(PAYLOAD)) // 2)
    hidden += b"N" * (88 - len(hidden))
    head = (su(module) + su(b"NumpyArrayWrapper") + b"\x93)\x81}(" + su(b"dtype") + su(b"numpy")
            + su(b"dtype") + b"\x93" + su(b"f8") + b"\x89\x88\x87R" + su(b"shape") + b"K\x0b\x85u")
    # 88 bytes skipped by a reader that believes the wrapper, then POP the wrapper. The
    # trailing Ns are pushed by a real unpickler: pop them too.
    tail_pops = b"0" * (88 - len(PAYLOAD) - 2 * ((88 - len(PAYLOAD)) // 2))
    return head + b"b" + hidden + tail_pops + b"0"


def m_pickle_fake_wrapper(data, rng):
    at = boundary(data, rng)
    module = rng.choice([b"evil.numpy_pickle", b"joblib.numpy_pickle", b"sklearn.externals.joblib.numpy_pickle"])
    return data[:at] + fake_wrapper(module) + data[at:], {"at": at, "module": module.decode()}


def m_pickle_frame_stack(data, rng):
    """[PROTO 4, FRAME(n) covering a whole pickle and junk] then a pickle with the payload:
    C over a buffered file continues right after STOP, BytesIO and pure-Python readers after
    the frame."""
    first = b"\x80\x04K\x01."
    junk = rng.choice([b"\xff\xff", b"garbage!", b"\x00" * 7])
    framed = b"\x80\x04\x95" + struct.pack("<Q", len(first) - 2 + len(junk)) + first[2:] + junk
    second = b"\x80\x02" + PAYLOAD + b"N."
    return framed + second + data, {"junk": junk.hex()}


# ---------------------------------------------------------------------------- zip

def zip_entries(data):
    """(local offsets, central records) located with zipfile's own reading."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    infos = zf.infolist()
    eocd = data.rfind(b"PK\x05\x06")
    centrals, pos = [], zf.start_dir
    while data[pos:pos + 4] == b"PK\x01\x02":
        nlen, elen, clen = struct.unpack_from("<HHH", data, pos + 28)
        centrals.append(pos)
        pos += 46 + nlen + elen + clen
    return infos, centrals, eocd


def _patch(data, at, fmt, value):
    return data[:at] + struct.pack(fmt, value) + data[at + struct.calcsize(fmt):]


def m_zip_header(data, rng):
    infos, centrals, eocd = zip_entries(data)
    i = rng.randrange(len(infos))
    local, central = infos[i].header_offset, centrals[i] if i < len(centrals) else None
    field = rng.choice(["flags", "method", "csize", "usize", "namelen", "extralen", "crc"])
    where = rng.choice(["local", "central", "both"]) if central is not None else "local"
    params = {"member": infos[i].filename, "field": field, "where": where}
    offsets = {"local": {"flags": 6, "method": 8, "crc": 14, "csize": 18, "usize": 22, "namelen": 26, "extralen": 28},
               "central": {"flags": 8, "method": 10, "crc": 16, "csize": 20, "usize": 24, "namelen": 28, "extralen": 30}}
    for side in (["local", "central"] if where == "both" else [where]):
        base = local if side == "local" else central
        off = base + offsets[side][field]
        width = "<I" if field in ("csize", "usize", "crc") else "<H"
        old = struct.unpack_from(width, data, off)[0]
        if field == "flags":
            new = old ^ rng.choice([1, 8, 0x800, 0x20, 0x40])
        elif field == "method":
            new = rng.choice([0, 8, 12, 14, 93, 99])
        elif field in ("csize", "usize"):
            new = rng.choice([old + 1, max(0, old - 1), old * 2, 0, 0x7FFFFFFF, old + 4096])
        elif field == "crc":
            new = old ^ 1
        else:
            new = max(0, old + rng.choice([-1, 1, 4, -4]))
        data = _patch(data, off, width, new & (0xFFFFFFFF if width == "<I" else 0xFFFF))
        params.setdefault("changes", []).append([side, old, new])
    return data, params


def m_zip_recompress(data, rng):
    zf = zipfile.ZipFile(io.BytesIO(data))
    method = rng.choice([zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2, zipfile.ZIP_DEFLATED])
    target = rng.randrange(len(zf.infolist()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        for i, info in enumerate(zf.infolist()):
            try:
                content = zf.read(info)
            except Exception:
                return None, None
            w.writestr(info.filename, content, compress_type=method if i == target else zipfile.ZIP_STORED)
    return out.getvalue(), {"member": zf.infolist()[target].filename, "method": method}


def m_zip_local_name(data, rng):
    infos, centrals, eocd = zip_entries(data)
    i = rng.randrange(len(infos))
    local = infos[i].header_offset
    nlen = struct.unpack_from("<H", data, local + 26)[0]
    name = data[local + 30:local + 30 + nlen]
    new = rng.choice([name.upper(), name[:-1] + b"X", name + b"\x00x", b"./" + name[2:] if len(name) > 2 else name, name.replace(b"/", b"\\")])
    new = new[:nlen].ljust(nlen, b"_") if rng.random() < 0.5 else new[:nlen]
    data = data[:local + 30] + new + data[local + 30 + nlen:] if len(new) == nlen else data
    return data, {"member": infos[i].filename, "local_name": new.decode("latin-1")}


def m_zip_prepend(data, rng):
    junk = rng.choice([b"\x00" * 64, os.urandom(0) + b"#!/bin/sh\nexit 0\n", b"\x80\x02" + PAYLOAD + b"N.",
                       b"\x80\x04K\x01.", bytes(rng.randrange(256) for _ in range(100))])
    return junk + data, {"prepended": junk[:40].hex(), "length": len(junk)}


def m_zip_eocd(data, rng):
    eocd = data.rfind(b"PK\x05\x06")
    if eocd < 0:
        return None, None
    choice = rng.choice(["disk-signature", "counts", "cd-offset", "cd-size", "comment", "duplicate-eocd", "duplicate-cd",
                         "zip64-locator-lookalike", "trailing"])
    if choice == "disk-signature":  # a second end-record signature inside this one's fields
        return data[:eocd + 4] + b"PK\x05\x06" + data[eocd + 8:], {"how": choice}
    if choice == "counts":
        n = struct.unpack_from("<H", data, eocd + 10)[0]
        new = rng.choice([0, n + 1, max(0, n - 1), 0xFFFF])
        return _patch(_patch(data, eocd + 8, "<H", new), eocd + 10, "<H", new), {"how": choice, "new": new}
    if choice in ("cd-offset", "cd-size"):
        off = eocd + (16 if choice == "cd-offset" else 12)
        old = struct.unpack_from("<I", data, off)[0]
        new = max(0, old + rng.choice([-46, -1, 1, 22, 4096]))
        return _patch(data, off, "<I", new), {"how": choice, "old": old, "new": new}
    if choice == "comment":
        comment = rng.choice([b"PK\x05\x06" + b"\x00" * 18, b"hello", b"PK\x01\x02"])
        return _patch(data, eocd + 20, "<H", len(comment))[:eocd + 22] + comment, {"how": choice}
    if choice == "duplicate-eocd":
        return data + data[eocd:eocd + 22], {"how": choice}
    if choice == "duplicate-cd":
        cd_size, cd_off = struct.unpack_from("<II", data, eocd + 12)
        start = eocd - cd_size
        cd = data[start:eocd]
        new_eocd = _patch(data[eocd:eocd + 22], 16, "<I", eocd + 22 - (start - cd_off))
        return data[:eocd + 22] + cd + new_eocd, {"how": choice}
    if choice == "zip64-locator-lookalike":
        # The last central entry gets a comment ending in a 20-byte ZIP64 locator.
        infos, centrals, _ = zip_entries(data)
        if not centrals:
            return None, None
        last = centrals[-1]
        nlen, elen, clen = struct.unpack_from("<HHH", data, last + 28)
        loc = b"PK\x06\x07" + struct.pack("<IQI", 0, 0, 1)
        end_of_entry = last + 46 + nlen + elen + clen
        data = _patch(data, last + 32, "<H", clen + 20)
        data = data[:end_of_entry] + loc + data[end_of_entry:]
        eocd += 20
        cd_size = struct.unpack_from("<I", data, eocd + 12)[0]
        return _patch(data, eocd + 12, "<I", cd_size + 20), {"how": choice}
    return data + b"trailing junk" * rng.randrange(1, 4), {"how": choice}


# ---------------------------------------------------------------------------- tar

def tar_headers(data):
    tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    return tf.getmembers()


def checksum(block, signed=False):
    block = bytearray(block)
    block[148:156] = b" " * 8
    total = sum(struct.unpack("148b8x356b", bytes(block))) + 256 if signed else sum(block)
    block[148:156] = b"%06o\x00 " % (total & 0o7777777)
    return bytes(block)


def _set_header(data, off, block):
    return data[:off] + block + data[off + 512:]


def m_tar_size(data, rng):
    members = [m for m in tar_headers(data) if m.isreg()]
    if not members:
        return None, None
    m = rng.choice(members)
    block = bytearray(data[m.offset:m.offset + 512])
    size = m.size
    form = rng.choice(["spaces", "no-nul", "base256", "0o", "underscore", "plus", "leading-nul"])
    if form == "spaces":
        field = (" %o" % size).rjust(11).encode() + b" "
    elif form == "no-nul":
        field = ("%012o" % size).encode()[-12:]
    elif form == "base256":
        field = b"\x80" + size.to_bytes(11, "big")
    elif form == "0o":
        field = ("0o%o" % size).encode().ljust(11, b" ") + b"\x00"
    elif form == "underscore":
        s = "%o" % size
        field = (s[:1] + "_" + s[1:] if len(s) > 1 else "0_" + s).encode().ljust(11) + b"\x00"
    elif form == "plus":
        field = ("+%o" % size).encode().ljust(11) + b"\x00"
    else:
        field = b"\x00" + ("%o" % size).encode().ljust(10) + b"\x00"
    block[124:136] = field[:12].ljust(12, b"\x00")
    if m.offset == 0 or rng.random() < 0.9:
        block = checksum(block)
    return _set_header(data, m.offset, bytes(block)), {"member": m.name, "form": form, "field": field.hex()}


def m_tar_typeflag(data, rng):
    members = tar_headers(data)
    m = rng.choice(members)
    block = bytearray(data[m.offset:m.offset + 512])
    new = rng.choice(b"0\x00123456789ZAKLxXgSVMND")
    block[156] = new
    return _set_header(data, m.offset, checksum(block)), {"member": m.name, "typeflag": chr(new)}


def m_tar_signed_checksum(data, rng):
    members = tar_headers(data)
    m = rng.choice(members)
    block = bytearray(data[m.offset:m.offset + 512])
    block[499] = 0xFF  # the last byte of the ustar prefix field... unused by name when prefix empty
    block[500] = 0xFF
    return _set_header(data, m.offset, checksum(block, signed=True)), {"member": m.name}


def _header(name, size, typeflag=b"0", extra=None):
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = typeflag
    info.mtime = 0
    return info.tobuf(tarfile.USTAR_FORMAT)


def m_tar_hide(data, rng):
    """A non-file header (symlink, directory, ...) whose size covers the next member: tarfile
    does not skip data for such types, so the next header is read at once."""
    members = [m for m in tar_headers(data) if m.isreg()]
    if not members:
        return None, None
    m = rng.choice(members)
    covered = m.offset_data + ((m.size + 511) // 512) * 512 - m.offset
    typeflag = rng.choice([b"2", b"5", b"1", b"3", b"6"])
    hdr = bytearray(_header("cover", covered, typeflag))
    if typeflag in (b"1", b"2"):
        hdr[157:157 + 6] = b"target"
        hdr = bytearray(checksum(hdr))
    return data[:m.offset] + bytes(hdr) + data[m.offset:], {"member": m.name, "typeflag": typeflag.decode(), "covered": covered}


def m_tar_longname(data, rng):
    members = [m for m in tar_headers(data) if m.isreg()]
    if not members:
        return None, None
    m = rng.choice(members)
    kind = rng.choice(["gnu-L-first", "pax-x-first", "pax-X", "pax-g-path", "pax-size-underscore", "pax-size-space",
                       "gnu-sparse-name"])
    fake = b"decoy.txt"
    if kind == "gnu-L-first":
        rec = fake + b"\x00"
        blocks = _header("././@LongLink", len(rec), b"L") + rec.ljust(512, b"\x00")
    else:
        if kind.startswith("pax-size"):
            value = ("%d" % m.size)
            value = value[:1] + "_" + value[1:] if kind.endswith("underscore") and len(value) > 1 else " %s " % value
            recs = [(b"size", value.encode())]
        elif kind == "gnu-sparse-name":
            recs = [(b"GNU.sparse.name", fake)]
        else:
            recs = [(b"path", fake)]
        body = b""
        for k, v in recs:
            rec = b" " + k + b"=" + v + b"\n"
            n = len(rec)
            n = len(str(n + len(str(n))).encode()) + len(rec)
            body += str(n).encode() + rec
        flag = {"pax-X": b"X", "pax-g-path": b"g"}.get(kind, b"x")
        blocks = _header("PaxHeader", len(body), flag) + body.ljust(((len(body) + 511) // 512) * 512, b"\x00")
    return data[:m.offset] + blocks + data[m.offset:], {"member": m.name, "how": kind}


# ---------------------------------------------------------------------------- numpy

OBJECT_DESCRS = ["'|O'", "'\\x4f'", "'\\117'", "u'|O'", "'|' 'O'", "'object'", "'O8'", "'i8,O'",
                 "'(2,)O'", "['aO']", "[('a', '|O')]", "'''|O'''", "r'|O'", "'=O'", "'<O'"]


def npy_header_dict(descr, shape="(1,)", style="plain"):
    if style == "duplicate":
        return "{'descr': '<f8', 'fortran_order': False, 'shape': %s, 'descr': %s, }" % (shape, descr)
    if style == "comment":
        return "{'descr': %s, # a comment\n 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    return "{'descr': %s, 'fortran_order': False, 'shape': %s, }" % (descr, shape)


def npy_bytes(header, body, version=(1, 0)):
    h = header.encode("latin-1" if version < (3, 0) else "utf-8")
    pre = 10 if version == (1, 0) else 12
    total = ((pre + len(h) + 1 + 63) // 64) * 64
    h = h + b" " * (total - pre - len(h) - 1) + b"\n"
    length = struct.pack("<H", len(h)) if version == (1, 0) else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes(version) + length + h + body


def m_npy_descr(data, rng):
    body = b"\x80\x02" + PAYLOAD + b"N."
    descr = rng.choice(OBJECT_DESCRS)
    style = rng.choice(["plain", "plain", "duplicate", "comment"])
    version = rng.choice([(1, 0), (2, 0), (3, 0)])
    return npy_bytes(npy_header_dict(descr, style=style), body, version), {"descr": descr, "style": style, "version": list(version)}


def m_npy_fields(data, rng):
    if len(data) < 12:
        return None, None
    which = rng.choice(["major", "minor", "hlen"])
    if which == "major":
        return data[:6] + bytes([rng.choice([0, 1, 2, 3, 4])]) + data[7:], {"field": which}
    if which == "minor":
        return data[:7] + bytes([rng.choice([1, 2, 255])]) + data[8:], {"field": which}
    if data[6] == 1:
        old = struct.unpack_from("<H", data, 8)[0]
        return _patch(data, 8, "<H", max(0, old + rng.choice([-1, 1, -16, 16]))), {"field": which, "old": old}
    old = struct.unpack_from("<I", data, 8)[0]
    return _patch(data, 8, "<I", max(0, old + rng.choice([-1, 1, -16, 16]))), {"field": which, "old": old}


# ---------------------------------------------------------------------------- joblib

def m_zfile_header(data, rng):
    if not data.startswith(b"ZF"):
        return None, None
    length = int(data[2:21], 16)
    form = rng.choice(["no-0x", "upper", "space-after", "leading-space", "underscore"])
    field = {"no-0x": ("%x" % length).ljust(19), "upper": ("0X%X" % length).ljust(19),
             "space-after": ("0x%x" % length).ljust(19) + " ", "leading-space": (" 0x%x" % length).ljust(19),
             "underscore": ("0x%s_%s" % (("%x" % length)[:1], ("%x" % length)[1:] or "0")).ljust(19)}[form]
    return b"ZF" + field.encode() + data[21:], {"form": form}


# ---------------------------------------------------------------------------- generic

def m_flip(data, rng):
    data = bytearray(data)
    changes = []
    for _ in range(rng.randrange(1, 4)):
        if not data:
            break
        i = rng.randrange(len(data))
        old = data[i]
        data[i] = rng.randrange(256)
        changes.append([i, old, data[i]])
    return bytes(data), {"changes": changes}


def m_truncate(data, rng):
    if len(data) < 2:
        return None, None
    n = rng.randrange(1, len(data))
    return data[:n], {"length": n}


def m_append(data, rng):
    tail = rng.choice([b"\x80\x02" + PAYLOAD + b"N.", b"\x00" * 16, PAYLOAD + b"N."])
    return data + tail, {"appended": tail.hex()}


def is_zip(data):
    try:
        zip_entries(data)
        return True
    except Exception:
        return False


def is_tar(data):
    try:
        return bool(tar_headers(data))
    except Exception:
        return False


MUTATIONS = [
    ("pickle-neutral-insert", is_pickle, m_pickle_insert, 6),
    ("pickle-unframe-insert", is_pickle, m_pickle_unframe, 4),
    ("pickle-payload", is_pickle, m_pickle_payload, 1),
    ("pickle-splice", is_pickle, m_pickle_splice, 2),
    ("pickle-length", is_pickle, m_pickle_length, 2),
    ("pickle-number-syntax", is_pickle, m_pickle_numbers, 3),
    ("pickle-fake-array-wrapper", is_pickle, m_pickle_fake_wrapper, 2),
    ("pickle-frame-stack", lambda d: True, m_pickle_frame_stack, 1),
    ("zip-header", is_zip, m_zip_header, 4),
    ("zip-recompress", is_zip, m_zip_recompress, 2),
    ("zip-local-name", is_zip, m_zip_local_name, 2),
    ("zip-prepend", is_zip, m_zip_prepend, 2),
    ("zip-eocd", is_zip, m_zip_eocd, 3),
    ("tar-size-syntax", is_tar, m_tar_size, 3),
    ("tar-typeflag", is_tar, m_tar_typeflag, 3),
    ("tar-signed-checksum", is_tar, m_tar_signed_checksum, 1),
    ("tar-hide-after-nonfile", is_tar, m_tar_hide, 2),
    ("tar-long-names", is_tar, m_tar_longname, 3),
    ("npy-object-descr", lambda d: d.startswith(b"\x93NUMPY"), m_npy_descr, 4),
    ("npy-fields", lambda d: d.startswith(b"\x93NUMPY"), m_npy_fields, 2),
    ("joblib-zfile-header", lambda d: d.startswith(b"ZF0x"), m_zfile_header, 3),
    ("flip", lambda d: True, m_flip, 1),
    ("truncate", lambda d: True, m_truncate, 1),
    ("append", lambda d: True, m_append, 1),
]


def applicable(data):
    out = []
    for name, test, fn, weight in MUTATIONS:
        try:
            ok = test(data)
        except Exception:
            ok = False
        if ok:
            out.append((name, fn, weight))
    return out


def mutate_one(seed_data, rng, rounds=1):
    data, applied = seed_data, []
    for _ in range(rounds):
        options = applicable(data)
        if not options:
            break
        names = [o for o in options]
        name, fn, _w = rng.choices(names, weights=[o[2] for o in names])[0]
        try:
            new, params = fn(data, rng)
        except Exception as exc:  # a mutation that does not fit this seed
            new, params = None, {"failed": repr(exc)[:100]}
        if new is None or new == data:
            continue
        data = new
        applied.append({"mutation": name, "params": params})
    return data, applied


def generate(seed, count, seeds, budget_seconds=None, start=0):
    """Yields (index, source, data, applied) for `count` variants."""
    started = time.monotonic()
    contents = []
    for path in seeds:
        with open(path, "rb") as f:
            contents.append((path, f.read()))
    for index in range(start, count):
        if budget_seconds and time.monotonic() - started > budget_seconds:
            return
        rng = random.Random("%s:%d" % (seed, index))
        source, data = rng.choice(contents)
        rounds = rng.choice([1, 1, 1, 2])
        mutant, applied = mutate_one(data, rng, rounds)
        if applied:
            yield index, source, mutant, applied


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="+")
    parser.add_argument("--seed", default="0")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--budget-seconds", type=float)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    n = 0
    for index, source, data, applied in generate(args.seed, args.count, args.seeds, args.budget_seconds):
        base = os.path.join(args.out, "mutant-%s-%05d%s" % (args.seed, index, os.path.splitext(source)[1]))
        with open(base, "wb") as f:
            f.write(data)
        with open(base + ".json", "w") as f:
            json.dump({"seed": args.seed, "index": index, "source": source, "mutations": applied}, f, indent=1)
        n += 1
    print("%d variant(s) written to %s" % (n, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
