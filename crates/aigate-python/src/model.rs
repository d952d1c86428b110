//! The one data model every reader fills: a [`DependencySet`] of [`Package`]s, with the indexes,
//! trusted hosts and environment references that decide where they come from.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::Origin;
use crate::pep::{Version, VersionSpecifiers};

/// What one or more inputs say a project depends on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DependencySet {
    /// The files read, in the order read (includes after the file that names them).
    pub inputs: Vec<Input>,
    /// Every package entry, in the order read. A name can appear more than once: a lock can hold
    /// two versions for different markers, and several inputs can name the same package.
    pub packages: Vec<Package>,
    /// Indexes and link locations the inputs declare.
    pub indexes: Vec<IndexRef>,
    /// Hosts declared trusted despite missing or invalid HTTPS (`--trusted-host`).
    pub trusted_hosts: Vec<TrustedHost>,
    /// Where `--no-index` was given, if it was: packages then come from find-links only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_index: Vec<Origin>,
    /// Other pip options the requirements files set (`--pre`, `--prefer-binary`,
    /// `--only-binary`, `--require-hashes`, `--use-feature`, ...), recorded as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<PipOption>,
    /// `${VAR}` references. They are reported, never expanded: what they stand for depends on
    /// the environment of whoever installs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_refs: Vec<EnvRef>,
    /// `-r`/`-c` includes, followed or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<Include>,
}

impl DependencySet {
    /// Appends everything `other` holds.
    pub fn extend(&mut self, other: DependencySet) {
        self.inputs.extend(other.inputs);
        self.packages.extend(other.packages);
        self.indexes.extend(other.indexes);
        self.trusted_hosts.extend(other.trusted_hosts);
        self.no_index.extend(other.no_index);
        self.options.extend(other.options);
        self.env_refs.extend(other.env_refs);
        self.includes.extend(other.includes);
    }

    /// The packages with this (normalised or not) name.
    pub fn packages_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Package> + 'a {
        let name = crate::pep::normalize_name(name);
        self.packages.iter().filter(move |p| p.name == name)
    }

    /// The dependency graph as `(dependent, dependency)` pairs of normalised names, for inputs
    /// that have one (locks, installed environments).
    pub fn edges(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.packages.iter().flat_map(|p| {
            p.dependencies
                .iter()
                .map(move |d| (p.name.as_str(), d.as_str()))
        })
    }
}

/// One file that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    /// The file (for an environment, its site-packages folder).
    pub path: PathBuf,
    /// What kind of input it is.
    pub format: InputFormat,
    /// The format version the file declares (`version`/`revision` of uv.lock, `lock-version`,
    /// `pipfile-spec`), where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_version: Option<String>,
}

/// The kinds of input aigate-python reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// pip's requirements file format (`requirements*.txt`, constraints files).
    Requirements,
    /// `uv.lock`.
    UvLock,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `pylock.toml` / `pylock.*.toml` (PEP 751).
    Pylock,
    /// `pyproject.toml` (PEP 621 `[project]`, PEP 735 `[dependency-groups]`).
    Pyproject,
    /// An installed environment's `site-packages`.
    Environment,
}

impl InputFormat {
    /// A short name for messages: `requirements`, `uv.lock`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Requirements => "requirements",
            InputFormat::UvLock => "uv.lock",
            InputFormat::PoetryLock => "poetry.lock",
            InputFormat::PipfileLock => "Pipfile.lock",
            InputFormat::Pylock => "pylock.toml",
            InputFormat::Pyproject => "pyproject.toml",
            InputFormat::Environment => "environment",
        }
    }
}

