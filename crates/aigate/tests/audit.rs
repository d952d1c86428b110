//! `aigate audit` and `aigate db update` as users run them: the real binary over OSV records
//! written here (every output format as a snapshot), ignores, a missing database, and updates
//! from a real HTTPS server on 127.0.0.1 (good zip, corrupt zip, interrupted download, a member
//! name that climbs out).

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::https::{Reply, Server};

fn aigate(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(dir)
        .env_remove("VIRTUAL_ENV")
        .env("AIGATE_CACHE_DIR", cache)
        .env("AIGATE_CONFIG_DIR", cache.join("config"))
        .env("SOURCE_DATE_EPOCH", "1798761600") // 2027-01-01
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// OSV records as the databases publish them (the ids are made up, the shapes are real).
const RECORDS: &[(&str, &str)] = &[
    (
        "PYSEC-2099-1.json",
        r#"{"id": "PYSEC-2099-1", "modified": "2099-01-01T00:00:00Z", "aliases": ["CVE-2099-1", "GHSA-aaaa-bbbb-cccc"],
  "summary": "demo-lib evaluates templates from untrusted input",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Lib"},
    "ranges": [{"type": "GIT", "repo": "https://example.org/demo", "events": [{"introduced": "0"}, {"fixed": "abcdef"}]},
               {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}"#,
    ),
    (
        "GHSA-aaaa-bbbb-cccc.json",
        r#"{"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2099-1"], "summary": "Template injection in demo-lib",
  "database_specific": {"severity": "HIGH"},
  "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-lib"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.1"}]}]}]}"#,
    ),
    (
        "PYSEC-2099-2.json",
        r#"{"id": "PYSEC-2099-2", "details": "demo-lib 1.0.0 leaks memory.\nMore text.",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-lib"}, "versions": ["1.0.0"]}]}"#,
    ),
    (
        "PYSEC-2099-7.json",
        r#"{"id": "PYSEC-2099-7", "withdrawn": "2099-02-01T00:00:00Z", "summary": "withdrawn",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "demo-lib"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#,
    ),
    (
        "MAL-2099-3.json",
        r#"{"id": "MAL-2099-3", "summary": "Malicious code in evil-pkg (PyPI)",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "evil-pkg"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#,
    ),
    (
        "PYSEC-2099-4.json",
        r#"{"id": "PYSEC-2099-4", "summary": "torchish loads pickles from the network",
  "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "torchish"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}, {"introduced": "2.0.0+cu118"}, {"fixed": "2.1.0"}]}]}]}"#,
    ),
    (
        "PYSEC-2099-5.json",
        r#"{"id": "PYSEC-2099-5", "summary": "ignored-lib has an issue that does not apply here",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "ignored-lib"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3"}]}]}]}"#,
    ),
    (
        "PYSEC-2099-6.json",
        r#"{"id": "PYSEC-2099-6", "aliases": ["GHSA-eeee-ffff-gggg"], "summary": "expired-lib is still affected",
  "database_specific": {"severity": "LOW"},
  "affected": [{"package": {"ecosystem": "PyPI", "name": "expired-lib"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "1.0"}]}]}]}"#,
    ),
    (
        "NPM-1.json",
        r#"{"id": "NPM-1", "affected": [{"package": {"ecosystem": "npm", "name": "demo-lib"}, "versions": ["1.0"]}]}"#,
    ),
];

const REQUIREMENTS: &str = "demo-lib==1.0
evil-pkg==0.1
torchish==2.0.0+cu118
ignored-lib==1.0
expired-lib==1.0
safe-lib==1.0
unpinned-lib>=1
direct-lib @ https://example.org/direct_lib-1.0-py3-none-any.whl
";

const CONFIG: &str = r#"[audit]
max-db-age = "30d"

[[audit.ignore]]
id = "PYSEC-2099-5"
reason = "the affected function is not used"

[[audit.ignore]]
id = "GHSA-eeee-ffff-gggg"
reason = "waiting for 1.1"
until = "2026-12-01"

