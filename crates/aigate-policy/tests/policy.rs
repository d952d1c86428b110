//! Every check both ways (flagged and not flagged), on the real lock files and environment in
//! fixtures/python (made by pip-compile, uv, poetry, pipenv, pip; see make_python_fixtures.sh)
//! and on small files written here for what those do not contain.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use aigate_policy::{Policy, PolicyConfig, PolicyInput};
use aigate_python::{DependencySet, Limits, RecordCheck};
use aigate_report::{Finding, Level};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/python")
}

fn policy(toml_text: &str, base: &Path) -> Policy {
    let config: PolicyConfig = toml::from_str(toml_text).unwrap();
    Policy::new(&config, "aigate.toml", toml_text, base).unwrap()
}

fn read(path: &Path) -> DependencySet {
    aigate_python::read_path(path, &Limits::default())
        .unwrap()
        .unwrap()
}

fn check(policy: &Policy, sets: &[&DependencySet]) -> Vec<Finding> {
    let inputs: Vec<PolicyInput<'_>> = sets
        .iter()
        .map(|set| PolicyInput { set, records: None })
        .collect();
    policy.check(&inputs)
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

fn of<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn subjects(findings: &[&Finding]) -> Vec<String> {
    let mut s: Vec<String> = findings
        .iter()
        .filter_map(|f| f.location.subject.clone())
        .collect();
    s.sort();
    s
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn real_locks_pass_the_default_policy() {
    let p = Policy::default();
    for path in [
        "pip-tools/requirements.txt",
        "uv/uv.lock",
        "uv/pylock.toml",
        "poetry1/poetry.lock",
        "poetry2/poetry.lock",
        "pipenv/Pipfile.lock",
        "pip-lock/pylock.toml",
    ] {
        let set = read(&fixtures().join(path));
        assert!(!set.packages.is_empty(), "{path}");
        let findings = check(&p, &[&set]);
        assert_eq!(
            rules(&findings),
            Vec::<&str>::new(),
            "{path}: {findings:#?}"
        );
    }
}

#[test]
fn pins_are_required_in_requirements_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "requirements.txt",
        "requests>=2.31\nnumpy==2.4.6\nflask\n",
    );
    let findings = check(&Policy::default(), &[&read(&path)]);
    let unpinned = of(&findings, "policy-unpinned");
    assert_eq!(subjects(&unpinned), ["pkg:pypi/flask", "pkg:pypi/requests"]);
    assert_eq!(unpinned[0].location.span.map(|s| s.line), Some(1));
    // Not flagged: a pinned file, and the same file when pins are not required.
    let relaxed = policy("require-pins = false\n", dir.path());
    assert!(of(&check(&relaxed, &[&read(&path)]), "policy-unpinned").is_empty());
    // pyproject.toml states ranges on purpose: not a lock.
    let set = read(&fixtures().join("uv/pyproject.toml"));
    assert!(of(&check(&Policy::default(), &[&set]), "policy-unpinned").is_empty());
}

#[test]
fn missing_hashes_are_found_as_pip_would_refuse_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = "certifi==2026.10.19.post1 \\\n    --hash=sha256:1324c476b4811eff41a8bc2122cd0bbd4d9c7234c725446d99ab1612b3a7fdd2\nidna==3.20\n";
    let path = write(dir.path(), "requirements.txt", text);
    // One requirement has a hash: pip's hash-checking mode refuses idna.
    let findings = check(&Policy::default(), &[&read(&path)]);
    let missing = of(&findings, "policy-missing-hash");
    assert_eq!(subjects(&missing), ["pkg:pypi/idna@3.20"]);
    assert_eq!(missing[0].location.span.map(|s| s.line), Some(3));
    // None has a hash: not flagged unless required.
    let path = write(dir.path(), "plain.txt", "idna==3.20\n");
    assert!(
        of(
            &check(&Policy::default(), &[&read(&path)]),
            "policy-missing-hash"
        )
        .is_empty()
    );
    let strict = policy("require-hashes = true\n", dir.path());
    assert_eq!(
        subjects(&of(&check(&strict, &[&read(&path)]), "policy-missing-hash")),
        ["pkg:pypi/idna@3.20"]
    );
    // Real hashed locks satisfy require-hashes.
    for lock in [
        "pip-tools/requirements.txt",
        "uv/uv.lock",
        "poetry2/poetry.lock",
    ] {
        let set = read(&fixtures().join(lock));
        assert!(
            of(&check(&strict, &[&set]), "policy-missing-hash").is_empty(),
            "{lock}"
        );
    }
}

