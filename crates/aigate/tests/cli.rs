//! The command line as users meet it: help texts, each output format (snapshots), exit codes,
//! configuration errors, `--output`, and a closed standard output.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn aigate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(repo())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running aigate: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SAMPLES: &[&str] = &[
    "fixtures/malicious/payload_then_garbage.pkl",
    "fixtures/malicious/zip_name_mismatch.pt",
    "fixtures/malicious/embedded_base64.pkl",
    "fixtures/benign/embedded_benign.pkl",
    "fixtures/benign/sklearn_forest.joblib",
];

fn scan_samples(format: &str) -> Output {
    let mut args = vec!["scan", "--format", format];
    args.extend_from_slice(SAMPLES);
    aigate(&args)
}

#[test]
fn help() {
    insta::assert_snapshot!("help", stdout(&aigate(&["--help"])));
    insta::assert_snapshot!("scan_help", stdout(&aigate(&["scan", "--help"])));
    insta::assert_snapshot!("lock_help", stdout(&aigate(&["lock", "--help"])));
    insta::assert_snapshot!("approve_help", stdout(&aigate(&["approve", "--help"])));
    insta::assert_snapshot!("verify_help", stdout(&aigate(&["verify", "--help"])));
    insta::assert_snapshot!("fetch_help", stdout(&aigate(&["fetch", "--help"])));
    insta::assert_snapshot!("keygen_help", stdout(&aigate(&["keygen", "--help"])));
    insta::assert_snapshot!("sign_help", stdout(&aigate(&["sign", "--help"])));
    insta::assert_snapshot!(
        "verify_sig_help",
        stdout(&aigate(&["verify-sig", "--help"]))
    );
    insta::assert_snapshot!("trust_help", stdout(&aigate(&["trust", "--help"])));
}

#[test]
fn human_output() {
    let out = scan_samples("human");
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("human", stdout(&out));
}

#[test]
fn json_output() {
    let out = scan_samples("json");
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("json", stdout(&out));
}

