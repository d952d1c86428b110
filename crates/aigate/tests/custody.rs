//! Versions, the store, the custody log and rollback on real project folders: lock, approve,
//! change, re-lock, approve, roll back; the log tampered with by hand; a corrupted store; a
//! revoked version; a crash that left staging files; tensors changed between versions.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use sha2::Digest;

struct Project {
    dir: tempfile::TempDir,
    user: tempfile::TempDir,
}

/// A safetensors file: the 8-byte header length, the JSON header, the tensor bytes.
fn safetensors(tensors: &[(&str, &str, &[u64], &[u8])]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let begin = data.len();
        data.extend_from_slice(bytes);
        header.insert(
            (*name).to_owned(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [begin, data.len()]}),
        );
    }
    let header = serde_json::Value::Object(header).to_string();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    out
}

fn sha256(path: &Path) -> String {
    sha2::Sha256::digest(fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Project {
    /// A model folder (a config and a safetensors file) and a dataset file.
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("models/bert")).unwrap();
        fs::create_dir_all(root.join("data")).unwrap();
        fs::write(root.join("models/bert/config.json"), b"{\"hidden\": 2}\n").unwrap();
        fs::write(
            root.join("models/bert/model.safetensors"),
            safetensors(&[
                ("embed", "F32", &[2], &[0, 0, 128, 63, 0, 0, 0, 64]),
                ("head", "F32", &[1], &[0, 0, 64, 64]),
            ]),
        )
        .unwrap();
        fs::write(root.join("data/train.csv"), b"id,text\n1,hello\n").unwrap();
        fs::write(
            root.join("aigate.toml"),
            "[[model]]\nname = \"bert\"\npath = \"models/bert\"\nowner = \"ml-platform\"\nintended-use = \"ticket routing\"\n\n\
             [[dataset]]\nname = \"train\"\npath = \"data/train.csv\"\nowner = \"data-eng\"\n",
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
            .env("AIGATE_ACTOR", "ci")
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.run(&all);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.root().join(".aigate/custody.jsonl")
    }

    /// Version 1 approved, then version 2 (a changed tensor and config) approved.
    fn two_versions(&self) -> (String, String) {
        self.ok(&["lock", "--by", "alice"]);
        self.ok(&["approve", "bert", "--by", "alice"]);
        let v1 = sha256(&self.root().join("models/bert/model.safetensors"));
        fs::write(
            self.root().join("models/bert/model.safetensors"),
            safetensors(&[
                ("embed", "F32", &[2], &[0, 0, 128, 63, 0, 0, 64, 64]),
                ("head", "F32", &[1], &[0, 0, 64, 64]),
                ("pooler", "F16", &[1], &[0, 60]),
            ]),
        )
        .unwrap();
        fs::write(
            self.root().join("models/bert/config.json"),
            b"{\"hidden\": 3}\n",
        )
        .unwrap();
        self.ok(&["lock", "--by", "bob"]);
        self.ok(&["approve", "bert", "--by", "bob"]);
        let v2 = sha256(&self.root().join("models/bert/model.safetensors"));
        (v1, v2)
    }

    fn log_lines(&self) -> Vec<String> {
        fs::read_to_string(self.log_path())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_log(&self, lines: &[String]) {
        fs::write(self.log_path(), lines.join("\n") + "\n").unwrap();
    }

    fn broken_event(&self) -> (Option<i32>, Option<String>) {
        let out = self.run(&["log", "verify", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let event = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "custody-log-broken")
            .map(|f| f["details"]["event"].as_str().unwrap_or("").to_owned());
        (out.status.code(), event)
    }
}

#[test]
fn lock_approve_change_relock_approve_and_roll_back_to_the_approved_bytes() {
    let p = Project::new();
    let (v1, v2) = p.two_versions();
    assert_ne!(v1, v2);
    let inventory = p.json(&["inventory", "bert"]);
    let rows = inventory["inventory"].as_array().unwrap();
    let versions: Vec<(u64, &str, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["version"].as_u64().unwrap(),
                r["status"].as_str().unwrap(),
                r["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(1, "approved", false), (2, "approved", true)]);
    assert_eq!(rows[0]["restorable"], true);
    assert_eq!(rows[0]["intended_use"], "ticket routing");

    p.ok(&["rollback", "bert", "--by", "carol"]);
    assert_eq!(sha256(&p.root().join("models/bert/model.safetensors")), v1);
    assert_eq!(
        fs::read(p.root().join("models/bert/config.json")).unwrap(),
        b"{\"hidden\": 2}\n"
    );
    // The restored version is pinned and approved as it was: verify passes for it.
    let verify = p.json(&["verify"]);
    let bert_findings: Vec<&serde_json::Value> = verify["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["location"]["path"]
                .as_str()
                .unwrap_or("")
                .starts_with("models/bert")
        })
        .collect();
    assert!(bert_findings.is_empty(), "{bert_findings:?}");

    let log = p.json(&["log", "--artifact", "bert"]);
    let steps: Vec<(String, u64, String)> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["version"].as_u64().unwrap(),
                e["by"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, String)> = [
        ("lock", 1, "alice"),
        ("approve", 1, "alice"),
        ("lock", 2, "bob"),
        ("approve", 2, "bob"),
        ("rollback", 1, "carol"),
        ("verify-passed", 1, "ci"),
    ]
    .iter()
    .map(|(a, v, b)| ((*a).to_owned(), *v, (*b).to_owned()))
    .collect();
    assert_eq!(steps, expected);
    p.ok(&["log", "verify"]);
    // Rolling forward again restores version 2 exactly.
    p.ok(&["rollback", "bert", "--to", "2"]);
    assert_eq!(sha256(&p.root().join("models/bert/model.safetensors")), v2);
}

#[test]
fn an_edited_removed_or_reordered_event_is_named_by_log_verify() {
    let p = Project::new();
    p.two_versions();
    let original = p.log_lines();
    assert_eq!(p.broken_event(), (Some(0), None));

    let mut edited = original.clone();
    edited[2] = edited[2].replace("\"alice\"", "\"mallory\"");
    p.write_log(&edited);
    assert_eq!(p.broken_event(), (Some(1), Some("3".into())));

    let mut removed = original.clone();
    removed.remove(1);
    p.write_log(&removed);
    assert_eq!(p.broken_event(), (Some(1), Some("2".into())));

    let mut reordered = original.clone();
    reordered.swap(2, 3);
    p.write_log(&reordered);
    assert_eq!(p.broken_event(), (Some(1), Some("3".into())));

    // The last event cut off: the chain is intact, the lock's anchor is not.
    let mut cut = original.clone();
    cut.pop();
    p.write_log(&cut);
    assert_eq!(p.broken_event().0, Some(1));

    p.write_log(&original);
    assert_eq!(p.broken_event(), (Some(0), None));
}

#[test]
fn a_torn_last_event_is_reported_blocks_appends_and_is_set_aside_only_on_request() {
    let p = Project::new();
    p.ok(&["lock"]);
    let mut log = fs::OpenOptions::new()
        .append(true)
        .open(p.log_path())
        .unwrap();
    std::io::Write::write_all(&mut log, b"{\"seq\":3,\"prev\":\"ab").unwrap();
    drop(log);
    let before = fs::read(p.log_path()).unwrap();
    let verify = p.json(&["log", "verify"]);
    assert!(
        verify["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "custody-log-torn"),
        "{verify}"
    );
    let refused = p.run(&["approve", "bert", "--by", "alice"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("torn"));
    assert_eq!(
        fs::read(p.log_path()).unwrap(),
        before,
        "nothing dropped or rewritten"
    );
    p.ok(&["log", "repair"]);
    let aside: Vec<_> = fs::read_dir(p.root().join(".aigate"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".torn-"))
        .collect();
    assert_eq!(aside.len(), 1);
    p.ok(&["approve", "bert", "--by", "alice"]);
    p.ok(&["log", "verify"]);
}

#[test]
fn concurrent_processes_lose_no_event() {
    let p = Project::new();
    p.ok(&["lock"]);
    p.ok(&["approve", "bert", "--by", "alice"]);
    let before = p.log_lines().len();
    // Started together: deploys (which also wait for the project's lock) and verifies, which
    // append under the log's own lock only.
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_aigate"))
            .current_dir(p.root())
            .env("AIGATE_CONFIG_DIR", p.user.path())
            .env("AIGATE_CACHE_DIR", p.user.path().join("cache"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children = Vec::new();
    for i in 0..6 {
        let to = format!("env-{i}");
        children.push(spawn(&["deploy", "bert", "--to", &to, "--by", "ci"]));
        children.push(spawn(&["verify", "--by", "ci"]));
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let log = p.json(&["log", "--action", "deploy"]);
    assert_eq!(log["events"].as_array().unwrap().len(), 6);
    let verified = p.json(&["log", "--action", "verify-passed"]);
    let failed = p.json(&["log", "--action", "verify-failed"]);
    // Every verify records one event per artifact (two here), passed or failed.
    assert_eq!(
        verified["events"].as_array().unwrap().len() + failed["events"].as_array().unwrap().len(),
        12
    );
    assert_eq!(p.log_lines().len(), before + 6 + 12);
    p.ok(&["log", "verify"]);
}

#[test]
fn a_rollback_that_could_not_record_itself_changes_nothing() {
    let p = Project::new();
    p.two_versions();
    let before = sha256(&p.root().join("models/bert/model.safetensors"));
    let lock_before = fs::read(p.root().join("aigate.lock")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(p.root())
        .env("AIGATE_CONFIG_DIR", p.user.path())
        .env("AIGATE_CACHE_DIR", p.user.path().join("cache"))
        .env("AIGATE_CUSTODY_KEY", p.root().join("no-such-key.pem"))
        .args(["rollback", "bert"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot sign custody events"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha256(&p.root().join("models/bert/model.safetensors")),
        before
    );
    assert_eq!(fs::read(p.root().join("aigate.lock")).unwrap(), lock_before);
    // A torn log stops it the same way, before anything moves.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(p.log_path())
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"seq\":").unwrap();
    drop(f);
    let out = p.run(&["rollback", "bert"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        sha256(&p.root().join("models/bert/model.safetensors")),
        before
    );
    assert_eq!(fs::read(p.root().join("aigate.lock")).unwrap(), lock_before);
}

#[test]
fn a_corrupted_store_object_is_refused_and_nothing_is_changed() {
    let p = Project::new();
    p.two_versions();
    let lock_before = fs::read(p.root().join("aigate.lock")).unwrap();
    let current = fs::read(p.root().join("models/bert/model.safetensors")).unwrap();
    // Damage every object that is not a current file: version 1's safetensors among them.
    let current_digests: Vec<String> = ["model.safetensors", "config.json"]
        .iter()
        .map(|f| sha256(&p.root().join("models/bert").join(f)))
        .collect();
    let store = p.root().join(".aigate/store/sha256");
    let mut damaged = 0;
    for shard in fs::read_dir(&store).unwrap() {
        for object in fs::read_dir(shard.unwrap().path()).unwrap() {
            let object = object.unwrap();
            let name = object.file_name().to_string_lossy().into_owned();
            let bytes = fs::read(object.path()).unwrap();
            // Leave manifests (JSON) alone: the files they name are what rollback restores.
            if !current_digests.contains(&name) && !bytes.starts_with(b"{\"manifest\"") {
                fs::write(object.path(), b"tampered").unwrap();
                damaged += 1;
            }
        }
    }
    assert!(damaged > 0);
    let out = p.run(&["rollback", "bert"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("corrupted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read(p.root().join("aigate.lock")).unwrap(), lock_before);
    assert_eq!(
        fs::read(p.root().join("models/bert/model.safetensors")).unwrap(),
        current
    );
    let leftovers: Vec<_> = fs::read_dir(p.root().join("models"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["bert"], "no staging left behind");
}

#[test]
fn a_revoked_version_fails_verify_and_is_never_restored() {
    let p = Project::new();
    p.two_versions();
    p.ok(&[
        "revoke",
        "bert@2",
        "--reason",
        "bias regression",
        "--by",
        "dave",
    ]);
    let verify = p.json(&["verify"]);
    let revoked = verify["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "verify-revoked-version")
        .unwrap_or_else(|| panic!("{verify}"));
    assert!(
        revoked["message"]
            .as_str()
            .unwrap()
            .contains("bias regression")
    );
    assert_eq!(
        p.run(&["deploy", "bert", "--to", "prod"]).status.code(),
        Some(1)
    );
    // `check` fails on it too, through its verify check.
    let check = p.json(&["check", "--skip", "scan"]);
    assert!(
        check["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "verify-revoked-version"),
        "{check}"
    );
    assert_eq!(p.run(&["check", "--skip", "scan"]).status.code(), Some(1));
    p.ok(&["rollback", "bert"]);
    let out = p.run(&["rollback", "bert", "--to", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("revoked"));
    let inventory = p.json(&["inventory", "bert"]);
    let v2 = &inventory["inventory"][1];
    assert_eq!(v2["status"], "revoked");
    assert_eq!(v2["revoked_reason"], "bias regression");
}

#[test]
fn staging_left_by_a_crash_leaves_the_old_state_and_is_cleaned_up() {
    let p = Project::new();
    p.two_versions();
    let lock_before = fs::read(p.root().join("aigate.lock")).unwrap();
    // What a rollback killed after restoring and before swapping leaves: a staging folder,
    // and a lock write killed before its rename: a temporary file. A pid above the kernel's
    // limit is never running.
    let staging = p
        .root()
        .join("models/.bert.rollback.aigate-partial-4194399");
    fs::create_dir_all(&staging).unwrap();
    fs::write(staging.join("config.json"), b"{\"hidden\": 2}\n").unwrap();
    let tmp = p.root().join(".aigate.lock.aigate-tmp-4194398");
    fs::write(&tmp, b"version = 2\n").unwrap();
    assert_eq!(fs::read(p.root().join("aigate.lock")).unwrap(), lock_before);
    let verify = p.json(&["verify"]);
    let bert: Vec<&serde_json::Value> = verify["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["location"]["path"]
                .as_str()
                .unwrap_or("")
                .starts_with("models/bert")
        })
        .collect();
    assert!(bert.is_empty(), "the old state is whole: {bert:?}");
    p.ok(&["rollback", "bert"]);
    assert!(!staging.exists() && !tmp.exists());
}

#[test]
fn diff_names_changed_files_and_tensors() {
    let p = Project::new();
    p.two_versions();
    let diff = p.json(&["diff", "bert", "1", "2"]);
    let changes: Vec<(String, String, String)> = diff["file_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().to_owned(),
                c["path"].as_str().unwrap().to_owned(),
                c["tensor"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expect = |c: &str, path: &str, t: &str| (c.to_owned(), path.to_owned(), t.to_owned());
    for want in [
        expect("changed", "config.json", ""),
        expect("changed", "model.safetensors", ""),
        expect("changed", "model.safetensors", "embed"),
        expect("added", "model.safetensors", "pooler"),
    ] {
        assert!(changes.contains(&want), "{want:?} not in {changes:?}");
    }
    assert!(
        !changes.contains(&expect("changed", "model.safetensors", "head")),
        "{changes:?}"
    );
}

#[test]
fn inventory_and_log_snapshots() {
    let p = Project::new();
    p.two_versions();
    p.ok(&["deploy", "bert", "--to", "production", "--by", "erin"]);
    let text = |out: Output| String::from_utf8_lossy(&out.stdout).into_owned();
    insta::assert_snapshot!("inventory_human", text(p.ok(&["inventory"])));
    insta::assert_snapshot!(
        "inventory_csv",
        text(p.ok(&["inventory", "--format", "csv"]))
    );
    insta::assert_snapshot!("log_human", text(p.ok(&["log"])));
    insta::assert_snapshot!("diff_human", text(p.ok(&["diff", "bert"])));
}

#[test]
fn help_snapshots() {
    let p = Project::new();
    for command in [
        &["inventory"][..],
        &["log"],
        &["log", "verify"],
        &["rollback"],
        &["revoke"],
        &["deploy"],
        &["diff"],
        &["store", "push"],
        &["store", "gc"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = p.ok(&args);
        insta::assert_snapshot!(
            format!("help_{}", command.join("_")),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn store_gc_removes_only_what_no_kept_version_refers_to() {
    let p = Project::new();
    p.two_versions();
    let objects = |p: &Project| -> usize {
        fs::read_dir(p.root().join(".aigate/store/sha256"))
            .unwrap()
            .map(|s| fs::read_dir(s.unwrap().path()).unwrap().count())
            .sum()
    };
    // A version 3 that is locked (pushed) but never approved, then the files go back to 2.
    let config = p.root().join("models/bert/config.json");
    let v2 = fs::read(&config).unwrap();
    fs::write(&config, b"{\"hidden\": 4}\n").unwrap();
    p.ok(&["lock"]);
    fs::write(&config, &v2).unwrap();
    p.ok(&["lock"]);
    let before = objects(&p);
    p.ok(&["store", "gc", "--dry-run"]);
    assert_eq!(objects(&p), before);
    p.ok(&["store", "gc"]);
    // Version 3's config and its manifest are gone; versions 1 and 2 still restore.
    assert_eq!(objects(&p), before - 2);
    p.ok(&["rollback", "bert", "--to", "1"]);
    p.ok(&["rollback", "bert", "--to", "2"]);
    assert_eq!(fs::read(&config).unwrap(), v2);
}

/// The action of each event in the log, in order.
fn actions(project: &Project) -> Vec<(String, Option<String>)> {
    fs::read_to_string(project.log_path())
        .unwrap()
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                e["action"].as_str().unwrap().to_owned(),
                e["artifact"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn verify_sign_and_deps_diff_are_recorded_and_check_records_nothing() {
    let p = Project::new();
    p.ok(&["lock"]);
    p.ok(&["approve", "bert", "--by", "alice"]);
    p.ok(&["approve", "train", "--by", "alice"]);
    let before = actions(&p).len();
    p.ok(&["verify"]);
    let after_verify = actions(&p);
    assert_eq!(
        after_verify[before..],
        [
            ("verify-passed".to_owned(), Some("bert".to_owned())),
            ("verify-passed".to_owned(), Some("train".to_owned())),
        ]
    );
    // Tampered: the dataset fails, the model still passes.
    fs::write(p.root().join("data/train.csv"), b"id,text\n1,HELLO\n").unwrap();
    assert_eq!(p.run(&["verify"]).status.code(), Some(1));
    let events = actions(&p);
    assert_eq!(
        events[after_verify.len()..],
        [
            ("verify-passed".to_owned(), Some("bert".to_owned())),
            ("verify-failed".to_owned(), Some("train".to_owned())),
        ]
    );
    let failed: serde_json::Value = serde_json::from_str(
        fs::read_to_string(p.log_path())
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(failed["details"]["findings"], "1");
    // --no-record and `check` leave the log as it is.
    let n = events.len();
    assert_eq!(p.run(&["verify", "--no-record"]).status.code(), Some(1));
    assert_eq!(p.run(&["check", "--skip", "scan"]).status.code(), Some(1));
    assert_eq!(actions(&p).len(), n);
    fs::write(p.root().join("data/train.csv"), b"id,text\n1,hello\n").unwrap();

    p.ok(&["keygen", "--out", "keys/release"]);
    p.ok(&["sign", "--lock", "--key", "keys/release.key.pem"]);
    let events = actions(&p);
    assert_eq!(
        events[n..],
        [
            ("sign".to_owned(), Some("bert".to_owned())),
            ("sign".to_owned(), Some("train".to_owned())),
        ]
    );

    fs::write(p.root().join("old.txt"), "numpy==2.1.0\n").unwrap();
    fs::write(p.root().join("new.txt"), "numpy==2.1.3\ntorch==2.5.1\n").unwrap();
    p.ok(&["deps", "diff", "old.txt", "new.txt"]);
    let last: serde_json::Value = serde_json::from_str(
        fs::read_to_string(p.log_path())
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["action"], "deps-change");
    assert_eq!(last["details"]["added"], "1");
    assert_eq!(last["details"]["upgraded"], "1");
    assert_eq!(last["details"]["new"], "new.txt");
    // The chain holds, and the lock's anchor (left where `approve` put it) is still in it.
    p.ok(&["log", "verify"]);
}

/// The log rewritten as an attacker who can write both the log and the lock would: `edit`
/// applied to the events, the chain recomputed, the lock's anchor moved to the new head.
fn rewrite_consistently(p: &Project, edit: impl Fn(&mut serde_json::Value)) {
    let mut prev: Option<String> = None;
    let mut lines = Vec::new();
    let mut seq = 0;
    for line in p.log_lines() {
        let original: serde_json::Value = serde_json::from_str(&line).unwrap();
        let mut event = original.clone();
        edit(&mut event);
        match &prev {
            Some(d) => event["prev"] = serde_json::Value::String(d.clone()),
            None => {
                event.as_object_mut().unwrap().remove("prev");
            }
        }
        // Lines the rewrite does not change keep their bytes.
        let text = if event == original {
            line
        } else {
            event.to_string()
        };
        prev = Some(
            sha2::Sha256::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        );
        seq = event["seq"].as_u64().unwrap();
        lines.push(text);
    }
    p.write_log(&lines);
    let lock_path = p.root().join("aigate.lock");
    let lock = fs::read_to_string(&lock_path).unwrap();
    let mut out = String::new();
    let mut in_custody = false;
    for line in lock.lines() {
        if line.starts_with('[') {
            in_custody = line == "[custody]";
        }
        if in_custody && line.starts_with("seq = ") {
            out.push_str(&format!("seq = {seq}\n"));
        } else if in_custody && line.starts_with("digest = ") {
            out.push_str(&format!("digest = \"{}\"\n", prev.as_deref().unwrap()));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    fs::write(&lock_path, out).unwrap();
}

/// The rules `log verify` reports, with the event each names.
fn log_rules(p: &Project) -> (Option<i32>, Vec<(String, String)>) {
    let out = p.run(&["log", "verify", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let rules = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["details"]["event"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    (out.status.code(), rules)
}

#[test]
fn signed_events_verify_and_a_consistent_rewrite_of_log_and_lock_is_caught_by_the_signatures() {
    let p = Project::new();
    p.ok(&["keygen", "--out", "keys/custody"]);
    let config = fs::read_to_string(p.root().join("aigate.toml")).unwrap();
    fs::write(
        p.root().join("aigate.toml"),
        format!(
            "{config}\n[custody]\nkey = \"keys/custody.key.pem\"\nrequire-signed = true\n\n[trust]\nkeys = [\"keys/custody.pub.pem\"]\n"
        ),
    )
    .unwrap();
    p.two_versions();
    assert_eq!(log_rules(&p), (Some(0), vec![]));
    let log = p.json(&["log"]);
    let events = log["events"].as_array().unwrap();
    assert!(events.len() >= 4, "{log}");
    let keyid = events[0]["signed_by"].as_str().unwrap().to_owned();
    assert_eq!(keyid.len(), 64);
    assert!(events.iter().all(|e| e["signed_by"] == keyid.as_str()));
    let original = p.log_lines();
    let original_lock = fs::read_to_string(p.root().join("aigate.lock")).unwrap();

    // Who approved version 1, rewritten with the chain and the anchor made to agree: only the
    // signature shows it.
    rewrite_consistently(&p, |e| {
        if e["seq"] == 2 {
            e["by"] = "mallory".into();
        }
    });
    assert_eq!(
        log_rules(&p),
        (
            Some(1),
            vec![("custody-event-signature-invalid".into(), "2".into())]
        )
    );

    // Signatures stripped from the last events: unsigned after signing began.
    p.write_log(&original);
    fs::write(p.root().join("aigate.lock"), &original_lock).unwrap();
    let last = original.len() as u64;
    rewrite_consistently(&p, |e| {
        if e["seq"].as_u64().unwrap() >= last - 1 {
            e.as_object_mut().unwrap().remove("signature");
        }
    });
    assert_eq!(
        log_rules(&p),
        (
            Some(1),
            vec![("custody-event-unsigned".into(), (last - 1).to_string())]
        )
    );

    // An event recorded with another key: a signer the project does not trust.
    p.write_log(&original);
    fs::write(p.root().join("aigate.lock"), &original_lock).unwrap();
    p.ok(&["keygen", "--out", "keys/other"]);
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(p.root())
        .env("AIGATE_CONFIG_DIR", p.user.path())
        .env("AIGATE_CACHE_DIR", p.user.path().join("cache"))
        .env("AIGATE_CUSTODY_KEY", p.root().join("keys/other.key.pem"))
        .args(["deploy", "bert", "--to", "staging", "--by", "eve"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        log_rules(&p),
        (
            Some(1),
            vec![(
                "custody-event-signer-unknown".into(),
                (last + 1).to_string()
            )]
        )
    );

    // A key that cannot be read records nothing rather than an unsigned event.
    let before = p.log_lines();
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(p.root())
        .env("AIGATE_CONFIG_DIR", p.user.path())
        .env("AIGATE_CACHE_DIR", p.user.path().join("cache"))
        .env("AIGATE_CUSTODY_KEY", p.root().join("keys/missing.key.pem"))
        .args(["deploy", "bert", "--to", "staging"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot sign custody events"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(p.log_lines(), before);
}

/// The current version number of `name`, from `aigate inventory`.
fn current_version(p: &Project, name: &str) -> u64 {
    let inventory = p.json(&["inventory"]);
    inventory["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name && r["current"] == true)
        .and_then(|r| r["version"].as_u64())
        .unwrap_or_else(|| panic!("{inventory}"))
}

#[test]
fn a_version_number_is_never_given_to_two_contents() {
    let p = Project::new();
    p.two_versions();
    let config = p.root().join("models/bert/config.json");
    let v2 = fs::read(&config).unwrap();
    // Version 3 is locked, never approved, and replaced by version 2's bytes again.
    fs::write(&config, b"{\"hidden\": 4}\n").unwrap();
    p.ok(&["lock"]);
    assert_eq!(current_version(&p, "bert"), 3);
    fs::write(&config, &v2).unwrap();
    p.ok(&["lock"]);
    assert_eq!(current_version(&p, "bert"), 2);
    // New bytes are version 4: 3 was other content, and the log says so.
    fs::write(&config, b"{\"hidden\": 5}\n").unwrap();
    p.ok(&["lock"]);
    assert_eq!(current_version(&p, "bert"), 4);
    // A rollback from a pending version keeps its number taken as well.
    p.ok(&["rollback", "bert", "--to", "1"]);
    assert_eq!(current_version(&p, "bert"), 1);
    fs::write(&config, b"{\"hidden\": 6}\n").unwrap();
    p.ok(&["lock"]);
    assert_eq!(current_version(&p, "bert"), 5);
    p.ok(&["log", "verify"]);
}

#[test]
fn log_filters_select_by_artifact_action_actor_and_time() {
    let p = Project::new();
    p.two_versions();
    let count = |args: &[&str]| {
        let all = [&["log"][..], args].concat();
        p.json(&all)["events"].as_array().map_or(0, Vec::len)
    };
    let total = count(&[]);
    assert_eq!(
        total, 5,
        "two locks of both, two approvals, one lock of bert"
    );
    let by_bob = count(&["--by", "bob"]);
    assert!(by_bob >= 2 && by_bob < total, "{by_bob} of {total}");
    assert_eq!(count(&["--artifact", "train"]), 1);
    assert_eq!(count(&["--action", "approve"]), 2);
    assert_eq!(count(&["--action", "approve", "--by", "alice"]), 1);
    // SOURCE_DATE_EPOCH dates every event 2026-11-22T00:00:00Z; a later moment selects none.
    assert_eq!(count(&["--since", "2026-11-22"]), total);
    assert_eq!(count(&["--since", "2026-11-22T00:00:01Z"]), 0);
    assert_eq!(
        p.run(&["log", "--since", "yesterday"]).status.code(),
        Some(2)
    );
    assert_eq!(p.run(&["log", "--action", "launch"]).status.code(), Some(2));
}

#[test]
fn the_actor_is_the_git_identity_when_no_one_is_named() {
    let p = Project::new();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .current_dir(p.root())
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    git(&["config", "user.name", "Grace Hopper"]);
    git(&["config", "user.email", "grace@example.org"]);
    let out = Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(p.root())
        .env("AIGATE_CONFIG_DIR", p.user.path())
        .env("AIGATE_CACHE_DIR", p.user.path().join("cache"))
        .env_remove("AIGATE_ACTOR")
        .args(["lock"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = p.json(&["log", "--action", "lock"]);
    assert!(
        log["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["by"] == "Grace Hopper <grace@example.org>"),
        "{log}"
    );
}