#[test]
fn the_allowlist_checks_names_versions_and_sources() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"
[[allow]]
name = "numpy"
versions = ["2.4.*", "2.5.*"]
[[allow]]
name = "requests"
versions = [">=3"]
reason = "http"
[[allow]]
name = "idna"
source = "https://internal.example/simple/"
[[allow]]
name = "tensorflow"
versions = ["2.13.*"]
reason = "the vision team's models"
"#;
    let p = policy(config, dir.path());
    let set = read(&fixtures().join("uv/uv.lock"));
    let findings = check(&p, &[&set]);
    // Everything else in the lock is not on the list.
    let not_allowed = subjects(&of(&findings, "policy-not-allowed"));
    assert!(
        not_allowed
            .iter()
            .any(|s| s.starts_with("pkg:pypi/certifi@")),
        "{not_allowed:?}"
    );
    assert!(!not_allowed.iter().any(|s| s.starts_with("pkg:pypi/numpy@")));
    assert_eq!(
        subjects(&of(&findings, "policy-version-not-allowed")),
        ["pkg:pypi/requests@2.34.2"]
    );
    assert_eq!(
        subjects(&of(&findings, "policy-source-not-allowed")),
        ["pkg:pypi/idna@3.20"]
    );
    // The entry that matched nothing is reported, at its line, as a warning.
    let unused = of(&findings, "policy-unused-entry");
    assert_eq!(unused.len(), 1, "{unused:#?}");
    assert!(unused[0].message.contains("tensorflow"));
    assert!(
        unused[0].message.contains("the vision team's models"),
        "{}",
        unused[0].message
    );
    assert_eq!(unused[0].location.span.map(|s| s.line), Some(13));
    assert_eq!(unused[0].level, Some(Level::Warn));
}

#[test]
fn an_allowed_packages_json_is_read_as_allowlist_entries() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "allowed_packages.json",
        r#"{"numpy": {"allowed_versions": ["2.3.*"], "source": "https://pypi.org/simple/"},
            "requests": {"allowed_versions": ["2.34.*"]}}"#,
    );
    let p = policy("allowlist-file = \"allowed_packages.json\"\n", dir.path());
    let req = write(
        dir.path(),
        "requirements.txt",
        "numpy==2.4.6\nrequests==2.34.2\ntqdm==4.70.1\n",
    );
    let findings = check(&p, &[&read(&req)]);
    assert_eq!(
        subjects(&of(&findings, "policy-version-not-allowed")),
        ["pkg:pypi/numpy@2.4.6"]
    );
    assert_eq!(
        subjects(&of(&findings, "policy-not-allowed")),
        ["pkg:pypi/tqdm@4.70.1"]
    );
    assert!(of(&findings, "policy-source-not-allowed").is_empty());
    // The source the file requires, and numpy from another index.
    let other = write(
        dir.path(),
        "other-index.txt",
        "--index-url https://mirror.example.org/simple/\nnumpy==2.3.1\n",
    );
    assert_eq!(
        subjects(&of(
            &check(&p, &[&read(&other)]),
            "policy-source-not-allowed"
        )),
        ["pkg:pypi/numpy@2.3.1"]
    );
    // Malformed JSON is an error naming the file and line.
    write(dir.path(), "allowed_packages.json", "{\n \"numpy\": [\n");
    let config: PolicyConfig =
        toml::from_str("allowlist-file = \"allowed_packages.json\"\n").unwrap();
    let err = Policy::new(&config, "aigate.toml", "", dir.path()).unwrap_err();
    assert!(err.to_string().contains("allowed_packages.json"), "{err}");
    assert!(err.to_string().contains("line"), "{err}");
    assert!(err.hint().is_some());
}

#[test]
fn denied_packages_and_versions_are_critical() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(
        "[[deny]]\nname = \"pyyaml\"\nversions = [\"<6\"]\nreason = \"CVE-2020-14343\"\n[[deny]]\nname = \"joblib\"\nreason = \"we use pickle-free formats\"\n",
        dir.path(),
    );
    let set = read(&fixtures().join("poetry2/poetry.lock"));
    let findings = check(&p, &[&set]);
    let denied = of(&findings, "policy-denied");
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert!(denied[0].message.contains("we use pickle-free formats"));
    assert_eq!(denied[0].severity, aigate_report::Severity::Critical);
}

