//! Each reader against files the real tools wrote (fixtures/python, made by
//! make_python_fixtures.sh), compared with what the tool itself listed as resolved. The tools'
//! listings are parsed here with plain string handling, independently of the readers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aigate_python::{
    DependencySet, Limits, Package, Source, read_environment, read_pipfile_lock, read_poetry_lock,
    read_pylock, read_requirements, read_uv_lock,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/python")
}

fn ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// PEP 503, written out here so the oracle does not lean on the code under test.
fn normalise(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// (name, version) pairs the readers produced, without the project's own entry.
fn resolved(set: &DependencySet) -> BTreeSet<(String, String)> {
    set.packages
        .iter()
        .filter(|p| !matches!(p.source, Source::Virtual { .. }))
        .map(|p| {
            let version = p
                .version
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            (p.name.clone(), version)
        })
        .collect()
}

fn hashes_of(package: &Package) -> BTreeSet<String> {
    package.hashes.iter().map(|h| h.hex.clone()).collect()
}

/// `name==version ; marker \` lines and the `--hash=sha256:…` lines after them, as uv export and
/// pip-compile write them.
fn parse_exported(text: &str) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut entries = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(hash) = trimmed.strip_prefix("--hash=sha256:") {
            let hash = hash.trim_end_matches('\\').trim().to_string();
            if let Some(key) = &current {
                entries
                    .entry(key.clone())
                    .or_insert_with(BTreeSet::new)
                    .insert(hash);
            }
        } else if !line.starts_with([' ', '#', '-']) && trimmed.contains("==") {
            let spec = trimmed.split([';', ' ', '\\']).next().unwrap_or_default();
            let (name, version) = spec.split_once("==").unwrap_or_default();
            let name = name.split('[').next().unwrap_or_default();
            let key = (normalise(name), version.to_string());
            entries.entry(key.clone()).or_insert_with(BTreeSet::new);
            current = Some(key);
        }
    }
    entries
}

/// `name (!) version description` lines of `poetry show --no-ansi`.
fn parse_poetry_show(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace().filter(|w| *w != "(!)");
            Some((normalise(words.next()?), words.next()?.to_string()))
        })
        .collect()
}

/// The install list of pip's `--dry-run --report`, trimmed by the fixture script.
fn parse_pip_report(path: &Path) -> BTreeMap<(String, String), BTreeSet<String>> {
    let report: serde_json::Value = ok(serde_json::from_str(&read_to_string(path)));
    let mut entries = BTreeMap::new();
    for item in report["install"].as_array().into_iter().flatten() {
        let name = normalise(item["name"].as_str().unwrap_or_default());
        let version = item["version"].as_str().unwrap_or_default().to_string();
        let hashes = item["hashes"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, v)| v.as_str().map(str::to_string))
            .collect();
        entries.insert((name, version), hashes);
    }
    entries
}

/// The environment the fixtures were made in.
fn linux_cpython_311() -> aigate_python::pep::MarkerEnvironment {
    ok(aigate_python::pep::marker_environment(
        aigate_python::pep::MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: "3.11.7",
            os_name: "posix",
            platform_machine: "x86_64",
            platform_python_implementation: "CPython",
            platform_release: "6.1.0",
            platform_system: "Linux",
            platform_version: "#1 SMP",
            python_full_version: "3.11.7",
            python_version: "3.11",
            sys_platform: "linux",
        },
    ))
}

#[test]
fn pip_compile_output_reads_as_pip_reads_it() {
    let dir = fixtures().join("pip-tools");
    let set = ok(read_requirements(
        &dir.join("requirements.txt"),
        &Limits::default(),
    ));
    let pip = parse_pip_report(&dir.join("pip-resolved.json"));
    let pip_resolved: BTreeSet<_> = pip.keys().cloned().collect();
    assert_eq!(resolved(&set), pip_resolved);
    for package in &set.packages {
        assert!(package.is_pinned(), "{} is pinned", package.name);
        let version = package
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let chosen = &pip[&(package.name.clone(), version)];
        // pip installs one artifact; its hash must be among those the file allows.
        assert!(
            chosen.is_subset(&hashes_of(package)),
            "{}: pip chose {chosen:?}",
            package.name
        );
        assert_eq!(package.origin.file, dir.join("requirements.txt"));
    }
    // Every entry points at the `name==version \\` line pip-compile wrote for it.
    let text = read_to_string(&dir.join("requirements.txt"));
    for package in &set.packages {
        let line = package.origin.line.unwrap_or_default() as usize;
        let physical = text.lines().nth(line - 1).unwrap_or_default();
        assert!(
            normalise(physical).starts_with(&format!("{}==", package.name)),
            "line {line}: {physical}"
        );
    }
}