/// One package entry: a requirement, a locked package or an installed distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Package {
    /// The name normalised per PEP 503 (compare on this).
    pub name: String,
    /// The name as the input wrote it.
    pub name_as_written: String,
    /// The exact version, when the input fixes one: locked, installed, or pinned with `==`/`===`
    /// in a requirements file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// The version specifiers as written, for requirements (`>=1.2,<2`); empty when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specifier: Option<VersionSpecifiers>,
    /// Where it is fetched from.
    pub source: Source,
    /// The artifact hashes the input records for it (every wheel and sdist of a lock entry).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// The environment marker under which it applies, as written; validated when read (parse it
    /// with [`crate::pep::parse_marker`] to evaluate it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Extras requested for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
    /// Where the entry was read.
    pub origin: Origin,
    /// Whether the project asks for it itself, rather than through another package, as far as
    /// the input tells: requirements and pyproject entries always; uv.lock entries the project's
    /// own entry depends on; Pipfile.lock entries with an `index` key (pipenv omits it for
    /// Pipfile entries with extras or markers, so some direct ones read as not); installed
    /// distributions with a `REQUESTED` file. poetry.lock and pylock.toml do not record it: read
    /// the project's pyproject.toml for those.
    pub direct: bool,
    /// Whether the entry only constrains a version (a `-c` constraints file) rather than asking
    /// for the package.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub constraint_only: bool,
    /// The groups it belongs to, where the input says: poetry `groups` (`main`, `dev`), Pipfile
    /// sections (`default`, `develop`), uv extras and dependency groups, pyproject
    /// `optional-dependencies`/`dependency-groups` names, pylock `extras`/`dependency-groups`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Normalised names of the packages it depends on, where the input has a graph.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Licence metadata, for installed distributions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence: Option<Licence>,
    /// The tool that installed it (`INSTALLER`: `pip`, `uv`, ...), for installed distributions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installer: Option<String>,
}

impl Package {
    /// A package named `name_as_written` read at `origin`, from an unknown source, with nothing
    /// else known yet.
    pub fn new(name_as_written: &str, origin: Origin) -> Self {
        Package {
            name: crate::pep::normalize_name(name_as_written),
            name_as_written: name_as_written.to_string(),
            version: None,
            specifier: None,
            source: Source::Unknown,
            hashes: Vec::new(),
            marker: None,
            extras: Vec::new(),
            origin,
            direct: false,
            constraint_only: false,
            groups: Vec::new(),
            dependencies: Vec::new(),
            licence: None,
            installer: None,
        }
    }

    /// Whether the entry fixes one version: a version is known, or its specifier is an exact pin
    /// (see [`crate::pep::is_exact_pin`]).
    pub fn is_pinned(&self) -> bool {
        self.version.is_some()
            || self
                .specifier
                .as_ref()
                .is_some_and(crate::pep::is_exact_pin)
    }
}

/// Where a package is fetched from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// A package index. `url` is the index the input names for it; `None` when the input leaves
    /// it to the index options in force (requirements files: see [`DependencySet::indexes`]) or to
    /// the installer's defaults (an installed distribution without `direct_url.json`).
    Registry {
        /// The index's URL (PEP 503 simple API or a find-links location).
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// A direct URL to an archive (`name @ https://…/x.whl`).
    Url {
        /// The URL as written.
        url: String,
        /// The subdirectory holding the project, if the URL names one.
        #[serde(skip_serializing_if = "Option::is_none")]
        subdirectory: Option<String>,
    },
    /// A local archive file.
    Path {
        /// The path as written (relative to the input's folder when relative).
        path: String,
    },
    /// A local source tree, built when installed.
    Directory {
        /// The path as written.
        path: String,
    },
    /// A local source tree or VCS checkout installed in editable (develop) mode.
    Editable {
        /// The path or URL as written.
        location: String,
    },
    /// A version-control repository.
    Vcs {
        /// `git`, `hg`, `svn` or `bzr`.
        vcs: String,
        /// The repository URL, without the revision.
        url: String,
        /// The branch, tag or revision asked for, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        requested_revision: Option<String>,
        /// The exact commit resolved, if the input records it.
        #[serde(skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
    },
    /// The project itself, or a workspace member, that is not built as a package (uv
    /// `virtual`).
    Virtual {
        /// The path as written.
        path: String,
    },
    /// The input does not say.
    Unknown,
}

