//! Includes between requirements files, discovery of a project's inputs, diffs of real locks,
//! and errors on bad input, through the public API on real files.

use std::fs;
use std::path::{Path, PathBuf};

use aigate_python::{
    ErrorKind, InputFormat, Limits, Source, diff, discover, read_all, read_path, read_requirements,
    read_uv_lock,
};

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        ok(fs::create_dir_all(parent));
    }
    ok(fs::write(&path, text));
    path
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/python")
}

#[test]
fn includes_are_read_relative_to_the_including_file() {
    let dir = ok(tempfile::tempdir());
    let top = write(
        dir.path(),
        "requirements.txt",
        "-r reqs/base.txt\n--constraint reqs/constraints.txt\napp==1.0\n",
    );
    write(dir.path(), "reqs/base.txt", "-r common.txt\nrequests>=2\n");
    write(dir.path(), "reqs/common.txt", "idna==3.7\n");
    write(dir.path(), "reqs/constraints.txt", "urllib3<3\n");
    let set = ok(read_requirements(&top, &Limits::default()));
    let entries: Vec<_> = set
        .packages
        .iter()
        .map(|p| {
            let file = p
                .origin
                .file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned());
            (p.name.as_str(), file.unwrap_or_default(), p.constraint_only)
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("idna", "common.txt".to_string(), false),
            ("requests", "base.txt".to_string(), false),
            ("urllib3", "constraints.txt".to_string(), true),
            ("app", "requirements.txt".to_string(), false),
        ]
    );
    assert_eq!(set.inputs.len(), 4);
    assert!(set.includes.iter().all(|i| i.followed));
}

#[test]
fn an_include_cycle_names_both_files() {
    let dir = ok(tempfile::tempdir());
    let a = write(dir.path(), "a.txt", "x==1\n-r b.txt\n");
    write(dir.path(), "b.txt", "y==1\n\n-r a.txt\n");
    let e = read_requirements(&a, &Limits::default()).err();
    let e = e.unwrap_or_else(|| panic!("a cycle is an error"));
    assert!(matches!(e.kind, ErrorKind::IncludeCycle { .. }), "{e}");
    // The error sits on b.txt's include line and names a.txt as the file read again.
    assert_eq!(e.origin.line, Some(3));
    assert!(e.origin.file.ends_with("b.txt"));
    let message = e.to_string();
    assert!(
        message.contains("a.txt") && message.contains("b.txt"),
        "{message}"
    );
}

#[test]
fn include_depth_and_missing_includes() {
    let dir = ok(tempfile::tempdir());
    for i in 0..5 {
        write(
            dir.path(),
            &format!("r{i}.txt"),
            &format!("-r r{}.txt\n", i + 1),
        );
    }
    write(dir.path(), "r5.txt", "pkg==1\n");
    let limits = Limits {
        max_include_depth: 3,
        ..Limits::default()
    };
    let e = read_requirements(&dir.path().join("r0.txt"), &limits).err();
    assert!(matches!(
        e.map(|e| e.kind),
        Some(ErrorKind::IncludeTooDeep { limit: 3 })
    ));
    assert!(read_requirements(&dir.path().join("r0.txt"), &Limits::default()).is_ok());

    let top = write(dir.path(), "top.txt", "a==1\n-r missing.txt\n");
    let e = read_requirements(&top, &Limits::default()).err();
    assert!(
        e.as_ref()
            .is_some_and(|e| e.origin.line == Some(2) && matches!(e.kind, ErrorKind::Io(_))),
        "{e:?}"
    );
}

#[test]
fn a_pylock_can_be_included() {
    let dir = ok(tempfile::tempdir());
    fs::copy(
        fixtures().join("uv/pylock.toml"),
        dir.path().join("pylock.toml"),
    )
    .ok();
    let top = write(dir.path(), "requirements.txt", "-r pylock.toml\n");
    let set = ok(read_requirements(&top, &Limits::default()));
    assert!(set.packages.iter().any(|p| p.name == "numpy"));
    assert!(set.inputs.iter().any(|i| i.format == InputFormat::Pylock));
}

