//! PEP 508 requirement strings, and what a requirement's URL says about where a package comes
//! from (shared by every reader).

use std::fmt;
use std::str::FromStr;

use pep508_rs::{Pep508Url, Requirement, VersionOrUrl};

use crate::model::Source;
use crate::pep::VersionSpecifiers;

/// A URL kept exactly as written. `pep508_rs`'s own URL type expands `${VAR}` from the process
/// environment while parsing; a reader of untrusted files must report such references, never
/// resolve them, so requirements are parsed with this type instead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct UrlText(pub(crate) String);

impl fmt::Display for UrlText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Pep508Url for UrlText {
    type Err = std::convert::Infallible;

    fn parse_url(url: &str, _working_dir: Option<&std::path::Path>) -> Result<Self, Self::Err> {
        Ok(UrlText(url.to_string()))
    }
}

/// A PEP 508 requirement, split into the parts the model keeps, as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedRequirement {
    /// The name as written.
    pub(crate) name: String,
    /// Extras, normalised.
    pub(crate) extras: Vec<String>,
    /// Version specifiers, if the requirement has any (and no URL).
    pub(crate) specifier: Option<VersionSpecifiers>,
    /// The URL after `@`, if any.
    pub(crate) url: Option<String>,
    /// The marker after `;`, as written, if any.
    pub(crate) marker: Option<String>,
}

/// Parses `name[extras] specifiers ; marker` or `name[extras] @ url ; marker`.
pub(crate) fn parse_pep508(text: &str) -> Result<ParsedRequirement, String> {
    reject_non_ascii(text)?;
    reject_names_pep508_rs_panics_on(text)?;
    let requirement = Requirement::<UrlText>::from_str(text).map_err(|e| e.message.to_string())?;
    let trimmed = text.trim_start();
    let name_length = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(trimmed.len());
    let name = trimmed.get(..name_length).unwrap_or_default().to_string();
    let (specifier, url) = match requirement.version_or_url {
        None => (None, None),
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => (Some(specifiers), None),
        Some(VersionOrUrl::Url(url)) => (None, Some(url.0)),
    };
    let marker = if requirement.marker.is_true() {
        None
    } else {
        marker_text(trimmed, url.is_some())
    };
    Ok(ParsedRequirement {
        name,
        extras: requirement.extras.iter().map(ToString::to_string).collect(),
        specifier,
        url,
        marker,
    })
}

/// PEP 508's grammar is ASCII (names, versions, marker strings; URLs are URIs). `pep508_rs` 0.9.2
/// can also panic slicing a marker inside a multi-byte character, so anything else is refused
/// before it is handed over. (Found by the `python_dist_info` fuzz target.)
pub(crate) fn reject_non_ascii(text: &str) -> Result<(), String> {
    match text.chars().find(|c| !c.is_ascii()) {
        Some(c) => Err(format!(
            "{c:?} is not ASCII; PEP 508 requirements and markers are written in ASCII"
        )),
        None => Ok(()),
    }
}

/// `pep508_rs` 0.9.2 panics (an `expect`) on a name or extra that ends in `.`, `-` or `_` when
/// another character follows (`numpy.>=1`, `pkg[socks.]`), instead of returning an error. Such
/// names are invalid anyway: reject them first. (Found by the `python_requirements` fuzz target.)
fn reject_names_pep508_rs_panics_on(text: &str) -> Result<(), String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let bad_run = |run: &str| {
        run.starts_with(|c: char| c.is_ascii_alphanumeric()) && run.ends_with(['.', '_', '-'])
    };
    let trimmed = text.trim_start();
    let name_length = trimmed
        .find(|c: char| !is_name_char(c))
        .unwrap_or(trimmed.len());
    let name = trimmed.get(..name_length).unwrap_or_default();
    if bad_run(name) {
        return Err(format!(
            "package name {name:?} must end with a letter or digit"
        ));
    }
    let rest = trimmed.get(name_length..).unwrap_or_default().trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        let extras = extras.split(']').next().unwrap_or_default();
        for run in extras.split(|c: char| !is_name_char(c)) {
            if bad_run(run) {
                return Err(format!("extra {run:?} must end with a letter or digit"));
            }
        }
    }
    Ok(())
}

