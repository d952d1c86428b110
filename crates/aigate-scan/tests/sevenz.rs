//! The 7z reader on archives py7zr wrote (`fixtures/make_format_fixtures.py`) and on bytes
//! crafted here where a test needs what no writer makes: every bound a finding, never a
//! search, an allocation or a decode the archive chose. Nothing here is ever loaded.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use aigate_report::Step;
use aigate_scan::ScanLimits;
use common::{rules, scan};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/formats")
            .join(rel),
    )
    .unwrap()
}

/// A 7z signature header pointing at `next` placed after `packed` bytes of pack data.
fn archive(packed: &[u8], next: &[u8]) -> Vec<u8> {
    let mut start = Vec::new();
    start.extend_from_slice(&(packed.len() as u64).to_le_bytes());
    start.extend_from_slice(&(next.len() as u64).to_le_bytes());
    start.extend_from_slice(&crc32fast::hash(next).to_le_bytes());
    let mut out = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    out.extend_from_slice(&crc32fast::hash(&start).to_le_bytes());
    out.extend_from_slice(&start);
    out.extend_from_slice(packed);
    out.extend_from_slice(next);
    out
}

#[test]
fn every_member_of_a_solid_block_is_scanned() {
    let got = scan(
        &fixture("malicious/sevenz/solid.7z"),
        "solid.7z",
        ScanLimits::default(),
    );
    let hit = got
        .findings
        .iter()
        .find(|f| f.rule == "pickle-unsafe-global")
        .unwrap_or_else(|| panic!("{:?}", got.findings));
    assert_eq!(
        hit.location.steps.first(),
        Some(&Step::Member("data/model.pkl".into()))
    );
    // The members before it were read as what they are.
    let formats: Vec<&str> = got.scanned.iter().map(|s| s.format.as_str()).collect();
    assert!(
        formats.contains(&"7z") && formats.contains(&"numpy"),
        "{formats:?}"
    );
}

#[test]
fn a_member_declared_larger_than_the_memory_limit_is_not_decoded() {
    let limits = ScanLimits {
        max_in_memory: 16,
        ..ScanLimits::default()
    };
    let got = scan(&fixture("malicious/sevenz/pickle.7z"), "a.7z", limits);
    let rules = rules(&got);
    assert!(rules.contains(&"container-budget-exceeded"), "{rules:?}");
    assert!(!rules.contains(&"pickle-unsafe-global"), "{rules:?}");
}

#[test]
fn the_files_decoded_budget_stops_a_solid_block_and_names_what_it_left() {
    let limits = ScanLimits {
        min_decoded_bytes_per_file: 600,
        decoded_bytes_per_byte: 1,
        max_decoded_bytes_per_file: 600,
        ..ScanLimits::default()
    };
    let got = scan(&fixture("malicious/sevenz/solid.7z"), "a.7z", limits);
    let budget: Vec<_> = got
        .findings
        .iter()
        .filter(|f| f.rule == "container-budget-exceeded")
        .collect();
    // The README (500 bytes) fits; config.json or the array crosses the limit; the pickle
    // after it is named as not analysed.
    assert!(
        budget.iter().any(
            |f| f.location.steps == [Step::Member("data/model.pkl".into())]
                && f.message.contains("not analysed")
        ),
        "{:?}",
        got.findings
    );
}

#[test]
fn a_blank_start_header_is_a_finding_not_a_search() {
    let mut data = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    data.extend_from_slice(&[0; 24]);
    // Bytes that each look like the start of a header: the crate would try every one.
    data.extend(std::iter::repeat_n([0x01u8, 0x00], 4096).flatten());
    let got = scan(&data, "a.7z", ScanLimits::default());
    assert_eq!(rules(&got), ["sevenz-malformed"], "{:?}", got.findings);
    assert!(got.findings[0].message.contains("blank"));
}

#[test]
fn an_empty_archive_has_nothing_to_report() {
    let got = scan(&archive(&[], &[]), "a.7z", ScanLimits::default());
    assert!(got.findings.is_empty(), "{:?}", got.findings);
    assert_eq!(got.scanned[0].format, "7z");
    let written = scan(
        &fixture("benign/sevenz/empty.7z"),
        "a.7z",
        ScanLimits::default(),
    );
    assert!(written.findings.is_empty(), "{:?}", written.findings);
}

#[test]
fn an_encoded_header_declaring_a_huge_size_is_refused_before_decoding() {
    // Encoded header: pack info (one stream of 5 bytes), one folder of one LZMA2 coder whose
    // output claims 2^40 bytes.
    let mut next = vec![
        0x17, 0x06, 0x00, 0x01, 0x09, 0x05, 0x00, 0x07, 0x0b, 0x01, 0x00,
    ];
    next.extend_from_slice(&[0x01, 0x21, 0x21, 0x01, 0x18]);
    next.push(0x0c);
    // NUMBER 2^40: 0xfe says seven little-endian bytes follow.
    next.push(0xfe);
    next.extend_from_slice(&(1u64 << 40).to_le_bytes()[..7]);
    next.extend_from_slice(&[0x00, 0x00]);
    let got = scan(&archive(&[0; 5], &next), "a.7z", ScanLimits::default());
    let rules = rules(&got);
    assert_eq!(rules, ["container-budget-exceeded"], "{:?}", got.findings);
    assert!(got.findings[0].message.contains("1099511627776"));
}

#[test]
fn a_corrupted_block_is_malformed() {
    let mut data = fixture("malicious/sevenz/solid.7z");
    // Inside the packed block (it starts right after the 32-byte signature header).
    data[40] ^= 0x55;
    let got = scan(&data, "a.7z", ScanLimits::default());
    let rules = rules(&got);
    assert!(rules.contains(&"sevenz-malformed"), "{rules:?}");
    // The members after the error are each named, not passed.
    assert!(
        got.findings.iter().any(
            |f| f.location.steps == [Step::Member("data/model.pkl".into())]
                && f.message.contains("not analysed")
        ),
        "{:?}",
        got.findings
    );
}

#[test]
fn encrypted_members_are_low_and_encrypted_headers_fail_closed() {
    let members = scan(
        &fixture("malicious/sevenz/encrypted.7z"),
        "a.7z",
        ScanLimits::default(),
    );
    assert_eq!(rules(&members), ["sevenz-encrypted-entry"]);
    assert_eq!(members.findings[0].severity, aigate_report::Severity::Low);
    let header = scan(
        &fixture("malicious/sevenz/encrypted-header.7z"),
        "a.7z",
        ScanLimits::default(),
    );
    assert_eq!(rules(&header), ["sevenz-encrypted-header"]);
}
