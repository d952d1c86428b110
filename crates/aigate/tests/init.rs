//! `aigate init` on real project folders: the starter configuration for the shipped example
//! project (a snapshot), that it is a configuration the other commands accept, and that an
//! existing aigate.toml is never overwritten.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn aigate(dir: &Path, args: &[&str]) -> Output {
    support::isolated(dir)
        .env("AIGATE_CACHE_DIR", dir.join(".cache"))
        .env("AIGATE_ACTOR", "ci")
        .args(args)
        .output()
        .unwrap()
}

use support::copy_dir;

/// The example project without its configuration, plus a training config that names Hub models.
fn example_without_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples"), dir.path());
    let _ = fs::remove_file(dir.path().join("aigate.toml"));
    let _ = fs::remove_file(dir.path().join("aigate.lock"));
    let _ = fs::remove_dir_all(dir.path().join(".aigate"));
    fs::create_dir_all(dir.path().join("configs")).unwrap();
    fs::write(
        dir.path().join("configs/train.yaml"),
        "model:\n  model_name_or_path: \"acme/sentiment-base\"\ndata: ./data\n",
    )
    .unwrap();
    dir
}

#[test]
fn init_on_the_example_project() {
    let project = example_without_config();
    let d = project.path();
    let out = aigate(d, &["init"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = fs::read_to_string(d.join("aigate.toml")).unwrap();
    insta::assert_snapshot!("init_example", written);
    // What it wrote is a configuration the other commands run on.
    let out = aigate(d, &["lock"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = aigate(
        d,
        &["check", "--allow-missing", "audit", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "skipped")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["scan", "verify", "policy", "audit", "custody"]);
    // The example's malicious checkpoint fails the gate.
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn init_never_overwrites_and_dry_run_prints() {
    let project = example_without_config();
    let d = project.path();
    fs::write(d.join("aigate.toml"), "# mine\n").unwrap();
    let out = aigate(d, &["init"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not overwrite"), "{stderr}");
    assert!(stderr.contains("--dry-run"), "{stderr}");
    assert_eq!(
        fs::read_to_string(d.join("aigate.toml")).unwrap(),
        "# mine\n"
    );
    let out = aigate(d, &["init", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("path = \"models/tiny-net\""), "{printed}");
    assert_eq!(
        fs::read_to_string(d.join("aigate.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn init_without_dependencies_leaves_policy_commented() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("weights")).unwrap();
    // A safetensors file: an 8-byte header length, then the JSON header.
    let header = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    fs::write(d.join("weights/model.safetensors"), bytes).unwrap();
    fs::write(d.join("notes.txt"), "not a model\n").unwrap();
    let out = aigate(d, &["init", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("path = \"weights/model.safetensors\""),
        "{printed}"
    );
    assert!(!printed.contains("notes.txt"), "{printed}");
    assert!(printed.contains("\n# [policy]\n"), "{printed}");
    assert!(printed.contains("\n# [audit]\n"), "{printed}");
}

#[test]
fn help() {
    let dir = tempfile::tempdir().unwrap();
    let out = aigate(dir.path(), &["init", "--help"]);
    insta::assert_snapshot!("init_help", String::from_utf8_lossy(&out.stdout));
}
