//! Every container bound is a finding, never a hang, a panic or an allocation the input chose.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aigate_scan::ScanLimits;
use common::{gzip, rules, scan, zip};

#[test]
fn decompression_bombs_stop_at_the_decoded_limit() {
    let enc = gzip(&vec![b'N'; 4 << 20]);
    let limits = ScanLimits {
        max_decoded_bytes: 1 << 20,
        ..ScanLimits::default()
    };
    let got = scan(&enc, "model.pkl.gz", limits);
    assert!(
        rules(&got).contains(&"container-budget-exceeded"),
        "{:?}",
        got.findings
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_a_finding() {
    let mut data = b"cos\nsystem\n(S'x'\ntR.".to_vec();
    for depth in 0..12 {
        data = zip(&format!("level{depth}.zip"), &data);
    }
    let got = scan(&data, "nested.zip", ScanLimits::default());
    assert!(
        rules(&got).contains(&"container-budget-exceeded"),
        "{:?}",
        got.findings
    );
}

#[test]
fn nesting_within_the_limit_is_analysed() {
    let mut data = b"cos\nsystem\n(S'x'\ntR.".to_vec();
    for depth in 0..5 {
        data = zip(&format!("level{depth}.zip"), &data);
    }
    let got = scan(&data, "nested.zip", ScanLimits::default());
    assert_eq!(rules(&got), ["pickle-unsafe-global"]);
}

#[test]
fn member_count_is_bounded() {
    let limits = ScanLimits {
        max_members: 0,
        ..ScanLimits::default()
    };
    let got = scan(&zip("a.pkl", b"N."), "many.zip", limits);
    assert_eq!(rules(&got), ["container-budget-exceeded"]);
}

#[test]
fn truncated_zip_is_malformed_not_a_pass() {
    let data = zip("data.pkl", b"cos\nsystem\n(S'x'\ntR.");
    let got = scan(&data[..data.len() - 30], "model.pt", ScanLimits::default());
    assert!(rules(&got).contains(&"zip-malformed"), "{:?}", got.findings);
}
