//! What changed between two [`DependencySet`]s (`aigate deps diff`): packages added and removed,
//! upgraded and downgraded (PEP 440 order), moved to another index or source, and — the
//! supply-chain alarm — the same version with different artifact hashes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::Origin;
use crate::model::{DependencySet, Hash, Package, Source};
use crate::pep::Version;

/// The differences between an old and a new dependency set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DependencyDiff {
    /// Packages (or versions of a package) only in the new set.
    pub added: Vec<PackageRef>,
    /// Packages (or versions of a package) only in the old set.
    pub removed: Vec<PackageRef>,
    /// A package whose one version rose.
    pub upgraded: Vec<VersionChange>,
    /// A package whose one version fell.
    pub downgraded: Vec<VersionChange>,
    /// A package now fetched from another index, URL, repository or path.
    pub source_changed: Vec<SourceChange>,
    /// The same version of a package with a different set of artifact hashes.
    pub hashes_changed: Vec<HashChange>,
}

impl DependencyDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
            && self.source_changed.is_empty()
            && self.hashes_changed.is_empty()
    }
}

/// A package entry named in a diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageRef {
    /// Normalised name.
    pub name: String,
    /// Its version, if the input fixes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// Where it comes from.
    pub source: Source,
    /// Where the entry was read.
    pub origin: Origin,
}

/// A version that rose or fell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionChange {
    /// Normalised name.
    pub name: String,
    /// The old version.
    pub old: Version,
    /// The new version.
    pub new: Version,
    /// Where the new entry was read.
    pub origin: Origin,
}

/// A package whose source changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceChange {
    /// Normalised name.
    pub name: String,
    /// The new entry's version, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// The old source.
    pub old: Source,
    /// The new source.
    pub new: Source,
    /// Where the new entry was read.
    pub origin: Origin,
}

/// The same version with other hashes: an artifact was replaced, added or withdrawn. Hashes are
/// compared per algorithm, only for algorithms both sets record for the package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HashChange {
    /// Normalised name.
    pub name: String,
    /// The version both sets name.
    pub version: Version,
    /// Hashes only the old set has. Non-empty means bytes that were accepted before are no longer
    /// the ones accepted: the case to stop on.
    pub removed: Vec<Hash>,
    /// Hashes only the new set has (a new wheel, or a replacement).
    pub added: Vec<Hash>,
    /// Where the new entry was read.
    pub origin: Origin,
}

/// Compares two dependency sets by normalised name. Entries with the same name and version are
/// paired (their sources and hashes compared); when one entry of a name is left on each side its
/// version change is an upgrade or a downgrade; any other leftovers are added or removed.
/// Constraint-only entries are left out: they ask for nothing.
pub fn diff(old: &DependencySet, new: &DependencySet) -> DependencyDiff {
    let old_by_name = by_name(old);
    let new_by_name = by_name(new);
    let names: BTreeSet<&str> = old_by_name
        .keys()
        .chain(new_by_name.keys())
        .copied()
        .collect();
    let mut result = DependencyDiff::default();
    for name in names {
        let mut olds: Vec<&Package> = old_by_name.get(name).cloned().unwrap_or_default();
        let mut news: Vec<&Package> = new_by_name.get(name).cloned().unwrap_or_default();
        // Pair equal versions first.
        let mut index = 0;
        while index < olds.len() {
            let version = olds.get(index).map(|p| &p.version);
            if let Some(position) = news.iter().position(|n| Some(&n.version) == version) {
                let new_package = news.remove(position);
                let old_package = olds.remove(index);
                compare_same_version(old_package, new_package, &mut result);
            } else {
                index += 1;
            }
        }
        if let ([old_package], [new_package]) = (olds.as_slice(), news.as_slice())
            && let (Some(old_version), Some(new_version)) =
                (&old_package.version, &new_package.version)
        {
            let change = VersionChange {
                name: name.to_string(),
                old: old_version.clone(),
                new: new_version.clone(),
                origin: new_package.origin.clone(),
            };
            if new_version > old_version {
                result.upgraded.push(change);
            } else {
                result.downgraded.push(change);
            }
            if sources_differ(&old_package.source, &new_package.source) {
                result
                    .source_changed
                    .push(source_change(old_package, new_package));
            }
            continue;
        }
        result.removed.extend(olds.into_iter().map(package_ref));
        result.added.extend(news.into_iter().map(package_ref));
    }
    result
}

fn by_name(set: &DependencySet) -> BTreeMap<&str, Vec<&Package>> {
    let mut map: BTreeMap<&str, Vec<&Package>> = BTreeMap::new();
    for package in set.packages.iter().filter(|p| !p.constraint_only) {
        map.entry(package.name.as_str()).or_default().push(package);
    }
    map
}

fn package_ref(package: &Package) -> PackageRef {
    PackageRef {
        name: package.name.clone(),
        version: package.version.clone(),
        source: package.source.clone(),
        origin: package.origin.clone(),
    }
}

fn source_change(old: &Package, new: &Package) -> SourceChange {
    SourceChange {
        name: new.name.clone(),
        version: new.version.clone(),
        old: old.source.clone(),
        new: new.source.clone(),
        origin: new.origin.clone(),
    }
}

