//! The RECORD check on a real pip-installed package (mdurl, from the fixture venv), copied into a
//! scratch environment and then tampered with.

use std::fs;
use std::path::{Path, PathBuf};

use aigate_python::{
    Limits, RecordIssue, check_environment_records, check_record, find_site_packages,
};

const SITE: &str = "lib/python3.11/site-packages";
const DIST_INFO: &str = "mdurl-0.1.2.dist-info";

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn fixture_venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/python/venv")
}

fn copy_tree(from: &Path, to: &Path) {
    ok(fs::create_dir_all(to));
    for entry in ok(fs::read_dir(from)) {
        let entry = ok(entry);
        let target = to.join(entry.file_name());
        if ok(entry.file_type()).is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            ok(fs::copy(entry.path(), &target));
        }
    }
}

/// A venv root holding only mdurl, as pip installed it.
fn scratch_env() -> (tempfile::TempDir, PathBuf) {
    let dir = ok(tempfile::tempdir());
    let site = dir.path().join(SITE);
    let source = fixture_venv().join(SITE);
    copy_tree(&source.join("mdurl"), &site.join("mdurl"));
    copy_tree(&source.join(DIST_INFO), &site.join(DIST_INFO));
    ok(fs::write(
        dir.path().join("pyvenv.cfg"),
        "version = 3.11.7\n",
    ));
    (dir, site)
}

fn issues(root: &Path) -> Vec<RecordIssue> {
    let checks = ok(check_environment_records(root, &Limits::default()));
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].name, "mdurl");
    assert_eq!(
        checks[0].version.as_ref().map(ToString::to_string),
        Some("0.1.2".into())
    );
    checks.into_iter().flat_map(|c| c.issues).collect()
}

#[test]
fn an_untouched_install_matches_its_record() {
    let (dir, _) = scratch_env();
    // pip lists mdurl's bytecode caches without hashes; they were not committed and are not
    // required.
    assert_eq!(issues(dir.path()), []);
}

