//! Regression tests, each named after the defect it guards against; each failed before its fix.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aigate_scan::ScanLimits;
use common::{Member, gzip, rules, scan, set_tar_checksum, tar, tar_header, zip, zip_with};

const SHORT_NPY: &[u8] = b"\x93NUMPY\x01\x00";

#[test]
fn short_npy_preamble_is_a_finding_not_a_panic() {
    let limits = ScanLimits::default();
    assert_eq!(
        rules(&scan(SHORT_NPY, "s.npy", limits)),
        ["numpy-malformed"]
    );
    assert_eq!(
        rules(&scan(&zip("arr_0.npy", SHORT_NPY), "s.npz", limits)),
        ["numpy-malformed"]
    );
    assert_eq!(
        rules(&scan(&tar("arr.npy", SHORT_NPY), "s.tar", limits)),
        ["numpy-malformed"]
    );
    let v2 = b"\x93NUMPY\x02\x00\x10\x00";
    assert_eq!(rules(&scan(v2, "s.npy", limits)), ["numpy-malformed"]);
}

#[test]
fn plain_text_that_starts_with_an_opcode_is_not_a_pickle() {
    let limits = ScanLimits::default();
    for (name, text) in [
        ("labels.txt", &b"cat\ndog\nbird\n"[..]),
        ("requirements.txt", b"click\nnumpy\ntorch==2.4\n"),
        ("vocab.txt", b"(\n)\n]\n}\n"),
        ("README", b"cmake\nbuild\n"),
    ] {
        assert!(rules(&scan(text, name, limits)).is_empty(), "{name}");
        let archive = zip(&format!("model/{name}"), text);
        assert!(
            rules(&scan(&archive, "model.zip", limits)).is_empty(),
            "{name} in a zip"
        );
    }
}

#[test]
fn headerless_pickles_that_call_are_still_found_whatever_their_name() {
    let limits = ScanLimits::default();
    for data in [
        &b"cos\nsystem\n(S'echo x'\ntR."[..],
        b"cos\nsystem\n(S'echo x'\ntR",
        b"(S'echo x'\nios\nsystem\n.",
    ] {
        for name in ["weights.bin", "labels.txt", "model.pkl"] {
            assert!(
                rules(&scan(data, name, limits)).contains(&"pickle-unsafe-global"),
                "{name}: {data:?}"
            );
        }
    }
}

#[test]
fn overlapping_zip_entries_are_reported_and_their_bytes_scanned_once() {
    let payload = vec![b'N'; 1 << 20];
    let archive = zip_with(
        &[Member {
            name: "data.pkl",
            data: &payload,
            deflate: true,
        }],
        399,
    );
    let got = scan(&archive, "bomb.zip", ScanLimits::default());
    let found = rules(&got);
    assert!(found.contains(&"zip-overlapping-entries"), "{found:?}");
    let members_read = got
        .scanned
        .iter()
        .filter(|s| !s.location.steps.is_empty())
        .count();
    assert!(members_read <= 1, "{members_read} members read");
}

/// Budget of exactly `bytes` decoded bytes per file, whatever its size.
fn decoded_budget(bytes: u64) -> ScanLimits {
    ScanLimits {
        min_decoded_bytes_per_file: bytes,
        decoded_bytes_per_byte: 0,
        max_decoded_bytes_per_file: bytes,
        ..ScanLimits::default()
    }
}

/// A benign pickle of about `len` bytes: one bytes object of zeros.
fn big_pickle(len: usize) -> Vec<u8> {
    let mut data = vec![0x80, 4, 0x8e];
    data.extend((len as u64).to_le_bytes());
    data.resize(data.len() + len, 0);
    data.push(b'.');
    data
}

