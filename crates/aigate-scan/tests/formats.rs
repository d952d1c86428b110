//! The readers of model formats beside pickles, on files the fixture script
//! (`fixtures/make_format_fixtures.py`) wrote with the real libraries, changed where a test needs
//! what a fixture cannot hold (a link on disk).

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use aigate_scan::{ScanLimits, Scanner};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/formats")
        .join(rel)
}

fn rules_of(path: &Path) -> Vec<String> {
    let scanner = Scanner::new(&[], &[], ScanLimits::default()).unwrap();
    let scan = scanner.scan_file(path, &path.to_string_lossy());
    scan.findings.iter().map(|f| f.rule.clone()).collect()
}

#[cfg(unix)]
#[test]
fn onnx_external_data_through_a_link_that_leads_out_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.onnx");
    std::fs::copy(fixture("benign/onnx/external/model.onnx"), &model).unwrap();
    std::fs::copy(
        fixture("benign/onnx/external/weights.bin"),
        dir.path().join("weights.bin"),
    )
    .unwrap();
    assert_eq!(rules_of(&model), Vec::<String>::new());
    // The location stays `weights.bin`; the file becomes a link to one outside the folder.
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("secret");
    std::fs::write(&target, b"not the weights").unwrap();
    std::fs::remove_file(dir.path().join("weights.bin")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("weights.bin")).unwrap();
    assert_eq!(rules_of(&model), ["onnx-external-data"]);
}
