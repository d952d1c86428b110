//! `Pipfile.lock` (pipenv's JSON lock, `pipfile-spec` 6).
//!
//! `_meta.sources` become indexes (the first primary, the others used only by packages that name
//! them with `index`); every entry of `default` and `develop` becomes a package with its version
//! (`==X`), hashes, markers, extras and source (`index`, `git` + `ref`, `path`, `file`,
//! `editable`). Entries with an `index` key are the ones the Pipfile names itself, so they are
//! marked direct. JSON has no spans, so a small scan over the text finds each entry's line.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, ErrorKind, LineIndex, Origin, json_error};
use crate::limits::{Limits, read_input_text};
use crate::model::{DependencySet, Hash, IndexKind, IndexRef, Input, InputFormat, Package, Source};
use crate::pep::{parse_marker, parse_specifiers, parse_version, pinned_version};

#[derive(Deserialize)]
struct LockFile {
    #[serde(rename = "_meta")]
    meta: Meta,
    #[serde(default)]
    default: BTreeMap<String, Entry>,
    #[serde(default)]
    develop: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "pipfile-spec", default)]
    pipfile_spec: Option<serde_json::Value>,
    #[serde(default)]
    sources: Vec<LockSource>,
}

#[derive(Deserialize)]
struct LockSource {
    #[serde(default)]
    name: Option<String>,
    url: String,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    #[serde(default)]
    markers: Option<String>,
    #[serde(default)]
    extras: Vec<String>,
    #[serde(default)]
    index: Option<String>,
    #[serde(default)]
    git: Option<String>,
    #[serde(rename = "ref", default)]
    reference: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    editable: bool,
    #[serde(default)]
    subdirectory: Option<String>,
}

/// Reads a `Pipfile.lock` file.
pub fn read_pipfile_lock(path: &Path, limits: &Limits) -> Result<DependencySet, Error> {
    let text = read_input_text(path, limits)?;
    parse_pipfile_lock(path, &text, limits)
}

