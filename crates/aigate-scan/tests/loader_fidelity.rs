//! The readers agree with the loaders: each test is one cause of a divergence the differential
//! oracles found (`fixtures/differential/known.tsv`, cases written by `oracles/crafted.py` or
//! `oracles/fuzz_differential.py`, each with a `.json` saying how it was made). A loader
//! reaches the global named; aigate must report it.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aigate_scan::{FileScan, ScanLimits};

fn case(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/differential/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn reports(scan: &FileScan, global: &str) -> bool {
    scan.findings
        .iter()
        .any(|f| f.message.contains(global) || format!("{:?}", f.location).contains(global))
}

#[track_caller]
fn assert_case_reports(name: &str, global: &str) {
    let scan = common::scan(&case(name), name, ScanLimits::default());
    assert!(
        reports(&scan, global),
        "{name}: {global} not reported; findings: {:#?}",
        scan.findings
            .iter()
            .map(|f| format!("{} {}", f.rule.as_str(), f.message))
            .collect::<Vec<_>>()
    );
}

#[test]
fn tar_numbers_are_read_as_tarfile_reads_them() {
    // nti(): int(s.strip() or "0", 8), which takes a 0o prefix and underscores.
    assert_case_reports("crafted-tar-size-0o.tar", "aigate_mutant.payload");
    assert_case_reports("crafted-tar-size-underscore.tar", "aigate_mutant.payload");
    // A PAX size is int(value): '5_1' is 51.
    assert_case_reports(
        "crafted-tar-pax-size-underscore.tar",
        "aigate_mutant.payload",
    );
}

#[test]
fn tar_checksum_may_be_the_signed_sum() {
    assert_case_reports("crafted-tar-signed-checksum.tar", "aigate_mutant.payload");
}

#[test]
fn tar_unknown_types_are_regular_files_and_special_types_have_no_data() {
    // tarfile reads types it does not know as regular files...
    assert_case_reports("crafted-tar-unknown-typeflag.tar", "aigate_mutant.payload");
    assert_case_reports("crafted-tar-legacy-unknown-typeflag.pt", "posix.system");
    // ...and skips no data after links and directories, whatever their size field says.
    assert_case_reports("crafted-tar-dir-covers-member.tar", "aigate_mutant.payload");
    assert_case_reports(
        "crafted-tar-symlink-covers-member.tar",
        "aigate_mutant.payload",
    );
}

#[test]
fn tar_first_long_name_wins_and_solaris_headers_are_pax() {
    assert_case_reports("crafted-tar-two-gnu-long-names.pt", "posix.system");
    assert_case_reports("crafted-tar-two-pax-paths.pt", "posix.system");
    assert_case_reports("crafted-tar-solaris-pax.pt", "posix.system");
}

#[test]
fn zip_end_record_is_found_where_zipfile_finds_it() {
    // The last 22 bytes are an end record without a comment: zipfile takes it, even though
    // its disk-number fields spell the signature again.
    assert_case_reports(
        "crafted-zip-eocd-disk-signature.pt",
        "aigate_mutant.payload",
    );
    // A ZIP64 locator look-alike at the end of the last comment: zipfile finds no ZIP64 end
    // record right before it and reads the 32-bit end record.
    assert_case_reports(
        "crafted-zip-zip64-locator-lookalike.pt",
        "aigate_mutant.payload",
    );
}

#[test]
fn zip_after_other_data_is_read_as_zipfile_reads_it() {
    assert_case_reports("crafted-zip-prepended.pt", "aigate_mutant.payload");
    assert_case_reports("crafted-zip-prepended-pickle.pt", "aigate_mutant.payload");
}

#[test]
fn zip_lzma_members_are_decoded() {
    // Method 14, which zipfile (and so numpy.load) reads.
    assert_case_reports("crafted-zip-lzma-npz-member.npz", "aigate_mutant.payload");
}

#[test]
fn npy_header_is_a_python_literal_and_any_object_dtype_counts() {
    // numpy reads the header with ast.literal_eval and gives descr to numpy.dtype: comments,
    // adjacent literals, escapes, prefixes, triple quotes, repeated keys (the last counts),
    // and dtype spellings with an object field all make an object array, whose data
    // numpy.load(allow_pickle=True) unpickles.
    for name in [
        "crafted-npy-comma-fields.npy",
        "crafted-npy-comment.npy",
        "crafted-npy-concatenated.npy",
        "crafted-npy-duplicate-descr.npy",
        "crafted-npy-escape-x4f.npy",
        "crafted-npy-object-word.npy",
        "crafted-npy-subarray.npy",
        "crafted-npy-triple-quoted.npy",
        "crafted-npy-u-prefix.npy",
    ] {
        assert_case_reports(name, "aigate_mutant.payload");
    }
}

#[test]
fn joblib_zfile_header_is_read_as_read_zfile_reads_it() {
    // int(field, 16) takes a length without 0x; joblib <= 0.8.4 wrote one more space.
    assert_case_reports("crafted-joblib-zf-no-0x.pkl", "aigate_mutant.payload");
    assert_case_reports("crafted-joblib-zf-extra-space.pkl", "aigate_mutant.payload");
}

#[test]
fn tar_long_name_is_read_to_its_nul_over_whole_blocks() {
    // A GNU long-name header whose size field (6_3, i.e. 51) is shorter than the name:
    // tarfile reads whole blocks and keeps the name up to its NUL, so the member is
    // `.../checkpoint.bin`, not the first 51 characters.
    assert_case_reports("0b863b69b93a.tar", "checkpoint.bin");
}

/// The rule ids and messages, for a failing assertion.
fn shown(scan: &FileScan) -> Vec<String> {
    scan.findings
        .iter()
        .map(|f| format!("{} {}", f.rule.as_str(), f.message))
        .collect()
}

#[test]
fn zip_member_cut_by_the_end_of_the_file_is_read_as_far_as_it_goes() {
    // meta.npy's compressed size claims more than the file holds: zipfile reads to the end
    // of the file and fails there, after numpy has unpickled what was present.
    let name = "86f98ecd1be8.npz";
    let found = common::scan(&case(name), name, ScanLimits::default());
    assert!(
        found
            .findings
            .iter()
            .any(|f| f.rule.as_str() == "pickle-unsafe-global"),
        "{:?}",
        shown(&found)
    );
}

#[test]
fn data_after_a_compressed_stream_does_not_hide_it() {
    // Python's decompressors ignore what follows the last stream, and a cut stream yields
    // what decodes before the cut: the pickle in it is read.
    for name in ["39275754c6ac.xz", "44f5eae82ff2.bz2", "1351006379f9.gz"] {
        let found = common::scan(&case(name), name, ScanLimits::default());
        assert!(
            reports(&found, "posix.system"),
            "{name}: {:?}",
            shown(&found)
        );
    }
}

#[test]
fn tar_gnu_sparse_name_in_pax_is_the_member_name() {
    // An outer PAX header with GNU.sparse.name=decoy.txt: tarfile names the member so.
    let name = "b47084dddca8.tar";
    let found = common::scan(&case(name), name, ScanLimits::default());
    let at = found
        .findings
        .iter()
        .find(|f| f.message.contains("posix.system"))
        .map(|f| format!("{:?}", f.location));
    assert!(
        at.as_deref().is_some_and(|at| at.contains("decoy.txt")),
        "{at:?}"
    );
}

/// A ustar header for a regular file `name` of `size` bytes.
fn ustar_header(name: &str, size: usize) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

#[test]
fn tar_member_whole_before_a_cut_in_its_padding_is_scanned() {
    // The archive ends inside the padding after the last member's bytes: tarfile reads the
    // member whole and fails only when it looks for the next header (a fuzzer's truncation
    // of fixtures/benign/legacy_tar.pt, d94e0ac2ed63.pt, has torch.FloatStorage there).
    let member = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.";
    let mut tar = ustar_header("storages", member.len()).to_vec();
    tar.extend_from_slice(member);
    tar.extend_from_slice(&[0; 100]);
    let scan = common::scan(&tar, "model.pt", ScanLimits::default());
    assert!(reports(&scan, "os.system"), "{:?}", shown(&scan));
    assert!(
        scan.findings
            .iter()
            .any(|f| f.rule.as_str() == "tar-malformed"),
        "{:?}",
        shown(&scan)
    );
}
