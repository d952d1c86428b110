//! `uv.lock`: uv's universal lock file (lock `version = 1`, any `revision`).
//!
//! Every `[[package]]` becomes a [`Package`] with its version, its source (`registry`, `git`,
//! `url`, `path`, `directory`, `editable`, `virtual`), the hashes of its `sdist` and `wheels`, and
//! the names of its `dependencies`, `optional-dependencies` and `dev-dependencies`. The project's
//! own entries (workspace members: `editable`/`virtual`/`directory` sources named in
//! `[manifest] members`, or the lock's only such entry) mark what they depend on as direct.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, ErrorKind, LineIndex, Origin, parse_toml};
use crate::limits::{Limits, read_input_text};
use crate::model::{DependencySet, Hash, Input, InputFormat, Package, Source};
use crate::pep::{normalize_name, parse_version};

/// The lock `version`s this reader knows.
const SUPPORTED_VERSIONS: &str = "version 1";

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockFile {
    version: Spanned<toml::Value>,
    #[serde(default)]
    revision: Option<u32>,
    #[serde(default)]
    manifest: Option<Manifest>,
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize, Default)]
struct Manifest {
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockedPackage {
    name: Spanned<String>,
    #[serde(default)]
    version: Option<Spanned<String>>,
    #[serde(default)]
    source: Option<BTreeMap<String, toml::Value>>,
    #[serde(default)]
    dependencies: Vec<DependencyRef>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<DependencyRef>>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, Vec<DependencyRef>>,
    #[serde(default)]
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

#[derive(Deserialize)]
struct DependencyRef {
    name: String,
}

#[derive(Deserialize)]
struct Artifact {
    #[serde(default)]
    hash: Option<Spanned<String>>,
}

/// The `[[package]]` tables of one part of a lock split at its `[[package]]` headers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Packages {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

/// Below this size a lock is parsed on one thread: splitting would cost more than it saves.
const PARALLEL_PARSE_BYTES: usize = 256 << 10;
/// The size of the parts a large lock is parsed in.
const PART_BYTES: usize = 64 << 10;

fn shifted<T>(spanned: Spanned<T>, by: usize) -> Spanned<T> {
    let span = spanned.span();
    Spanned::new(span.start + by..span.end + by, spanned.into_inner())
}

impl LockedPackage {
    /// The same package with its spans moved `by` bytes on: from a part's offsets to the file's.
    fn shift(mut self, by: usize) -> LockedPackage {
        self.name = shifted(self.name, by);
        self.version = self.version.map(|v| shifted(v, by));
        for artifact in self.sdist.iter_mut().chain(&mut self.wheels) {
            artifact.hash = artifact.hash.take().map(|h| shifted(h, by));
        }
        self
    }
}

/// Parses a large lock in parts split at its `[[package]]` header lines, on up to one thread
/// per core; `None` when it is small, has no such lines, or any part does not parse (then the
/// whole file is parsed, for the error it has). The parts are what one parse of the whole would
/// read: the first part starts where TOML does, and a part that parses ends outside any
/// string, so the next one starts at a real table header; a part holding anything but
/// `[[package]]` tables (a top-level table after them) is refused and the whole file decides.
/// Parts are small ([`PART_BYTES`]) and taken in turn by the threads, so that each thread's
/// parse tree is freed and its memory reused part after part rather than grown for a whole
/// share of the file: most of a big parse's cost is otherwise the kernel handing out pages.
fn parse_in_parts(text: &str, threads: usize) -> Option<LockFile> {
    if threads < 2 || text.len() < PARALLEL_PARSE_BYTES {
        return None;
    }
    let threads = threads.min(8);
    let headers: Vec<usize> = text
        .match_indices("\n[[package]]\n")
        .map(|(at, _)| at + 1)
        .collect();
    let first = *headers.first()?;
    let mut cuts = vec![first];
    for &at in &headers {
        if at >= cuts.last().copied().unwrap_or(first) + PART_BYTES {
            cuts.push(at);
        }
    }
    cuts.push(text.len());
    let header: LockFile = toml::from_str(&text[..first]).ok()?;
    if !header.package.is_empty() {
        return None;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let cuts = &cuts;
    let parse_part = |i: usize| -> Option<Vec<LockedPackage>> {
        let (start, end) = (cuts[i], cuts[i + 1]);
        let part: Packages = toml::from_str(&text[start..end]).ok()?;
        Some(part.package.into_iter().map(|p| p.shift(start)).collect())
    };
    let mut parts: Vec<(usize, Option<Vec<LockedPackage>>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(cuts.len() - 1))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i + 1 >= cuts.len() {
                            return done;
                        }
                        done.push((i, parse_part(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|_| vec![(0, None)]))
            .collect()
    });
    parts.sort_by_key(|(i, _)| *i);
    if parts.len() + 1 != cuts.len() {
        return None;
    }
    let mut lock = header;
    for (_, part) in parts {
        lock.package.extend(part?);
    }
    Some(lock)
}

/// Reads a `uv.lock` file.
pub fn read_uv_lock(path: &Path, limits: &Limits) -> Result<DependencySet, Error> {
    let text = read_input_text(path, limits)?;
    parse_uv_lock(path, &text, limits)
}

/// Parses `uv.lock` text as if read from `path`.
pub fn parse_uv_lock(path: &Path, text: &str, limits: &Limits) -> Result<DependencySet, Error> {
    parse(path, text, limits, true)
}

fn parse(path: &Path, text: &str, limits: &Limits, in_parts: bool) -> Result<DependencySet, Error> {
    let index = LineIndex::new(text);
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let lock: LockFile = match in_parts.then(|| parse_in_parts(text, threads)).flatten() {
        Some(lock) => lock,
        None => parse_toml(path, text, &index)?,
    };
    let origin_of = |offset: usize| index.origin(path, text, offset);

    let version = match lock.version.get_ref() {
        toml::Value::Integer(v) => v.to_string(),
        other => other.to_string(),
    };
    if version != "1" {
        return Err(Error::new(
            origin_of(lock.version.span().start),
            ErrorKind::UnsupportedVersion {
                format: "uv.lock",
                found: version,
                supported: SUPPORTED_VERSIONS,
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

    let members: HashSet<String> = lock
        .manifest
        .unwrap_or_default()
        .members
        .iter()
        .map(|m| normalize_name(m))
        .collect();

    let mut set = DependencySet::default();
    set.inputs.push(Input {
        path: path.to_path_buf(),
        format: InputFormat::UvLock,
        format_version: Some(match lock.revision {
            Some(revision) => format!("{version} (revision {revision})"),
            None => version,
        }),
    });

    // Direct dependencies, with the extras and groups through which the project asks for them.
    let mut direct: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for locked in &lock.package {
        let name = normalize_name(locked.name.get_ref());
        let kind = locked.source.as_ref().and_then(source_kind);
        let is_root = if members.is_empty() {
            matches!(kind, Some(("virtual" | "editable" | "directory", ".")))
        } else {
            members.contains(&name)
        };
        if !is_root {
            continue;
        }
        for dependency in &locked.dependencies {
            direct.entry(normalize_name(&dependency.name)).or_default();
        }
        for (group, dependencies) in locked
            .optional_dependencies
            .iter()
            .chain(&locked.dev_dependencies)
        {
            for dependency in dependencies {
                let groups = direct.entry(normalize_name(&dependency.name)).or_default();
                if !groups.contains(group) {
                    groups.push(group.clone());
                }
            }
        }
    }

    for locked in lock.package {
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
        package.source = match &locked.source {
            Some(source) => source_of(source, &origin)?,
            None => Source::Unknown,
        };
        for artifact in locked.sdist.iter().chain(&locked.wheels) {
            if let Some(hash) = &artifact.hash {
                let parsed = Hash::parse(hash.get_ref()).ok_or_else(|| {
                    Error::new(
                        origin_of(hash.span().start),
                        ErrorKind::Syntax(format!(
                            "hash {:?} is not ALGORITHM:HEX",
                            hash.get_ref()
                        )),
                    )
                })?;
                if !package.hashes.contains(&parsed) {
                    package.hashes.push(parsed);
                }
            }
        }
        let mut dependencies: Vec<String> = locked
            .dependencies
            .iter()
            .chain(locked.optional_dependencies.values().flatten())
            .chain(locked.dev_dependencies.values().flatten())
            .map(|d| normalize_name(&d.name))
            .collect();
        dependencies.sort();
        dependencies.dedup();
        package.dependencies = dependencies;
        if let Some(groups) = direct.get(&package.name) {
            package.direct = true;
            package.groups.clone_from(groups);
        }
        set.packages.push(package);
    }
    Ok(set)
}

/// The kinds of `source` uv writes; the table's other keys (`subdirectory`) qualify them.
const SOURCE_KINDS: [&str; 7] = [
    "registry",
    "git",
    "url",
    "path",
    "directory",
    "editable",
    "virtual",
];

/// The kind of a `source = { … }` table and its value.
fn source_kind(source: &BTreeMap<String, toml::Value>) -> Option<(&'static str, &str)> {
    SOURCE_KINDS.iter().find_map(|kind| {
        source
            .get(*kind)
            .map(|value| (*kind, value.as_str().unwrap_or_default()))
    })
}

/// A `source = { … }` table.
fn source_of(source: &BTreeMap<String, toml::Value>, origin: &Origin) -> Result<Source, Error> {
    let (kind, value) = source_kind(source).ok_or_else(|| {
        Error::new(
            origin.clone(),
            ErrorKind::Syntax(format!("source has none of {}", SOURCE_KINDS.join(", "))),
        )
    })?;
    let value = value.to_string();
    Ok(match kind {
        "registry" => Source::Registry { url: Some(value) },
        "git" => git_source(&value),
        "url" => Source::Url {
            subdirectory: source
                .get("subdirectory")
                .and_then(toml::Value::as_str)
                .map(str::to_string),
            url: value,
        },
        "path" => Source::Path { path: value },
        "directory" => Source::Directory { path: value },
        "editable" => Source::Editable { location: value },
        _ => Source::Virtual { path: value },
    })
}

/// uv writes git sources as `https://host/repo?rev=main&subdirectory=x#<commit>`.
fn git_source(value: &str) -> Source {
    let (before_fragment, commit) = match value.split_once('#') {
        Some((url, commit)) => (url, Some(commit.to_string())),
        None => (value, None),
    };
    let (url, query) = match before_fragment.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (before_fragment, None),
    };
    let requested_revision = query.and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| matches!(*k, "rev" | "tag" | "branch"))
            .map(|(_, v)| v.to_string())
    });
    Source::Vcs {
        vcs: "git".to_string(),
        url: url.to_string(),
        requested_revision,
        commit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["app"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "Requests" }, { name = "tool" }]

[package.optional-dependencies]
fast = [{ name = "orjson" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }]
sdist = { url = "https://files/requests-2.32.3.tar.gz", hash = "sha256:AA", size = 1 }
wheels = [
    { url = "https://files/requests-2.32.3-py3-none-any.whl", hash = "sha256:bb", size = 2 },
]

[[package]]
name = "tool"
version = "1.0"
source = { git = "https://github.com/org/tool?rev=main#0123abcd" }

[[package]]
name = "orjson"
version = "3.0"
source = { url = "https://example.com/orjson-3.0.tar.gz" }

[[package]]
name = "idna"
version = "3.7"
source = { path = "wheels/idna-3.7-py3-none-any.whl" }
"#;

    fn parse(text: &str) -> Result<DependencySet, Error> {
        parse_uv_lock(Path::new("uv.lock"), text, &Limits::default())
    }

    #[test]
    fn packages_sources_hashes_and_graph() {
        let set = parse(LOCK).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            set.inputs[0].format_version.as_deref(),
            Some("1 (revision 3)")
        );
        let requests = set.packages_named("requests").next();
        let requests = requests.unwrap_or_else(|| panic!("requests"));
        assert_eq!(
            requests.source,
            Source::Registry {
                url: Some("https://pypi.org/simple".into())
            }
        );
        let hashes: Vec<_> = requests.hashes.iter().map(ToString::to_string).collect();
        assert_eq!(hashes, ["sha256:aa", "sha256:bb"]);
        assert_eq!(requests.dependencies, ["idna"]);
        assert_eq!(requests.origin.line, Some(21));
        assert!(requests.direct);

        let tool = set
            .packages_named("tool")
            .next()
            .unwrap_or_else(|| panic!("tool"));
        assert_eq!(
            tool.source,
            Source::Vcs {
                vcs: "git".into(),
                url: "https://github.com/org/tool".into(),
                requested_revision: Some("main".into()),
                commit: Some("0123abcd".into())
            }
        );
        let orjson = set
            .packages_named("orjson")
            .next()
            .unwrap_or_else(|| panic!("orjson"));
        assert_eq!(orjson.groups, ["fast"]);
        assert!(orjson.direct);
        let idna = set
            .packages_named("idna")
            .next()
            .unwrap_or_else(|| panic!("idna"));
        assert!(!idna.direct);
        assert!(matches!(idna.source, Source::Path { .. }));
        let edges: Vec<_> = set.edges().collect();
        assert!(edges.contains(&("app", "pytest")));
        assert!(edges.contains(&("requests", "idna")));
    }

    #[test]
    fn unknown_lock_versions_are_errors() {
        let e = parse("version = 2\n").err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::UnsupportedVersion { .. }, Some(1)))
            ),
            "{e:?}"
        );
    }

    #[test]
    fn malformed_toml_and_bad_versions_name_their_line() {
        let e = parse("version = 1\n[[package]]\nname = \n").err();
        assert_eq!(e.as_ref().and_then(|e| e.origin.line), Some(3), "{e:?}");
        let e =
            parse("version = 1\n[[package]]\nname = \"a\"\nversion = \"not a version\"\n").err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::InvalidVersion { .. }, Some(4)))
            ),
            "{e:?}"
        );
        let e = parse("version = 1\n[[package]]\nversion = \"1\"\n").err();
        assert!(matches!(e.map(|e| e.kind), Some(ErrorKind::Toml(_))));
    }

    /// A lock of `count` packages large enough to be parsed in parts, with `extra` after them.
    fn big_lock(count: usize, extra: &str) -> String {
        let mut text = String::from(
            "version = 1\nrevision = 3\nrequires-python = \">=3.11\"\n\n[manifest]\nmembers = [\"app\"]\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [{ name = \"pkg-0\" }]\n",
        );
        for i in 0..count {
            text.push_str(&format!(
                "\n[[package]]\nname = \"pkg-{i}\"\nversion = \"1.{i}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\ndependencies = [{{ name = \"pkg-{}\" }}]\nsdist = {{ url = \"https://files.example/pkg-{i}.tar.gz\", hash = \"sha256:{:064x}\", size = 1 }}\nwheels = [\n    {{ url = \"https://files.example/pkg-{i}.whl\", hash = \"sha256:{:064x}\", size = 2 }},\n]\n",
                i + 1,
                i,
                i + 1_000_000
            ));
            if i == count / 2 {
                text.push_str(extra);
            }
        }
        text
    }

    fn both_ways(text: &str) -> (serde_json::Value, serde_json::Value) {
        let limits = Limits::default();
        let path = Path::new("uv.lock");
        let as_value = |r: Result<DependencySet, Error>| match r {
            Ok(set) => serde_json::to_value(&set).unwrap_or_default(),
            Err(e) => serde_json::Value::String(e.to_string()),
        };
        (
            as_value(super::parse(path, text, &limits, true)),
            as_value(super::parse(path, text, &limits, false)),
        )
    }

    #[test]
    fn a_lock_parsed_in_parts_reads_as_the_whole_file_does() {
        let text = big_lock(3000, "");
        assert!(text.len() > PARALLEL_PARSE_BYTES);
        assert!(parse_in_parts(&text, 2).is_some());
        assert!(parse_in_parts(&text, 5).is_some());
        let (parts, whole) = both_ways(&text);
        assert_eq!(parts["packages"].as_array().map(Vec::len), Some(3001));
        assert_eq!(parts, whole);
    }

    #[test]
    fn a_package_header_inside_a_string_does_not_split_the_lock() {
        // A `[[package]]` line inside a multi-line string is text, not a table: the part before
        // it would end inside the string, so the whole file is parsed instead.
        // The string is longer than two parts, so a cut falls inside it.
        let hidden = format!(
            "\n[package.metadata]\nnote = \"\"\"\n{}name = \"hidden\"\n\"\"\"\n",
            "[[package]]\n".repeat(2 * PART_BYTES / 12)
        );
        let text = big_lock(3000, &hidden);
        assert!(parse_in_parts(&text, 2).is_none());
        let (parts, whole) = both_ways(&text);
        assert_eq!(parts, whole);
        assert!(!parts.to_string().contains("\"name\":\"hidden\""));
    }

    #[test]
    fn a_top_level_table_after_the_packages_is_read_as_the_whole_file_reads_it() {
        let text = format!(
            "{}\n[manifest]\nmembers = [\"other\"]\n",
            big_lock(3000, "")
        );
        assert!(parse_in_parts(&text, 2).is_none());
        let (parts, whole) = both_ways(&text);
        assert_eq!(parts, whole);
    }
}