/// Whether two sources name different places. A registry left unnamed (`url: None`: "whatever
/// index is configured") is not a change from a named one: inputs differ in how much they say.
fn sources_differ(old: &Source, new: &Source) -> bool {
    match (old, new) {
        (Source::Registry { url: Some(a) }, Source::Registry { url: Some(b) }) => {
            a.trim_end_matches('/') != b.trim_end_matches('/')
        }
        (Source::Registry { .. }, Source::Registry { .. }) => false,
        (Source::Unknown, _) | (_, Source::Unknown) => false,
        (a, b) => a != b,
    }
}

fn compare_same_version(old: &Package, new: &Package, result: &mut DependencyDiff) {
    if sources_differ(&old.source, &new.source) {
        result.source_changed.push(source_change(old, new));
    }
    let Some(version) = &new.version else {
        return;
    };
    let algorithms = |p: &Package| -> BTreeSet<String> {
        p.hashes.iter().map(|h| h.algorithm.clone()).collect()
    };
    let common: BTreeSet<String> = algorithms(old)
        .intersection(&algorithms(new))
        .cloned()
        .collect();
    let of = |p: &Package| -> BTreeSet<Hash> {
        p.hashes
            .iter()
            .filter(|h| common.contains(&h.algorithm))
            .cloned()
            .collect()
    };
    let (old_hashes, new_hashes) = (of(old), of(new));
    let removed: Vec<Hash> = old_hashes.difference(&new_hashes).cloned().collect();
    let added: Vec<Hash> = new_hashes.difference(&old_hashes).cloned().collect();
    if !removed.is_empty() || !added.is_empty() {
        result.hashes_changed.push(HashChange {
            name: new.name.clone(),
            version: version.clone(),
            removed,
            added,
            origin: new.origin.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pep::parse_version;

    fn package(name: &str, version: &str, hashes: &[&str], registry: &str) -> Package {
        let mut package = Package::new(name, Origin::line("uv.lock", 1));
        package.version = parse_version(version).ok();
        package.hashes = hashes.iter().filter_map(|h| Hash::parse(h)).collect();
        package.source = Source::Registry {
            url: Some(registry.to_string()),
        };
        package
    }

    fn set(packages: Vec<Package>) -> DependencySet {
        DependencySet {
            packages,
            ..DependencySet::default()
        }
    }

    const PYPI: &str = "https://pypi.org/simple";

    #[test]
    fn every_kind_of_change_is_reported() {
        let old = set(vec![
            package("numpy", "1.26.4", &["sha256:01"], PYPI),
            package("requests", "2.32.3", &["sha256:02"], PYPI),
            package("idna", "3.7", &["sha256:03"], PYPI),
            package("torch", "2.5.1", &[], PYPI),
            package("six", "1.16.0", &["sha256:05"], PYPI),
        ]);
        let new = set(vec![
            package("numpy", "2.0.0", &["sha256:11"], PYPI),
            package("requests", "2.31.0", &["sha256:12"], PYPI),
            package("idna", "3.7", &["sha256:13", "sha256:03"], PYPI),
            package("torch", "2.5.1", &[], "https://evil.example/simple"),
            package("six", "1.16.0", &["sha256:99"], PYPI),
            package("attrs", "25.1.0", &[], PYPI),
        ]);
        let diff = diff(&old, &new);
        let names = |refs: &[PackageRef]| refs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&diff.added), ["attrs"]);
        assert!(diff.removed.is_empty());
        assert_eq!(diff.upgraded.len(), 1);
        assert_eq!(diff.upgraded[0].name, "numpy");
        assert_eq!(diff.downgraded[0].name, "requests");
        assert_eq!(diff.source_changed.len(), 1);
        assert_eq!(diff.source_changed[0].name, "torch");
        let hashes: Vec<_> = diff
            .hashes_changed
            .iter()
            .map(|c| (c.name.as_str(), c.removed.len(), c.added.len()))
            .collect();
        // idna gained a wheel; six's only artifact was replaced.
        assert_eq!(hashes, [("idna", 0, 1), ("six", 1, 1)]);
        assert!(!diff.is_empty());
    }

    #[test]
    fn identical_sets_and_unnamed_registries_are_no_change() {
        let old = set(vec![package("numpy", "1.26.4", &["sha256:01"], PYPI)]);
        assert!(diff(&old, &old).is_empty());
        let mut unnamed = package("numpy", "1.26.4", &[], PYPI);
        unnamed.source = Source::Registry { url: None };
        assert!(diff(&old, &set(vec![unnamed])).is_empty());
    }

    #[test]
    fn forked_versions_pair_by_version() {
        let old = set(vec![
            package("numpy", "2.4.6", &[], PYPI),
            package("numpy", "2.5.5", &[], PYPI),
        ]);
        let new = set(vec![
            package("numpy", "2.5.5", &[], PYPI),
            package("numpy", "2.6.0", &[], PYPI),
        ]);
        let diff = diff(&old, &new);
        assert_eq!(diff.upgraded.len(), 1);
        assert_eq!(diff.upgraded[0].old.to_string(), "2.4.6");
        assert_eq!(diff.upgraded[0].new.to_string(), "2.6.0");
    }
}