#[test]
fn discovery_finds_inputs_in_a_fixed_order() {
    let dir = ok(tempfile::tempdir());
    for name in [
        "uv.lock",
        "pyproject.toml",
        "requirements-dev.txt",
        "requirements.txt",
        "pylock.toml",
        "pylock.prod.toml",
        "notes.txt",
    ] {
        write(dir.path(), name, "");
    }
    write(dir.path(), ".venv/pyvenv.cfg", "");
    let found: Vec<_> = ok(discover(dir.path(), None))
        .into_iter()
        .map(|d| {
            let name = d.path.file_name().map(|f| f.to_string_lossy().into_owned());
            (name.unwrap_or_default(), d.format)
        })
        .collect();
    let expected = [
        ("uv.lock", InputFormat::UvLock),
        ("pylock.toml", InputFormat::Pylock),
        ("pylock.prod.toml", InputFormat::Pylock),
        ("requirements-dev.txt", InputFormat::Requirements),
        ("requirements.txt", InputFormat::Requirements),
        ("pyproject.toml", InputFormat::Pyproject),
        (".venv", InputFormat::Environment),
    ];
    let expected: Vec<_> = expected.iter().map(|(n, f)| (n.to_string(), *f)).collect();
    assert_eq!(found, expected);

    // An active environment passed in wins over .venv.
    let active = fixtures().join("venv");
    let found = ok(discover(dir.path(), Some(&active)));
    assert_eq!(found.last().map(|d| d.path.clone()), Some(active));
}

#[test]
fn a_fixture_project_reads_whole() {
    let dir = fixtures().join("uv");
    let inputs = ok(discover(&dir, None));
    let formats: Vec<_> = inputs.iter().map(|i| i.format).collect();
    assert_eq!(
        formats,
        [
            InputFormat::UvLock,
            InputFormat::Pylock,
            InputFormat::Pyproject
        ]
    );
    let set = ok(read_all(&inputs, &Limits::default()));
    assert_eq!(set.inputs.len(), 3);
    let pytorch = set
        .indexes
        .iter()
        .find(|i| i.name.as_deref() == Some("pytorch-cpu"));
    assert!(pytorch.is_some_and(|i| i.kind == aigate_python::IndexKind::Explicit));
    // The JSON form is the model serialised.
    let json = ok(serde_json::to_value(&set));
    assert_eq!(json["inputs"][0]["format"], "uv-lock");
    assert!(
        json["packages"]
            .as_array()
            .is_some_and(|p| p.len() == set.packages.len())
    );
    let first = &set.packages[0];
    assert_eq!(json["packages"][0]["name"], first.name.as_str());
    assert_eq!(json["packages"][0]["source"]["kind"], "registry");
    assert!(read_path(&dir.join("uv-export.txt"), &Limits::default()).is_some_and(|r| r.is_ok()));
    assert!(read_path(&dir.join("nothing.bin"), &Limits::default()).is_none());
}

