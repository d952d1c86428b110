//! Installed environments: a virtual environment's root or a `site-packages` folder, and the
//! `*.dist-info` folders in it (PyPA binary distribution format; core metadata; PEP 610
//! `direct_url.json`; PEP 639 licence fields).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Origin, json_error};
use crate::limits::{Limits, read_bounded};
use crate::model::{DependencySet, Hash, Input, InputFormat, Licence, Package, Source};
use crate::pep::{normalize_name, parse_marker, parse_version};
use crate::requirement::parse_pep508;

/// Where an environment's distributions live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentLayout {
    /// The environment's root (the folder with `pyvenv.cfg`), when the path given was one or is
    /// inside one. RECORD entries may point anywhere under it (`bin/` scripts), never outside.
    pub root: Option<PathBuf>,
    /// The `site-packages` folders: `lib/python3.*/site-packages` (and `lib64`, when it is not
    /// the same folder) or Windows' `Lib/site-packages`; or the folder given, when it holds
    /// `*.dist-info` itself.
    pub site_packages: Vec<PathBuf>,
}

/// Finds the `site-packages` folders of a venv root, or takes `path` as one.
pub fn find_site_packages(path: &Path) -> Result<EnvironmentLayout, Error> {
    let mut site_packages = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(entries) = fs::read_dir(path.join(lib)) else {
            continue;
        };
        let mut pythons: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
            .map(|e| e.path().join("site-packages"))
            .filter(|p| p.is_dir())
            .collect();
        pythons.sort();
        for candidate in pythons {
            // lib64 is usually a link to lib: keep each folder once.
            let canonical = fs::canonicalize(&candidate).unwrap_or_else(|_| candidate.clone());
            let seen = site_packages.iter().any(|known: &PathBuf| {
                fs::canonicalize(known).unwrap_or_else(|_| known.clone()) == canonical
            });
            if !seen {
                site_packages.push(candidate);
            }
        }
    }
    let windows = path.join("Lib").join("site-packages");
    if windows.is_dir() && !site_packages.contains(&windows) {
        site_packages.push(windows);
    }
    if !site_packages.is_empty() {
        return Ok(EnvironmentLayout {
            root: Some(path.to_path_buf()),
            site_packages,
        });
    }
    if !path.is_dir() {
        return Err(Error::new(
            Origin::file(path),
            ErrorKind::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a folder",
            )),
        ));
    }
    // A site-packages folder given directly: its environment root is two (Windows: `Lib`) or
    // three (`lib/python3.X`) levels up, if a pyvenv.cfg says so.
    let root = path
        .ancestors()
        .skip(1)
        .take(3)
        .find(|a| a.join("pyvenv.cfg").is_file())
        .map(Path::to_path_buf);
    Ok(EnvironmentLayout {
        root,
        site_packages: vec![path.to_path_buf()],
    })
}

/// The `*.dist-info` folders of a `site-packages` folder, sorted by name.
pub fn dist_info_folders(site_packages: &Path, limits: &Limits) -> Result<Vec<PathBuf>, Error> {
    let entries = fs::read_dir(site_packages).map_err(|e| Error::io(site_packages, e))?;
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(site_packages, e))?;
        let is_dist_info = entry.file_name().to_string_lossy().ends_with(".dist-info");
        if is_dist_info && entry.file_type().is_ok_and(|t| t.is_dir()) {
            if folders.len() >= limits.max_distributions {
                return Err(Error::new(
                    Origin::file(site_packages),
                    ErrorKind::TooMany {
                        what: "*.dist-info folders",
                        limit: limits.max_distributions,
                    },
                ));
            }
            folders.push(entry.path());
        }
    }
    folders.sort();
    Ok(folders)
}