[[audit.ignore]]
id = "CVE-1999-0001"
reason = "stale entry"
"#;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        std::fs::create_dir_all(&records).unwrap();
        for (name, text) in RECORDS {
            std::fs::write(records.join(name), text).unwrap();
        }
        std::fs::write(dir.path().join("requirements.txt"), REQUIREMENTS).unwrap();
        std::fs::write(dir.path().join("aigate.toml"), CONFIG).unwrap();
        Project { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn run(&self, args: &[&str]) -> Output {
        aigate(self.root(), &self.cache(), args)
    }

    fn audit(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "--config",
            "aigate.toml",
            "audit",
            "--db",
            "records",
            "-r",
            "requirements.txt",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

#[test]
fn audit_json_merges_aliases_rates_matches_and_reports_what_it_could_not_check() {
    let p = Project::new();
    let out = p.audit(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    let by = |advisory: &str| {
        findings
            .iter()
            .find(|f| f["details"]["advisory"] == advisory)
            .unwrap_or_else(|| panic!("no {advisory}: {findings:#?}"))
    };
    // PYSEC-2099-1 and GHSA-aaaa-bbbb-cccc share CVE-2099-1: one finding, every id, the CVSS
    // score over the word, and the fix both records agree on.
    let merged = by("PYSEC-2099-1");
    assert_eq!(
        merged["details"]["ids"],
        "PYSEC-2099-1, GHSA-aaaa-bbbb-cccc, CVE-2099-1"
    );
    assert_eq!(merged["severity"], "critical");
    assert_eq!(merged["details"]["score"], "9.8");
    assert_eq!(merged["details"]["fixed"], "2.0.1");
    assert_eq!(merged["details"]["fix-allowed"], "no");
    assert_eq!(merged["location"]["span"]["line"], 1);
    assert!(
        findings
            .iter()
            .all(|f| f["details"]["advisory"] != "GHSA-aaaa-bbbb-cccc")
    );
    // Listed in `versions` as 1.0.0: the same PEP 440 version as 1.0; no rating: medium.
    assert_eq!(by("PYSEC-2099-2")["severity"], "medium");
    // Malware is critical with its own rule.
    let mal = by("MAL-2099-3");
    assert_eq!(
        (mal["rule"].as_str(), mal["severity"].as_str()),
        (Some("audit-malicious-package"), Some("critical"))
    );
    // The local version 2.0.0+cu118 sorts after 2.0.0, where the second range starts; CVSS v4.
    let torch = by("PYSEC-2099-4");
    assert_eq!(
        (
            torch["details"]["score"].as_str(),
            torch["details"]["fixed"].as_str()
        ),
        (Some("9.3"), Some("2.1.0"))
    );
    // Ignored: left out and counted; expired: reported again, and the entry is warned about.
    assert!(
        findings
            .iter()
            .all(|f| f["details"]["advisory"] != "PYSEC-2099-5")
    );
    assert_eq!(report["summary"]["suppressed"], 1);
    assert_eq!(by("PYSEC-2099-6")["severity"], "low");
    let rules: Vec<&str> = findings.iter().filter_map(|f| f["rule"].as_str()).collect();
    for rule in [
        "audit-ignore-expired",
        "audit-ignore-unused",
        "audit-db-stale",
    ] {
        let f = findings
            .iter()
            .find(|f| f["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule}: {rules:?}"));
        assert_eq!(f["level"], "warn", "{rule}");
    }
    let unused = findings
        .iter()
        .find(|f| f["rule"] == "audit-ignore-unused")
        .unwrap();
    assert_eq!(
        (
            unused["location"]["path"].as_str(),
            unused["location"]["span"]["line"].as_u64()
        ),
        (Some("aigate.toml"), Some(14))
    );
    // Not checked: a range and a URL; never silently passed.
    let unchecked: Vec<&str> = findings
        .iter()
        .filter(|f| f["rule"] == "audit-not-checked")
        .filter_map(|f| f["location"]["subject"].as_str())
        .collect();
    let mut unchecked = unchecked;
    unchecked.sort_unstable();
    assert_eq!(unchecked, ["pkg:pypi/direct-lib", "pkg:pypi/unpinned-lib"]);
    // Withdrawn, npm and GIT-only data never match.
    assert!(
        findings
            .iter()
            .all(|f| f["details"]["advisory"] != "PYSEC-2099-7")
    );
    assert!(findings.iter().all(|f| f["details"]["advisory"] != "NPM-1"));
    insta::assert_json_snapshot!("audit_json", report);
}

#[test]
fn audit_human_and_sarif_snapshots() {
    let p = Project::new();
    let human = p.audit(&[]);
    assert_eq!(human.status.code(), Some(1));
    assert!(
        stderr(&human).contains("advisory database: 7 advisories"),
        "{}",
        stderr(&human)
    );
    insta::assert_snapshot!("audit_human", stdout(&human));
    let sarif = p.audit(&["--format", "sarif"]);
    let value = json(&sarif);
    let run = &value["runs"][0];
    let results = run["results"].as_array().unwrap();
    let merged = results
        .iter()
        .find(|r| r["ruleId"] == "PYSEC-2099-1")
        .unwrap();
    assert_eq!(
        merged["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let index = merged["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run["tool"]["driver"]["rules"][index]["id"], "PYSEC-2099-1");
    assert_eq!(
        run["tool"]["driver"]["rules"][index]["properties"]["security-severity"],
        "9.8"
    );
    insta::assert_json_snapshot!("audit_sarif", value);
}

#[test]
fn cyclonedx_vex_is_schema_valid_reproducible_and_carries_every_merged_id() {
    let p = Project::new();
    let first = p.audit(&["--format", "cyclonedx-vex"]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let again = p.audit(&["--format", "cyclonedx-vex"]);
    assert_eq!(
        first.stdout, again.stdout,
        "the same audit gives the same bytes"
    );
    let vex = json(&first);
    support::cyclonedx::assert_valid("1.6", &vex);
    let mut broken = vex.clone();
    broken["vulnerabilities"][0]["ratings"][0]["severity"] = "severe".into();
    assert!(!support::cyclonedx::validator("1.6").is_valid(&broken));
    let vulns = vex["vulnerabilities"].as_array().unwrap();
    let merged = vulns.iter().find(|v| v["id"] == "PYSEC-2099-1").unwrap();
    let references: Vec<&str> = merged["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(references, ["GHSA-aaaa-bbbb-cccc", "CVE-2099-1"]);
    assert_eq!(merged["ratings"][0]["method"], "CVSSv31");
    assert_eq!(merged["ratings"][0]["score"], 9.8);
    assert_eq!(merged["affects"][0]["ref"], "pkg:pypi/demo-lib@1.0");
    assert_eq!(merged["affects"][0]["versions"][0]["version"], "1.0");
    let malware = vulns.iter().find(|v| v["id"] == "MAL-2099-3").unwrap();
    assert_eq!(malware["ratings"][0]["severity"], "critical");
    let refs: Vec<&str> = vex["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    for v in vulns {
        let target = v["affects"][0]["ref"].as_str().unwrap();
        assert!(refs.contains(&target), "{target} is not a component");
    }
    insta::assert_json_snapshot!("audit_vex", vex);
}

#[test]
fn cyclonedx_vex_is_refused_by_commands_without_advisories() {
    let p = Project::new();
    let out = p.run(&["deps", "--format", "cyclonedx-vex"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("aigate audit"), "{}", stderr(&out));
}

#[test]
fn help_snapshots() {
    let p = Project::new();
    insta::assert_snapshot!("audit_help", stdout(&p.run(&["audit", "--help"])));
    insta::assert_snapshot!(
        "db_update_help",
        stdout(&p.run(&["db", "update", "--help"]))
    );
}

#[test]
fn fail_on_raises_the_threshold() {
    let p = Project::new();
    let out = p.audit(&["--format", "json", "--fail-on", "critical"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "malware and the 9.8 are critical"
    );
    std::fs::write(
        p.root().join("requirements.txt"),
        "torchish==2.1.0\nexpired-lib==1.0.1\n",
    )
    .unwrap();
    let out = p.audit(&["--format", "json", "--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn an_untrusted_configuration_cannot_ignore_advisories() {
    let p = Project::new();
    let out = p.run(&[
        "audit",
        "--db",
        "records",
        "-r",
        "requirements.txt",
        "--format",
        "json",
    ]);
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["details"]["advisory"] == "PYSEC-2099-5")
    );
    assert!(findings.iter().any(|f| f["rule"] == "config-not-trusted"));
    assert_eq!(report["summary"]["suppressed"], 0);
}

#[test]
fn no_database_exits_2_with_the_command_that_fixes_it() {
    let p = Project::new();
    let out = p.run(&["audit", "-r", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no advisory database"), "{err}");
    assert!(err.contains("hint: run `aigate db update`"), "{err}");
    let out = p.run(&["audit", "--db", "nowhere", "-r", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn bad_audit_settings_name_the_line() {
    let p = Project::new();
    std::fs::write(
        p.root().join("aigate.toml"),
        "[audit]\n\n[[audit.ignore]]\nid = \"X\"\nreason = \"r\"\nuntil = \"soon\"\n",
    )
    .unwrap();
    let out = p.audit(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 4"), "{}", stderr(&out));
}

fn zip_of(members: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let options = zip::write::SimpleFileOptions::default();
    for (name, text) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

fn tree(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn db_update_over_https_installs_a_good_zip_and_keeps_it_through_bad_ones() {
    let good = zip_of(RECORDS);
    let mut traversal_members = RECORDS.to_vec();
    traversal_members.push(("../../escaped.json", RECORDS[0].1));
    let server = Server::start(vec![
        ("/good.zip".into(), Reply::Body(good.clone())),
        (
            "/corrupt.zip".into(),
            Reply::Body(b"PK\x03\x04 not really a zip at all".to_vec()),
        ),
        ("/cut.zip".into(), Reply::Truncated(good.clone())),
        (
            "/traversal.zip".into(),
            Reply::Body(zip_of(&traversal_members)),
        ),
    ]);
    let p = Project::new();
    let update = |path: &str| {
        Command::new(env!("CARGO_BIN_EXE_aigate"))
            .current_dir(p.root())
            .env("AIGATE_CACHE_DIR", p.cache())
            .env("SSL_CERT_FILE", &server.ca)
            .args(["db", "update", "--retries", "0", "--url", &server.url(path)])
            .output()
            .unwrap()
    };
    let out = update("/good.zip");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(&good);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert!(
        err.contains(&sha),
        "the SHA-256 of what was downloaded is recorded: {err}"
    );
    let db = p.cache().join("advisories");
    let live = std::fs::read_to_string(db.join("CURRENT")).unwrap();
    let audited = p.run(&[
        "--config",
        "aigate.toml",
        "audit",
        "-r",
        "requirements.txt",
        "--format",
        "json",
    ]);
    assert_eq!(audited.status.code(), Some(1), "{}", stderr(&audited));
    let before = json(&audited)["findings"].clone();

    for (path, says) in [
        ("/corrupt.zip", "not a readable zip"),
        ("/cut.zip", "cannot download"),
        ("/traversal.zip", "unsafe name"),
    ] {
        let out = update(path);
        assert_eq!(out.status.code(), Some(2), "{path}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{path}: {}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(db.join("CURRENT")).unwrap(),
            live,
            "{path}"
        );
        assert_eq!(
            tree(&db),
            ["CURRENT".to_owned(), live.trim().to_owned()],
            "{path}: nothing is left behind"
        );
        let again = p.run(&[
            "--config",
            "aigate.toml",
            "audit",
            "-r",
            "requirements.txt",
            "--format",
            "json",
        ]);
        assert_eq!(
            json(&again)["findings"],
            before,
            "{path}: the old database is still used"
        );
    }
    assert!(!p.root().join("escaped.json").exists());
    assert!(!p.cache().join("escaped.json").exists());

    // Importing a folder works offline too, and the JSON report says what was installed.
    let out = p.run(&["db", "update", "--from", "records", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(std::fs::read_to_string(db.join("CURRENT")).unwrap(), live);
    let installed = &json(&out)["database"];
    assert_eq!(installed["advisories"], 7);
    assert_eq!(installed["withdrawn"], 1);
    assert_eq!(installed["source"], "records");
    assert_eq!(installed["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn db_update_removes_what_a_killed_update_left_behind() {
    let p = Project::new();
    let db = p.cache().join("advisories");
    // The process ids of updates that no longer run (no Linux pid reaches them).
    let staging = db.join(".staging-1-4294967200");
    let download = db.join(".download-4294967201.zip");
    std::fs::create_dir_all(staging.join("records")).unwrap();
    std::fs::write(&download, b"PK\x03\x04 half a download").unwrap();
    let out = p.run(&["db", "update", "--from", "records"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let live = std::fs::read_to_string(db.join("CURRENT")).unwrap();
    assert_eq!(tree(&db), ["CURRENT".to_owned(), live.trim().to_owned()]);
}

#[test]
fn a_range_that_cannot_be_evaluated_is_reported_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(
        records.join("PYSEC-2099-9.json"),
        r#"{"id": "PYSEC-2099-9", "summary": "odd-lib fixed at a git hash",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "odd-lib"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "abc-def"}]}]}]}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "odd-lib==1.0\n").unwrap();
    let out = aigate(
        dir.path(),
        &dir.path().join("cache"),
        &[
            "audit",
            "--db",
            "records",
            "-r",
            "requirements.txt",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    let unevaluable = findings
        .iter()
        .find(|f| f["rule"] == "audit-advisory-unevaluable")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(unevaluable["details"]["advisory"], "PYSEC-2099-9");
    assert_eq!(unevaluable["location"]["span"]["line"], 1);
}
