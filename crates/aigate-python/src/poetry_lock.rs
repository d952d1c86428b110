//! `poetry.lock`, lock-versions 1.0 and 1.1 (hashes in `[metadata.files]`) and 2.0 and 2.1
//! (hashes in each package's `files`).
//!
//! Each `[[package]]` gives its version, its source (`[package.source]`: a `legacy` index, `git`,
//! `url`, `file` or `directory`; none means the default index), its `groups` (2.1), its marker,
//! and the names in `[package.dependencies]`. The lock does not record which packages the project
//! asks for (its `pyproject.toml` does), so none is marked direct.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, ErrorKind, LineIndex, Origin, parse_toml};
use crate::limits::{Limits, read_input_text};
use crate::model::{DependencySet, Hash, Input, InputFormat, Package, Source};
use crate::pep::{normalize_name, parse_marker, parse_version};

/// The lock-versions this reader knows.
const SUPPORTED_VERSIONS: [&str; 4] = ["1.0", "1.1", "2.0", "2.1"];

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockFile {
    #[serde(default)]
    package: Vec<LockedPackage>,
    metadata: Spanned<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Metadata {
    #[serde(default)]
    lock_version: Option<Spanned<String>>,
    #[serde(default)]
    files: BTreeMap<String, Vec<File>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockedPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    markers: Option<Spanned<toml::Value>>,
    #[serde(default)]
    files: Vec<File>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    #[serde(default)]
    source: Option<PackageSource>,
    #[serde(default)]
    develop: bool,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PackageSource {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    resolved_reference: Option<String>,
    #[serde(default)]
    subdirectory: Option<String>,
}

/// Reads a `poetry.lock` file.
pub fn read_poetry_lock(path: &Path, limits: &Limits) -> Result<DependencySet, Error> {
    let text = read_input_text(path, limits)?;
    parse_poetry_lock(path, &text, limits)
}

/// Parses `poetry.lock` text as if read from `path`.
pub fn parse_poetry_lock(path: &Path, text: &str, limits: &Limits) -> Result<DependencySet, Error> {
    let index = LineIndex::new(text);
    let lock: LockFile = parse_toml(path, text, &index)?;
    let origin_of = |offset: usize| index.origin(path, text, offset);

    let metadata_span = lock.metadata.span();
    let metadata = lock.metadata.into_inner();
    // Poetry wrote no lock-version before 1.0 of the format; treat its absence as unknown.
    let (version, version_offset) = match &metadata.lock_version {
        Some(v) => (v.get_ref().clone(), v.span().start),
        None => (String::new(), metadata_span.start),
    };
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return Err(Error::new(
            origin_of(version_offset),
            ErrorKind::UnsupportedVersion {
                format: "poetry.lock",
                found: version,
                supported: "lock-version 1.0, 1.1, 2.0 and 2.1",
            },
        ));
    }
    if lock.package.len() > limits.max_packages {
        return Err(Error::new(
            Origin::file(path),
            ErrorKind::TooMany {
                what: "packages",
                limit: limits.max_packages,
            },
        ));
    }
    // 1.x: hashes keyed by package name (as written, compared normalised), shared by every
    // version of that name.
    let legacy_files: BTreeMap<String, &Vec<File>> = metadata
        .files
        .iter()
        .map(|(name, files)| (normalize_name(name), files))
        .collect();

    let mut set = DependencySet::default();
    set.inputs.push(Input {
        path: path.to_path_buf(),
        format: InputFormat::PoetryLock,
        format_version: Some(version),
    });
    for locked in &lock.package {
        let origin = origin_of(locked.name.span().start);
        let mut package = Package::new(locked.name.get_ref(), origin.clone());
        package.version = Some(parse_version(locked.version.get_ref()).map_err(|message| {
            Error::new(
                origin_of(locked.version.span().start),
                ErrorKind::InvalidVersion {
                    text: locked.version.get_ref().clone(),
                    message,
                },
            )
        })?);
        package.source = match &locked.source {
            Some(source) => source_of(source, locked.develop),
            None => Source::Registry { url: None },
        };
        package.groups.clone_from(&locked.groups);
        if let Some(markers) = &locked.markers {
            package.marker = marker_of(markers, &origin_of)?;
        }
        let files = legacy_files
            .get(&package.name)
            .map_or(locked.files.as_slice(), |files| files.as_slice());
        for file in files {
            let Some(text) = &file.hash else { continue };
            let hash = Hash::parse(text).ok_or_else(|| {
                Error::new(
                    origin.clone(),
                    ErrorKind::Syntax(format!("hash {text:?} is not ALGORITHM:HEX")),
                )
            })?;
            if !package.hashes.contains(&hash) {
                package.hashes.push(hash);
            }
        }
        package.dependencies = locked
            .dependencies
            .keys()
            .map(|n| normalize_name(n))
            .collect();
        package.dependencies.sort();
        package.dependencies.dedup();
        set.packages.push(package);
    }
    Ok(set)
}

/// `markers` is a string, or in 2.x locks a table of one marker per group.
fn marker_of(
    markers: &Spanned<toml::Value>,
    origin_of: &impl Fn(usize) -> Origin,
) -> Result<Option<String>, Error> {
    let text = match markers.get_ref() {
        toml::Value::String(marker) => marker.clone(),
        toml::Value::Table(per_group) => {
            let parts: Vec<String> = per_group
                .values()
                .filter_map(toml::Value::as_str)
                .map(|m| format!("({m})"))
                .collect();
            parts.join(" or ")
        }
        _ => String::new(),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_marker(&text).map_err(|message| {
        Error::new(
            origin_of(markers.span().start),
            ErrorKind::InvalidMarker {
                text: text.clone(),
                message,
            },
        )
    })?;
    Ok(Some(text))
}

fn source_of(source: &PackageSource, develop: bool) -> Source {
    match source.kind.as_str() {
        "legacy" => Source::Registry {
            url: Some(source.url.clone()),
        },
        "git" => Source::Vcs {
            vcs: "git".to_string(),
            url: source.url.clone(),
            requested_revision: source.reference.clone(),
            commit: source.resolved_reference.clone(),
        },
        "url" => Source::Url {
            url: source.url.clone(),
            subdirectory: source.subdirectory.clone(),
        },
        "file" => Source::Path {
            path: source.url.clone(),
        },
        "directory" if develop => Source::Editable {
            location: source.url.clone(),
        },
        "directory" => Source::Directory {
            path: source.url.clone(),
        },
        _ => Source::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DependencySet, Error> {
        parse_poetry_lock(Path::new("poetry.lock"), text, &Limits::default())
    }

    #[test]
    fn version_two_files_sources_and_groups() {
        let set = parse(
            r#"[[package]]
name = "torch"
version = "2.5.1+cpu"
description = ""
optional = false
python-versions = ">=3.9"
groups = ["main"]
markers = "sys_platform == 'linux'"
files = [
    {file = "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl", hash = "sha256:AA"},
]

[package.dependencies]
Jinja2 = "*"
typing-extensions = {version = ">=4.8.0", markers = "python_version < '3.13'"}

[package.source]
type = "legacy"
url = "https://download.pytorch.org/whl/cpu"
reference = "pytorch"

[[package]]
name = "mylib"
version = "0.1.0"
description = ""
optional = false
python-versions = "*"
groups = ["dev"]
develop = true
files = []

[package.source]
type = "directory"
url = "../mylib"

[metadata]
lock-version = "2.1"
python-versions = ">=3.11"
content-hash = "00"
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let torch = &set.packages[0];
        assert_eq!(
            torch.version.as_ref().map(ToString::to_string),
            Some("2.5.1+cpu".into())
        );
        assert_eq!(torch.hashes.len(), 1);
        assert_eq!(torch.groups, ["main"]);
        assert_eq!(torch.dependencies, ["jinja2", "typing-extensions"]);
        assert_eq!(torch.marker.as_deref(), Some("sys_platform == 'linux'"));
        assert_eq!(
            torch.source,
            Source::Registry {
                url: Some("https://download.pytorch.org/whl/cpu".into())
            }
        );
        assert_eq!(
            set.packages[1].source,
            Source::Editable {
                location: "../mylib".into()
            }
        );
    }

    #[test]
    fn version_one_hashes_come_from_metadata_files() {
        let set = parse(
            r#"[[package]]
name = "Six"
version = "1.16.0"
description = ""
category = "main"
optional = false
python-versions = "*"

[metadata]
lock-version = "1.1"
python-versions = "^3.8"
content-hash = "00"

[metadata.files]
six = [
    {file = "six-1.16.0.tar.gz", hash = "sha256:11"},
    {file = "six-1.16.0-py2.py3-none-any.whl", hash = "sha256:22"},
]
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let hashes: Vec<_> = set.packages[0]
            .hashes
            .iter()
            .map(|h| h.hex.clone())
            .collect();
        assert_eq!(hashes, ["11", "22"]);
    }

    #[test]
    fn unknown_lock_versions_are_errors() {
        let e = parse("[metadata]\nlock-version = \"3.0\"\n").err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::UnsupportedVersion { .. }, Some(2)))
            ),
            "{e:?}"
        );
        assert!(parse("[[package]]\nname = \"a\"\n").is_err());
    }
}