#[test]
fn indexes_extra_indexes_and_insecure_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let text = "--index-url https://pypi.org/simple/\n--extra-index-url http://mirror.example/simple\n--trusted-host mirror.example\n--find-links ${WHEELS}\nidna==3.20\n";
    let path = write(dir.path(), "requirements.txt", text);
    let findings = check(&Policy::default(), &[&read(&path)]);
    let got = rules(&findings);
    assert!(got.contains(&"policy-extra-index"), "{got:?}");
    assert!(got.contains(&"policy-env-reference"), "{got:?}");
    assert_eq!(
        of(&findings, "policy-insecure-index").len(),
        2,
        "{findings:#?}"
    );
    let not_allowed = of(&findings, "policy-index-not-allowed");
    assert_eq!(not_allowed.len(), 2, "{not_allowed:#?}");
    assert_eq!(not_allowed[0].location.span.map(|s| s.line), Some(2));
    // The mirror allowed: only the extra-index warning and the insecure transport remain.
    let p = policy(
        "indexes = [\"https://pypi.org/simple\", \"http://mirror.example/simple/\"]\n",
        dir.path(),
    );
    let findings = check(&p, &[&read(&path)]);
    let not_allowed = of(&findings, "policy-index-not-allowed");
    assert_eq!(not_allowed.len(), 1, "{findings:#?}");
    assert!(not_allowed[0].message.contains("${WHEELS}"));
    assert!(!of(&findings, "policy-extra-index").is_empty());
    // A plain primary index on its own is fine.
    let path = write(
        dir.path(),
        "ok.txt",
        "--index-url https://pypi.org/simple\nidna==3.20\n",
    );
    assert!(check(&Policy::default(), &[&read(&path)]).is_empty());
}

#[test]
fn internal_names_from_public_indexes_are_critical() {
    let dir = tempfile::tempdir().unwrap();
    let p = policy(
        "internal = [\"acme-*\"]\ninternal-index = \"https://pypi.acme.example/simple/\"\nindexes = [\"https://pypi.org/simple/\"]\n",
        dir.path(),
    );
    // pip with an extra index: acme-utils can come from PyPI.
    let mixed = write(
        dir.path(),
        "requirements.txt",
        "--extra-index-url https://pypi.acme.example/simple/\nacme-utils==1.0\nidna==3.20\n",
    );
    let findings = check(&p, &[&read(&mixed)]);
    let unused_index = |findings: &[Finding]| {
        of(findings, "policy-unused-entry")
            .iter()
            .any(|f| f.message.contains("internal-index"))
    };
    assert!(!unused_index(&findings), "{findings:#?}");
    let public_only = write(dir.path(), "public.txt", "idna==3.20\n");
    assert!(unused_index(&check(&p, &[&read(&public_only)])));
    let critical = of(&findings, "policy-internal-from-public");
    assert_eq!(subjects(&critical), ["pkg:pypi/acme-utils@1.0"]);
    assert_eq!(critical[0].severity, aigate_report::Severity::Critical);
    // The internal index as the only index: not flagged.
    let only = write(
        dir.path(),
        "internal.txt",
        "--index-url https://pypi.acme.example/simple/\nacme-utils==1.0\n",
    );
    assert!(of(&check(&p, &[&read(&only)]), "policy-internal-from-public").is_empty());
    // A uv.lock entry that resolves from PyPI.
    let lock = fs::read_to_string(fixtures().join("uv/uv.lock")).unwrap();
    let p = policy(
        "internal = [\"mdurl\"]\ninternal-index = \"https://pypi.acme.example/simple/\"\n",
        dir.path(),
    );
    let path = write(dir.path(), "uv.lock", &lock);
    let findings = check(&p, &[&read(&path)]);
    assert_eq!(
        subjects(&of(&findings, "policy-internal-from-public")),
        ["pkg:pypi/mdurl@0.1.2"]
    );
    // mdurl is a public PyPI name: someone could register it -- here, someone has.
    assert_eq!(of(&findings, "policy-internal-name-public").len(), 1);
    // acme-utils is on no public list: only its source is judged.
    let p = policy(
        "internal = [\"acme-*\"]\ninternal-index = \"https://pypi.acme.example/simple/\"\n",
        dir.path(),
    );
    assert!(of(&check(&p, &[&read(&only)]), "policy-internal-name-public").is_empty());
}

