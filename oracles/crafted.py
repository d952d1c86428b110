#!/usr/bin/env python3
"""Minimal hand-made reproducers of reader disagreements, one per suspected defect, written
to `fixtures/differential/crafted-*` with a `.json` sidecar each:

    python3 oracles/crafted.py [--out fixtures/differential]

Each is built from raw bytes, `tarfile`/`zipfile` writers, `numpy.save`-style headers or
`joblib.dump`, with the harmless payload `aigate_mutant.payload` of mutate.py (or the posix.system
call of the fixtures where a fixture is the base). Nothing here loads anything. The
harness (`differential.py`) says which of them aigate reads differently from the loaders.
"""

import argparse
import io
import json
import os
import struct
import sys
import tarfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutate  # noqa: E402
from mutate import PAYLOAD  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P2 = b"\x80\x02"
EVIL = P2 + PAYLOAD + b"N."


def tar_of(members, fmt=tarfile.USTAR_FORMAT):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_of(members, method=zipfile.ZIP_STORED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members:
            zf.writestr(name, data, compress_type=method)
    return out.getvalue()


def header(name, size, typeflag):
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime = size, typeflag, 0
    return info.tobuf(tarfile.USTAR_FORMAT)


def pax_block(records, flag=b"x"):
    body = b""
    for k, v in records:
        rec = b" " + k + b"=" + v + b"\n"
        n = len(rec) + 2
        while len(str(n)) + len(rec) != n:
            n = len(str(n)) + len(rec)
        body += str(n).encode() + rec
    return header("PaxHeader", len(body), flag) + body.ljust(((len(body) + 511) // 512) * 512, b"\x00")


def cases():
    c = {}

    def add(name, data, what, ext=".pkl"):
        c["crafted-" + name + ext] = (data, what)

    # -- pickle syntax the unpicklers accept and aigate refuses
    add("int-hex", b"I0x10\n0" + PAYLOAD + b"N.", "INT 0x10 (strtol base 0 in _pickle.c, int(x, 0) in pickle.py) then a payload")
    add("int-octal-prefix", b"I0o17\n0" + PAYLOAD + b"N.", "INT 0o17 then a payload")
    add("long-hex", b"L0x10L\n0" + PAYLOAD + b"N.", "LONG 0x10L then a payload")
    add("long-spaces", b"L 5 L\n0" + PAYLOAD + b"N.", "LONG ' 5 L' then a payload")
    add("float-underscore", b"F1_0\n0" + PAYLOAD + b"N.", "FLOAT 1_0 (pure-Python float()) then a payload")
    add("put-get-underscore", b"Np1_0\n0g1_0\n0" + PAYLOAD + b"N.", "PUT/GET 1_0 then a payload")
    add("build-list-none-none", b"]NN\x86b0" + PAYLOAD + b"N.", "BUILD (None, None) on a list (pure Python: no-op) then a payload")
    add("build-dict-empty", b"}}b0" + PAYLOAD + b"N.", "BUILD {} on a dict (pure Python: no-op) then a payload")
    add("reduce-list-args", b"cbuiltins\nprint\n]R0" + PAYLOAD + b"N.", "REDUCE with a list as arguments (pure Python: func(*list)) then a payload")
    add("frame-stack", mutate.m_pickle_frame_stack(b"", __import__("random").Random(1))[0],
        "a FRAME covering a pickle, its STOP and junk; the next pickle, after the frame, is read by pickle.load(BytesIO) and pickle._Unpickler")
    add("fake-array-wrapper", P2 + mutate.fake_wrapper(b"evil.numpy_pickle") + b"N.",
        "a class named NumpyArrayWrapper from a module ending in numpy_pickle; the 88 bytes after its BUILD are opcodes with a payload")
    # -- tar
    evil_member = [("model/checkpoint.pkl", EVIL)]
    plain = tar_of([("notes.txt", b"hello\n")] + evil_member)
    first = tarfile.open(fileobj=io.BytesIO(plain)).getmembers()
    off = first[1].offset
    block = bytearray(plain[off:off + 512])
    block[499] = block[500] = 0xFF
    add("tar-signed-checksum", plain[:off] + mutate.checksum(block, signed=True) + plain[off + 512:],
        "a header whose checksum is the signed sum (tarfile accepts signed or unsigned)", ".tar")
    block = bytearray(plain[off:off + 512])
    block[156] = ord("Z")
    add("tar-unknown-typeflag", plain[:off] + mutate.checksum(block) + plain[off + 512:],
        "a member with typeflag 'Z': tarfile reads unknown types as regular files", ".tar")
    covered = 512 + 512
    add("tar-symlink-covers-member", plain[:off] + header("cover", covered, b"2") + plain[off:],
        "a symlink header with size 1024 before the payload member: tarfile does not skip data of non-file types", ".tar")
    add("tar-dir-covers-member", plain[:off] + header("cover/", covered, b"5") + plain[off:],
        "a directory header with size 1024 before the payload member", ".tar")
    size = len(EVIL)
    block = bytearray(plain[off:off + 512])
    block[124:136] = ("0o%o" % size).encode().ljust(11) + b"\x00"
    add("tar-size-0o", plain[:off] + mutate.checksum(block) + plain[off + 512:],
        "size field '0o63' (int(s, 8) accepts the prefix)", ".tar")
    block = bytearray(plain[off:off + 512])
    s = "%o" % size
    block[124:136] = (s[0] + "_" + s[1:]).encode().ljust(11) + b"\x00"
    add("tar-size-underscore", plain[:off] + mutate.checksum(block) + plain[off + 512:],
        "size field with an underscore", ".tar")
    gnu = (header("././@LongLink", 9, b"L") + b"storages\x00".ljust(512, b"\x00")
           + header("././@LongLink", 6, b"L") + b"other\x00".ljust(512, b"\x00"))
    with open(os.path.join(REPO, "fixtures", "malicious", "legacy_tar.pt"), "rb") as f:
        legacy = f.read()
    members = tarfile.open(fileobj=io.BytesIO(legacy)).getmembers()
    st = [m for m in members if m.name == "storages"][0]
    legacy_renamed = bytearray(legacy)
    hdr = bytearray(legacy[st.offset:st.offset + 512])
    hdr[0:100] = b"other".ljust(100, b"\x00")
    legacy_renamed[st.offset:st.offset + 512] = mutate.checksum(hdr)
    legacy_renamed = bytes(legacy_renamed)
    add("tar-two-gnu-long-names", legacy_renamed[:st.offset] + gnu + legacy_renamed[st.offset:],
        "two GNU long names before PyTorch's storages member: tarfile keeps the first ('storages'), aigate the last", ".pt")
    pax = pax_block([(b"path", b"storages")]) + pax_block([(b"path", b"other")])
    add("tar-two-pax-paths", legacy_renamed[:st.offset] + pax + legacy_renamed[st.offset:],
        "two PAX headers naming the storages member: tarfile keeps the first", ".pt")
    add("tar-solaris-pax", legacy_renamed[:st.offset] + pax_block([(b"path", b"storages")], b"X") + legacy_renamed[st.offset:],
        "a Solaris 'X' extended header naming PyTorch's storages member", ".pt")
    block = bytearray(legacy_renamed[st.offset:st.offset + 512])
    add("tar-legacy-unknown-typeflag", legacy[:st.offset] + mutate.checksum(
        bytearray(legacy[st.offset:st.offset + 156]) + b"Z" + legacy[st.offset + 157:st.offset + 512]) + legacy[st.offset + 512:],
        "PyTorch's storages member with typeflag 'Z'", ".pt")
    zero = tar_of([("model/checkpoint.pkl", b"")])
    zero_m = tarfile.open(fileobj=io.BytesIO(zero)).getmembers()[0]
    pax_size = pax_block([(b"size", ("%d" % len(EVIL))[0:1].encode() + b"_" + ("%d" % len(EVIL))[1:].encode())])
    body = zero[:zero_m.offset] + pax_size + zero[zero_m.offset:zero_m.offset + 512] + EVIL.ljust(512, b"\x00") + b"\x00" * 1024
    add("tar-pax-size-underscore", body, "PAX size '5_1' over a header size 0: tarfile reads 51 bytes", ".tar")
    # -- zip
    npy_obj = mutate.npy_bytes(mutate.npy_header_dict("'|O'"), EVIL)
    add("zip-lzma-npz-member", zip_of([("arr.npy", npy_obj)], zipfile.ZIP_LZMA),
        "an .npz whose object-array member is LZMA-compressed (method 14; zipfile and numpy.load read it)", ".npz")
    pt = zip_of([("archive/data.pkl", EVIL), ("archive/version", b"3\n")])
    add("zip-prepended", b"#!junk\n" * 8 + pt, "a zip with 56 bytes prepended: zipfile corrects the offsets", ".pt")
    add("zip-prepended-pickle", b"\x80\x04K\x01." + pt, "a small pickle, then a zip: a pickle file and a zip", ".pt")
    eocd = pt.rfind(b"PK\x05\x06")
    add("zip-eocd-disk-signature", pt[:eocd + 4] + b"PK\x05\x06" + pt[eocd + 8:],
        "end record whose disk-number fields spell 'PK\\x05\\x06' (zipfile ignores them)", ".pt")
    data = mutate.m_zip_eocd.__wrapped__(pt) if hasattr(mutate.m_zip_eocd, "__wrapped__") else None
    infos, centrals, _ = mutate.zip_entries(pt)
    last = centrals[-1]
    nlen, elen, clen = struct.unpack_from("<HHH", pt, last + 28)
    loc = b"PK\x06\x07" + struct.pack("<IQI", 0, 0, 1)
    end = last + 46 + nlen + elen + clen
    z = mutate._patch(pt, last + 32, "<H", clen + 20)
    z = z[:end] + loc + z[end:]
    e2 = z.rfind(b"PK\x05\x06")
    z = mutate._patch(z, e2 + 12, "<I", struct.unpack_from("<I", z, e2 + 12)[0] + 20)
    add("zip-zip64-locator-lookalike", z, "the last central entry's comment ends in a ZIP64 locator look-alike (zipfile falls back to the 32-bit end record)", ".pt")
    npz = zip_of([("arr.npy", npy_obj)])
    infos, centrals, _ = mutate.zip_entries(npz)
    big = mutate._patch(npz, centrals[0] + 20, "<I", 0x7FFFFFF0)
    big = mutate._patch(big, centrals[0] + 24, "<I", 0x7FFFFFF0)
    add("zip-size-past-end", big, "an .npz member whose sizes run past the end: numpy.load streams the member and unpickles it before reaching the end", ".npz")
    # -- numpy headers
    for label, descr, style in (("escape-x4f", "'\\x4f'", "plain"), ("u-prefix", "u'|O'", "plain"),
                                ("concatenated", "'|' 'O'", "plain"), ("object-word", "'object'", "plain"),
                                ("comma-fields", "'i8,O'", "plain"), ("subarray", "'(2,)O'", "plain"),
                                ("duplicate-descr", "'|O'", "duplicate"), ("comment", "'|O'", "comment"),
                                ("triple-quoted", "'''|O'''", "plain")):
        add("npy-" + label, mutate.npy_bytes(mutate.npy_header_dict(descr, style=style), EVIL),
            "an object array whose descr is written %s (ast.literal_eval and numpy.dtype read it as object)" % descr, ".npy")
    # -- joblib
    import zlib
    zf = zlib.compress(EVIL)
    add("joblib-zf-no-0x", b"ZF" + ("%x" % len(EVIL)).ljust(19).encode() + zf,
        "a joblib 0.9 ZF file whose length field has no 0x (int(s, 16) accepts it)")
    add("joblib-zf-extra-space", b"ZF" + ("0x%x" % len(EVIL)).ljust(19).encode() + b" " + zf,
        "a ZF file with the extra space joblib <= 0.8.4 wrote (read_zfile skips it)")
    c.update(joblib_frame_case())
    return c


def joblib_frame_case():
    """joblib's frame trick: one FRAME covers the array wrapper's BUILD and a payload; the
    raw array bytes follow the frame. joblib (pure Python) reads the array from the file,
    i.e. after the frame, and goes on with the payload inside the frame."""
    try:
        import joblib
        import numpy as np
    except ImportError:
        return {}
    buf = io.BytesIO()
    joblib.dump({"a": np.arange(3.0)}, buf)
    data = buf.getvalue()
    assert data[2:3] == b"\x95"
    p1, n1 = 2, struct.unpack_from("<Q", data, 3)[0]
    gap_start = p1 + 9 + n1
    pad = data[gap_start]
    p2 = gap_start + 1 + pad + 3 * 8   # pad byte, padding, three float64
    if data[p2:p2 + 1] == b"\x95":
        n2 = struct.unpack_from("<Q", data, p2 + 1)[0]
        body2, rest = data[p2 + 9:p2 + 9 + n2], data[p2 + 9 + n2:]
    else:  # the tail after the array is written without a frame
        body2, rest = data[p2:], b""
    body1 = data[p1 + 9:p1 + 9 + n1]
    gap = data[gap_start:p2]            # the array: pad byte, padding, raw data
    inner = body1 + PAYLOAD + body2 + rest
    new = data[:p1] + b"\x95" + struct.pack("<Q", len(inner)) + inner + gap
    return {"crafted-joblib-frame-array.joblib": (new, "joblib.dump of an array, frames merged so that the frame holding the wrapper's BUILD also holds a payload; the array bytes follow the frame")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO, "fixtures", "differential"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name, (data, what) in sorted(cases().items()):
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        with open(os.path.join(args.out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"crafted": True, "what": what, "made_by": "oracles/crafted.py"}, f, indent=1)
    print("%d crafted case(s) written to %s" % (len(cases()), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