/// Reads every distribution installed in an environment (a venv root or a `site-packages`
/// folder): name, version, licence fields, `Requires-Dist` names (those that apply without
/// extras), `INSTALLER`, `REQUESTED` (direct) and `direct_url.json` (source and archive hash).
pub fn read_environment(path: &Path, limits: &Limits) -> Result<DependencySet, Error> {
    let layout = find_site_packages(path)?;
    let mut set = DependencySet::default();
    for site_packages in &layout.site_packages {
        set.inputs.push(Input {
            path: site_packages.clone(),
            format: InputFormat::Environment,
            format_version: None,
        });
        for dist_info in dist_info_folders(site_packages, limits)? {
            set.packages.push(read_distribution(&dist_info, limits)?);
        }
    }
    Ok(set)
}

/// Reads one `*.dist-info` folder.
pub fn read_distribution(dist_info: &Path, limits: &Limits) -> Result<Package, Error> {
    let metadata_path = dist_info.join("METADATA");
    let file = fs::File::open(&metadata_path).map_err(|e| Error::io(&metadata_path, e))?;
    let mut package = metadata_package(&metadata_path, BufReader::new(file), limits)?;
    package.installer = read_small_text(&dist_info.join("INSTALLER"))?
        .and_then(|text| text.lines().next().map(|l| l.trim().to_string()))
        .filter(|l| !l.is_empty());
    package.direct = dist_info.join("REQUESTED").is_file();
    let direct_url = dist_info.join("direct_url.json");
    let (source, hashes) = match read_bounded(&direct_url, limits.max_metadata_size) {
        Ok(bytes) => parse_direct_url(&direct_url, &bytes)?,
        Err(Error {
            kind: ErrorKind::Io(e),
            ..
        }) if e.kind() == std::io::ErrorKind::NotFound => {
            (Source::Registry { url: None }, Vec::new())
        }
        Err(e) => return Err(e),
    };
    package.source = source;
    package.hashes = hashes;
    Ok(package)
}

/// Parses a METADATA (or PKG-INFO) file's bytes as if read from `path`: name, version, licence
/// fields and the `Requires-Dist` names that apply without extras. Only the header section is
/// read, at most [`Limits::max_metadata_size`] bytes of it.
pub fn parse_metadata(path: &Path, bytes: &[u8], limits: &Limits) -> Result<Package, Error> {
    metadata_package(path, bytes, limits)
}

fn metadata_package(
    metadata_path: &Path,
    reader: impl BufRead,
    limits: &Limits,
) -> Result<Package, Error> {
    let headers = read_metadata_headers(metadata_path, reader, limits)?;
    let field = |name: &str| headers.iter().find(|h| h.name.eq_ignore_ascii_case(name));
    let fields = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    };
    let name = field("Name").ok_or_else(|| {
        Error::new(
            Origin::file(metadata_path),
            ErrorKind::Syntax("METADATA has no Name field".to_string()),
        )
    })?;
    let mut package = Package::new(&name.value, Origin::line(metadata_path, name.line));
    if let Some(version) = field("Version") {
        package.version = Some(parse_version(&version.value).map_err(|message| {
            Error::new(
                Origin::line(metadata_path, version.line),
                ErrorKind::InvalidVersion {
                    text: version.value.clone(),
                    message,
                },
            )
        })?);
    }
    let licence = Licence {
        expression: field("License-Expression").map(|h| h.value.clone()),
        text: field("License").map(|h| h.value.clone()),
        files: fields("License-File").map(|h| h.value.clone()).collect(),
        classifiers: fields("Classifier")
            .filter(|h| h.value.starts_with("License ::"))
            .map(|h| h.value.clone())
            .collect(),
    };
    if licence != Licence::default() {
        package.licence = Some(licence);
    }
    let mut dependencies = Vec::new();
    for requirement in fields("Requires-Dist") {
        let origin = Origin::line(metadata_path, requirement.line);
        let parsed = parse_pep508(&requirement.value).map_err(|message| {
            Error::new(
                origin.clone(),
                ErrorKind::InvalidRequirement {
                    text: requirement.value.clone(),
                    message,
                },
            )
        })?;
        let applies_without_extras = match &parsed.marker {
            None => true,
            Some(marker) => parse_marker(marker)
                .map_err(|message| {
                    Error::new(
                        origin.clone(),
                        ErrorKind::InvalidMarker {
                            text: marker.clone(),
                            message,
                        },
                    )
                })?
                .evaluate_extras(&[]),
        };
        if applies_without_extras {
            dependencies.push(normalize_name(&parsed.name));
        }
    }
    dependencies.sort();
    dependencies.dedup();
    package.dependencies = dependencies;
    Ok(package)
}

