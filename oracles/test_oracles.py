#!/usr/bin/env python3
"""Self-tests of the differential oracles (plain unittest):

    python3 -m unittest oracles/test_oracles.py -v      # or: python3 oracles/test_oracles.py

* no sample reaches code: payloads that would create a marker file (os.system, builtins.exec,
  eval, subprocess.Popen, through REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, BUILD, EXT1 with a code
  registered to os.system, APPENDS/SETITEMS on what they made) leave no marker, trip no
  tripwire, and are recorded, with the C and the pure-Python unpickler, and through the numpy,
  joblib and loaders oracles;
* the tripwire ends the sandbox on a real find_class audit event;
* the oracles recover the globals of known fixtures (both unpicklers), NumPy header versions
  1, 2 and 3, tar with GNU long names and PAX, zip with duplicate names and prepended data,
  joblib inline and object arrays;
* the harness finds no divergence on fixtures aigate reads right and finds a crafted one
  (needs target/release/aigate; skipped without it).

Test samples are built here with pickle.dumps, numpy's writers or raw opcodes; none is ever
loaded by this process.
"""

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _common  # noqa: E402
import mutate  # noqa: E402

AIGATE = os.path.join(REPO, "target", "release", "aigate")


def su(text):
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def run(task, paths, **env):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return _common.run_sandboxed(task, paths)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def globals_of(read):
    return {"%s.%s" % (g["module"], g["name"]) for g in read.get("globals", [])}


