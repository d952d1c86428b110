//! `aigate check` as CI runs it: the real binary on a project with one problem of each kind
//! (a malicious model, a tampered dataset, an unpinned requirement, a typosquat, a vulnerable
//! version, an unsigned lock where a key is required), each named once; the same project fixed
//! passes; checks that cannot run say what to run and exit 2 unless allowed.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The PyPA advisory records shipped for tests: an offline database.
fn pypa_db() -> String {
    repo()
        .join("crates/aigate-advisory/tests/data/pypa")
        .display()
        .to_string()
}

/// aigate in `dir`, isolated from this machine's environment, pip configuration and caches.
fn aigate(dir: &Path, args: &[&str]) -> Output {
    support::isolated(dir)
        .env("AIGATE_CACHE_DIR", dir.join(".cache"))
        .env("AIGATE_ACTOR", "ci")
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A protocol-0 pickle that would call `os.system` on load (written as bytes, never loaded).
const MALICIOUS_PICKLE: &[u8] = b"cos\nsystem\n(S'echo pwned'\ntR.";
/// `pickle.dumps({"w": [1, 2]}, protocol=2)`.
const BENIGN_PICKLE: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01]q\x02(K\x01K\x02es.";

const CONFIG: &str = r#"[trust]
keys = ["keys/release.pub.pem"]

[[model]]
name = "classifier"
path = "models/classifier.pkl"
owner = "ml-platform"

[[dataset]]
name = "reviews"
path = "data/reviews.csv"
owner = "data-eng"
"#;

const BROKEN_REQUIREMENTS: &str = "numpy>=2\nreqeusts==2.32.3\njoblib==1.1.0\n";
const FIXED_REQUIREMENTS: &str = "numpy==2.1.0\nrequests==2.32.3\njoblib==1.2.0\n";

/// The project with one problem of each kind.
fn broken_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("models")).unwrap();
    fs::create_dir_all(d.join("data")).unwrap();
    fs::write(d.join("aigate.toml"), CONFIG).unwrap();
    fs::write(d.join("models/classifier.pkl"), MALICIOUS_PICKLE).unwrap();
    fs::write(d.join("data/reviews.csv"), "text,label\ngood,1\n").unwrap();
    fs::write(d.join("requirements.txt"), BROKEN_REQUIREMENTS).unwrap();
    ok(&aigate(d, &["keygen", "--out", "keys/release"]));
    ok(&aigate(d, &["lock"]));
    // Tampered after it was pinned.
    fs::write(d.join("data/reviews.csv"), "text,label\ngood,0\n").unwrap();
    dir
}

