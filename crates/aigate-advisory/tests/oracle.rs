//! Matching over every PyPA advisory (`tests/data/pypa/vulns/`, a copy of the PyPA snapshot in `../shared/`) compared with an
//! independent matcher, `oracles/osv_match.py` (PyPA's `packaging` for PEP 440, PyYAML for the
//! records), over versions made from every event of every record: the event itself and its
//! pre-release, dev-release, post-release, local (`+cu118`) and epoch neighbours. The expected
//! results are computed by the script in this run, never typed in.
//!
//! Skipped, saying so, when no Python with `packaging` and `yaml` is found: set
//! `AIGATE_ORACLE_PYTHON` (`.ci/run` does), or create `target/advisory-venv` with both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aigate_advisory::matching::{Verdict, check};
use aigate_python::pep::parse_version;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("AIGATE_ORACLE_PYTHON").map(PathBuf::from),
        Some(repo().join("target/advisory-venv/bin/python")),
        Some(repo().join("target/oracle-venv/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|py| {
        Command::new(py)
            .args(["-c", "import packaging.version, yaml"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The versions probed around `v`.
fn neighbours(v: &str) -> Vec<String> {
    let mut out = vec![
        v.to_owned(),
        format!("{v}.post1"),
        format!("{v}.dev0"),
        format!("{v}+cu118"),
        format!("1!{v}"),
    ];
    if v.chars().last().is_some_and(|c| c.is_ascii_digit())
        && !v.contains(['a', 'b', 'r', 'd', 'p', '+', '!'])
    {
        out.push(format!("{v}rc1"));
        out.push(format!("{v}a1.dev2"));
    }
    out
}

#[test]
fn matching_agrees_with_packaging_over_every_pypa_record() {
    let records = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pypa/vulns");
    let Some(py) = python() else {
        eprintln!(
            "skipped: no Python with `packaging` and `yaml` (set AIGATE_ORACLE_PYTHON or create target/oracle-venv)"
        );
        return;
    };
    let loaded = aigate_advisory::records::load(&records).unwrap();
    let mut by_name: BTreeMap<String, Vec<(&str, &aigate_advisory::Affected)>> = BTreeMap::new();
    let mut probes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in &loaded.advisories {
        for e in &a.affected {
            by_name.entry(e.name.clone()).or_default().push((&a.id, e));
            let set = probes.entry(e.name.clone()).or_default();
            for r in &e.ranges {
                for ev in &r.events {
                    set.extend(neighbours(ev.version()));
                }
            }
            set.extend(e.versions.iter().take(3).cloned());
            set.insert("0".into());
        }
    }
    let queries: Vec<(String, String)> = probes
        .into_iter()
        .flat_map(|(n, vs)| vs.into_iter().take(40).map(move |v| (n.clone(), v)))
        .collect();
    let request = serde_json::json!({
        "records": records,
        "queries": queries,
    });
    let mut child = Command::new(&py)
        .arg(repo().join("oracles/osv_match.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), queries.len());
    let (mut compared, mut affected_seen, mut mismatches) = (0, 0, Vec::new());
    for ((name, text), expected) in queries.iter().zip(results) {
        let Ok(version) = parse_version(text) else {
            assert_eq!(
                expected, "invalid",
                "{name} {text}: packaging parses what pep440_rs refuses"
            );
            continue;
        };
        assert_ne!(
            expected, "invalid",
            "{name} {text}: pep440_rs parses what packaging refuses"
        );
        let mut affected = BTreeSet::new();
        let mut unknown = BTreeSet::new();
        for (id, entry) in by_name.get(name).into_iter().flatten() {
            match check(entry, &version) {
                Verdict::Affected { .. } => {
                    affected.insert(id.to_string());
                }
                Verdict::Unknown(_) => {
                    unknown.insert(id.to_string());
                }
                Verdict::NotAffected => {}
            }
        }
        let unknown: BTreeSet<String> = unknown.difference(&affected).cloned().collect();
        let want = |k: &str| -> BTreeSet<String> {
            expected[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        compared += 1;
        affected_seen += affected.len();
        if affected != want("affected") || unknown != want("unknown") {
            mismatches.push(format!(
                "{name} {text}: aigate {affected:?} / {unknown:?}, packaging {:?} / {:?}",
                want("affected"),
                want("unknown")
            ));
        }
    }
    eprintln!("compared {compared} (package, version) pairs, {affected_seen} affected matches");
    assert!(compared > 5_000, "too few comparisons: {compared}");
    assert!(
        affected_seen > 1_000,
        "the probes must reach affected versions: {affected_seen}"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