#[test]
fn sarif_output() {
    let out = scan_samples("sarif");
    assert_eq!(out.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(results >= 5, "{results} results");
    insta::assert_snapshot!("sarif", stdout(&out));
}

#[test]
fn benign_files_exit_zero() {
    let out = aigate(&[
        "scan",
        "fixtures/benign/sklearn_forest.joblib",
        "fixtures/benign/hf-model",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("nothing at or above medium"));
}

#[test]
fn fail_on_raises_and_lowers_the_threshold() {
    let medium_only = "fixtures/malicious/unknown_class_setstate.pkl";
    assert_eq!(
        aigate(&["scan", "--fail-on", "high", medium_only])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(aigate(&["scan", medium_only]).status.code(), Some(1));
    let info_only = "fixtures/benign/embedded_benign.pkl";
    assert_eq!(aigate(&["scan", info_only]).status.code(), Some(0));
    assert_eq!(
        aigate(&["scan", "--fail-on", "info", info_only])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn unreadable_input_exits_two_unless_findings_make_it_one() {
    let out = aigate(&["scan", "no/such/file.pkl"]);
    assert_eq!(out.status.code(), Some(2));
    // Errors go to standard error; the summary on standard output says there were some.
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.pkl"));
    assert!(
        stdout(&out).contains("1 input(s) could not be read"),
        "{}",
        stdout(&out)
    );
    let both = aigate(&[
        "scan",
        "no/such/file.pkl",
        "fixtures/malicious/reduce_proto2.pkl",
    ]);
    assert_eq!(both.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(aigate(&["scan"]).status.code(), Some(2));
    assert_eq!(
        aigate(&["scan", "--fail-on", "severe", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(aigate(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn config_errors_name_the_line_and_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("aigate.toml");
    std::fs::write(&config, "[scan]\nallow = []\nalow = [\"x\"]\n").unwrap();
    let out = aigate(&[
        "--config",
        &config.to_string_lossy(),
        "scan",
        "fixtures/benign/numpy_float.npy",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("alow"), "{err}");
}

#[test]
fn config_allow_accepts_a_users_own_class() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("aigate.toml");
    let sample = "fixtures/malicious/unknown_class_setstate.pkl";
    std::fs::write(&config, "[scan]\nallow = [\"evil_pkg.payloads.*\"]\n").unwrap();
    let out = aigate(&["--config", &config.to_string_lossy(), "scan", sample]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    std::fs::write(&config, "[scan]\nallow = [\"os.*\"]\n").unwrap();
    let out = aigate(&[
        "--config",
        &config.to_string_lossy(),
        "scan",
        "fixtures/malicious/os_system_proto0.pkl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the denylist must win over allow"
    );
}

#[test]
fn output_file_receives_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out = aigate(&[
        "scan",
        "--format",
        "json",
        "--output",
        &path.to_string_lossy(),
        "fixtures/malicious/reduce_proto4.pkl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(report["findings"][0]["rule"], "pickle-unsafe-global");
}

/// Runs a scan whose standard output is closed before it writes.
fn scan_into_a_closed_pipe(path: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(repo())
        .args(["scan", "--format", "json", path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn closed_stdout_exits_quietly_with_the_verdict() {
    let findings = scan_into_a_closed_pipe("fixtures");
    assert_eq!(findings.status.code(), Some(1));
    assert!(
        findings.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&findings.stderr)
    );
    let clean = scan_into_a_closed_pipe("fixtures/benign/hf-model");
    assert_eq!(clean.status.code(), Some(0));
    assert!(clean.stderr.is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_standard_output_is_an_error_that_says_so() {
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(repo())
        .args(["scan", "fixtures/benign"])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("standard output"), "{err}");
}

/// The JSON Schema the code writes, compiled.
fn report_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("docs/report.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, report: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn json_reports_match_the_published_schema() {
    let validator = report_schema();
    let out = aigate(&["scan", "--format", "json", "--list-globals", "fixtures"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_valid(&validator, &report);
    let with_globals = report["scanned"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["globals"].as_array().is_some_and(|g| !g.is_empty()))
        .count();
    assert!(with_globals > 10, "{with_globals} entries list globals");
    // A report that is not one fails: the validator is not vacuous.
    let mut broken = report.clone();
    broken["findings"][0]["severity"] = serde_json::json!("severe");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn rule_levels_in_the_config_allow_warn_and_deny() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("aigate.toml");
    let config = config.to_string_lossy();
    let sample = "fixtures/malicious/unknown_class_setstate.pkl";
    let run = |rules: &str| {
        std::fs::write(&*config, format!("[rules]\n{rules}\n")).unwrap();
        let out = aigate(&["--config", &config, "scan", "--format", "json", sample]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), report)
    };
    let (code, report) = run("\"pickle-unknown-global\" = \"allow\"");
    assert_eq!(code, Some(0));
    assert_eq!(report["summary"]["suppressed"], 1);
    let (code, report) = run("\"pickle-unknown-global\" = \"warn\"");
    assert_eq!(code, Some(0));
    assert_eq!(report["findings"][0]["level"], "warn");
    let (code, _) =
        run("\"pickle-trailing-data\" = \"deny\"\n\"pickle-unknown-global\" = \"allow\"");
    assert_eq!(
        code,
        Some(0),
        "deny on a rule that did not fire changes nothing"
    );
    let (code, report) = run("\"pickle-unknown-global\" = \"deny\"");
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"][0]["level"], "deny");
    std::fs::write(&*config, "[rules]\n\"pickle-unknwon-global\" = \"allow\"\n").unwrap();
    let out = aigate(&["--config", &config, "scan", sample]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("pickle-unknown-global"),
        "{err}"
    );
}

fn scan_with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(repo())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The scanner may stop reading early; a closed pipe is not the test's failure.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn standard_input_and_pipes_are_scanned_as_streams() {
    let evil = std::fs::read(repo().join("fixtures/malicious/reduce_proto2.pkl")).unwrap();
    let out = scan_with_stdin(&["scan", "--format", "json", "-"], &evil);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["rule"], "pickle-unsafe-global");
    assert_eq!(report["findings"][0]["location"]["path"], "<stdin>");
    let out = scan_with_stdin(&["scan", "/dev/stdin"], &evil);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let benign = std::fs::read(repo().join("fixtures/benign/sklearn_logreg.pkl")).unwrap();
    assert_eq!(
        scan_with_stdin(&["scan", "-"], &benign).status.code(),
        Some(0)
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_and_an_endless_device_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("model.pkl");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let evil = repo().join("fixtures/malicious/reduce_proto2.pkl");
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(&fifo, std::fs::read(evil).unwrap()))
    };
    let out = aigate(&["scan", &fifo.to_string_lossy()]);
    writer.join().unwrap().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = aigate(&["scan", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("save it to a file"), "{err}");
}

#[test]
fn the_report_never_replaces_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("v.pkl");
    std::fs::copy(repo().join("fixtures/malicious/reduce_proto2.pkl"), &model).unwrap();
    let before = std::fs::read(&model).unwrap();
    let path = model.to_string_lossy();
    let out = aigate(&["scan", "-o", &path, &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one of the files to scan"));
    assert_eq!(std::fs::read(&model).unwrap(), before);
}

#[test]
fn names_cannot_write_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("evil\u{1b}[2J\nname.pkl");
    std::fs::copy(repo().join("fixtures/malicious/reduce_proto2.pkl"), &name).unwrap();
    let out = aigate(&["scan", &dir.path().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("evil\\x1b[2J\\nname.pkl"), "{text}");
}

#[test]
fn fetch_checks_its_arguments_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aigate.toml"),
        "[sources]\ntrusted = [\"https://example.org/\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_aigate"))
            .current_dir(dir.path())
            .args(["--config", "aigate.toml"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["fetch", "https://example.org/m.bin", "--name", "../x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--name") && !err.contains("--dest"), "{err}");
    let out = run(&[
        "fetch",
        "https://example.org/m.bin",
        "--name",
        "m",
        "--sha256",
        "xyz",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 hexadecimal digits"));
    let out = run(&["fetch", "http://example.org/m.bin", "--name", "m"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("https://") && !text.contains("add its prefix"),
        "{text}"
    );
}

#[test]
fn untrusted_config_cannot_name_trusted_sources() {
    let dir = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aigate.toml"),
        "[sources]\ntrusted = [\"https://example.org/\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(dir.path())
        .env("AIGATE_CONFIG_DIR", user.path())
        .args(["fetch", "https://example.org/m.bin", "--name", "m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not trusted") && err.contains("aigate trust"),
        "{err}"
    );
}