/// One `Key: value` header of a METADATA file, with folded continuation lines joined.
struct Header {
    name: String,
    value: String,
    line: u32,
}

/// The header section of a METADATA file (up to the first blank line; the description after it
/// is not read), bounded by [`Limits::max_metadata_size`].
fn read_metadata_headers(
    path: &Path,
    reader: impl BufRead,
    limits: &Limits,
) -> Result<Vec<Header>, Error> {
    let mut reader = reader.take(limits.max_metadata_size);
    let mut headers: Vec<Header> = Vec::new();
    let mut bytes_read: u64 = 0;
    let mut line_bytes = Vec::new();
    let mut number = 0u32;
    loop {
        line_bytes.clear();
        let n = reader
            .read_until(b'\n', &mut line_bytes)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            if bytes_read >= limits.max_metadata_size {
                return Err(Error::new(
                    Origin::file(path),
                    ErrorKind::TooLarge {
                        size: bytes_read,
                        limit: limits.max_metadata_size,
                    },
                ));
            }
            break;
        }
        bytes_read += n as u64;
        number = number.saturating_add(1);
        let line = String::from_utf8_lossy(&line_bytes);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // A folded continuation of the previous header (RFC 822).
            if let Some(last) = headers.last_mut() {
                last.value.push('\n');
                last.value.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Error::new(
                Origin::line(path, number),
                ErrorKind::Syntax(format!("METADATA line {line:?} is not `Name: value`")),
            ));
        };
        headers.push(Header {
            name: name.trim().to_string(),
            value: value.trim().to_string(),
            line: number,
        });
    }
    Ok(headers)
}