/// An artifact hash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Hash {
    /// The algorithm, lower case: `sha256`, `sha384`, `sha512`, `md5`, ...
    pub algorithm: String,
    /// The digest in lower-case hex (RECORD's URL-safe base64 is converted).
    pub hex: String,
}

impl Hash {
    /// A hash from an algorithm name and a hex digest, both lower-cased. The digest must be
    /// non-empty hex.
    pub fn from_hex(algorithm: &str, hex: &str) -> Option<Self> {
        (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Hash {
            algorithm: algorithm.trim().to_ascii_lowercase(),
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// Parses `algorithm:hex` (pip, uv, poetry, Pipfile.lock) or `algorithm=hex`.
    pub fn parse(text: &str) -> Option<Self> {
        let (algorithm, hex) = text.split_once(':').or_else(|| text.split_once('='))?;
        if algorithm.is_empty() {
            return None;
        }
        Hash::from_hex(algorithm, hex.trim())
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// An index or link location an input declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexRef {
    /// The URL (or local path, for find-links), as written: `${VAR}` references stay in it.
    pub url: String,
    /// How it is used.
    pub kind: IndexKind,
    /// The name the input gives it (Pipfile, uv and poetry sources), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it is declared.
    pub origin: Origin,
}

/// How an index is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexKind {
    /// Searched first, or instead of the default (`--index-url`, the first Pipfile source, a uv
    /// index not marked explicit, a poetry `primary` source).
    Primary,
    /// Searched as well as the primary, with versions from both merged (`--extra-index-url`,
    /// poetry `supplemental`/`secondary`): the setting dependency confusion exploits.
    Extra,
    /// A page or folder of links (`--find-links`).
    FindLinks,
    /// Used only by packages that name it (uv `explicit = true`, poetry `explicit`, Pipfile
    /// sources after the first).
    Explicit,
}

/// A host trusted despite missing or invalid HTTPS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustedHost {
    /// `host` or `host:port`, as written.
    pub host: String,
    /// Where it is declared.
    pub origin: Origin,
}

/// A pip option recorded as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipOption {
    /// The option's long name, e.g. `--prefer-binary`.
    pub name: String,
    /// Its value, for options that take one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where it is given.
    pub origin: Origin,
}

/// A `${VAR}` reference in a requirements file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvRef {
    /// The variable's name.
    pub name: String,
    /// Where it is used.
    pub origin: Origin,
}

/// A `-r` or `-c` include.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Include {
    /// The target as written.
    pub target: String,
    /// Whether it is a constraints file (`-c`).
    pub constraint: bool,
    /// Whether it was read. Remote (`https://`) includes are never fetched.
    pub followed: bool,
    /// Where the include is.
    pub origin: Origin,
}

/// Licence metadata of an installed distribution (core metadata 2.4 / PEP 639).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Licence {
    /// `License-Expression`: an SPDX expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// `License`: free text (often the whole licence), as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `License-File` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Trove classifiers under `License ::`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classifiers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_in_both_spellings_and_lower_case() {
        let hash = Hash::parse("SHA256:ABCDEF01");
        assert_eq!(hash.as_ref().map(|h| h.algorithm.as_str()), Some("sha256"));
        assert_eq!(hash.as_ref().map(|h| h.hex.as_str()), Some("abcdef01"));
        assert_eq!(
            Hash::parse("md5=00ff").map(|h| h.to_string()),
            Some("md5:00ff".to_string())
        );
        assert_eq!(Hash::parse("sha256:not-hex"), None);
        assert_eq!(Hash::parse(":00"), None);
        assert_eq!(Hash::parse("sha256"), None);
    }

    #[test]
    fn pinned_means_a_version_or_an_exact_specifier() {
        let mut package = Package::new("Foo_Bar", Origin::file("r.txt"));
        assert_eq!(package.name, "foo-bar");
        assert!(!package.is_pinned());
        package.specifier = crate::pep::parse_specifiers(">=1").ok();
        assert!(!package.is_pinned());
        package.specifier = crate::pep::parse_specifiers("==1.0").ok();
        assert!(package.is_pinned());
    }
}