#[test]
fn typosquats_are_flagged_and_popular_or_reviewed_names_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "requirements.txt",
        "reqeusts==2.0\nrequests==2.34.2\npython-dateutil==2.9.0\nhub-huggingface==1.0\nnumpy-py==1.0\nb0to3==1.0\nacme-training==1.0\n",
    );
    let findings = check(&Policy::default(), &[&read(&path)]);
    let squats = of(&findings, "policy-typosquat");
    let targets: Vec<(&str, &str)> = squats
        .iter()
        .map(|f| {
            (
                f.location.subject.as_deref().unwrap_or(""),
                f.details["target"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("pkg:pypi/reqeusts@2.0", "requests"),
            ("pkg:pypi/hub-huggingface@1.0", "huggingface-hub"),
            ("pkg:pypi/numpy-py@1.0", "numpy"),
            ("pkg:pypi/b0to3@1.0", "boto3"),
        ]
    );
    let p = policy(
        "[[not-typosquat]]\nname = \"reqeusts\"\nreason = \"our fork, reviewed\"\n[[not-typosquat]]\nname = \"nothing-like-this\"\nreason = \"stale\"\n",
        dir.path(),
    );
    let findings = check(&p, &[&read(&path)]);
    assert_eq!(of(&findings, "policy-typosquat").len(), 3);
    assert_eq!(of(&findings, "policy-unused-entry").len(), 1);
    let off = policy("typosquats = false\n", dir.path());
    assert!(of(&check(&off, &[&read(&path)]), "policy-typosquat").is_empty());
}

#[test]
fn typosquat_heuristics_do_not_cry_wolf_on_less_popular_real_names() {
    // The names ranked 10,001 and below are real projects. Checked against the top 10,000 only,
    // how many would be reported? Few: the heuristics stay quiet on real names.
    let all = aigate_policy::typosquat::popular();
    let top: String = all.names()[..10_000]
        .iter()
        .map(|n| format!("{n}\n"))
        .collect();
    let top: &'static str = Box::leak(top.into_boxed_str());
    let top = aigate_policy::typosquat::Popular::from_list(top);
    let rest = &all.names()[10_000..];
    let flagged: Vec<&&str> = rest
        .iter()
        .filter(|n| top.typosquat_of(n).is_some())
        .collect();
    let rate = flagged.len() as f64 / rest.len() as f64;
    assert!(
        rate < 0.015,
        "{} of {} flagged: {flagged:?}",
        flagged.len(),
        rest.len()
    );
}

#[test]
fn licences_from_expressions_fields_and_classifiers() {
    let dir = tempfile::tempdir().unwrap();
    let env = read(&fixtures().join("venv"));
    let p = policy(
        "[licences]\nallow = [\"MIT\", \"BSD-3-Clause\", \"Apache-2.0\", \"0BSD\", \"Zlib\", \"CC0-1.0\", \"ISC\"]\ndeny = [\"GPL-3.0-only\"]\n",
        dir.path(),
    );
    let findings = check(&p, &[&env]);
    // certifi is MPL-2.0 (License field), not on the list.
    let not_allowed = subjects(&of(&findings, "policy-licence-not-allowed"));
    assert!(
        not_allowed
            .iter()
            .any(|s| s.starts_with("pkg:pypi/certifi@")),
        "{not_allowed:?}"
    );
    // numpy's AND expression is fully allowed; mdurl's classifier maps to MIT.
    assert!(!not_allowed.iter().any(|s| s.starts_with("pkg:pypi/numpy@")));
    assert!(!not_allowed.iter().any(|s| s.starts_with("pkg:pypi/mdurl@")));
    assert!(of(&findings, "policy-licence-denied").is_empty());
    let p = policy(
        "[licences]\ndeny = [\"MPL-2.0\"]\nunknown = false\n",
        dir.path(),
    );
    let findings = check(&p, &[&env]);
    // certifi is MPL-2.0; tqdm is `MPL-2.0 AND MIT`, so denied too.
    let denied = subjects(&of(&findings, "policy-licence-denied"));
    assert_eq!(
        denied,
        ["pkg:pypi/certifi@2026.10.19.post1", "pkg:pypi/tqdm@4.70.1"]
    );
    // `MPL-2.0 OR MIT` would not be denied: MIT can be chosen.
    let either = aigate_policy::licence::parse_expression("MPL-2.0 OR MIT").unwrap();
    assert!(!either.denied_by(&["MPL-2.0"]));
    // No licence configuration: nothing about licences.
    let findings = check(&Policy::default(), &[&env]);
    assert!(
        !rules(&findings)
            .iter()
            .any(|r| r.starts_with("policy-licence"))
    );
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A venv holding only mdurl (whose files the fixture keeps), from the real fixture.
fn mdurl_venv(root: &Path) -> PathBuf {
    let venv = root.join("venv");
    let from = fixtures().join("venv/lib/python3.11/site-packages");
    let site = venv.join("lib/python3.11/site-packages");
    copy_dir(&from.join("mdurl"), &site.join("mdurl"));
    copy_dir(
        &from.join("mdurl-0.1.2.dist-info"),
        &site.join("mdurl-0.1.2.dist-info"),
    );
    fs::copy(fixtures().join("venv/pyvenv.cfg"), venv.join("pyvenv.cfg")).unwrap();
    venv
}

fn records(venv: &Path) -> Vec<RecordCheck> {
    aigate_python::check_environment_records(venv, &Limits::default()).unwrap()
}

fn check_env(venv: &Path) -> Vec<Finding> {
    let set = read(venv);
    let records = records(venv);
    Policy::default().check(&[PolicyInput {
        set: &set,
        records: Some(&records),
    }])
}

#[test]
fn tampered_installs_are_found_by_their_record() {
    let dir = tempfile::tempdir().unwrap();
    let venv = mdurl_venv(dir.path());
    assert_eq!(rules(&check_env(&venv)), Vec::<&str>::new());
    let site = venv.join("lib/python3.11/site-packages");
    fs::write(
        site.join("mdurl/_url.py"),
        "import os; os.system('curl evil')\n",
    )
    .unwrap();
    fs::write(site.join("mdurl/_hook.py"), "payload\n").unwrap();
    fs::remove_file(site.join("mdurl/py.typed")).unwrap();
    let findings = check_env(&venv);
    let mut got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str(),
                f.location.path.rsplit('/').next().unwrap_or(""),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("policy-installed-file-missing", "py.typed"),
            ("policy-installed-file-modified", "_url.py"),
            ("policy-installed-file-unlisted", "_hook.py"),
        ],
        "{findings:#?}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f.location.subject.as_deref() == Some("pkg:pypi/mdurl@0.1.2"))
    );
    fs::remove_file(site.join("mdurl-0.1.2.dist-info/RECORD")).unwrap();
    let findings = check_env(&venv);
    assert!(
        rules(&findings).contains(&"policy-record-missing"),
        "{findings:#?}"
    );
}