/// Parses `Pipfile.lock` text as if read from `path`.
pub fn parse_pipfile_lock(
    path: &Path,
    text: &str,
    limits: &Limits,
) -> Result<DependencySet, Error> {
    let lock: LockFile = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let index = LineIndex::new(text);
    let offsets = section_key_offsets(text);
    let origin_of = |section: &str, name: &str| {
        offsets
            .get(&(section.to_string(), name.to_string()))
            .map_or_else(|| Origin::file(path), |&at| index.origin(path, text, at))
    };
    let meta_origin = origin_of("", "_meta");

    let spec = match &lock.meta.pipfile_spec {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if spec != "6" {
        return Err(Error::new(
            meta_origin,
            ErrorKind::UnsupportedVersion {
                format: "Pipfile.lock",
                found: spec,
                supported: "pipfile-spec 6",
            },
        ));
    }
    if lock.default.len() + lock.develop.len() > limits.max_packages {
        return Err(Error::new(
            Origin::file(path),
            ErrorKind::TooMany {
                what: "packages",
                limit: limits.max_packages,
            },
        ));
    }

    let mut set = DependencySet::default();
    set.inputs.push(Input {
        path: path.to_path_buf(),
        format: InputFormat::PipfileLock,
        format_version: Some(spec),
    });
    let mut source_urls: HashMap<String, String> = HashMap::new();
    for (i, source) in lock.meta.sources.iter().enumerate() {
        if let Some(name) = &source.name {
            source_urls.insert(name.clone(), source.url.clone());
        }
        set.indexes.push(IndexRef {
            url: source.url.clone(),
            kind: if i == 0 {
                IndexKind::Primary
            } else {
                IndexKind::Explicit
            },
            name: source.name.clone(),
            origin: meta_origin.clone(),
        });
    }

    for (section, entries) in [("default", &lock.default), ("develop", &lock.develop)] {
        for (name, entry) in entries {
            let origin = origin_of(section, name);
            let package = package_of(name, entry, section, origin, &source_urls)?;
            set.packages.push(package);
        }
    }
    Ok(set)
}

fn package_of(
    name: &str,
    entry: &Entry,
    section: &str,
    origin: Origin,
    source_urls: &HashMap<String, String>,
) -> Result<Package, Error> {
    let mut package = Package::new(name, origin.clone());
    package.groups.push(section.to_string());
    package.extras = entry
        .extras
        .iter()
        .map(|e| crate::pep::normalize_name(e))
        .collect();
    package.direct = entry.index.is_some();
    if let Some(version) = &entry.version {
        let invalid = |message: String| {
            Error::new(
                origin.clone(),
                ErrorKind::InvalidSpecifier {
                    text: version.clone(),
                    message,
                },
            )
        };
        if let Some(exact) = version.strip_prefix("==") {
            package.version = Some(parse_version(exact).map_err(|message| {
                Error::new(
                    origin.clone(),
                    ErrorKind::InvalidVersion {
                        text: exact.to_string(),
                        message,
                    },
                )
            })?);
        } else if version != "*" {
            let specifier = parse_specifiers(version).map_err(invalid)?;
            package.version = pinned_version(&specifier).cloned();
            package.specifier = Some(specifier);
        }
    }
    for text in &entry.hashes {
        let hash = Hash::parse(text).ok_or_else(|| {
            Error::new(
                origin.clone(),
                ErrorKind::Syntax(format!("hash {text:?} is not ALGORITHM:HEX")),
            )
        })?;
        package.hashes.push(hash);
    }
    if let Some(marker) = entry.markers.as_deref().filter(|m| !m.trim().is_empty()) {
        parse_marker(marker).map_err(|message| {
            Error::new(
                origin.clone(),
                ErrorKind::InvalidMarker {
                    text: marker.to_string(),
                    message,
                },
            )
        })?;
        package.marker = Some(marker.to_string());
    }
    package.source = if let Some(git) = &entry.git {
        Source::Vcs {
            vcs: "git".to_string(),
            url: git.clone(),
            requested_revision: None,
            commit: entry.reference.clone(),
        }
    } else if let Some(location) = entry.path.as_ref().or(entry.file.as_ref()) {
        if entry.editable {
            Source::Editable {
                location: location.clone(),
            }
        } else if entry.file.is_some() && crate::requirement::is_url(location) {
            Source::Url {
                url: location.clone(),
                subdirectory: entry.subdirectory.clone(),
            }
        } else if crate::requirement::is_archive(location) {
            Source::Path {
                path: location.clone(),
            }
        } else {
            Source::Directory {
                path: location.clone(),
            }
        }
    } else {
        Source::Registry {
            url: entry
                .index
                .as_ref()
                .and_then(|name| source_urls.get(name))
                .cloned(),
        }
    };
    Ok(package)
}

/// Byte offsets of the keys of the top-level objects' members: `("default", "requests")` →
/// where `"requests"` starts, and `("", "_meta")` for top-level keys. A linear scan that knows
/// strings, nesting and which strings are keys; the text already parsed as JSON.
fn section_key_offsets(text: &str) -> HashMap<(String, String), usize> {
    let mut offsets = HashMap::new();
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut section = String::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i;
                let mut end = i + 1;
                while let Some(&c) = bytes.get(end) {
                    match c {
                        b'\\' => end += 2,
                        b'"' => break,
                        _ => end += 1,
                    }
                }
                let raw = text.get(start + 1..end).unwrap_or_default();
                let mut next = end + 1;
                while bytes.get(next).is_some_and(u8::is_ascii_whitespace) {
                    next += 1;
                }
                if bytes.get(next) == Some(&b':') {
                    // Keys here are plain names: unescaping is not needed to match them.
                    let key = raw.to_string();
                    if depth == 1 {
                        offsets.insert((String::new(), key.clone()), start);
                        section = key;
                    } else if depth == 2 {
                        offsets.entry((section.clone(), key)).or_insert(start);
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
    "_meta": {
        "hash": {"sha256": "00"},
        "pipfile-spec": 6,
        "requires": {"python_version": "3.11"},
        "sources": [
            {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true},
            {"name": "torch", "url": "https://download.pytorch.org/whl/cpu", "verify_ssl": true}
        ]
    },
    "default": {
        "requests": {
            "extras": ["socks"],
            "hashes": ["sha256:AA", "sha256:bb"],
            "index": "pypi",
            "markers": "python_version >= '3.8'",
            "version": "==2.32.3"
        },
        "torch": {"index": "torch", "version": "==2.5.1+cpu"},
        "tool": {"git": "https://github.com/o/tool.git", "ref": "0123abcd"},
        "idna": {"version": "==3.7"}
    },
    "develop": {
        "mylib": {"editable": true, "path": "."}
    }
}"#;

    #[test]
    fn sections_sources_and_lines() {
        let set = parse_pipfile_lock(Path::new("Pipfile.lock"), LOCK, &Limits::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let requests = set.packages_named("requests").next();
        let requests = requests.unwrap_or_else(|| panic!("requests"));
        assert_eq!(requests.origin.line, Some(12));
        assert_eq!(requests.hashes.len(), 2);
        assert_eq!(requests.extras, ["socks"]);
        assert!(requests.direct);
        assert_eq!(requests.groups, ["default"]);
        let torch = set
            .packages_named("torch")
            .next()
            .unwrap_or_else(|| panic!("torch"));
        assert_eq!(
            torch.source,
            Source::Registry {
                url: Some("https://download.pytorch.org/whl/cpu".into())
            }
        );
        let idna = set
            .packages_named("idna")
            .next()
            .unwrap_or_else(|| panic!("idna"));
        assert!(!idna.direct);
        assert_eq!(idna.source, Source::Registry { url: None });
        let mylib = set
            .packages_named("mylib")
            .next()
            .unwrap_or_else(|| panic!("mylib"));
        assert_eq!(mylib.groups, ["develop"]);
        assert_eq!(mylib.origin.line, Some(24));
        assert!(matches!(mylib.source, Source::Editable { .. }));
        assert_eq!(set.indexes[1].kind, IndexKind::Explicit);
    }

    #[test]
    fn malformed_json_and_unknown_specs_are_errors() {
        let e = parse_pipfile_lock(
            Path::new("Pipfile.lock"),
            "{\n  \"_meta\": {,\n}",
            &Limits::default(),
        )
        .err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::Json(_), Some(2)))
            ),
            "{e:?}"
        );
        let e = parse_pipfile_lock(
            Path::new("Pipfile.lock"),
            "{\"_meta\": {\"pipfile-spec\": 7}}",
            &Limits::default(),
        )
        .err();
        assert!(matches!(
            e.map(|e| e.kind),
            Some(ErrorKind::UnsupportedVersion { .. })
        ));
    }
}
