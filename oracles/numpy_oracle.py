#!/usr/bin/env python3
"""The NumPy oracle: how `numpy.load` reads a `.npy` header, and whether (and from where) it
would unpickle the data.

    python3 oracles/numpy_oracle.py FILE... [--json]

`.npy`: NumPy's own header readers (`numpy.lib.format.read_magic`, `_check_version`, then
`read_array_header_1_0` / `read_array_header_2_0` / `_read_array_header(fp, (3, 0))`, which
parse the header with `ast.literal_eval` and build the dtype with `descr_to_dtype`; as
`numpy.load(allow_pickle=True)` does, the header size limit is lifted) give the version, the
header length, the descr, the dtype, `dtype.hasobject` and the data offset. No array data is
interpreted. When `hasobject` is true the data region is what `numpy.load` hands to
`pickle.load` (the C unpickler, one load, encoding 'ASCII'): the oracle hands the same stream
to the restricted C unpickler of `_common.py`.

`.npz` (and any zip): the members are listed with `zipfile` and each member whose content
starts with the `.npy` magic (which is how `NpzFile.__getitem__` decides) is read as above,
from the member stream `ZipFile.open` gives, as NumPy does.

SAFETY: object-array data is only ever unpickled by `_common.SafeCUnpickler` (inert
recorders, no real globals) inside the sandbox of `_common.run_sandboxed`.
"""

import io
import sys
import zipfile

import _common
from _common import Recording, SafeCUnpickler, describe_error, loading, require_sandbox

MAGIC = b"\x93NUMPY"


def prepare(options):
    import numpy  # noqa: F401  (before the tripwire arms)
    import numpy.lib.format  # noqa: F401


def read_header(fp):
    """NumPy's reading of the magic and header from `fp`: a dict of what it found, with
    `error` when NumPy raises (then `numpy.load` raises too)."""
    import numpy
    fmt = numpy.lib.format
    impl = sys.modules.get("numpy.lib._format_impl", fmt)
    out = {"start": fp.tell()}
    try:
        version = fmt.read_magic(fp)
        out["version"] = list(version)
        impl._check_version(version)
        if version == (1, 0):
            reader, shape_order_dtype = "read_array_header_1_0", \
                fmt.read_array_header_1_0(fp, max_header_size=2 ** 64)
        elif version == (2, 0):
            reader, shape_order_dtype = "read_array_header_2_0", \
                fmt.read_array_header_2_0(fp, max_header_size=2 ** 64)
        else:
            reader, shape_order_dtype = "_read_array_header", \
                impl._read_array_header(fp, version, max_header_size=2 ** 64)
    except Exception as exc:
        out["error"] = describe_error(exc)
        out["stopped_at"] = fp.tell()
        return out
    shape, fortran_order, dtype = shape_order_dtype
    out.update({
        "reader": reader,
        "header_length": fp.tell() - out["start"] - (10 if version == (1, 0) else 12),
        "data_offset": fp.tell(),
        "shape": list(shape),
        "fortran_order": fortran_order,
        "dtype": str(dtype),
        "descr": _descr(dtype),
        "hasobject": bool(dtype.hasobject),
    })
    return out


def _descr(dtype):
    import numpy
    try:
        return repr(numpy.lib.format.dtype_to_descr(dtype))
    except Exception as exc:  # an odd dtype: its str is enough
        return "<%s>" % type(exc).__name__


def object_pickle(fp, chain, loader="numpy.load"):
    """What `numpy.load` unpickles from `fp` (positioned after the header): one load with the
    C unpickler, as `read_array` calls `pickle.load(fp)`."""
    require_sandbox()
    start = fp.tell()
    recording = Recording(position=fp.tell)
    read = {"chain": list(chain), "loader": loader, "unpickler": "c", "start": start}
    for _attempt in range(65):
        recording = Recording(position=fp.tell)
        fp.seek(start)
        try:
            with loading():
                SafeCUnpickler(fp, recording, persistent=False).load()
            read.pop("error", None)
            break
        except _common.OracleTimeout:
            raise
        except Exception as exc:
            code = _common.unregistered_code(exc)
            if code is not None:
                _common.register_marker_extension(code)
                continue
            read["error"] = describe_error(exc)
            break
    read["end"] = fp.tell()
    import pickle_oracle
    run = {"pickles": [dict({"index": 0, "start": start, "end": read["end"],
                             "events": recording.events}, **(
        {"error": read["error"]} if "error" in read else {}))]}
    read.update({k: v for k, v in pickle_oracle.summarize_run(run).items() if k != "error"})
    read["detail"] = run["pickles"]
    return read


def npy_reads(open_stream, chain, loader="numpy.load"):
    """The header and, for object arrays, the pickle read of one `.npy` stream."""
    require_sandbox()
    fp = open_stream()
    header = read_header(fp)
    header["chain"] = list(chain)
    reads = []
    if header.get("hasobject"):
        reads.append(object_pickle(fp, chain, loader))
    return header, reads


def oracle_file(path, options):
    with open(path, "rb") as f:
        data = f.read()
    out = {"path": path, "size": len(data), "oracle": "numpy", "headers": [], "reads": []}
    if data.startswith(MAGIC):
        header, reads = npy_reads(lambda: io.BufferedReader(io.BytesIO(data)), [])
        out["headers"].append(header)
        out["reads"].extend(reads)
    elif data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except Exception as exc:
            out["error"] = describe_error(exc)
            return out
        for info in zf.infolist():
            try:
                with zf.open(info) as m:
                    magic = m.read(len(MAGIC))
            except Exception as exc:
                out["headers"].append({"chain": [info.filename], "error": describe_error(exc)})
                continue
            if magic != MAGIC:
                continue
            header, reads = npy_reads(lambda info=info: zf.open(info), [info.filename])
            out["headers"].append(header)
            out["reads"].extend(reads)
    else:
        out["note"] = "not a .npy or .npz: numpy.load(allow_pickle=True) would pickle.load it (see pickle_oracle.py)"
    return out


if __name__ == "__main__":
    sys.exit(_common.cli("numpy_oracle:oracle_file", __doc__.splitlines()[1]))