#[test]
fn invalid_policy_entries_are_errors_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line) in [
        (
            "[[allow]]\nname = \"numpy\"\nversions = [\"not a version\"]\n",
            2,
        ),
        ("internal = [\"acme utils\"]\n", 1),
        ("\n[licences]\nallow = [\"MIT OR\"]\n", 3),
        ("indexes = [\"pypi.org\"]\n", 1),
    ] {
        let config: PolicyConfig = toml::from_str(text).unwrap();
        let err = Policy::new(&config, "aigate.toml", text, dir.path()).unwrap_err();
        assert!(
            err.to_string().contains(&format!("line {line}")),
            "{text}: {err}"
        );
        assert!(err.hint().is_some());
    }
    // Unknown keys are refused by the reader.
    assert!(toml::from_str::<PolicyConfig>("require-hash = true\n").is_err());
}

/// A site-packages holding one `*.dist-info` folder per `(name, version, METADATA headers)`.
fn env_with(root: &Path, dists: &[(&str, &str, &str)]) -> PathBuf {
    let venv = root.join("venv");
    let site = venv.join("lib/python3.11/site-packages");
    for (name, version, headers) in dists {
        let info = site.join(format!("{name}-{version}.dist-info"));
        fs::create_dir_all(&info).unwrap();
        fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n{headers}\n"),
        )
        .unwrap();
        fs::write(info.join("RECORD"), "").unwrap();
    }
    fs::write(venv.join("pyvenv.cfg"), "version = 3.11.7\n").unwrap();
    venv
}