#[test]
fn tampering_is_reported_as_data() {
    let (dir, site) = scratch_env();
    ok(fs::write(
        site.join("mdurl/_url.py"),
        "import os; os.system('id')\n",
    ));
    ok(fs::remove_file(site.join("mdurl/_format.py")));
    ok(fs::write(site.join("mdurl/planted.py"), "print('hi')\n"));
    ok(fs::create_dir_all(site.join("mdurl/__pycache__")));
    ok(fs::write(
        site.join("mdurl/__pycache__/_url.cpython-311.pyc"),
        b"\0",
    ));
    ok(fs::write(site.join(DIST_INFO).join("extra.txt"), "x"));
    let found = issues(dir.path());
    let kinds: Vec<String> = found
        .iter()
        .map(|i| match i {
            RecordIssue::HashMismatch {
                path,
                expected,
                actual,
            } => {
                assert_ne!(expected, actual);
                format!("hash {path}")
            }
            RecordIssue::SizeMismatch {
                path,
                expected,
                actual,
            } => {
                assert_eq!((*expected, *actual), (284, 27));
                format!("size {path}")
            }
            RecordIssue::Missing { path } => format!("missing {path}"),
            RecordIssue::Unlisted { path } => format!("unlisted {path}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "missing mdurl/_format.py",
            "size mdurl/_url.py",
            "hash mdurl/_url.py",
            "unlisted mdurl-0.1.2.dist-info/extra.txt",
            "unlisted mdurl/planted.py",
        ]
    );
}

#[test]
fn a_missing_record_and_escaping_paths_are_reported() {
    let (dir, site) = scratch_env();
    let record = site.join(DIST_INFO).join("RECORD");
    let mut text = ok(fs::read_to_string(&record));
    text.push_str(
        "../../../../../../../etc/passwd,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n",
    );
    ok(fs::write(&record, &text));
    let found = issues(dir.path());
    assert_eq!(
        found,
        [RecordIssue::OutsideEnvironment {
            path: "../../../../../../../etc/passwd".into()
        }]
    );
    ok(fs::remove_file(&record));
    assert_eq!(issues(dir.path()), [RecordIssue::RecordMissing]);
    ok(fs::write(&record, "mdurl/_url.py,sha256=!!,1\n"));
    let found = issues(dir.path());
    assert!(
        matches!(found.as_slice(), [RecordIssue::MalformedRecord { message }] if message.contains(":1:") || message.contains("RECORD:1")),
        "{found:?}"
    );
}

#[test]
fn one_distribution_checked_alone() {
    let (dir, site) = scratch_env();
    let check = ok(check_record(
        &site,
        &site.join(DIST_INFO),
        Some(dir.path()),
        &Limits::default(),
    ));
    assert_eq!(check.issues, []);
    let layout = ok(find_site_packages(dir.path()));
    assert_eq!(layout.site_packages, [site]);
}

#[test]
fn the_committed_fixture_venv_has_intact_metadata() {
    // Only mdurl's code was committed: every other distribution misses its code files (and the
    // licence files the fixture script leaves out), but no file that is there differs from its
    // RECORD.
    let checks = ok(check_environment_records(
        &fixture_venv(),
        &Limits::default(),
    ));
    assert!(checks.len() > 10);
    for check in &checks {
        for issue in &check.issues {
            assert!(
                matches!(
                    issue,
                    RecordIssue::Missing { .. } | RecordIssue::OutsideEnvironment { .. }
                ),
                "{}: {issue:?}",
                check.name
            );
        }
        if check.name == "mdurl" {
            assert_eq!(check.issues, []);
        } else if check.name == "numpy" {
            assert!(!check.issues.is_empty());
        }
    }
}

#[cfg(unix)]
#[test]
fn a_linked_folder_leading_outside_is_not_read() {
    let (dir, site) = scratch_env();
    let elsewhere = ok(tempfile::tempdir());
    copy_tree(&site.join("mdurl"), &elsewhere.path().join("mdurl"));
    ok(fs::remove_dir_all(site.join("mdurl")));
    ok(std::os::unix::fs::symlink(
        elsewhere.path().join("mdurl"),
        site.join("mdurl"),
    ));
    let found = issues(dir.path());
    assert!(!found.is_empty());
    assert!(
        found.iter().all(
            |i| matches!(i, RecordIssue::OutsideEnvironment { path } if path.starts_with("mdurl/"))
        ),
        "{found:?}"
    );
}

/// virtualenv (21.x, the seeder behind pre-commit, tox, nox, hatch and poetry environments)
/// writes pip's and setuptools' RECORD with bytecode rows for files it never creates:
/// `_distutils_hack/__init__.cpython-311.pyc,,` beside the source and `pkg/__pycache__,,` for the
/// folder itself. These rows are appended to mdurl's real RECORD the same way.
#[test]
fn bytecode_a_virtualenv_seeded_record_lists_but_never_wrote_is_not_missing() {
    let (dir, site) = scratch_env();
    let record = site.join(DIST_INFO).join("RECORD");
    let mut text = ok(fs::read_to_string(&record));
    text.push_str("mdurl/_url.cpython-311.pyc,,\nmdurl/__pycache__,,\nmdurl/old.pyo,,\n");
    ok(fs::write(&record, &text));
    assert_eq!(issues(dir.path()), []);
    // Once Python has compiled the package, the listed folder exists: still clean.
    ok(fs::create_dir_all(site.join("mdurl/__pycache__")));
    ok(fs::write(
        site.join("mdurl/__pycache__/_url.cpython-311.pyc"),
        b"\0",
    ));
    assert_eq!(issues(dir.path()), []);
    // A listed source file that is gone is still missing.
    ok(fs::remove_file(site.join("mdurl/_format.py")));
    assert_eq!(
        issues(dir.path()),
        [RecordIssue::Missing {
            path: "mdurl/_format.py".into()
        }]
    );
}
