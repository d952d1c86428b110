//! Names (PEP 503), versions and specifiers (PEP 440) and environment markers (PEP 508).
//!
//! Versions, specifiers and markers come from `pep440_rs`/`pep508_rs`, the crates uv's own
//! implementation grew out of; this module is the small surface the policy crate needs, so that
//! it does not have to learn those crates' APIs.

use std::str::FromStr;

pub use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
pub use pep508_rs::{ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, MarkerTree};

use crate::requirement::UrlText;

/// A package name normalised per PEP 503: lower case, every run of `-`, `_` and `.` one `-`.
///
/// This is the form lock files, indexes and advisories compare names in; it does not check that
/// the name is valid (see [`is_valid_name`]).
pub fn normalize_name(name: &str) -> String {
    let mut normalised = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                normalised.push('-');
            }
            in_separator_run = true;
        } else {
            normalised.push(c.to_ascii_lowercase());
            in_separator_run = false;
        }
    }
    normalised
}

/// Whether `name` is a valid distribution name (PEP 508): ASCII letters and digits, with `.`,
/// `_` and `-` inside but not at either end.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Parses a PEP 440 version (`1.0`, `2.0rc1`, `1!2.0.post1.dev3+local`).
pub fn parse_version(text: &str) -> Result<Version, String> {
    Version::from_str(text.trim()).map_err(|e| e.to_string())
}

/// Parses PEP 440 version specifiers (`>=1.2, <2`, `==1.4.*`, `~=2.2`, `===foobar`).
pub fn parse_specifiers(text: &str) -> Result<VersionSpecifiers, String> {
    VersionSpecifiers::from_str(text.trim()).map_err(|e| e.to_string())
}

/// Whether the specifiers pin exactly one version: at least one `==` without a wildcard, or
/// `===`. (`==1.0` still admits local versions such as `1.0+cpu`, as PEP 440 says.)
pub fn is_exact_pin(specifiers: &VersionSpecifiers) -> bool {
    specifiers
        .iter()
        .any(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual))
}

/// The version an exact pin names, if the specifiers are one (see [`is_exact_pin`]).
pub fn pinned_version(specifiers: &VersionSpecifiers) -> Option<&Version> {
    specifiers
        .iter()
        .find(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual))
        .map(VersionSpecifier::version)
}

/// Whether `version` satisfies every one of `specifiers` (PEP 440 semantics, as uv has them).
pub fn satisfies(version: &Version, specifiers: &VersionSpecifiers) -> bool {
    specifiers.contains(version)
}

/// Parses a PEP 508 environment marker (`python_version < "3.11" and sys_platform == "linux"`).
pub fn parse_marker(text: &str) -> Result<MarkerTree, String> {
    crate::requirement::reject_non_ascii(text)?;
    MarkerTree::parse_str::<UrlText>(text.trim()).map_err(|e| e.message.to_string())
}

/// Whether `marker` holds in `environment` with the given extras requested. Extras that are not
/// valid names can never be requested, so they are left out.
pub fn evaluate_marker(
    marker: &MarkerTree,
    environment: &MarkerEnvironment,
    extras: &[&str],
) -> bool {
    let extras: Vec<ExtraName> = extras
        .iter()
        .filter_map(|e| ExtraName::new((*e).to_string()).ok())
        .collect();
    marker.evaluate(environment, &extras)
}

/// Builds a marker environment from its eleven values (`python_full_version`, `python_version`
/// and `implementation_version` must be PEP 440 versions).
pub fn marker_environment(
    values: MarkerEnvironmentBuilder<'_>,
) -> Result<MarkerEnvironment, String> {
    MarkerEnvironment::try_from(values).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specifiers(text: &str) -> VersionSpecifiers {
        parse_specifiers(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn version(text: &str) -> Version {
        parse_version(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn names_normalise_per_pep_503() {
        assert_eq!(normalize_name("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_name("FRIENDLY__bard"), "friendly-bard");
        assert_eq!(normalize_name("friendly.-_bard"), "friendly-bard");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert!(is_valid_name("a"));
        assert!(is_valid_name("zope.interface"));
        assert!(!is_valid_name("-a"));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name(""));
    }

    #[test]
    fn exact_pins_are_double_or_triple_equals_without_wildcards() {
        assert!(is_exact_pin(&specifiers("==1.2.3")));
        assert!(is_exact_pin(&specifiers("===1.2.3")));
        assert!(is_exact_pin(&specifiers(">=1,==1.2")));
        assert!(!is_exact_pin(&specifiers("==1.2.*")));
        assert!(!is_exact_pin(&specifiers(">=1.2,<1.3")));
        assert!(!is_exact_pin(&specifiers("~=1.2")));
        assert_eq!(
            pinned_version(&specifiers("==1.2.3")).map(ToString::to_string),
            Some("1.2.3".to_string())
        );
    }

    #[test]
    fn satisfaction_follows_pep_440() {
        assert!(satisfies(&version("1.4.2"), &specifiers("~=1.4")));
        assert!(!satisfies(&version("2.0"), &specifiers("~=1.4")));
        assert!(satisfies(&version("1.0+cpu"), &specifiers("==1.0")));
        assert!(!satisfies(&version("2.0rc1"), &specifiers(">=2.0")));
        assert!(satisfies(&version("1.4.9"), &specifiers("==1.4.*")));
        assert!(version("1.0.post1") > version("1.0"));
        assert!(version("1.0.dev1") < version("1.0a1"));
    }

    #[test]
    fn markers_parse_and_evaluate() {
        let environment = marker_environment(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: "3.11.7",
            os_name: "posix",
            platform_machine: "x86_64",
            platform_python_implementation: "CPython",
            platform_release: "6.1",
            platform_system: "Linux",
            platform_version: "#1",
            python_full_version: "3.11.7",
            python_version: "3.11",
            sys_platform: "linux",
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let marker = parse_marker("python_version >= '3.8' and sys_platform == 'win32'")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!evaluate_marker(&marker, &environment, &[]));
        let marker = parse_marker("python_version < '3.12' and extra == 'socks'")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!evaluate_marker(&marker, &environment, &[]));
        assert!(evaluate_marker(&marker, &environment, &["socks"]));
        assert!(parse_marker("python_version >>> '3'").is_err());
        assert!(parse_marker("extra == 'sécurité'").is_err());
    }
}