#[test]
fn unknown_licences_are_their_own_code_and_only_when_licences_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let venv = env_with(
        dir.path(),
        &[
            ("silent", "1.0", ""),
            ("garbled", "1.0", "License-Expression: MIT AND ("),
            ("plain", "1.0", "License-Expression: MIT"),
        ],
    );
    let env = read(&venv);
    let p = policy("[licences]\nallow = [\"MIT\"]\n", dir.path());
    let findings = check(&p, &[&env]);
    assert_eq!(
        subjects(&of(&findings, "policy-licence-unknown")),
        ["pkg:pypi/garbled@1.0", "pkg:pypi/silent@1.0"]
    );
    assert!(of(&findings, "policy-licence-not-allowed").is_empty());
    let p = policy(
        "[licences]\nallow = [\"MIT\"]\nunknown = false\n",
        dir.path(),
    );
    assert!(of(&check(&p, &[&env]), "policy-licence-unknown").is_empty());
    assert!(
        of(
            &check(&Policy::default(), &[&env]),
            "policy-licence-unknown"
        )
        .is_empty()
    );
}

#[test]
fn direct_references_are_flagged_and_index_packages_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let reqs = write(
        dir.path(),
        "requirements.txt",
        "idna==3.10\nmdurl @ https://files.example.org/mdurl-0.1.2.tar.gz\n-e git+https://github.com/acme/tool.git@0123456789abcdef0123456789abcdef01234567#egg=tool\n",
    );
    let set = read(&reqs);
    let p = policy("indexes = [\"https://pypi.org/simple/\"]\n", dir.path());
    let findings = check(&p, &[&set]);
    let direct = of(&findings, "policy-direct-reference");
    let names: Vec<String> = direct
        .iter()
        .map(|f| f.message.split_whitespace().next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(names.len(), 2, "{direct:#?}");
    assert!(names.iter().any(|n| n == "mdurl"), "{names:?}");
    assert!(!direct.iter().any(|f| f.message.starts_with("idna")));
}

#[test]
fn an_environment_says_which_checks_it_cannot_answer() {
    let dir = tempfile::tempdir().unwrap();
    let venv = env_with(dir.path(), &[("acme-core", "1.0", "")]);
    let env = read(&venv);
    let p = policy("internal = [\"acme-*\"]\n", dir.path());
    let findings = check(&p, &[&env]);
    assert_eq!(of(&findings, "policy-input-not-checked").len(), 1);
    assert!(
        of(
            &check(&Policy::default(), &[&env]),
            "policy-input-not-checked"
        )
        .is_empty()
    );
}

#[test]
fn a_record_whose_hash_cannot_be_checked_is_unverifiable_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let venv = mdurl_venv(dir.path());
    let record = venv.join("lib/python3.11/site-packages/mdurl-0.1.2.dist-info/RECORD");
    let text = fs::read_to_string(&record).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let (path, _) = first.split_once(',').unwrap();
    fs::write(
        &record,
        format!("{path},sha1=AAAAAAAAAAAAAAAAAAAAAAAAAAA,1\n{rest}"),
    )
    .unwrap();
    let findings = check_env(&venv);
    let unverifiable = of(&findings, "policy-record-unverifiable");
    assert_eq!(unverifiable.len(), 1, "{findings:#?}");
    assert!(unverifiable[0].message.contains(path), "{unverifiable:#?}");
    // The untouched environment has nothing of the kind.
    let clean = mdurl_venv(&dir.path().join("clean"));
    assert!(of(&check_env(&clean), "policy-record-unverifiable").is_empty());
}

#[test]
fn the_same_version_from_another_index_is_a_source_change() {
    let lock = |registry: &str| {
        format!(
            "version = 1\nrevision = 3\nrequires-python = \">=3.11\"\n\n[[package]]\nname = \"idna\"\nversion = \"3.10\"\nsource = {{ registry = \"{registry}\" }}\nsdist = {{ url = \"{registry}/idna-3.10.tar.gz\", hash = \"sha256:{}\", size = 1 }}\n",
            "ab".repeat(32)
        )
    };
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("old")).unwrap();
    fs::create_dir_all(dir.path().join("new")).unwrap();
    let old = read(&write(
        &dir.path().join("old"),
        "uv.lock",
        &lock("https://pypi.org/simple"),
    ));
    let new = read(&write(
        &dir.path().join("new"),
        "uv.lock",
        &lock("https://mirror.example.org/simple"),
    ));
    let findings = aigate_policy::diff_findings(&aigate_python::diff(&old, &new));
    assert_eq!(rules(&findings), ["deps-source-changed"], "{findings:#?}");
    let same = aigate_policy::diff_findings(&aigate_python::diff(&old, &old));
    assert!(same.is_empty(), "{same:#?}");
}