def marker_samples(marker):
    """(name, bytes, global that must be recorded) whose real loading would create `marker`."""
    cmd = "touch %s" % marker
    py = "open(%r, 'w').close()" % marker
    s = []
    s.append(("reduce-os-system", b"cos\nsystem\n(S'%s'\ntR." % cmd.encode(), "os.system"))
    s.append(("reduce-posix-system-p2", b"\x80\x02cposix\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd.encode()
              + b"\x85R.", "posix.system"))
    s.append(("stack-global-exec", b"\x80\x04" + su("builtins") + su("exec") + b"\x93" + su(py) + b"\x85R.",
              "builtins.exec"))
    s.append(("eval", b"\x80\x04" + su("builtins") + su("eval") + b"\x93" + su(py) + b"\x85R.", "builtins.eval"))
    s.append(("inst-os-system", b"(S'%s'\nios\nsystem\n." % cmd.encode(), "os.system"))
    s.append(("obj-os-system", b"(cos\nsystem\nS'%s'\no." % cmd.encode(), "os.system"))
    s.append(("newobj-popen", b"\x80\x02csubprocess\nPopen\n(S'touch'\nS'%s'\nl\x85\x81." % marker.encode(),
              "subprocess.Popen"))
    s.append(("newobj-ex-popen", b"\x80\x04" + su("subprocess") + su("Popen") + b"\x93(" + su("touch") + su(marker)
              + b"l\x85}\x92.", "subprocess.Popen"))
    s.append(("inst-no-args-then-build", b"(ios\nsystem\n}" + su("x") + su(cmd) + b"sb.", "os.system"))
    s.append(("build-setstate-on-result", b"\x80\x02cos\nsystem\n(S'true'\ntR" + su(cmd) + b"b.", "os.system"))
    s.append(("appends-on-result", b"\x80\x02cos\nsystem\n(S'true'\ntR(" + su(cmd) + b"e.", "os.system"))
    s.append(("setitems-on-global", b"\x80\x02cos\nenviron\n(" + su("A") + su(cmd) + b"u.", "os.environ"))
    s.append(("getattr-chain", b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(S'os'\ntRS'system'\ntR(S'%s'\ntR."
              % cmd.encode(), "builtins.__import__"))
    s.append(("ext-registered", b"\x80\x02\x82\xab(" + su(cmd) + b"tR.", None))
    s.append(("persistent-then-call", b"\x80\x02Ppid\n(" + su(cmd) + b"tR.", None))
    s.append(("stacked-second", pickle.dumps([1]) + b"cos\nsystem\n(S'%s'\ntR." % cmd.encode(), "os.system"))
    return s


class NoCodeIsReached(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="aigate-oracle-test-")
        self.marker = os.path.join(self.tmp.name, "MARKER")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def assertNoMarker(self, results):
        self.assertFalse(os.path.exists(self.marker), "a payload created the marker")
        self.assertEqual(sorted(os.listdir(self.tmp.name)) and [n for n in os.listdir(self.tmp.name)
                                                                 if n.startswith("MARKER")], [])
        for r in results:
            self.assertNotIn("warnings", r, r.get("warnings"))
            self.assertNotEqual((r.get("error") or {}).get("type"), "OracleDied", r.get("error"))

    def test_pickle_oracle_both_unpicklers(self):
        samples = marker_samples(self.marker)
        paths = [self.write(name + ".pkl", data) for name, data, _ in samples]
        results = run("pickle_oracle:oracle_file", paths, AIGATE_ORACLE_TEST_REGISTER_EXT="171:os:system")
        self.assertNoMarker(results)
        for (name, _data, expected), result in zip(samples, results):
            loaders = {r["loader"]: r for r in result["reads"]}
            for loader in ("pickle-c-file", "pickle-c-bytesio", "pickle-py-file"):
                read = loaders[loader]
                if expected:
                    self.assertIn(expected, globals_of(read), (name, loader, read.get("error")))
                    self.assertGreater(sum(g["calls"] + g["builds"] + g["imports"] for g in read["globals"]), 0)
            if name == "ext-registered":
                for loader in ("pickle-c-file", "pickle-py-file"):
                    ext = loaders[loader]["extensions"]
                    self.assertEqual([e["code"] for e in ext], [171], loader)
                    self.assertEqual(globals_of(loaders[loader]), set(), "EXT resolved a real global")
                    self.assertEqual(loaders[loader]["indirect_calls"], 1)
            if name == "persistent-then-call":
                self.assertEqual(loaders["pickle-c-file"]["persistent_ids"], 1)
            if name.endswith("popen") or name in ("reduce-os-system", "eval", "inst-os-system", "obj-os-system"):
                calls = {g["name"]: g["calls"] for g in loaders["pickle-c-file"]["globals"]}
                self.assertGreaterEqual(max(calls.values()), 1, name)

    def test_numpy_joblib_and_loaders_oracles(self):
        cmd = "touch %s" % self.marker
        evil = b"\x80\x02cposix\nsystem\n(S'%s'\ntR." % cmd.encode()
        npy = mutate.npy_bytes(mutate.npy_header_dict("'|O'"), evil)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("arr.npy", npy)
            z.writestr("data.pkl", evil)
        paths = [self.write("evil.npy", npy), self.write("evil.npz", buf.getvalue()),
                 self.write("evil.joblib", evil)]
        for task in ("numpy_oracle:oracle_file", "joblib_oracle:oracle_file", "loaders:view_file"):
            results = run(task, paths)
            self.assertNoMarker(results)
            found = set()
            for r in results:
                for read in r.get("reads", []):
                    found |= globals_of(read)
            self.assertIn("posix.system", found, task)

    def test_tripwire_ends_the_sandbox(self):
        path = self.write("x.bin", b"x")
        with self.assertRaises(SystemExit) as ctx:
            run("_tripwire_check:fire", [path])
        self.assertIn("tripwire", str(ctx.exception))

    def test_loading_refused_outside_the_sandbox(self):
        with self.assertRaises(RuntimeError):
            _common.SafeCUnpickler(io.BytesIO(b"N."), _common.Recording())
        with self.assertRaises(RuntimeError):
            _common.SafePyUnpickler(io.BytesIO(b"N."), _common.Recording())


FIX = os.path.join(REPO, "fixtures")


class RecoversFixtures(unittest.TestCase):
    def test_pickle_fixtures(self):
        cases = {
            "malicious/os_system_proto0.pkl": "os.system",
            "malicious/inst_opcode.pkl": "os.system",
            "malicious/obj_opcode.pkl": "os.system",
            "malicious/newobj_popen.pkl": "subprocess.Popen",
            "malicious/newobj_ex_popen.pkl": "subprocess.Popen",
            "malicious/stack_global_memo.pkl": "posix.system",
            "malicious/python2_builtin_eval.pkl": "__builtin__.eval",
            "malicious/payload_then_garbage.pkl": "os.system",
            "malicious/payload_then_truncated.pkl": "posix.system",
            "malicious/stacked_second_is_malicious.pkl": "posix.system",
            "malicious/dotted_name_walk.pkl": "torch.serialization.os.system",
            "malicious/unknown_class_setstate.pkl": "evil_pkg.payloads.SetState",
        }
        paths = [os.path.join(FIX, p) for p in cases]
        for (name, expected), result in zip(cases.items(), run("pickle_oracle:oracle_file", paths)):
            by = {r["loader"]: r for r in result["reads"]}
            for loader in ("pickle-c-file", "pickle-py-file"):
                self.assertIn(expected, globals_of(by[loader]), (name, loader))
        stacked = run("pickle_oracle:oracle_file", [os.path.join(FIX, "malicious/stacked_second_is_malicious.pkl")])[0]
        c = {r["loader"]: r for r in stacked["reads"]}["pickle-c-file"]
        self.assertEqual(c["pickles"], 2)
        self.assertEqual(c["globals"][0]["first_pickle"], 1)
        garbage = run("pickle_oracle:oracle_file", [os.path.join(FIX, "malicious/payload_then_garbage.pkl")])[0]
        self.assertIsNotNone(garbage["reads"][0]["error"])
        ext = run("pickle_oracle:oracle_file", [os.path.join(FIX, "malicious/ext_code.pkl")])[0]
        self.assertEqual([e["code"] for e in ext["reads"][0]["extensions"]], [1])

    def test_numpy_header_versions(self):
        body = b"\x80\x02caigate_test\nthing\n)R."
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for version in ((1, 0), (2, 0), (3, 0)):
                p = os.path.join(d, "v%d.npy" % version[0])
                with open(p, "wb") as f:
                    f.write(mutate.npy_bytes(mutate.npy_header_dict("'|O'"), body, version))
                paths.append(p)
            p = os.path.join(d, "plain.npy")
            with open(p, "wb") as f:
                f.write(mutate.npy_bytes(mutate.npy_header_dict("'<f8'"), b"\x00" * 8))
            paths.append(p)
            results = run("numpy_oracle:oracle_file", paths)
        for version, r in zip((1, 2, 3), results[:3]):
            h = r["headers"][0]
            self.assertEqual(h["version"], [version, 0])
            self.assertTrue(h["hasobject"])
            self.assertEqual(h["data_offset"] % 64, 0)
            self.assertIn("aigate_test.thing", globals_of(r["reads"][0]))
        self.assertFalse(results[3]["headers"][0]["hasobject"])
        self.assertEqual(results[3]["reads"], [])

    def test_tar_long_names_and_pax(self):
        results = run("loaders:view_file", [os.path.join(FIX, "malicious/gnu_long_name.tar"),
                                            os.path.join(FIX, "malicious/pax_long_name.tar")])
        long_name = "model/" + "very-long-directory-name/" * 8 + "checkpoint.bin"
        for r in results:
            tar = [l for l in r["listings"] if l["loader"] == "tarfile"][0]
            self.assertEqual([m["name"] for m in tar["members"]], [long_name])
            reads = [x for x in r["reads"] if x["chain"] == [long_name]]
            self.assertTrue(any("posix.system" in globals_of(x) for x in reads))

    def test_zip_duplicates_and_prepended_data(self):
        with open(os.path.join(FIX, "malicious/zip_duplicate_member.pt"), "rb") as f:
            dup = f.read()
        with tempfile.TemporaryDirectory() as d:
            p1 = os.path.join(d, "dup.pt")
            p2 = os.path.join(d, "prepended.pt")
            with open(p1, "wb") as f:
                f.write(dup)
            with open(p2, "wb") as f:
                f.write(b"#!junk\n" * 10 + dup)
            r1, r2 = run("loaders:view_file", [p1, p2])
        for r, prepended in ((r1, 0), (r2, 70)):
            z = [l for l in r["listings"] if l["loader"] == "zipfile"][0]
            self.assertEqual([m["name"] for m in z["members"]].count("model/data.pkl"), 2)
            self.assertEqual(z["prepended"], prepended)
            found = set()
            for read in r["reads"]:
                if read["chain"] == ["model/data.pkl"]:
                    found |= globals_of(read)
            self.assertIn("posix.system", found)

    def test_joblib_arrays(self):
        r = run("joblib_oracle:oracle_file", [os.path.join(FIX, "malicious/joblib_object_array.joblib"),
                                              os.path.join(FIX, "benign/joblib_arrays.joblib"),
                                              os.path.join(FIX, "malicious/joblib_reduce.lz4"),
                                              os.path.join(FIX, "malicious/joblib_zfile.pkl")])
        read = r[0]["reads"][0]
        self.assertIn("posix.system", globals_of(read))
        self.assertEqual([a["objects"] for a in read["arrays"]], [False, True])
        self.assertGreater(read["arrays"][0]["end"], read["arrays"][0]["data_start"])
        arrays = r[1]["reads"][0]["arrays"]
        self.assertEqual(len(arrays), 5)
        self.assertIsNone(r[1]["reads"][0].get("error"))
        self.assertIn("posix.system", globals_of(r[2]["reads"][0]))
        self.assertEqual(r[2]["reads"][0]["compressor"], "lz4")
        self.assertIn("posix.system", globals_of(r[3]["reads"][0]))
        self.assertEqual(r[3]["reads"][0]["compressor"], "compat")


class ReadsBothReportShapes(unittest.TestCase):
    def test_locations_and_list_globals(self):
        import differential
        old = {"path": "f", "members": ["archive/data.pkl", "embedded pickle (latin-1 text) @ 230"]}
        self.assertEqual(differential.location_chain(old), (("archive/data.pkl",), True))
        self.assertEqual(differential.location_chain({"path": "f", "members": ["gzip stream", "a.npy",
                                                                               "object array pickle"]}),
                         (("a.npy",), False))
        new = {"path": "f", "steps": [{"member": "outer.zip"}, {"decoded": "gzip"}, {"member": "x.pkl"},
                                      {"embedded": {"encoding": "base64", "offset": 230}}], "offset": 3}
        self.assertEqual(differential.location_chain(new), (("outer.zip", "x.pkl"), True))
        report = {"findings": [], "errors": [], "scanned": [
            {"location": {"path": "f", "steps": [{"member": "m.pkl"}]}, "format": "pickle",
             "globals": [{"module": "collections", "name": "OrderedDict", "imports": 1, "calls": 2}]}]}
        view = differential.aigate_view(report, "f")
        self.assertEqual(view[("m.pkl",)]["globals"]["collections.OrderedDict"]["calls"], 2)
        self.assertTrue(view[("m.pkl",)]["globals"]["collections.OrderedDict"]["top"])


@unittest.skipUnless(os.path.exists(AIGATE), "build aigate first: cargo build --release -p aigate")
class Harness(unittest.TestCase):
    def harness(self, paths):
        import differential
        return differential.run(AIGATE, paths)

    def test_agrees_on_fixtures(self):
        names = ["malicious/os_system_proto0.pkl", "malicious/zip_duplicate_member.pt",
                 "malicious/legacy_tar.pt", "malicious/numpy_object.npz", "malicious/joblib_object_array.joblib",
                 "benign/torch_checkpoint.pt", "benign/sklearn_forest.gz", "malicious/gnu_long_name.tar"]
        summary = self.harness([os.path.join("fixtures", n) for n in names])
        self.assertEqual(summary["divergences"], [])

    def test_finds_a_known_divergence(self):
        # The harness must see a divergence aigate still has. The crafted one this test used (a
        # hex INT hiding a payload) was fixed; a case the known list still records serves.
        known = os.path.join(REPO, "fixtures", "differential", "known.tsv")
        with open(known) as f:
            rows = [line.rstrip("\n").split("\t") for line in f if not line.startswith("#")]
        missed = [r for r in rows if len(r) > 3 and r[1] == "global-missed"]
        if not missed:
            self.skipTest("no known divergence remains: craft a new one for this test")
        path, _, _, name = missed[0][:4]
        summary = self.harness([os.path.join(REPO, path)])
        kinds = {(x["kind"], x["global"]) for x in summary["divergences"]}
        self.assertIn(("global-missed", name), kinds)


if __name__ == "__main__":
    unittest.main()