/// A small text file (INSTALLER), if present.
fn read_small_text(path: &Path) -> Result<Option<String>, Error> {
    match read_bounded(path, 4096) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(Error {
            kind: ErrorKind::Io(e),
            ..
        }) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct DirectUrl {
    url: String,
    #[serde(default)]
    subdirectory: Option<String>,
    #[serde(default)]
    vcs_info: Option<VcsInfo>,
    #[serde(default)]
    archive_info: Option<ArchiveInfo>,
    #[serde(default)]
    dir_info: Option<DirInfo>,
}

#[derive(Deserialize)]
struct VcsInfo {
    vcs: String,
    #[serde(default)]
    requested_revision: Option<String>,
    #[serde(default)]
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct ArchiveInfo {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct DirInfo {
    #[serde(default)]
    editable: bool,
}

/// Parses PEP 610 `direct_url.json` bytes as if read from `path`: where a distribution installed
/// from a URL came from, and the archive's hashes. (Without the file, the distribution came
/// from an index or find-links, by name.)
pub fn parse_direct_url(path: &Path, bytes: &[u8]) -> Result<(Source, Vec<Hash>), Error> {
    let direct: DirectUrl = serde_json::from_slice(bytes).map_err(|e| json_error(path, &e))?;
    let mut hashes = Vec::new();
    let source = if let Some(vcs) = direct.vcs_info {
        Source::Vcs {
            vcs: vcs.vcs,
            url: direct.url,
            requested_revision: vcs.requested_revision,
            commit: vcs.commit_id,
        }
    } else if let Some(dir) = direct.dir_info {
        if dir.editable {
            Source::Editable {
                location: direct.url,
            }
        } else {
            Source::Directory { path: direct.url }
        }
    } else {
        if let Some(archive) = direct.archive_info {
            for (algorithm, hex) in &archive.hashes {
                hashes.extend(Hash::from_hex(algorithm, hex));
            }
            // The older single `hash` field is `algorithm=hex`.
            if let Some(hash) = archive.hash.as_deref().and_then(Hash::parse)
                && !hashes.contains(&hash)
            {
                hashes.push(hash);
            }
        }
        if direct.url.to_ascii_lowercase().starts_with("file:") {
            Source::Path { path: direct.url }
        } else {
            Source::Url {
                url: direct.url,
                subdirectory: direct.subdirectory,
            }
        }
    };
    Ok((source, hashes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = "Metadata-Version: 2.4\nName: Foo_Bar\nVersion: 1.2.0\nLicense-Expression: MIT OR Apache-2.0\nLicense: Some text\n        continued here\nLicense-File: LICENSE\nClassifier: Programming Language :: Python\nClassifier: License :: OSI Approved :: MIT License\nRequires-Dist: idna>=2\nRequires-Dist: PySocks!=1.5.7; extra == \"socks\"\nRequires-Dist: colorama; sys_platform == \"win32\"\n\nName: Not-A-Header\n";

    #[test]
    fn metadata_headers_give_name_version_licence_and_dependencies() {
        let package = parse_metadata(
            Path::new("METADATA"),
            METADATA.as_bytes(),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(package.name, "foo-bar");
        assert_eq!(package.origin.line, Some(2));
        assert_eq!(
            package.version.as_ref().map(ToString::to_string),
            Some("1.2.0".into())
        );
        let licence = package.licence.unwrap_or_default();
        assert_eq!(licence.expression.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(licence.text.as_deref(), Some("Some text\ncontinued here"));
        assert_eq!(licence.files, ["LICENSE"]);
        assert_eq!(
            licence.classifiers,
            ["License :: OSI Approved :: MIT License"]
        );
        // PySocks applies only with the `socks` extra.
        assert_eq!(package.dependencies, ["colorama", "idna"]);
    }

    #[test]
    fn bad_metadata_is_an_error_naming_the_line() {
        let limits = Limits::default();
        let e = parse_metadata(Path::new("M"), b"Name: a\nVersion: one\n", &limits).err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::InvalidVersion { .. }, Some(2)))
            ),
            "{e:?}"
        );
        assert!(parse_metadata(Path::new("M"), b"Version: 1\n", &limits).is_err());
        assert!(parse_metadata(Path::new("M"), b"Name: a\nno colon\n", &limits).is_err());
        let small = Limits {
            max_metadata_size: 8,
            ..Limits::default()
        };
        let e = parse_metadata(Path::new("M"), b"Name: abcdefgh\n", &small).err();
        assert!(matches!(
            e.map(|e| e.kind),
            Some(ErrorKind::TooLarge { .. })
        ));
    }

    #[test]
    fn direct_url_gives_the_source_and_archive_hashes() {
        let parse = |json: &str| {
            parse_direct_url(Path::new("direct_url.json"), json.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let (source, hashes) = parse(
            r#"{"url": "https://example.com/a-1.0.tar.gz", "archive_info": {"hash": "sha256=00ff", "hashes": {"sha256": "00ff"}}}"#,
        );
        assert!(matches!(source, Source::Url { .. }));
        assert_eq!(hashes.len(), 1);
        let (source, _) = parse(
            r#"{"url": "https://github.com/o/r", "vcs_info": {"vcs": "git", "commit_id": "abc", "requested_revision": "main"}}"#,
        );
        assert_eq!(
            source,
            Source::Vcs {
                vcs: "git".into(),
                url: "https://github.com/o/r".into(),
                requested_revision: Some("main".into()),
                commit: Some("abc".into())
            }
        );
        let (source, _) = parse(r#"{"url": "file:///src/app", "dir_info": {"editable": true}}"#);
        assert!(matches!(source, Source::Editable { .. }));
        assert!(parse_direct_url(Path::new("d"), b"{\"url\": 1}").is_err());
    }
}