#[test]
fn uv_lock_matches_uv_export() {
    let dir = fixtures().join("uv");
    let set = ok(read_uv_lock(&dir.join("uv.lock"), &Limits::default()));
    let exported = parse_exported(&read_to_string(&dir.join("uv-export.txt")));
    let exported_resolved: BTreeSet<_> = exported.keys().cloned().collect();
    assert_eq!(resolved(&set), exported_resolved);
    for package in set
        .packages
        .iter()
        .filter(|p| !matches!(p.source, Source::Virtual { .. }))
    {
        let version = package
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(
            hashes_of(package),
            exported[&(package.name.clone(), version)],
            "{}",
            package.name
        );
        assert_eq!(
            package.source,
            Source::Registry {
                url: Some("https://pypi.org/simple".into())
            }
        );
    }
    // The project's own dependencies are direct; what they pull in is not.
    let direct: BTreeSet<_> = set
        .packages
        .iter()
        .filter(|p| p.direct)
        .map(|p| p.name.as_str())
        .collect();
    for name in [
        "numpy", "requests", "tqdm", "pyyaml", "joblib", "rich", "pytest", "pyflakes",
    ] {
        assert!(direct.contains(name), "{name} is direct");
    }
    assert!(!direct.contains("urllib3"));
    let requests = set.packages_named("requests").next();
    assert!(requests.is_some_and(|r| r.dependencies.iter().any(|d| d == "urllib3")));
}

#[test]
fn uv_export_reads_as_requirements() {
    let dir = fixtures().join("uv");
    let set = ok(read_requirements(
        &dir.join("uv-export.txt"),
        &Limits::default(),
    ));
    let exported = parse_exported(&read_to_string(&dir.join("uv-export.txt")));
    let exported_resolved: BTreeSet<_> = exported.keys().cloned().collect();
    assert_eq!(resolved(&set), exported_resolved);
    // numpy is locked twice, under complementary markers.
    let numpy_markers: Vec<_> = set
        .packages_named("numpy")
        .map(|p| p.marker.clone().unwrap_or_default())
        .collect();
    assert_eq!(numpy_markers.len(), 2);
    assert!(
        numpy_markers
            .iter()
            .all(|m| m.contains("python_full_version"))
    );
}

#[test]
fn uv_pylock_matches_uv_export() {
    let dir = fixtures().join("uv");
    let set = ok(read_pylock(&dir.join("pylock.toml"), &Limits::default()));
    let exported = parse_exported(&read_to_string(&dir.join("uv-export.txt")));
    let exported_resolved: BTreeSet<_> = exported.keys().cloned().collect();
    assert_eq!(resolved(&set), exported_resolved);
    for package in &set.packages {
        let version = package
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(
            hashes_of(package),
            exported[&(package.name.clone(), version)]
        );
    }
}

#[test]
fn pip_lock_matches_pips_resolution() {
    let dir = fixtures().join("pip-lock");
    let set = ok(read_pylock(&dir.join("pylock.toml"), &Limits::default()));
    let pip = parse_pip_report(&dir.join("pip-resolved.json"));
    let pip_resolved: BTreeSet<_> = pip.keys().cloned().collect();
    assert_eq!(resolved(&set), pip_resolved);
    for package in &set.packages {
        let version = package
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(hashes_of(package), pip[&(package.name.clone(), version)]);
    }
}

#[test]
fn poetry_locks_match_poetry_show() {
    // What does not apply on the machine poetry show ran on (Linux, CPython 3.11, with the
    // project's `fancy` extra) is left out of its listing. Lock 2.1 (poetry 2) says so in each
    // package's `markers`: the listing must be exactly the entries whose markers hold.
    let mut not_applicable = BTreeSet::new();
    for (folder, lock_version) in [("poetry2", "2.1"), ("poetry1", "2.0")] {
        let dir = fixtures().join(folder);
        let set = ok(read_poetry_lock(
            &dir.join("poetry.lock"),
            &Limits::default(),
        ));
        assert_eq!(
            set.inputs[0].format_version.as_deref(),
            Some(lock_version),
            "{folder}"
        );
        let shown = parse_poetry_show(&read_to_string(&dir.join("poetry-show.txt")));
        let locked = resolved(&set);
        assert!(shown.is_subset(&locked), "{folder}: {shown:?}");
        if lock_version == "2.1" {
            for package in &set.packages {
                let version = package
                    .version
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let applies = package.marker.as_deref().is_none_or(|m| {
                    let marker = ok(aigate_python::pep::parse_marker(m));
                    aigate_python::pep::evaluate_marker(&marker, &linux_cpython_311(), &["fancy"])
                });
                let key = (package.name.clone(), version);
                assert_eq!(applies, shown.contains(&key), "{folder}: {}", package.name);
                if !applies {
                    not_applicable.insert(key);
                }
            }
        } else {
            // Lock 2.0 keeps markers on the dependency edges only; poetry 1.8 resolved the same
            // versions and left out the same packages.
            let left_out: BTreeSet<_> = locked.difference(&shown).cloned().collect();
            assert_eq!(left_out, not_applicable, "{folder}");
        }
        for package in &set.packages {
            assert!(
                !package.hashes.is_empty(),
                "{folder}: {} has hashes",
                package.name
            );
        }
    }
    let set = ok(read_poetry_lock(
        &fixtures().join("poetry2/poetry.lock"),
        &Limits::default(),
    ));
    let pytest = set.packages_named("pytest").next();
    assert!(pytest.is_some_and(|p| p.groups == ["dev"]));
}

