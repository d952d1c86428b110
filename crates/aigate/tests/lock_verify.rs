//! `aigate lock`, `approve` and `verify` on real project folders: every kind of tampering is
//! caught with its rule, approvals survive only unchanged bytes.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Project {
    dir: tempfile::TempDir,
    /// The user's configuration folder (AIGATE_CONFIG_DIR), where `aigate trust` records trust.
    user: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("models/sentiment")).unwrap();
        fs::create_dir_all(root.join("data")).unwrap();
        fs::copy(
            repo().join("fixtures/benign/torch_state_dict.pt"),
            root.join("models/sentiment/model.pt"),
        )
        .unwrap();
        fs::write(
            root.join("models/sentiment/config.json"),
            b"{\"hidden\": 8}\n",
        )
        .unwrap();
        fs::write(root.join("data/tickets.csv"), b"id,text\n1,hello\n").unwrap();
        fs::write(
            root.join("aigate.toml"),
            "[[model]]\nname = \"sentiment\"\npath = \"models/sentiment\"\nowner = \"ml-platform\"\n\n\
             [[dataset]]\nname = \"tickets\"\npath = \"data/tickets.csv\"\nowner = \"data-eng\"\n",
        )
        .unwrap();
        Project {
            dir,
            user: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_aigate"))
            .current_dir(self.root())
            .env("SOURCE_DATE_EPOCH", "1795305600")
            .env("AIGATE_CONFIG_DIR", self.user.path())
            .env("AIGATE_CACHE_DIR", self.user.path().join("cache"))
            .args(args)
            .output()
            .unwrap()
    }

    fn lock_and_approve_all(&self) {
        assert_eq!(self.run(&["lock"]).status.code(), Some(0));
        assert_eq!(
            self.run(&["approve", "sentiment", "--by", "alice"])
                .status
                .code(),
            Some(0)
        );
        assert_eq!(
            self.run(&["approve", "tickets", "--by", "bob"])
                .status
                .code(),
            Some(0)
        );
    }

    fn verify_rules(&self) -> (i32, Vec<String>) {
        let out = self.run(&["verify", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let rules = report["findings"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .filter_map(|f| f["rule"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap();
        (out.status.code().unwrap_or(-1), rules)
    }

    fn lock_text(&self) -> String {
        fs::read_to_string(self.root().join("aigate.lock")).unwrap()
    }
}

fn approved_project() -> Project {
    let p = Project::new();
    p.lock_and_approve_all();
    p
}

#[test]
fn untouched_project_verifies_clean() {
    let p = approved_project();
    assert_eq!(p.verify_rules(), (0, vec![]));
    let lock = p.lock_text();
    assert!(
        lock.contains("by = \"alice\"") && lock.contains("at = \"2026-11-22T00:00:00Z\""),
        "{lock}"
    );
}

#[test]
fn unapproved_artifacts_fail_verification() {
    let p = Project::new();
    assert_eq!(p.run(&["lock"]).status.code(), Some(0));
    assert_eq!(
        p.verify_rules(),
        (
            1,
            vec!["verify-not-approved".into(), "verify-not-approved".into()]
        )
    );
}

#[test]
fn flipped_byte_is_modified() {
    let p = approved_project();
    let path = p.root().join("models/sentiment/model.pt");
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(&path, bytes).unwrap();
    assert_eq!(p.verify_rules(), (1, vec!["verify-file-modified".into()]));
}

#[test]
fn added_file_is_reported() {
    let p = approved_project();
    fs::write(p.root().join("models/sentiment/extra.bin"), b"x").unwrap();
    assert_eq!(p.verify_rules(), (1, vec!["verify-file-added".into()]));
}

#[test]
fn removed_file_is_reported() {
    let p = approved_project();
    fs::remove_file(p.root().join("models/sentiment/config.json")).unwrap();
    assert_eq!(p.verify_rules(), (1, vec!["verify-file-removed".into()]));
}

#[cfg(unix)]
#[test]
fn file_swapped_for_a_symlink_is_a_type_change() {
    let p = approved_project();
    let path = p.root().join("models/sentiment/config.json");
    let copy = p.root().join("elsewhere.json");
    fs::copy(&path, &copy).unwrap();
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&copy, &path).unwrap();
    assert_eq!(
        p.verify_rules(),
        (1, vec!["verify-file-type-changed".into()])
    );
}

#[test]
fn hand_edited_hash_in_the_lock_is_caught() {
    let p = approved_project();
    let lock = p.lock_text();
    let at = lock.find("sha256 = \"").unwrap_or(0) + 10;
    let mut edited = lock.clone();
    edited.replace_range(at..at + 1, if &lock[at..at + 1] == "0" { "1" } else { "0" });
    fs::write(p.root().join("aigate.lock"), edited).unwrap();
    // The approval was of the old digest, so it lapses too.
    assert_eq!(
        p.verify_rules().1,
        vec![
            "verify-approval-invalid".to_string(),
            "verify-file-modified".to_string()
        ]
    );
}

#[test]
fn lock_entries_outside_the_project_are_rejected() {
    let p = approved_project();
    let edited = p.lock_text().replace(
        "path = \"data/tickets.csv\"\n",
        "path = \"../../etc/passwd\"\n",
    );
    fs::write(p.root().join("aigate.lock"), edited).unwrap();
    let (code, rules) = p.verify_rules();
    assert_eq!(code, 1);
    assert!(
        rules.contains(&"lock-path-outside-project".to_string()),
        "{rules:?}"
    );
}

#[test]
fn approval_survives_only_unchanged_artifacts() {
    let p = approved_project();
    fs::write(p.root().join("data/tickets.csv"), b"id,text\n1,changed\n").unwrap();
    let out = p.run(&["lock"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("model sentiment") && text.contains("approved by alice (unchanged)"),
        "{text}"
    );
    assert!(
        text.contains("dataset tickets") && text.contains("pending approval (changed)"),
        "{text}"
    );
    assert_eq!(p.verify_rules(), (1, vec!["verify-not-approved".into()]));
}

#[test]
fn unsafe_artifacts_need_a_forced_approval_with_a_reason() {
    let p = Project::new();
    fs::copy(
        repo().join("fixtures/malicious/reduce_proto2.pkl"),
        p.root().join("models/sentiment/head.pkl"),
    )
    .unwrap();
    assert_eq!(p.run(&["lock"]).status.code(), Some(0));
    let refused = p.run(&["approve", "sentiment", "--by", "alice"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("pickle-unsafe-global"));
    assert!(p.lock_text().contains("status = \"pending\""));
    let forced = p.run(&[
        "approve",
        "sentiment",
        "--by",
        "alice",
        "--force",
        "isolated red-team sandbox",
    ]);
    assert_eq!(forced.status.code(), Some(0));
    assert!(
        p.lock_text()
            .contains("forced = \"isolated red-team sandbox\"")
    );
}

#[test]
fn approval_of_changed_files_is_refused() {
    let p = Project::new();
    assert_eq!(p.run(&["lock"]).status.code(), Some(0));
    fs::write(p.root().join("models/sentiment/config.json"), b"{}").unwrap();
    assert_eq!(
        p.run(&["approve", "sentiment", "--by", "alice"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn declared_but_unlocked_and_locked_but_undeclared_are_reported() {
    let p = approved_project();
    let toml = fs::read_to_string(p.root().join("aigate.toml")).unwrap();
    let toml = toml.replace("name = \"tickets\"", "name = \"tickets-v2\"");
    fs::write(p.root().join("aigate.toml"), toml).unwrap();
    let (_, mut rules) = p.verify_rules();
    rules.sort();
    assert_eq!(rules, ["verify-not-declared", "verify-not-locked"]);
}

#[test]
fn lock_refuses_symlinks_and_missing_paths() {
    let p = Project::new();
    fs::remove_file(p.root().join("data/tickets.csv")).unwrap();
    let out = p.run(&["lock"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data/tickets.csv does not exist"));
}

#[test]
fn manifest_errors_name_the_line() {
    let p = Project::new();
    fs::write(
        p.root().join("aigate.toml"),
        "[[model]]\nname = \"m\"\npath = \"m\"\nintended_use = \"x\"\n",
    )
    .unwrap();
    let out = p.run(&["lock"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 4") && err.contains("intended_use"),
        "{err}"
    );
}

#[test]
fn lock_output_is_stable() {
    let p = approved_project();
    let first = p.lock_text();
    assert_eq!(p.run(&["lock"]).status.code(), Some(0));
    assert_eq!(p.lock_text(), first);
}

fn report_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn every_project_command_writes_a_schema_valid_json_report() {
    let text = fs::read_to_string(repo().join("docs/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    let p = Project::new();
    for args in [
        &["lock", "--format", "json"][..],
        &["approve", "sentiment", "--by", "alice", "--format", "json"],
        &["verify", "--format", "json"],
    ] {
        let report = report_of(&p.run(args));
        assert_eq!(report["command"], args[0]);
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{args:?}: {errors:?}");
    }
    let lock = report_of(&p.run(&["lock", "--format", "json"]));
    let states: Vec<&str> = lock["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["unchanged", "unchanged"]);
    assert_eq!(lock["artifacts"][0]["approved_by"], "alice");
}

#[test]
fn verify_reports_an_unreadable_artifact_and_checks_the_rest() {
    let p = approved_project();
    // An artifact whose path runs through a file: listing it fails (not a directory), even for
    // root. Declared and pinned by hand, as a lock from elsewhere might be.
    let toml = fs::read_to_string(p.root().join("aigate.toml")).unwrap();
    fs::write(
        p.root().join("aigate.toml"),
        // The hand-written approval cannot stand; it is allowed here to see the error alone.
        format!(
            "[rules]\n\"verify-approval-invalid\" = \"allow\"\n\n{toml}\n[[dataset]]\nname = \"nested\"\npath = \"data/tickets.csv/inner\"\n"
        ),
    )
    .unwrap();
    assert_eq!(p.run(&["trust"]).status.code(), Some(0));
    let lock = p.lock_text();
    fs::write(
        p.root().join("aigate.lock"),
        format!(
            "{lock}\n[[artifact]]\nname = \"nested\"\nkind = \"dataset\"\npath = \"data/tickets.csv/inner\"\n\
             [artifact.approval]\nstatus = \"approved\"\nby = \"x\"\nat = \"2026-01-01T00:00:00Z\"\n\
             [artifact.scan]\nverdict = \"clean\"\nscanner = \"aigate-scan 0.1.0\"\nthreshold = \"medium\"\nfindings = 0\n"
        ),
    )
    .unwrap();
    let out = p.run(&["verify", "--format", "json"]);
    let report = report_of(&out);
    assert_eq!(out.status.code(), Some(2), "{report}");
    assert_eq!(report["errors"][0]["path"], "data/tickets.csv/inner");
    assert_eq!(
        report["summary"]["files"], 3,
        "the other artifacts were still hashed"
    );
    fs::write(p.root().join("models/sentiment/config.json"), b"{}").unwrap();
    assert_eq!(p.verify_rules(), (1, vec!["verify-file-modified".into()]));
}

#[test]
fn an_approval_made_while_lock_runs_is_not_lost() {
    for _ in 0..2 {
        let p = Project::new();
        // A big, approved model makes `lock` take a while; `tickets` is pending.
        let big = fs::File::create(p.root().join("models/sentiment/weights.bin")).unwrap();
        big.set_len(512 << 20).unwrap();
        drop(big);
        assert_eq!(p.run(&["lock"]).status.code(), Some(0));
        assert_eq!(
            p.run(&["approve", "sentiment", "--by", "alice"])
                .status
                .code(),
            Some(0)
        );
        let mut lock = Command::new(env!("CARGO_BIN_EXE_aigate"))
            .current_dir(p.root())
            .arg("lock")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150));
        let approve = p.run(&["approve", "tickets", "--by", "bob"]);
        assert_eq!(
            approve.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&approve.stderr)
        );
        assert!(lock.wait().unwrap().success());
        let text = p.lock_text();
        assert!(
            text.contains("by = \"bob\""),
            "the approval was lost:\n{text}"
        );
        assert_eq!(p.verify_rules(), (0, vec![]));
    }
}

fn write(p: &Project, rel: &str, data: &[u8]) {
    let path = p.root().join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_configuration_found_beside_the_files_relaxes_nothing_until_trusted() {
    let p = Project::new();
    write(
        &p,
        "models/sentiment/layer.pkl",
        b"\x80\x02cmypkg.layers\nWeird\n)\x81}b.",
    );
    // The download's own configuration tries to clear its payload three ways.
    let toml = fs::read_to_string(p.root().join("aigate.toml")).unwrap();
    let relaxing = format!(
        "[scan]\nallow = [\"mypkg.*\"]\nfail-on = \"critical\"\n\n[rules]\n\"pickle-unknown-global\" = \"warn\"\n\n{toml}"
    );
    fs::write(p.root().join("aigate.toml"), &relaxing).unwrap();
    let scan = || {
        let out = p.run(&["scan", "--format", "json", "models"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut rules: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect();
        rules.sort();
        (out.status.code(), rules)
    };
    assert_eq!(
        scan(),
        (
            Some(1),
            vec![
                "config-not-trusted".to_owned(),
                "pickle-unknown-global".to_owned()
            ]
        )
    );
    let human = p.run(&["scan", "models"]);
    assert!(
        stderr(&human).contains("not trusted") && stderr(&human).contains("aigate trust"),
        "{}",
        stderr(&human)
    );
    assert_eq!(p.run(&["trust"]).status.code(), Some(0));
    // Trusted, allow clears the class (and the [rules] entry then matches nothing).
    assert_eq!(scan(), (Some(0), vec!["config-unused-entry".to_owned()]));
    assert!(stderr(&p.run(&["scan", "models"])).contains("(trusted)"));
    // Editing the file withdraws the trust; naming it with --config trusts it.
    fs::write(
        p.root().join("aigate.toml"),
        format!("{relaxing}\n# edited\n"),
    )
    .unwrap();
    assert_eq!(scan().0, Some(1));
    let named = p.run(&["--config", "aigate.toml", "scan", "models"]);
    assert_eq!(named.status.code(), Some(0), "{}", stderr(&named));
    assert_eq!(p.run(&["trust"]).status.code(), Some(0));
    assert_eq!(scan().0, Some(0));
    let list = p.run(&["trust", "--list"]);
    assert!(
        stderr(&list).contains("(trusted, since"),
        "{}",
        stderr(&list)
    );
    assert_eq!(p.run(&["trust", "--revoke"]).status.code(), Some(0));
    assert_eq!(scan().0, Some(1));
    // Stricter settings apply from an untrusted configuration.
    fs::write(
        p.root().join("aigate.toml"),
        format!("[scan]\ndeny = [\"mypkg.*\"]\n\n{toml}"),
    )
    .unwrap();
    let out = p.run(&["scan", "--format", "json", "models"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pickle-unsafe-global"),
        "deny applies untrusted"
    );
}

#[test]
fn an_approval_does_not_survive_a_worse_verdict() {
    let p = Project::new();
    // A pickle calling a class that is allowed now and denied later.
    let weird = b"\x80\x02cmypkg.layers\nWeird\n)\x81}b.";
    write(&p, "models/sentiment/layer.pkl", weird);
    let toml = fs::read_to_string(p.root().join("aigate.toml")).unwrap();
    let with_scan = |scan: &str| format!("[scan]\n{scan}\n\n{toml}");
    fs::write(
        p.root().join("aigate.toml"),
        with_scan("allow = [\"mypkg.layers.*\"]"),
    )
    .unwrap();
    assert_eq!(p.run(&["trust"]).status.code(), Some(0));
    p.lock_and_approve_all();
    assert_eq!(p.verify_rules(), (0, vec![]));
    fs::write(
        p.root().join("aigate.toml"),
        with_scan("deny = [\"mypkg.layers.*\"]"),
    )
    .unwrap();
    let out = p.run(&["lock"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("back to pending") && text.contains("unsafe"),
        "{text}"
    );
    assert_eq!(p.verify_rules(), (1, vec!["verify-not-approved".into()]));
}

#[cfg(unix)]
#[test]
fn a_file_whose_name_is_not_utf8_is_refused_never_skipped() {
    use std::os::unix::ffi::OsStrExt;
    let p = approved_project();
    let name = std::ffi::OsStr::from_bytes(b"x\xff.bin");
    fs::copy(
        repo().join("fixtures/malicious/reduce_proto2.pkl"),
        p.root().join("models/sentiment").join(name),
    )
    .unwrap();
    assert_eq!(p.verify_rules(), (1, vec!["verify-name-not-utf8".into()]));
    let out = p.run(&["lock"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("x\\xff.bin"), "{}", stderr(&out));
}

#[test]
fn a_hand_edited_verdict_or_approval_is_not_trusted() {
    let p = Project::new();
    fs::copy(
        repo().join("fixtures/malicious/reduce_proto2.pkl"),
        p.root().join("models/sentiment/head.pkl"),
    )
    .unwrap();
    assert_eq!(p.run(&["lock"]).status.code(), Some(0));
    let edited = p
        .lock_text()
        .replace("verdict = \"unsafe\"", "verdict = \"clean\"");
    fs::write(p.root().join("aigate.lock"), edited).unwrap();
    let out = p.run(&["approve", "sentiment", "--by", "mallory"]);
    assert_eq!(out.status.code(), Some(1), "approve must scan again");
    assert!(String::from_utf8_lossy(&out.stdout).contains("approve-unsafe-verdict"));
    // An approval typed into the lock, with no approver, time or digest.
    let typed = p
        .lock_text()
        .replacen("status = \"pending\"", "status = \"approved\"", 2);
    fs::write(p.root().join("aigate.lock"), typed).unwrap();
    let (code, rules) = p.verify_rules();
    assert_eq!(code, 1);
    assert_eq!(
        rules
            .iter()
            .filter(|r| *r == "verify-approval-invalid")
            .count(),
        2,
        "{rules:?}"
    );
}

#[cfg(unix)]
#[test]
fn locks_and_configurations_that_are_not_regular_files_are_errors_not_hangs() {
    let p = approved_project();
    fs::remove_file(p.root().join("aigate.lock")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", p.root().join("aigate.lock")).unwrap();
    let out = p.run(&["verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    fs::remove_file(p.root().join("aigate.lock")).unwrap();
    let made = Command::new("mkfifo")
        .arg(p.root().join("aigate.lock"))
        .status()
        .unwrap();
    assert!(made.success());
    assert_eq!(p.run(&["verify"]).status.code(), Some(2));
    let out = p.run(&["--config", "/dev/zero", "lock"]);
    assert_eq!(out.status.code(), Some(2));
    // A folder named aigate.toml is that folder's broken configuration, not a reason to climb.
    let nested = p.root().join("sub/aigate.toml");
    fs::create_dir_all(&nested).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(p.root().join("sub"))
        .arg("verify")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sub/aigate.toml"), "{}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn names_with_every_printable_character_lock_and_verify() {
    let p = Project::new();
    let printable: String = (0x20u8..0x7f)
        .map(char::from)
        .filter(|c| *c != '/')
        .collect();
    write(&p, &format!("models/sentiment/{printable}"), b"weights");
    write(&p, "models/sentiment/a:b\\c.bin", b"more");
    p.lock_and_approve_all();
    assert_eq!(p.verify_rules(), (0, vec![]));
}

#[test]
fn respelled_paths_are_the_same_artifact_and_the_whole_project_can_be_one() {
    let p = approved_project();
    let toml = fs::read_to_string(p.root().join("aigate.toml")).unwrap();
    for spelling in [
        "models/sentiment/",
        "./models/sentiment",
        "models//sentiment",
    ] {
        let respelled = toml.replace("\"models/sentiment\"", &format!("\"{spelling}\""));
        fs::write(p.root().join("aigate.toml"), respelled).unwrap();
        let out = p.run(&["lock"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("approved by alice (unchanged)"),
            "{spelling}: {text}"
        );
        assert_eq!(p.verify_rules(), (0, vec![]), "{spelling}");
    }
    let whole = Project::new();
    fs::write(
        whole.root().join("aigate.toml"),
        "[[dataset]]\nname = \"everything\"\npath = \".\"\n",
    )
    .unwrap();
    assert_eq!(whole.run(&["lock"]).status.code(), Some(0));
    assert_eq!(
        whole
            .run(&["approve", "everything", "--by", "alice"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        whole.verify_rules(),
        (0, vec![]),
        "aigate's own files are not the artifact's"
    );
}

#[test]
fn source_rules_hold_in_every_command() {
    let p = Project::new();
    let toml = fs::read_to_string(p.root().join("aigate.toml")).unwrap();
    let sourced = toml.replacen(
        "owner = \"ml-platform\"",
        "owner = \"ml-platform\"\nsource = \"hf://acme/m@main\"",
        1,
    );
    fs::write(
        p.root().join("aigate.toml"),
        format!("[sources]\nrequire-pinned-revision = true\n\n{sourced}"),
    )
    .unwrap();
    let out = p.run(&["lock", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = report_of(&out);
    assert_eq!(report["findings"][0]["rule"], "source-revision-not-pinned");
    assert_eq!(report["findings"][0]["location"]["span"]["line"], 8);
    p.run(&["approve", "sentiment", "--by", "a"]);
    p.run(&["approve", "tickets", "--by", "b"]);
    assert!(
        p.verify_rules()
            .1
            .contains(&"source-revision-not-pinned".to_string())
    );
    // Credentials are refused, and never copied into the lock.
    let secret = sourced.replace("hf://acme/m@main", "https://user:hunter2@example.org/m.bin");
    fs::write(p.root().join("aigate.toml"), &secret).unwrap();
    let out = p.run(&["lock", "--format", "json"]);
    assert_eq!(report_of(&out)["findings"][0]["rule"], "source-credentials");
    assert!(!p.lock_text().contains("hunter2"), "{}", p.lock_text());
    // A source changed after locking is reported by verify.
    let moved = sourced.replace("hf://acme/m@main", "https://example.org/other.bin");
    fs::write(p.root().join("aigate.toml"), moved).unwrap();
    assert!(
        p.verify_rules()
            .1
            .contains(&"verify-source-changed".to_string())
    );
}

#[test]
fn a_broken_lock_is_rebuilt_keeping_the_approvals_whose_bytes_match() {
    let p = approved_project();
    let broken = p
        .lock_text()
        .replacen("kind = \"model\"", "kind = \"weights\"", 1);
    fs::write(p.root().join("aigate.lock"), broken).unwrap();
    let out = p.run(&["lock"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("aigate lock --rebuild"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["lock", "--rebuild"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("sentiment"), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("dataset tickets") && text.contains("approved by bob (unchanged)"),
        "{text}"
    );
    assert_eq!(p.verify_rules(), (1, vec!["verify-not-approved".into()]));
}

#[test]
fn an_empty_configuration_is_a_warning_not_a_silent_pass() {
    let p = Project::new();
    fs::write(p.root().join("aigate.toml"), "").unwrap();
    assert_eq!(p.run(&["lock"]).status.code(), Some(0));
    let out = p.run(&["verify", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report = report_of(&out);
    assert_eq!(report["findings"][0]["rule"], "config-no-artifacts");
    assert_eq!(report["findings"][0]["level"], "warn");
}

#[cfg(unix)]
#[test]
fn an_added_link_is_not_answered_with_a_lock_that_would_refuse_it() {
    let p = approved_project();
    std::os::unix::fs::symlink("/etc/hostname", p.root().join("models/sentiment/extra")).unwrap();
    let report = report_of(&p.run(&["verify", "--format", "json"]));
    let added = &report["findings"][0];
    assert_eq!(added["rule"], "verify-file-added");
    assert!(
        added["hint"]
            .as_str()
            .unwrap()
            .contains("regular files only"),
        "{added}"
    );
    let unapproved = Project::new();
    unapproved.run(&["lock"]);
    let report = report_of(&unapproved.run(&["verify", "--format", "json"]));
    let hints: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["hint"].as_str())
        .collect();
    assert!(
        hints.iter().any(|h| h.contains("aigate approve sentiment")),
        "{hints:?}"
    );
}

#[test]
fn the_digest_cache_answers_for_unchanged_files_and_never_hides_an_edit() {
    let p = approved_project();
    let cache_file = p.user.path().join("cache/digests.json");
    let dataset = p.root().join("data/tickets.csv");
    // Files changed within two seconds of a run are never cached (git's racy-file rule).
    std::thread::sleep(std::time::Duration::from_millis(2300));
    assert_eq!(p.verify_rules(), (0, vec![]));
    let mut cache: serde_json::Value = serde_json::from_slice(&fs::read(&cache_file).unwrap())
        .expect("verify wrote the digest cache");
    let entries = cache["entries"].as_object_mut().unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    // A digest the file does not have: verify reporting it proves the cache answered.
    let (_, entry) = entries
        .iter_mut()
        .find(|(path, _)| path.ends_with("data/tickets.csv"))
        .unwrap();
    entry["sha256"] = "00".repeat(32).into();
    fs::write(&cache_file, serde_json::to_vec(&cache).unwrap()).unwrap();
    assert_eq!(
        p.verify_rules(),
        (1, vec!["verify-file-modified".to_owned()])
    );
    let rehashed = p.run(&["verify", "--rehash"]);
    assert_eq!(rehashed.status.code(), Some(0), "{}", stderr(&rehashed));

    // Same size, mtime put back: the edit still moves ctime, so the entry no longer answers.
    fs::remove_file(&cache_file).unwrap();
    assert_eq!(p.verify_rules(), (0, vec![]));
    let mtime = fs::metadata(&dataset).unwrap().modified().unwrap();
    fs::write(&dataset, b"id,text\n1,HELLO\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&dataset)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(
        p.verify_rules(),
        (1, vec!["verify-file-modified".to_owned()])
    );
}