/// The marker text of a requirement that parsed with a marker: after the first `;`, or for a URL
/// requirement after the first `;` that follows whitespace (a URL may hold `;`).
fn marker_text(text: &str, has_url: bool) -> Option<String> {
    let mut previous = ' ';
    let mut start = None;
    let url_start = if has_url { text.find('@') } else { None };
    for (i, c) in text.char_indices() {
        let after_url = url_start.is_none_or(|at| i > at);
        if c == ';' && after_url && (!has_url || previous.is_whitespace()) {
            start = Some(i + 1);
            break;
        }
        previous = c;
    }
    let marker = text.get(start?..)?.trim();
    (!marker.is_empty()).then(|| marker.to_string())
}

/// The version-control systems pip knows, by the scheme prefix of their URLs.
const VCS_NAMES: [&str; 4] = ["git", "hg", "svn", "bzr"];

/// URL schemes pip treats as URLs in a requirement (`pip._internal.vcs.is_url`).
pub(crate) fn is_url(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let scheme = scheme.to_ascii_lowercase();
    matches!(scheme.as_str(), "http" | "https" | "file" | "ftp") || vcs_of_scheme(&scheme).is_some()
}

/// `git` for `git+https`, `git+ssh`, `git`, ...
fn vcs_of_scheme(scheme: &str) -> Option<&'static str> {
    let base = scheme.split_once('+').map_or(scheme, |(base, _)| base);
    let vcs = VCS_NAMES.iter().find(|v| **v == base)?;
    // `hg` and `bzr` URLs always carry a transport (`hg+https`); bare `git:` and `svn:` are real
    // schemes pip accepts.
    (scheme.contains('+') || matches!(*vcs, "git" | "svn")).then_some(*vcs)
}

/// The archive file extensions pip recognises (`pip._internal.utils.filetypes`).
const ARCHIVE_EXTENSIONS: [&str; 12] = [
    ".zip",
    ".whl",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
];

/// Whether a file name or URL path ends in an archive extension pip installs from.
pub(crate) fn is_archive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ARCHIVE_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

/// The fragment parameters of a URL (`#egg=name&subdirectory=sub`).
pub(crate) fn fragment_param<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    let (_, fragment) = url.split_once('#')?;
    fragment
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The last path segment of a URL or path, without query or fragment.
pub(crate) fn file_name(location: &str) -> &str {
    let without_fragment = location.split(['#', '?']).next().unwrap_or(location);
    without_fragment
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(without_fragment)
}

/// The name and version a wheel file name carries (`{name}-{version}(-{build})?-{py}-{abi}-{plat}.whl`).
pub(crate) fn wheel_name_version(file: &str) -> Option<(&str, &str)> {
    let split = file.len().checked_sub(4)?;
    let (stem, extension) = (file.get(..split)?, file.get(split..)?);
    if !extension.eq_ignore_ascii_case(".whl") {
        return None;
    }
    let parts: Vec<&str> = stem.split('-').collect();
    if !(parts.len() == 5 || parts.len() == 6) {
        return None;
    }
    Some((parts.first()?, parts.get(1)?))
}

/// What a direct reference says about where a package comes from: a VCS repository, a local file
/// or folder (`file:`), or an archive URL.
pub(crate) fn source_of_url(url: &str) -> Source {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    let subdirectory = fragment_param(url, "subdirectory").map(str::to_string);
    if let Some(vcs) = scheme.as_deref().and_then(vcs_of_scheme) {
        let (repository, requested_revision) = split_vcs_revision(url);
        return Source::Vcs {
            vcs: vcs.to_string(),
            url: repository,
            requested_revision,
            commit: None,
        };
    }
    if scheme.as_deref() == Some("file") {
        let path = url.split('#').next().unwrap_or(url).to_string();
        return if is_archive(&path) {
            Source::Path { path }
        } else {
            Source::Directory { path }
        };
    }
    Source::Url {
        url: url.to_string(),
        subdirectory,
    }
}

