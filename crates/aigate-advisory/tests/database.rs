//! The database over the real PyPA advisory records (`tests/data/pypa/vulns/`, copied from `../shared/`)
//! and over OSV zips written here: the index is built once and reused until the records change;
//! installs are atomic, and corrupt or path-traversing archives leave the old database live.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};

use aigate_advisory::db;

/// The PyPA advisory records shipped with the tests (a copy of the snapshot in `../shared/`).
fn pypa() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pypa/vulns");
    assert!(p.is_dir(), "{} is missing", p.display());
    Some(p)
}

fn record(id: &str, name: &str, fixed: &str) -> String {
    format!(
        r#"{{"id": "{id}", "aliases": ["CVE-{id}"], "affected": [{{"package": {{"ecosystem": "PyPI", "name": "{name}"}},
        "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#
    )
}

fn write_zip(path: &Path, members: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn every_pypa_record_is_read_and_none_is_fatal() {
    let Some(dir) = pypa() else { return };
    let loaded = aigate_advisory::records::load(&dir).unwrap();
    let files = aigate_advisory::records::record_files(&dir).unwrap().len() as u64;
    assert_eq!(loaded.records, files);
    assert_eq!(
        loaded.records,
        loaded.advisories.len() as u64 + loaded.withdrawn + loaded.other + loaded.malformed
    );
    assert_eq!(loaded.malformed, 0, "{:?}", loaded.malformed_examples);
    assert!(loaded.withdrawn > 0, "the snapshot has withdrawn records");
}

#[test]
fn the_index_is_reused_until_the_records_change() {
    let Some(dir) = pypa() else { return };
    let work = tempfile::tempdir().unwrap();
    let records = work.path().join("vulns");
    // A copy of a few packages' records, so that one can be changed.
    for pkg in ["jinja2", "werkzeug", "django"] {
        let from = dir.join(pkg);
        std::fs::create_dir_all(records.join(pkg)).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), records.join(pkg).join(entry.file_name())).unwrap();
        }
    }
    let cache = work.path().join("cache");
    let first = db::open(&records, Some(&cache)).unwrap();
    assert!(first.rebuilt);
    let n = first.index().unwrap().advisories("jinja2").unwrap().len();
    assert!(n > 0);
    let second = db::open(&records, Some(&cache)).unwrap();
    assert!(!second.rebuilt, "an unchanged source reuses its index");
    assert_eq!(
        second.index().unwrap().advisories("jinja2").unwrap().len(),
        n
    );
    std::fs::write(records.join("jinja2/PYSEC-9999-1.yaml"), "id: PYSEC-9999-1\naffected:\n- package:\n    ecosystem: PyPI\n    name: Jinja2\n  versions: ['1.0']\n").unwrap();
    let third = db::open(&records, Some(&cache)).unwrap();
    assert!(third.rebuilt, "a changed source is re-read");
    assert_eq!(
        third.index().unwrap().advisories("jinja2").unwrap().len(),
        n + 1
    );
}

#[test]
fn a_good_zip_installs_and_bad_ones_leave_the_old_database() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("db");
    let good = work.path().join("good.zip");
    let a = record("PYSEC-1", "foo", "1.5");
    let other = r#"{"id": "X", "affected": [{"package": {"ecosystem": "npm", "name": "a"}}]}"#;
    write_zip(
        &good,
        &[
            ("PYSEC-1.json", a.as_bytes()),
            ("X.json", other.as_bytes()),
            ("bad.json", b"{"),
        ],
    );
    let meta = db::install(
        &root,
        &db::new_staging(&root),
        &good,
        "https://example/all.zip",
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    assert_eq!(
        (meta.records, meta.advisories, meta.other, meta.malformed),
        (3, 1, 1, 1)
    );
    assert_eq!(meta.sha256.len(), 64);
    let live = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    let opened = db::open(&root, None).unwrap();
    assert!(!opened.rebuilt);
    assert_eq!(opened.meta().source, "https://example/all.zip");

    let corrupt = work.path().join("corrupt.zip");
    std::fs::write(&corrupt, b"PK\x03\x04 this is not a zip").unwrap();
    let traversal = work.path().join("traversal.zip");
    write_zip(
        &traversal,
        &[
            ("PYSEC-1.json", a.as_bytes()),
            ("../../evil.json", a.as_bytes()),
        ],
    );
    let empty = work.path().join("empty.zip");
    write_zip(&empty, &[("README", b"nothing")]);
    for (bad, what) in [
        (&corrupt, "not a readable zip"),
        (&traversal, "unsafe name"),
        (&empty, "no OSV record"),
    ] {
        let err = db::install(
            &root,
            &db::new_staging(&root),
            bad,
            "x",
            "2026-02-01T00:00:00Z",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(what), "{err}");
        assert_eq!(std::fs::read_to_string(root.join("CURRENT")).unwrap(), live);
        assert_eq!(
            db::open(&root, None).unwrap().meta().updated,
            "2026-01-01T00:00:00Z"
        );
    }
    assert!(!work.path().join("evil.json").exists());
    // Nothing is left beside the live generation.
    let names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // A second good install replaces the first, and the old generation is removed.
    let newer = work.path().join("newer.zip");
    write_zip(
        &newer,
        &[("PYSEC-1.json", record("PYSEC-1", "foo", "1.6").as_bytes())],
    );
    db::install(
        &root,
        &db::new_staging(&root),
        &newer,
        "u",
        "2026-03-01T00:00:00Z",
    )
    .unwrap();
    assert_ne!(std::fs::read_to_string(root.join("CURRENT")).unwrap(), live);
    assert!(!root.join(live.trim()).exists());
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 2);
}

#[test]
fn a_damaged_index_is_rebuilt_not_trusted() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("db");
    let good = work.path().join("good.zip");
    write_zip(
        &good,
        &[("A.json", record("PYSEC-1", "foo", "1.5").as_bytes())],
    );
    db::install(
        &root,
        &db::new_staging(&root),
        &good,
        "u",
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    let live = std::fs::read_to_string(root.join("CURRENT")).unwrap();
    let index = root.join(live.trim()).join("index.bin");
    let mut bytes = std::fs::read(&index).unwrap();
    let n = bytes.len();
    bytes.truncate(n / 2);
    std::fs::write(&index, &bytes).unwrap();
    let opened = db::open(&root, None).unwrap();
    assert!(opened.rebuilt);
    assert_eq!(
        opened.meta().source,
        "u",
        "the import's metadata survives a rebuild"
    );
    assert_eq!(opened.index().unwrap().advisories("foo").unwrap().len(), 1);
}