#[test]
fn diff_of_a_real_lock_against_a_tampered_copy() {
    let path = fixtures().join("uv/uv.lock");
    let old = ok(read_uv_lock(&path, &Limits::default()));
    let text = ok(fs::read_to_string(&path));
    let certifi = old
        .packages_named("certifi")
        .next()
        .map(|p| p.hashes[0].hex.clone());
    let certifi = certifi.unwrap_or_default();
    let tampered = text
        .replace(&certifi, &"f".repeat(64))
        .replacen("name = \"idna\"\nversion = \"3.20\"", "name = \"idna\"\nversion = \"3.10\"", 1)
        .replacen(
            "name = \"tqdm\"\nversion = \"4.70.1\"\nsource = { registry = \"https://pypi.org/simple\" }",
            "name = \"tqdm\"\nversion = \"4.70.1\"\nsource = { registry = \"https://mirror.example/simple\" }",
            1,
        );
    let new = ok(aigate_python::parse_uv_lock(
        &path,
        &tampered,
        &Limits::default(),
    ));
    let changes = diff(&old, &new);
    assert_eq!(changes.hashes_changed.len(), 1);
    let change = &changes.hashes_changed[0];
    assert_eq!(change.name, "certifi");
    assert_eq!(
        change
            .removed
            .iter()
            .map(|h| h.hex.clone())
            .collect::<Vec<_>>(),
        [certifi]
    );
    assert_eq!(change.added.len(), 1);
    assert_eq!(changes.downgraded.len(), 1);
    assert_eq!(changes.downgraded[0].name, "idna");
    assert_eq!(changes.source_changed.len(), 1);
    assert_eq!(
        changes.source_changed[0].new,
        Source::Registry {
            url: Some("https://mirror.example/simple".into())
        }
    );
    assert!(changes.added.is_empty() && changes.removed.is_empty() && changes.upgraded.is_empty());
    // Two tools' locks of the same project resolved the same versions on the same day.
    let poetry = ok(
        read_path(&fixtures().join("poetry2/poetry.lock"), &Limits::default())
            .unwrap_or_else(|| panic!("poetry.lock is known")),
    );
    let poetry1 = ok(
        read_path(&fixtures().join("poetry1/poetry.lock"), &Limits::default())
            .unwrap_or_else(|| panic!("poetry.lock is known")),
    );
    let same = diff(&poetry1, &poetry);
    assert!(
        same.upgraded.is_empty() && same.downgraded.is_empty(),
        "{same:?}"
    );
}

#[test]
fn bad_input_errors_name_the_file_and_line() {
    let dir = ok(tempfile::tempdir());
    let cases = [
        ("uv.lock", "version = 1\n[[package]\nname = \"a\"\n", 2),
        ("poetry.lock", "[metadata]\nlock-version = \"9.0\"\n", 2),
        (
            "pylock.toml",
            "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nversion = \"1..0\"\n",
            4,
        ),
        (
            "Pipfile.lock",
            "{\"_meta\": {\n\"pipfile-spec\": 6,,\n}}",
            2,
        ),
        (
            "pyproject.toml",
            "[project]\ndependencies = [\"a ; os_name =! 'x'\"]\n",
            2,
        ),
        ("requirements.txt", "a==1\nb===\n", 2),
    ];
    for (name, text, line) in cases {
        let path = write(dir.path(), name, text);
        let result = read_path(&path, &Limits::default()).unwrap_or_else(|| panic!("{name}"));
        let e = result.err().unwrap_or_else(|| panic!("{name} is an error"));
        assert_eq!(e.origin.file, path, "{name}");
        assert_eq!(e.origin.line, Some(line), "{name}: {e}");
        assert!(
            e.to_string().starts_with(&path.display().to_string()),
            "{e}"
        );
    }
    let big = write(dir.path(), "requirements-big.txt", &"a==1\n".repeat(1000));
    let limits = Limits {
        max_file_size: 100,
        ..Limits::default()
    };
    let e = read_requirements(&big, &limits).err();
    assert!(matches!(
        e.map(|e| e.kind),
        Some(ErrorKind::TooLarge { limit: 100, .. })
    ));
}

#[test]
fn inputs_the_fuzzers_crashed_pep508_rs_with_are_errors() {
    let regressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let limits = Limits::default();
    let read = |name: &str| ok(fs::read(regressions.join(name)));
    let text = String::from_utf8_lossy(&read(
        "python_requirements/name-ending-in-dot-before-specifier",
    ))
    .into_owned();
    let e = aigate_python::parse_requirements(Path::new("r.txt"), &text, &limits).err();
    assert!(
        matches!(
            e.map(|e| e.kind),
            Some(ErrorKind::InvalidRequirement { .. })
        ),
        "a name ending in `.` is an invalid requirement"
    );
    for name in [
        "python_dist_info/requires-dist-name-ending-in-dot",
        "python_dist_info/non-ascii-in-marker",
    ] {
        let e = aigate_python::parse_metadata(Path::new("METADATA"), &read(name), &limits).err();
        assert!(
            matches!(
                e.as_ref().map(|e| &e.kind),
                Some(ErrorKind::InvalidRequirement { .. } | ErrorKind::InvalidMarker { .. })
            ),
            "{name}: {e:?}"
        );
    }
}
