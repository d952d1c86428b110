//! `pylock.toml` and `pylock.*.toml` (PEP 751, `lock-version = "1.x"`).
//!
//! Each `[[packages]]` entry gives its version, marker, source (`vcs`, `directory`, `archive`, or
//! the `index` its `sdist`/`wheels` come from) and the hashes of every artifact. The format does
//! not say which packages the project asks for, so none is marked direct.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, ErrorKind, LineIndex, Origin, parse_toml};
use crate::limits::{Limits, read_input_text};
use crate::model::{DependencySet, Hash, Input, InputFormat, Package, Source};
use crate::pep::{normalize_name, parse_marker, parse_version};

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockFile {
    lock_version: Spanned<String>,
    #[serde(default)]
    packages: Vec<LockedPackage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockedPackage {
    name: Spanned<String>,
    #[serde(default)]
    version: Option<Spanned<String>>,
    #[serde(default)]
    marker: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: Vec<DependencyRef>,
    #[serde(default)]
    index: Option<String>,
    #[serde(default)]
    vcs: Option<Vcs>,
    #[serde(default)]
    directory: Option<Directory>,
    #[serde(default)]
    archive: Option<Artifact>,
    #[serde(default)]
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

#[derive(Deserialize)]
struct DependencyRef {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Vcs {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    requested_revision: Option<String>,
    #[serde(default)]
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct Directory {
    path: String,
    #[serde(default)]
    editable: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Artifact {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    subdirectory: Option<String>,
    #[serde(default)]
    hashes: Option<Spanned<BTreeMap<String, String>>>,
}

/// Reads a `pylock.toml` file.
pub fn read_pylock(path: &Path, limits: &Limits) -> Result<DependencySet, Error> {
    let text = read_input_text(path, limits)?;
    parse_pylock(path, &text, limits)
}

/// Parses `pylock.toml` text as if read from `path`.
pub fn parse_pylock(path: &Path, text: &str, limits: &Limits) -> Result<DependencySet, Error> {
    let index = LineIndex::new(text);
    let lock: LockFile = parse_toml(path, text, &index)?;
    let origin_of = |offset: usize| index.origin(path, text, offset);

    let version = lock.lock_version.get_ref();
    // PEP 751: a tool must refuse a major version it does not know; a newer minor only warrants a
    // warning, so any 1.x is read.
    let known_major = version
        .split_once('.')
        .is_some_and(|(major, minor)| major == "1" && minor.bytes().all(|b| b.is_ascii_digit()));
    if !known_major {
        return Err(Error::new(
            origin_of(lock.lock_version.span().start),
            ErrorKind::UnsupportedVersion {
                format: "pylock.toml",
                found: version.clone(),
                supported: "lock-version 1.x",
            },
        ));
    }
    if lock.packages.len() > limits.max_packages {
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
        format: InputFormat::Pylock,
        format_version: Some(version.clone()),
    });
    for locked in lock.packages {
        let origin = origin_of(locked.name.span().start);
        let mut package = Package::new(locked.name.get_ref(), origin.clone());
        if let Some(version) = &locked.version {
            package.version = Some(parse_version(version.get_ref()).map_err(|message| {
                Error::new(
                    origin_of(version.span().start),
                    ErrorKind::InvalidVersion {
                        text: version.get_ref().clone(),
                        message,
                    },
                )
            })?);
        }
        if let Some(marker) = &locked.marker {
            parse_marker(marker.get_ref()).map_err(|message| {
                Error::new(
                    origin_of(marker.span().start),
                    ErrorKind::InvalidMarker {
                        text: marker.get_ref().clone(),
                        message,
                    },
                )
            })?;
            package.marker = Some(marker.get_ref().clone());
        }
        package.source = if let Some(vcs) = &locked.vcs {
            Source::Vcs {
                vcs: vcs.kind.clone(),
                url: vcs
                    .url
                    .clone()
                    .or_else(|| vcs.path.clone())
                    .unwrap_or_default(),
                requested_revision: vcs.requested_revision.clone(),
                commit: vcs.commit_id.clone(),
            }
        } else if let Some(directory) = &locked.directory {
            if directory.editable {
                Source::Editable {
                    location: directory.path.clone(),
                }
            } else {
                Source::Directory {
                    path: directory.path.clone(),
                }
            }
        } else if let Some(archive) = &locked.archive {
            match (&archive.url, &archive.path) {
                (Some(url), _) => Source::Url {
                    url: url.clone(),
                    subdirectory: archive.subdirectory.clone(),
                },
                (None, Some(path)) => Source::Path { path: path.clone() },
                (None, None) => Source::Unknown,
            }
        } else {
            Source::Registry {
                url: locked.index.clone(),
            }
        };
        for artifact in locked
            .archive
            .iter()
            .chain(locked.sdist.iter())
            .chain(&locked.wheels)
        {
            let Some(hashes) = &artifact.hashes else {
                continue;
            };
            for (algorithm, hex) in hashes.get_ref() {
                let hash = Hash::from_hex(algorithm, hex).ok_or_else(|| {
                    Error::new(
                        origin_of(hashes.span().start),
                        ErrorKind::Syntax(format!("{algorithm} hash {hex:?} is not hexadecimal")),
                    )
                })?;
                if !package.hashes.contains(&hash) {
                    package.hashes.push(hash);
                }
            }
        }
        let mut dependencies: Vec<String> = locked
            .dependencies
            .iter()
            .filter_map(|d| d.name.as_deref())
            .map(normalize_name)
            .collect();
        dependencies.sort();
        dependencies.dedup();
        package.dependencies = dependencies;
        set.packages.push(package);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DependencySet, Error> {
        parse_pylock(Path::new("pylock.toml"), text, &Limits::default())
    }

    #[test]
    fn sources_hashes_and_markers() {
        let set = parse(
            r#"lock-version = "1.0"
created-by = "test"

[[packages]]
name = "attrs"
version = "25.1.0"
index = "https://pypi.org/simple"
marker = "python_version >= '3.8'"
wheels = [{ url = "https://files/attrs.whl", hashes = { sha256 = "AB" } }]
sdist = { url = "https://files/attrs.tar.gz", hashes = { sha256 = "cd", sha512 = "ef" } }

[[packages]]
name = "tool"
vcs = { type = "git", url = "https://github.com/o/tool", requested-revision = "main", commit-id = "0a1b" }

[[packages]]
name = "local"
directory = { path = "./local", editable = true }

[[packages]]
name = "direct"
version = "1.0"
archive = { url = "https://example.com/direct-1.0.tar.gz", hashes = { sha256 = "00" } }
dependencies = [{ name = "Attrs" }]
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let attrs = &set.packages[0];
        assert_eq!(attrs.origin.line, Some(5));
        assert_eq!(attrs.marker.as_deref(), Some("python_version >= '3.8'"));
        let hashes: Vec<_> = attrs.hashes.iter().map(ToString::to_string).collect();
        assert_eq!(hashes, ["sha256:cd", "sha512:ef", "sha256:ab"]);
        assert_eq!(
            attrs.source,
            Source::Registry {
                url: Some("https://pypi.org/simple".into())
            }
        );
        assert!(
            matches!(&set.packages[1].source, Source::Vcs { commit: Some(c), .. } if c == "0a1b")
        );
        assert_eq!(
            set.packages[2].source,
            Source::Editable {
                location: "./local".into()
            }
        );
        assert!(matches!(&set.packages[3].source, Source::Url { .. }));
        assert_eq!(set.packages[3].dependencies, ["attrs"]);
        assert_eq!(set.packages[3].hashes.len(), 1);
    }

    #[test]
    fn unknown_major_versions_and_bad_markers_are_errors() {
        let e = parse("lock-version = \"2.0\"\n").err();
        assert!(matches!(
            e.map(|e| e.kind),
            Some(ErrorKind::UnsupportedVersion { .. })
        ));
        assert!(parse("lock-version = \"1.3\"\n").is_ok());
        let e = parse(
            "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nmarker = \"os_name >< 'x'\"\n",
        )
        .err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::InvalidMarker { .. }, Some(4)))
            ),
            "{e:?}"
        );
    }
}