/// Splits `git+https://host/repo.git@v1.0#egg=x` into the repository URL (without the `git+`
/// prefix, revision or fragment) and the revision, the way pip does: the revision follows the
/// last `@` of the URL's path.
pub(crate) fn split_vcs_revision(url: &str) -> (String, Option<String>) {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let without_prefix = match without_fragment.split_once('+') {
        Some((prefix, rest)) if VCS_NAMES.contains(&prefix.to_ascii_lowercase().as_str()) => rest,
        _ => without_fragment,
    };
    // The path starts after `scheme://netloc`; an `@` before it is user information.
    let path_start = without_prefix
        .find("://")
        .map(|at| at + 3)
        .and_then(|after| {
            without_prefix
                .get(after..)
                .and_then(|rest| rest.find('/'))
                .map(|slash| after + slash)
        })
        .unwrap_or(0);
    let path = without_prefix.get(path_start..).unwrap_or_default();
    match path.rfind('@') {
        Some(at) => {
            let split = path_start + at;
            let repository = without_prefix.get(..split).unwrap_or(without_prefix);
            let revision = without_prefix.get(split + 1..).unwrap_or_default();
            (
                repository.to_string(),
                (!revision.is_empty()).then(|| revision.to_string()),
            )
        }
        None => (without_prefix.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParsedRequirement {
        parse_pep508(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn requirements_split_into_their_parts() {
        let r = parse("Requests[Socks, security] >=2.31,<3 ; python_version >= '3.8'");
        assert_eq!(r.name, "Requests");
        // Extras keep the order written, normalised.
        assert_eq!(r.extras, vec!["socks", "security"]);
        assert_eq!(
            r.specifier.map(|s| s.to_string()),
            Some(">=2.31, <3".to_string())
        );
        assert_eq!(r.marker.as_deref(), Some("python_version >= '3.8'"));
        assert_eq!(r.url, None);
    }

    #[test]
    fn url_requirements_keep_the_url_and_its_variables_unexpanded() {
        let r = parse("pkg @ https://${HOST}/p;x/pkg-1.0.tar.gz ; sys_platform == 'linux'");
        assert_eq!(r.url.as_deref(), Some("https://${HOST}/p;x/pkg-1.0.tar.gz"));
        assert_eq!(r.marker.as_deref(), Some("sys_platform == 'linux'"));
    }

    #[test]
    fn invalid_requirements_are_errors() {
        assert!(parse_pep508("pkg >== 1").is_err());
        assert!(parse_pep508("pkg ; python_version ~ '3'").is_err());
        assert!(parse_pep508("").is_err());
        // pep508_rs would panic on these; they are errors here.
        assert!(parse_pep508("numpy.>=216").is_err());
        assert!(parse_pep508("pkg[socks.]").is_err());
        assert!(parse_pep508("pkg [ok, bad_ ] >= 1").is_err());
        assert!(parse_pep508("pkg[a.b]>=1").is_ok());
        assert!(parse_pep508("pkg; extra == \"socks\u{fffd}\"").is_err());
    }

    #[test]
    fn urls_say_where_a_package_comes_from() {
        assert_eq!(
            source_of_url("git+https://user@github.com/org/repo.git@v1.2#egg=repo"),
            Source::Vcs {
                vcs: "git".into(),
                url: "https://user@github.com/org/repo.git".into(),
                requested_revision: Some("v1.2".into()),
                commit: None,
            }
        );
        assert_eq!(
            source_of_url("file:///tmp/pkg-1.0.tar.gz"),
            Source::Path {
                path: "file:///tmp/pkg-1.0.tar.gz".into()
            }
        );
        assert_eq!(
            source_of_url("https://h/p.zip#subdirectory=sub"),
            Source::Url {
                url: "https://h/p.zip#subdirectory=sub".into(),
                subdirectory: Some("sub".into())
            }
        );
        assert!(is_url("git+ssh://git@host/repo"));
        assert!(is_url("HTTPS://host"));
        assert!(!is_url("hg://host"));
        assert!(!is_url("requests>=1"));
    }

    #[test]
    fn wheel_names_give_name_and_version() {
        assert_eq!(
            wheel_name_version("numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl"),
            Some(("numpy", "2.4.6"))
        );
        assert_eq!(
            wheel_name_version("pkg-1.0-1build-py3-none-any.whl"),
            Some(("pkg", "1.0"))
        );
        assert_eq!(wheel_name_version("bad.whl"), None);
        assert_eq!(file_name("https://h/a/b/x-1.0.whl#sha256=00"), "x-1.0.whl");
    }
}