fn rules(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn sections(report: &serde_json::Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn every_kind_of_problem_is_named_once_and_the_fixed_project_passes() {
    let project = broken_project();
    let d = project.path();
    let db = pypa_db();
    let out = aigate(d, &["check", "--db", &db, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let found = rules(&report);
    for (rule, check) in [
        ("pickle-unsafe-global", "scan"),
        ("verify-file-modified", "verify"),
        ("signature-missing", "verify"),
        ("policy-unpinned", "policy"),
        ("policy-typosquat", "policy"),
        ("audit-vulnerability", "audit"),
    ] {
        let hits: Vec<&serde_json::Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .collect();
        assert_eq!(hits.len(), 1, "{rule} in {found:?}");
        assert_eq!(hits[0]["check"], check, "{rule}");
    }
    assert_eq!(
        sections(&report),
        pairs(&[
            ("scan", "failed"),
            ("verify", "failed"),
            ("policy", "failed"),
            ("audit", "failed"),
            ("custody", "passed"),
            ("sbom", "skipped"),
        ])
    );

    // Fixed: a safe model, the dataset as pinned, pins without typosquats or known
    // vulnerabilities, everything approved and the lock signed.
    fs::write(d.join("models/classifier.pkl"), BENIGN_PICKLE).unwrap();
    fs::write(d.join("data/reviews.csv"), "text,label\ngood,1\n").unwrap();
    fs::write(d.join("requirements.txt"), FIXED_REQUIREMENTS).unwrap();
    ok(&aigate(d, &["lock"]));
    ok(&aigate(d, &["approve", "classifier", "--by", "alice"]));
    ok(&aigate(d, &["approve", "reviews", "--by", "alice"]));
    ok(&aigate(
        d,
        &["sign", "--lock", "--key", "keys/release.key.pem"],
    ));
    let out = aigate(d, &["check", "--db", &db, "--format", "json"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", rules(&report));
    assert_eq!(
        sections(&report),
        pairs(&[
            ("scan", "passed"),
            ("verify", "passed"),
            ("policy", "passed"),
            ("audit", "passed"),
            ("custody", "passed"),
            ("sbom", "skipped"),
        ])
    );
}

/// Times vary from run to run; the table's layout does not.
fn without_times(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.rfind(" ms") {
            Some(end) if end + 3 == line.len() => {
                let start = line[..end]
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .trim_end();
                format!("{start}  [t] ms")
            }
            _ => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn summary_table_snapshot() {
    let project = broken_project();
    let d = project.path();
    let out = aigate(d, &["check", "--db", &pypa_db()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let table = &text[text.find("check     result").unwrap()..];
    insta::assert_snapshot!("check_summary_table", without_times(table));
}

#[test]
fn a_check_that_cannot_run_exits_2_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("models")).unwrap();
    fs::write(d.join("models/classifier.pkl"), BENIGN_PICKLE).unwrap();
    fs::write(
        d.join("aigate.toml"),
        "[[model]]\nname = \"classifier\"\npath = \"models/classifier.pkl\"\n",
    )
    .unwrap();
    fs::write(d.join("requirements.txt"), FIXED_REQUIREMENTS).unwrap();
    // No lock yet, and no advisory database in the (empty) cache.
    let out = aigate(d, &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let missing: Vec<(String, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "missing")
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["hint"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert_eq!(missing[0].0, "verify");
    assert!(missing[0].1.contains("aigate lock"), "{}", missing[0].1);
    assert_eq!(missing[1].0, "audit");
    assert!(
        missing[1].1.contains("aigate db update"),
        "{}",
        missing[1].1
    );

    let out = aigate(
        d,
        &[
            "check",
            "--allow-missing",
            "verify,audit",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let allowed: Vec<bool> = json(&out)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "missing")
        .map(|c| c["allowed"] == true)
        .collect();
    assert_eq!(allowed, [true, true]);

    // Skipped on request: not run, not missing.
    let out = aigate(d, &["check", "--skip", "verify", "--skip", "audit"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn check_in_a_folder_without_configuration_says_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    let out = aigate(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("aigate init"), "{stderr}");
}

#[test]
fn check_path_names_the_project_and_sarif_carries_every_check() {
    let project = broken_project();
    let d = project.path();
    let parent = d.parent().unwrap();
    let name = d.file_name().unwrap().to_str().unwrap();
    let out = aigate(
        parent,
        &["check", name, "--db", &pypa_db(), "--format", "sarif"],
    );
    assert_eq!(out.status.code(), Some(1));
    let sarif = json(&out);
    let run = &sarif["runs"][0];
    let checks: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["properties"]["check"].as_str())
        .collect();
    for check in ["scan", "verify", "policy", "audit"] {
        assert!(checks.contains(&check), "{check} in {checks:?}");
    }
    let sections = run["invocations"][0]["properties"]["checks"]
        .as_array()
        .unwrap();
    assert_eq!(sections.len(), 6);
    // Paths are relative to where aigate ran, as code scanning expects.
    let uris: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        uris.iter()
            .any(|u| *u == format!("{name}/models/classifier.pkl")),
        "{uris:?}"
    );
}

#[test]
fn sbom_completeness_required_by_the_configuration_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("models")).unwrap();
    fs::write(d.join("models/classifier.pkl"), BENIGN_PICKLE).unwrap();
    fs::write(
        d.join("aigate.toml"),
        "[sbom]\nrequire-completeness = [\"g7\"]\n\n[[model]]\nname = \"classifier\"\npath = \"models/classifier.pkl\"\n",
    )
    .unwrap();
    ok(&aigate(d, &["lock"]));
    let out = aigate(d, &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let sbom = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sbom")
        .unwrap();
    assert_eq!(sbom["status"], "failed");
    let from_sbom: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "sbom")
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        from_sbom.iter().any(|r| r == "sbom-g7-element-missing"),
        "{from_sbom:?}"
    );
    // A framework the configuration cannot name is a configuration error with its line.
    fs::write(
        d.join("aigate.toml"),
        "[sbom]\nrequire-completeness = [\"g8\"]\n",
    )
    .unwrap();
    let out = aigate(d, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown framework \"g8\""), "{stderr}");
}

#[test]
fn help() {
    let dir = tempfile::tempdir().unwrap();
    let out = aigate(dir.path(), &["check", "--help"]);
    insta::assert_snapshot!("check_help", String::from_utf8_lossy(&out.stdout));
}