#[test]
fn the_streams_of_one_file_share_one_decoded_budget() {
    let member = big_pickle(4 << 20);
    let members: Vec<Member<'_>> = ["a.pkl", "b.pkl", "c.pkl"]
        .iter()
        .map(|name| Member {
            name,
            data: &member,
            deflate: true,
        })
        .collect();
    let archive = zip_with(&members, 0);
    let within = scan(&archive, "m.zip", decoded_budget(16 << 20));
    assert!(rules(&within).is_empty(), "{:?}", within.findings);
    let over = scan(&archive, "m.zip", decoded_budget(10 << 20));
    assert!(
        rules(&over).contains(&"container-budget-exceeded"),
        "{:?}",
        over.findings
    );
}

#[test]
fn compressed_zip_members_are_inflated_once() {
    let member = big_pickle(8 << 20);
    let archive = zip_with(
        &[Member {
            name: "weights.pkl",
            data: &member,
            deflate: true,
        }],
        0,
    );
    // Room for one inflate of the member, not two.
    let got = scan(&archive, "m.zip", decoded_budget(12 << 20));
    assert!(rules(&got).is_empty(), "{:?}", got.findings);
}

#[test]
fn tar_sizes_near_the_largest_integer_do_not_overflow() {
    let mut header = tar_header("model.pkl", 0);
    // Base-256 size field: 0x80, three zero bytes, then u64::MAX.
    header[124] = 0x80;
    header[125..128].fill(0);
    header[128..136].fill(0xff);
    set_tar_checksum(&mut header);
    header.resize(2048, 0);
    let got = scan(&header, "big.tar", ScanLimits::default());
    assert!(rules(&got).contains(&"tar-malformed"), "{:?}", got.findings);
}

#[test]
fn a_zip_inside_a_broken_stream_is_reported_as_the_stream_s_fault() {
    let archive = zip("data.pkl", &big_pickle(1 << 16));
    let mut packed = gzip(&archive);
    packed.truncate(packed.len() / 2);
    let got = scan(&packed, "model.pt.gz", ScanLimits::default());
    assert_eq!(rules(&got), ["compression-corrupt"], "{:?}", got.findings);
}

/// Sets the "encrypted" flag of every entry of a zip built by `common::zip`.
fn flag_encrypted(mut archive: Vec<u8>) -> Vec<u8> {
    for at in 0..archive.len().saturating_sub(4) {
        match &archive[at..at + 4] {
            b"PK\x03\x04" => archive[at + 6] |= 1,
            b"PK\x01\x02" => archive[at + 8] |= 1,
            _ => {}
        }
    }
    archive
}

#[test]
fn a_really_encrypted_member_is_low_not_a_false_alarm() {
    let limits = ScanLimits::default();
    // ZipCrypto output looks random: a 12-byte header, then ciphertext.
    let ciphertext: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let scan_of = |data: &[u8]| scan(&flag_encrypted(zip("weights.bin", data)), "m.zip", limits);
    let encrypted = scan_of(&ciphertext);
    assert_eq!(rules(&encrypted), ["zip-encrypted-entry"]);
    assert_eq!(encrypted.findings[0].severity, aigate_report::Severity::Low);
    // A member only flagged encrypted, holding a readable payload, is analysed and stays medium.
    let payload = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.";
    let flagged = scan_of(payload);
    assert_eq!(
        rules(&flagged),
        ["zip-encrypted-entry", "pickle-unsafe-global"]
    );
    assert_eq!(
        flagged.findings[0].severity,
        aigate_report::Severity::Medium
    );
}

#[test]
fn a_csv_whose_first_byte_is_an_opcode_is_not_a_pickle() {
    // statsmodels ships results like this: `c` is GLOBAL, and a later `.` is STOP.
    let csv =
        b"const_p1,const_p2,const_f1\n.7376958,.2623042,.9997776\n.0002225,.9999886,.0000114\n";
    let limits = ScanLimits::default();
    assert_eq!(rules(&scan(csv, "results.csv", limits)), Vec::<&str>::new());
    // A real protocol 0 payload still is.
    let payload = b"cos\nsystem\n(S'id'\ntR.";
    assert_eq!(
        rules(&scan(payload, "results.csv", limits)),
        ["pickle-unsafe-global"]
    );
}