#[test]
fn pipfile_lock_matches_pipenv_requirements() {
    let dir = fixtures().join("pipenv");
    let set = ok(read_pipfile_lock(
        &dir.join("Pipfile.lock"),
        &Limits::default(),
    ));
    let listing = read_to_string(&dir.join("pipenv-requirements.txt"));
    let mut listed = BTreeSet::new();
    let mut markers = BTreeMap::new();
    for line in listing
        .lines()
        .filter(|l| !l.starts_with('-') && !l.is_empty())
    {
        let (spec, marker) = line.split_once(';').unwrap_or((line, ""));
        let (name, version) = spec.split_once("==").unwrap_or_default();
        let name = normalise(name.split('[').next().unwrap_or_default());
        markers.insert(name.clone(), marker.trim().to_string());
        listed.insert((name, version.trim().to_string()));
    }
    assert_eq!(resolved(&set), listed);
    for package in &set.packages {
        assert_eq!(
            package.marker.clone().unwrap_or_default(),
            markers[&package.name],
            "{}",
            package.name
        );
    }
    let index = listing.lines().find_map(|l| l.strip_prefix("-i "));
    assert_eq!(set.indexes.first().map(|i| i.url.as_str()), index);
    let requests = set.packages_named("requests").next();
    assert!(requests.is_some_and(|r| r.extras == ["socks"]));
    // pipenv writes `index` for the Pipfile's own entries, except (as of 2026.10) those with
    // extras or markers: those are the ones marked direct.
    let direct: BTreeSet<_> = set
        .packages
        .iter()
        .filter(|p| p.direct)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        direct,
        BTreeSet::from(["joblib", "numpy", "pytest", "pyyaml", "tqdm"])
    );
}

#[test]
fn venv_matches_pip_list() {
    let root = fixtures().join("venv");
    let set = ok(read_environment(&root, &Limits::default()));
    let listed: serde_json::Value = ok(serde_json::from_str(&read_to_string(
        &fixtures().join("venv-pip-list.json"),
    )));
    let listed: BTreeSet<_> = listed
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                normalise(p["name"].as_str().unwrap_or_default()),
                p["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(resolved(&set), listed);
    for package in &set.packages {
        assert_eq!(
            package.installer.as_deref(),
            Some("pip"),
            "{}",
            package.name
        );
        // Installed by name from an index: no direct_url.json.
        assert_eq!(package.source, Source::Registry { url: None });
        let metadata = read_to_string(&package.origin.file);
        let line = package.origin.line.unwrap_or_default() as usize;
        assert!(
            metadata
                .lines()
                .nth(line - 1)
                .is_some_and(|l| l.starts_with("Name:"))
        );
        if let Some(licence) = &package.licence {
            for value in licence
                .expression
                .iter()
                .chain(&licence.classifiers)
                .chain(&licence.files)
            {
                assert!(
                    metadata.contains(value.as_str()),
                    "{}: {value}",
                    package.name
                );
            }
        }
    }
    // The requested packages are the requirements file's, which pins everything.
    let requested = set.packages.iter().filter(|p| p.direct).count();
    assert!(requested > 5, "{requested} requested");
    let requests = set.packages_named("requests").next();
    assert!(
        requests.is_some_and(|r| r.dependencies.iter().any(|d| d == "urllib3")
            && !r.dependencies.iter().any(|d| d == "pysocks"))
    );
    assert!(set.packages.iter().any(|p| {
        p.licence
            .as_ref()
            .is_some_and(|l| !l.classifiers.is_empty() || l.expression.is_some())
    }));
}
