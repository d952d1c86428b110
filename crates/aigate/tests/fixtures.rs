//! Every fixture in `fixtures/manifest.tsv` and `fixtures/formats/manifest.tsv` (written by
//! `fixtures/make_fixtures.py` and `fixtures/make_format_fixtures.py`) is scanned
//! by the real binary: malicious samples must exit 1 with every listed rule, benign samples
//! must exit 0 (with at most info findings), `low` ones exit 0 with every listed rule. The full list of rules each fixture gets is a
//! snapshot, so that a rule appearing where it did not is seen too.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Case {
    path: String,
    expect: String,
    rules: Vec<String>,
    how: String,
}

/// The manifests of `fixtures/make_fixtures.py` (pickles and their containers) and of
/// `fixtures/make_format_fixtures.py` (safetensors, GGUF, chat templates).
const MANIFESTS: &[&str] = &["fixtures/manifest.tsv", "fixtures/formats/manifest.tsv"];

fn manifest() -> Vec<Case> {
    MANIFESTS.iter().flat_map(|m| read_manifest(m)).collect()
}

fn read_manifest(name: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(repo().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 4, "bad manifest line {line:?}");
            Case {
                path: cols[0].to_owned(),
                expect: cols[1].to_owned(),
                rules: cols[2]
                    .split(',')
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect(),
                how: cols[3].to_owned(),
            }
        })
        .collect()
}

fn scan(path: &str) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(repo())
        .args(["scan", "--format", "json", path])
        .output()
        .unwrap_or_else(|e| panic!("running aigate: {e}"));
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn rules_of(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f["rule"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap()
}

#[test]
fn every_fixture_gets_its_verdict() {
    let cases = manifest();
    assert!(
        cases.len() > 100,
        "the manifest lists only {} fixtures",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    for case in &cases {
        let (code, report) = scan(&case.path);
        let rules = rules_of(&report);
        let mut sorted = rules.clone();
        sorted.sort();
        seen.push(format!("{}\t{code}\t{}", case.path, sorted.join(",")));
        // `low`: the listed rules, nothing above low, so the run passes (an encrypted member
        // no loader can read without its password).
        let want_code = if case.expect == "clean" || case.expect == "low" {
            0
        } else {
            1
        };
        let missing: Vec<&String> = case.rules.iter().filter(|r| !rules.contains(r)).collect();
        let unexpected_on_clean = (case.expect == "clean"
            && report["findings"]
                .as_array()
                .is_some_and(|fs| fs.iter().any(|f| f["severity"] != "info")))
            || (case.expect == "low"
                && report["findings"].as_array().is_some_and(|fs| {
                    fs.iter()
                        .any(|f| f["severity"] != "info" && f["severity"] != "low")
                }));
        if code != want_code || !missing.is_empty() || unexpected_on_clean {
            failures.push(format!(
                "{} ({}): exit {code}, want {want_code}; missing {missing:?}; found {}",
                case.path,
                case.how,
                serde_json::to_string(&report["findings"]).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    insta::assert_snapshot!("fixture_rules", seen.join("\n"));
}

#[test]
fn malicious_and_benign_fixtures_are_both_present() {
    let cases = manifest();
    assert!(cases.iter().filter(|c| c.expect == "findings").count() >= 60);
    assert!(cases.iter().filter(|c| c.expect == "clean").count() >= 25);
}

/// Checkpoints and models written by the 2024-era and current releases of the libraries
/// (`fixtures/make_version_fixtures.py`): `argparse.Namespace`, OmegaConf, `TrainingArguments`,
/// gradient-boosting, statsmodels, gensim and SciPy objects must not be false alarms.
#[test]
fn benign_fixtures_of_the_library_versions_people_have_scan_clean() {
    let cases = read_manifest("fixtures/benign/versions/manifest.tsv");
    for env in ["/2024/", "/current/"] {
        let n = cases.iter().filter(|c| c.path.contains(env)).count();
        assert!(n >= 10, "only {n} fixtures from {env}");
    }
    let mut failures = Vec::new();
    for case in &cases {
        assert_eq!(case.expect, "clean", "{}", case.path);
        let (code, report) = scan(&case.path);
        let loud: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] != "info")
            .map(|f| format!("{} {}", f["rule"], f["message"]))
            .collect();
        if code != 0 || !loud.is_empty() {
            failures.push(format!(
                "{} ({}): exit {code}: {loud:?}",
                case.path, case.how
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures are false alarms:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