#[test]
fn joblib_zfile_arrays_are_raw_data() {
    // joblib 0.9 wrote each array's bytes to NAME.npy.z: a ZF header, then zlib.
    let mut array = Vec::new();
    for i in 0..64u32 {
        array.extend_from_slice(&(i as f64).to_le_bytes());
    }
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &array).unwrap();
    let mut zfile = format!("ZF0x{:<17x}", array.len()).into_bytes();
    zfile.extend(enc.finish().unwrap());
    let limits = ScanLimits::default();
    assert_eq!(
        rules(&scan(&zfile, "cache_01.npy.z", limits)),
        Vec::<&str>::new()
    );
}

/// A class the allowlist admits only to be instantiated (`NEWOBJ`, `BUILD`) and then called
/// with arguments by `REDUCE` in the same pickle: LightGBM's `Booster`, whose `__init__` opens
/// the model file it is given. Judged by its first invocation only, the call passed.
#[test]
fn a_class_instantiated_then_called_is_judged_for_the_call() {
    let limits = ScanLimits::default();
    // GLOBAL lightgbm.basic Booster, BINPUT 0, EMPTY_TUPLE NEWOBJ, EMPTY_DICT BUILD, POP,
    // BINGET 0, EMPTY_TUPLE REDUCE, STOP.
    let p = b"\x80\x02clightgbm.basic\nBooster\nq\x00)\x81}b0h\x00)R.";
    assert_eq!(rules(&scan(p, "m.pkl", limits)), ["pickle-unknown-global"]);
    // Instantiated and built only, it is what LightGBM writes: clean.
    let p = b"\x80\x02clightgbm.basic\nBooster\nq\x00)\x81}b.";
    assert!(rules(&scan(p, "m.pkl", limits)).is_empty());
}

/// Python 2's `copy_reg._reconstructor(cls, base, state)` makes an instance of `cls` (and
/// calls `base` when it is not `object`): the class is instantiated and built, which the
/// allowlist admits for scikit-learn's `Bunch`; `copyreg.__newobj__(cls)` is `NEWOBJ`.
#[test]
fn copyreg_reconstructors_attribute_the_instance_to_its_class() {
    let limits = ScanLimits::default();
    // As gensim's mini_newsgroup holds it (protocol 0, written by Python 2).
    let p = b"ccopy_reg\n_reconstructor\n(csklearn.datasets.base\nBunch\nc__builtin__\ndict\n(dtR(dS'a'\nI1\nsb.";
    assert!(rules(&scan(p, "bunch.pkl", limits)).is_empty());
    // The class it reconstructs is judged as instantiated: one admitted for nothing but the
    // import is not admitted to be made.
    let p = b"\x80\x02ccopyreg\n__newobj__\ncgensim.utils\nidentity\n\x85R}b.";
    let found = scan(p, "newobj.pkl", limits);
    assert_eq!(rules(&found), ["pickle-unknown-global"]);
    assert!(
        found.findings[0].message.contains("gensim.utils.identity"),
        "{}",
        found.findings[0].message
    );
}

#[test]
fn sklearn_new_obj_attributes_the_instance_to_its_class() {
    let limits = ScanLimits::default();
    // scikit-learn's `newObj(cls)` is `cls.__new__(cls)`: the class it is given is made, so it
    // is judged as instantiated, as under copyreg's `__newobj__`.
    for module in [
        "sklearn.neighbors._dist_metrics",
        "sklearn.metrics._dist_metrics",
    ] {
        let mut p = b"\x80\x02c".to_vec();
        p.extend_from_slice(module.as_bytes());
        p.extend_from_slice(b"\nnewObj\ncgensim.utils\nidentity\n\x85R}b.");
        let found = scan(&p, "newobj.pkl", limits);
        assert_eq!(rules(&found), ["pickle-unknown-global"], "{module}");
        assert!(
            found.findings[0].message.contains("gensim.utils.identity"),
            "{}",
            found.findings[0].message
        );
    }
}
