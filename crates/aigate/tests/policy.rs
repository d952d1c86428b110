//! `aigate deps`, `aigate deps diff` and `aigate policy` as users run them: the real binary on
//! the real lock files in fixtures/python, each output format as a snapshot, exit codes, errors
//! per input, configuration errors with lines and hints.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo().join("fixtures/python")
}

use support::isolated;

fn aigate_in(dir: &Path, args: &[&str]) -> Output {
    isolated(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running aigate: {e}"))
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

fn schema() -> jsonschema::Validator {
    let text = fs::read_to_string(repo().join("docs/report.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn assert_valid(report: &serde_json::Value) {
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

const CONFIG: &str = r#"[policy]
require-hashes = true
internal = ["acme-*"]
internal-index = "https://pypi.acme.example/simple/"

[[policy.not-typosquat]]
name = "torchvisionx"
reason = "our fork, since removed"

[[policy.deny]]
name = "pyyaml"
versions = ["<6"]
reason = "CVE-2020-14343: full_load runs code"
"#;

const REQUIREMENTS: &str = "--extra-index-url https://pypi.acme.example/simple/
acme-utils==1.4.0 \\
    --hash=sha256:1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2
reqeusts==2.32.3 \\
    --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6
pyyaml==5.4.1
numpy>=2
";

/// A project with a policy and a requirements file that breaks it in every common way.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("aigate.toml"), CONFIG).unwrap();
    fs::write(dir.path().join("requirements.txt"), REQUIREMENTS).unwrap();
    dir
}

#[test]
fn help() {
    let dir = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(
        "deps_help",
        stdout(&aigate_in(dir.path(), &["deps", "--help"]))
    );
    insta::assert_snapshot!(
        "deps_diff_help",
        stdout(&aigate_in(dir.path(), &["deps", "diff", "--help"]))
    );
    insta::assert_snapshot!(
        "policy_help",
        stdout(&aigate_in(dir.path(), &["policy", "--help"]))
    );
}

#[test]
fn policy_human_output_shows_each_finding_with_its_line() {
    let p = project();
    let out = aigate_in(p.path(), &["--config", "aigate.toml", "policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    insta::assert_snapshot!("policy_human", stdout(&out));
}

#[test]
fn policy_json_output() {
    let p = project();
    let out = aigate_in(
        p.path(),
        &["--config", "aigate.toml", "policy", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_valid(&report);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for expected in [
        "policy-extra-index",
        "policy-internal-from-public",
        "policy-typosquat",
        "policy-denied",
        "policy-unpinned",
        "policy-missing-hash",
        "policy-unused-entry",
    ] {
        assert!(rules.contains(&expected), "{expected} not in {rules:?}");
    }
    insta::assert_snapshot!("policy_json", stdout(&out));
}

#[test]
fn policy_sarif_output() {
    let p = project();
    let out = aigate_in(
        p.path(),
        &["--config", "aigate.toml", "policy", "--format", "sarif"],
    );
    assert_eq!(out.status.code(), Some(1));
    let sarif = json(&out);
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let internal = results
        .iter()
        .find(|r| r["ruleId"] == "policy-internal-from-public")
        .unwrap();
    assert_eq!(internal["level"], "error");
    assert_eq!(
        internal["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    insta::assert_snapshot!("policy_sarif", stdout(&out));
}

#[test]
fn a_clean_real_lock_passes_and_rule_levels_apply() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["uv.lock", "pyproject.toml"] {
        fs::copy(fixtures().join("uv").join(name), dir.path().join(name)).unwrap();
    }
    // pyproject.toml declares the PyTorch index for torch: not on the default list.
    let out = aigate_in(dir.path(), &["policy", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["summary"]["files"], 2);
    assert_eq!(report["findings"][0]["rule"], "policy-index-not-allowed");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1));
    fs::write(
        dir.path().join("aigate.toml"),
        "[policy]\nindexes = [\"https://pypi.org/simple/\", \"https://download.pytorch.org/whl/cpu\"]\n",
    )
    .unwrap();
    // An index beyond PyPI is a relaxation: it applies from a configuration the user trusts.
    let out = aigate_in(dir.path(), &["policy", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = aigate_in(
        dir.path(),
        &["--config", "aigate.toml", "policy", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // [rules] levels: an unpinned requirement allowed.
    fs::write(dir.path().join("requirements.txt"), "numpy>=2\n").unwrap();
    assert_eq!(aigate_in(dir.path(), &["policy"]).status.code(), Some(1));
    fs::write(
        dir.path().join("aigate.toml"),
        "[policy]\nindexes = [\"https://pypi.org/simple/\", \"https://download.pytorch.org/whl/cpu\"]\n[rules]\n\"policy-unpinned\" = \"allow\"\n",
    )
    .unwrap();
    // A level that relaxes a rule applies only from a configuration named with --config.
    let out = aigate_in(
        dir.path(),
        &["--config", "aigate.toml", "policy", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json(&out)["summary"]["suppressed"], 1);
}

#[test]
fn bad_inputs_are_errors_per_file_and_the_others_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("uv.lock"),
        "version = 1\n[[package]\nname = \n",
    )
    .unwrap();
    fs::write(dir.path().join("requirements.txt"), "reqeusts==1.0\n").unwrap();
    let out = aigate_in(dir.path(), &["policy", "--format", "json"]);
    // The typosquat in the good file makes it 1 despite the broken lock.
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["errors"][0]["path"], "uv.lock");
    assert!(report["errors"][0]["hint"].is_string());
    assert_eq!(report["findings"][0]["rule"], "policy-typosquat");
    // Only the broken lock: exit 2, the error names the file and line on standard error.
    fs::remove_file(dir.path().join("requirements.txt")).unwrap();
    let out = aigate_in(dir.path(), &["policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("uv.lock:2"), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    // An include cycle and an invalid version.
    fs::remove_file(dir.path().join("uv.lock")).unwrap();
    fs::write(dir.path().join("requirements.txt"), "-r other.txt\n").unwrap();
    fs::write(dir.path().join("other.txt"), "-r requirements.txt\n").unwrap();
    let out = aigate_in(dir.path(), &["policy", "-r", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("other.txt"), "{}", stderr(&out));
    let out = aigate_in(dir.path(), &["deps", "--lock", "nothing.lock"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot tell what kind of file"),
        "{}",
        stderr(&out)
    );
    // No input at all.
    let empty = tempfile::tempdir().unwrap();
    let out = aigate_in(empty.path(), &["policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no Python dependency input"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn each_kind_of_bad_input_is_an_error_naming_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(2 << 20);
    let cases: [(&str, String, &str); 5] = [
        (
            "requirements.txt",
            "idna==3.x.!\n".into(),
            "requirements.txt:1",
        ),
        (
            "requirements.txt",
            "idna==3.10 ; python_version >>> '3'\n".into(),
            "requirements.txt:1",
        ),
        (
            "Pipfile.lock",
            "{\n  \"_meta\": {\n  \"default\": [\n".into(),
            "Pipfile.lock:",
        ),
        ("uv.lock", "version = 7\nrevision = 1\n".into(), "uv.lock:1"),
        (
            "uv.lock",
            format!("version = 1\nrevision = 3\n# {long}\n"),
            "uv.lock:3",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        fs::write(&path, &text).unwrap();
        let out = aigate_in(dir.path(), &["deps", "--lock", name]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{name}: {expected}: {}",
            stderr(&out)
        );
        fs::remove_file(&path).unwrap();
    }
}

#[test]
fn configuration_errors_name_the_line_and_give_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("requirements.txt"), "idna==3.20\n").unwrap();
    fs::write(
        dir.path().join("aigate.toml"),
        "[policy]\nrequire-hash = true\n",
    )
    .unwrap();
    let out = aigate_in(dir.path(), &["policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("require-hash"), "{}", stderr(&out));
    fs::write(
        dir.path().join("aigate.toml"),
        "[policy]\n\n[[policy.allow]]\nname = \"numpy\"\nversions = [\"two\"]\n",
    )
    .unwrap();
    let out = aigate_in(dir.path(), &["policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 4"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hint: write `2.13.*`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_tampered_environment_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let from = fixtures().join("venv/lib/python3.11/site-packages");
    let site = dir.path().join(".venv/lib/python3.11/site-packages");
    for sub in ["mdurl", "mdurl-0.1.2.dist-info"] {
        fs::create_dir_all(site.join(sub)).unwrap();
        for entry in fs::read_dir(from.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                fs::copy(entry.path(), site.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    fs::copy(
        fixtures().join("venv/pyvenv.cfg"),
        dir.path().join(".venv/pyvenv.cfg"),
    )
    .unwrap();
    let out = aigate_in(dir.path(), &["policy", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    fs::write(site.join("mdurl/_url.py"), "import os\n").unwrap();
    let out = aigate_in(dir.path(), &["policy", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(
        report["findings"][0]["rule"],
        "policy-installed-file-modified"
    );
    assert_eq!(
        report["findings"][0]["location"]["path"],
        ".venv/lib/python3.11/site-packages/mdurl/_url.py"
    );
    let out = aigate_in(dir.path(), &["policy", "--no-record-check"]);
    assert_eq!(out.status.code(), Some(0));
}

/// `aigate deps` lists what the real tools resolved: the same names and versions `uv export`
/// wrote for the same lock.
#[test]
fn deps_lists_what_uv_export_lists() {
    let uv = fixtures().join("uv");
    let out = aigate_in(&uv, &["deps", "--lock", "uv.lock", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_valid(&report);
    let mut ours: Vec<String> = report["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source_kind"] == "registry")
        .map(|d| {
            format!(
                "{}=={}",
                d["name"].as_str().unwrap(),
                d["version"].as_str().unwrap()
            )
        })
        .collect();
    ours.sort();
    ours.dedup();
    let export = fs::read_to_string(uv.join("uv-export.txt")).unwrap();
    let mut theirs: Vec<String> = export
        .lines()
        .filter(|l| !l.starts_with([' ', '#', '-']) && l.contains("=="))
        .map(|l| {
            let spec = l.split([' ', ';', '\\']).next().unwrap();
            let (name, version) = spec.split_once("==").unwrap();
            let name = name.split('[').next().unwrap();
            format!(
                "{}=={version}",
                name.to_lowercase().replace(['_', '.'], "-")
            )
        })
        .collect();
    theirs.sort();
    theirs.dedup();
    assert_eq!(ours, theirs);
}

#[test]
fn deps_human_and_json_output() {
    let dir = fixtures().join("pip-tools");
    let out = aigate_in(&dir, &["deps", "-r", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("deps_human", stdout(&out));
    let out = aigate_in(
        &dir,
        &["deps", "-r", "requirements.txt", "--format", "json"],
    );
    let report = json(&out);
    assert_valid(&report);
    let certifi = &report["dependencies"][0];
    assert_eq!(certifi["name"], "certifi");
    assert_eq!(certifi["source"], "https://pypi.org/simple");
    assert_eq!(certifi["location"]["span"]["line"], 7);
    assert_eq!(certifi["hashes"].as_array().map(Vec::len), Some(1));
}

/// The pip-tools lock, changed as a dependency update that hides a substitution would change it.
fn diff_inputs(dir: &Path) {
    let old = fs::read_to_string(fixtures().join("pip-tools/requirements.txt")).unwrap();
    let new = old
        .replace(
            "1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2",
            "0000000000000000000000000000000000000000000000000000000000000bad",
        )
        .replace("idna==3.20", "idna==3.21")
        .replace("pyyaml==6.0.4", "pyyaml==5.4.1")
        + "reqeusts==2.32.3 \\\n    --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6\n";
    fs::write(dir.join("old-requirements.txt"), old).unwrap();
    fs::write(dir.join("requirements.txt"), new).unwrap();
}

#[test]
fn deps_diff_finds_a_substituted_artifact() {
    let dir = tempfile::tempdir().unwrap();
    diff_inputs(dir.path());
    let args = ["deps", "diff", "old-requirements.txt", "requirements.txt"];
    let out = aigate_in(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    insta::assert_snapshot!("deps_diff_human", stdout(&out));
    let out = aigate_in(dir.path(), &[&args[..], &["--format", "json"]].concat());
    let report = json(&out);
    assert_valid(&report);
    let changes: Vec<(String, String)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().into(),
                c["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expect = |c: &str, n: &str| (c.to_owned(), n.to_owned());
    assert_eq!(
        changes,
        [
            expect("hashes-changed", "certifi"),
            expect("upgraded", "idna"),
            expect("downgraded", "pyyaml"),
            expect("added", "reqeusts"),
        ]
    );
    let critical = &report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "deps-hash-changed")
        .unwrap();
    assert_eq!(critical["severity"], "critical");
    insta::assert_snapshot!("deps_diff_json", stdout(&out));
    let out = aigate_in(dir.path(), &[&args[..], &["--format", "sarif"]].concat());
    insta::assert_snapshot!("deps_diff_sarif", stdout(&out));
    // [rules] levels apply: the substitution only warns.
    fs::write(
        dir.path().join("aigate.toml"),
        "[rules]\n\"deps-hash-changed\" = \"warn\"\n",
    )
    .unwrap();
    let out = aigate_in(
        dir.path(),
        &[&["--config", "aigate.toml"], &args[..]].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    fs::remove_file(dir.path().join("aigate.toml")).unwrap();
    // The same file against itself: nothing.
    let out = aigate_in(
        dir.path(),
        &["deps", "diff", "requirements.txt", "requirements.txt"],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn deps_diff_compares_real_uv_locks() {
    let dir = tempfile::tempdir().unwrap();
    let lock = fs::read_to_string(fixtures().join("uv/uv.lock")).unwrap();
    fs::write(dir.path().join("main.uv.lock"), &lock).unwrap();
    let substituted = lock.replacen(
        "f3a3570c4a2a16746ac2c31a7c7c7b0c186b95ce902e33db6f28094ed7387dda",
        "f3a3570c4a2a16746ac2c31a7c7c7b0c186b95ce902e33db6f28094ed7387ddb",
        1,
    );
    fs::write(dir.path().join("uv.lock"), substituted).unwrap();
    let out = aigate_in(
        dir.path(),
        &[
            "deps",
            "diff",
            "main.uv.lock",
            "uv.lock",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["findings"][0]["rule"], "deps-hash-changed");
    assert_eq!(
        report["findings"][0]["location"]["subject"],
        "pkg:pypi/numpy@2.4.6"
    );
    let out = aigate_in(
        dir.path(),
        &["deps", "diff", "main.uv.lock", "missing.uv.lock"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn extra_index_url_in_pip_conf_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("requirements.txt"), "idna==3.20\n").unwrap();
    fs::write(
        dir.path().join("pip.conf"),
        "[global]\nindex-url = https://pypi.org/simple\nextra-index-url =\n    https://pypi.acme.example/simple\n",
    )
    .unwrap();
    // Found at the project's root with the other inputs.
    let out = aigate_in(dir.path(), &["policy", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json(&out);
    let extra = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "policy-extra-index")
        .unwrap();
    assert_eq!(extra["location"]["path"], "pip.conf");
    assert_eq!(extra["location"]["span"]["line"], 4);
    // Without the extra index: clean.
    fs::write(
        dir.path().join("pip.conf"),
        "[global]\nindex-url = https://pypi.org/simple\n",
    )
    .unwrap();
    let out = aigate_in(
        dir.path(),
        &["policy", "--pip-conf", "pip.conf", "-r", "requirements.txt"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A malformed one is an error naming the line.
    fs::write(dir.path().join("pip.conf"), "index-url = x\n").unwrap();
    let out = aigate_in(dir.path(), &["policy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pip.conf:1"), "{}", stderr(&out));
}

/// An installed environment lists what `pip list` listed for it, with licences.
#[test]
fn deps_of_an_environment_match_pip_list_and_carry_licences() {
    let out = aigate_in(&fixtures(), &["deps", "--env", "venv", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let deps = report["dependencies"].as_array().unwrap();
    let mut ours: Vec<(String, String)> = deps
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ours.sort();
    let listed: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fixtures().join("venv-pip-list.json")).unwrap())
            .unwrap();
    let mut theirs: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .replace(['_', '.'], "-");
            (name, p["version"].as_str().unwrap().to_owned())
        })
        .collect();
    theirs.sort();
    assert_eq!(ours, theirs);
    let licence = |name: &str| {
        deps.iter()
            .find(|d| d["name"] == name)
            .and_then(|d| d["licence"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(licence("certifi").as_deref(), Some("MPL-2.0"));
    assert_eq!(licence("mdurl").as_deref(), Some("MIT"));
    assert_eq!(
        licence("numpy").as_deref(),
        Some("BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0")
    );
}

#[test]
fn untrusted_config_cannot_relax_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("requirements.txt"),
        "reqeusts==1.0\nnumpy>=2\ntorch==2.5.1\n--extra-index-url https://download.pytorch.org/whl/cpu\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("aigate.toml"),
        "[policy]\nrequire-pins = false\ntyposquats = false\nindexes = [\"https://pypi.org/simple/\", \"https://download.pytorch.org/whl/cpu\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        isolated(dir.path())
            .env("AIGATE_CONFIG_DIR", user.path())
            .args(args)
            .output()
            .unwrap()
    };
    let rules = |out: &Output| -> Vec<String> {
        let mut rules: Vec<String> = json(out)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect();
        rules.sort();
        rules
    };
    // Found by discovery and not trusted: every relaxation is ignored, with a warning saying so.
    let out = run(&["policy", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let found = rules(&out);
    for rule in [
        "policy-typosquat",
        "policy-unpinned",
        "policy-index-not-allowed",
    ] {
        assert!(found.iter().any(|r| r == rule), "{rule} missing: {found:?}");
    }
    assert!(found.iter().any(|r| r == "config-not-trusted"), "{found:?}");
    // Named with --config, the same file relaxes those checks.
    let out = run(&["--config", "aigate.toml", "policy", "--format", "json"]);
    let found = rules(&out);
    for rule in [
        "policy-typosquat",
        "policy-unpinned",
        "policy-index-not-allowed",
    ] {
        assert!(
            !found.iter().any(|r| r == rule),
            "{rule} still there: {found:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn pips_own_configuration_and_variables_are_checked_like_the_projects() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("requirements.txt"), "numpy==2.1.0\n").unwrap();
    let user_conf = home.path().join(".config/pip/pip.conf");
    fs::create_dir_all(user_conf.parent().unwrap()).unwrap();
    fs::write(
        &user_conf,
        "[global]\nextra-index-url = https://user.example/simple\n",
    )
    .unwrap();
    let out = isolated(dir.path())
        .env_remove("PIP_CONFIG_FILE")
        .env_remove("XDG_CONFIG_HOME")
        .env("XDG_CONFIG_DIRS", home.path().join("no-such-dir"))
        .env("HOME", home.path())
        .env("PIP_EXTRA_INDEX_URL", "https://env.example/simple")
        .args(["policy", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json(&out);
    let flagged: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "policy-extra-index")
        .map(|f| {
            f["location"]["path"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        flagged.iter().any(|p| p.ends_with(".config/pip/pip.conf")),
        "{flagged:?}"
    );
    assert!(
        flagged.iter().any(|p| p == "$PIP_EXTRA_INDEX_URL"),
        "{flagged:?}"
    );
    // PIP_CONFIG_FILE=/dev/null: pip reads no configuration file, and neither does aigate.
    let out = isolated(dir.path())
        .env("HOME", home.path())
        .args(["policy", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// A virtual environment holding one distribution, `demo 1.0`, at `root`.
fn fake_environment(root: &Path) {
    let site = root.join("lib/python3.11/site-packages");
    let dist_info = site.join("demo-1.0.dist-info");
    fs::create_dir_all(&dist_info).unwrap();
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::write(root.join("pyvenv.cfg"), "version = 3.11.7\n").unwrap();
    fs::write(
        dist_info.join("METADATA"),
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    )
    .unwrap();
    fs::write(
        dist_info.join("RECORD"),
        "demo-1.0.dist-info/METADATA,,\ndemo-1.0.dist-info/RECORD,,\n",
    )
    .unwrap();
}

fn dependency_names(out: &Output) -> Vec<String> {
    let report = json(out);
    let mut names: Vec<String> = report["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// pre-commit runs a Python hook with VIRTUAL_ENV set to the hook's own environment, where
/// aigate is installed; that environment is not the project's and must not be judged as it.
#[test]
fn the_environment_aigate_is_installed_in_is_not_the_projects() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("requirements.txt"), "numpy==2.1.0\n").unwrap();
    let tool_env = dir.path().join("hook-env");
    fake_environment(&tool_env);
    let installed = tool_env.join("bin/aigate");
    fs::copy(env!("CARGO_BIN_EXE_aigate"), &installed).unwrap();
    let deps = |binary: &Path| {
        let mut command = std::process::Command::new(binary);
        command
            .current_dir(&project)
            .env("VIRTUAL_ENV", &tool_env)
            .env("PIP_CONFIG_FILE", "/dev/null")
            .args(["deps", "--format", "json"]);
        for name in support::INDEX_VARIABLES {
            command.env_remove(name);
        }
        command.output().unwrap()
    };
    // Run from inside it (the hook's case): only the project's requirements.
    let from_inside = deps(&installed);
    assert_eq!(
        from_inside.status.code(),
        Some(0),
        "{}",
        stderr(&from_inside)
    );
    assert_eq!(dependency_names(&from_inside), ["numpy"]);
    // Another aigate with the same environment active: the user's environment, read.
    let from_outside = deps(Path::new(env!("CARGO_BIN_EXE_aigate")));
    assert_eq!(
        from_outside.status.code(),
        Some(0),
        "{}",
        stderr(&from_outside)
    );
    assert_eq!(dependency_names(&from_outside), ["demo", "numpy"]);
}
