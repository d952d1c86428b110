//! `pyproject.toml`: PEP 621 `[project] dependencies` and `optional-dependencies`, PEP 735
//! `[dependency-groups]` (with `{include-group = "…"}`), and the indexes of `[[tool.uv.index]]`
//! and `[[tool.poetry.source]]`.
//!
//! Every requirement is direct. A requirement appears once, where it is written; its `groups`
//! name the extra or dependency group it is written in and every group that includes that one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, ErrorKind, LineIndex, Origin, parse_toml};
use crate::limits::{Limits, read_input_text};
use crate::model::{DependencySet, IndexKind, IndexRef, Input, InputFormat, Package, Source};
use crate::pep::{normalize_name, parse_marker, pinned_version};
use crate::requirement::{parse_pep508, source_of_url};

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct PyprojectFile {
    #[serde(default)]
    project: Option<Project>,
    #[serde(default)]
    dependency_groups: BTreeMap<String, Vec<Spanned<GroupEntry>>>,
    #[serde(default)]
    tool: Option<Tool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Project {
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum GroupEntry {
    Requirement(String),
    Include {
        #[serde(rename = "include-group")]
        include_group: String,
    },
}

#[derive(Deserialize, Default)]
struct Tool {
    #[serde(default)]
    uv: Option<UvTool>,
    #[serde(default)]
    poetry: Option<PoetryTool>,
}

#[derive(Deserialize, Default)]
struct UvTool {
    #[serde(default)]
    index: Vec<Spanned<UvIndex>>,
}

#[derive(Deserialize)]
struct UvIndex {
    #[serde(default)]
    name: Option<String>,
    url: String,
    #[serde(default)]
    explicit: bool,
}

#[derive(Deserialize, Default)]
struct PoetryTool {
    #[serde(default)]
    source: Vec<Spanned<PoetrySource>>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    default: bool,
    #[serde(default)]
    secondary: bool,
}

/// Reads a `pyproject.toml` file.
pub fn read_pyproject(path: &Path, limits: &Limits) -> Result<DependencySet, Error> {
    let text = read_input_text(path, limits)?;
    parse_pyproject(path, &text, limits)
}

/// Parses `pyproject.toml` text as if read from `path`.
pub fn parse_pyproject(path: &Path, text: &str, limits: &Limits) -> Result<DependencySet, Error> {
    let index = LineIndex::new(text);
    let file: PyprojectFile = parse_toml(path, text, &index)?;
    let origin_of = |offset: usize| index.origin(path, text, offset);

    let mut set = DependencySet::default();
    set.inputs.push(Input {
        path: path.to_path_buf(),
        format: InputFormat::Pyproject,
        format_version: None,
    });

    let project = file.project.unwrap_or_default();
    for requirement in &project.dependencies {
        set.packages
            .push(requirement_package(requirement, &[], &origin_of)?);
    }
    for (extra, requirements) in &project.optional_dependencies {
        let groups = [normalize_name(extra)];
        for requirement in requirements {
            set.packages
                .push(requirement_package(requirement, &groups, &origin_of)?);
        }
    }

    // PEP 735 compares group names normalised.
    let groups: BTreeMap<String, &Vec<Spanned<GroupEntry>>> = file
        .dependency_groups
        .iter()
        .map(|(name, entries)| (normalize_name(name), entries))
        .collect();
    for (name, entries) in &groups {
        let including = groups_including(name, &groups, &origin_of)?;
        let group_names: Vec<String> = std::iter::once(name.clone())
            .chain(including.into_iter().filter(|g| g != name))
            .collect();
        for entry in *entries {
            if let GroupEntry::Requirement(text) = entry.get_ref() {
                let spanned = Spanned::new(entry.span(), text.clone());
                set.packages
                    .push(requirement_package(&spanned, &group_names, &origin_of)?);
            }
        }
    }
    if set.packages.len() > limits.max_packages {
        return Err(Error::new(
            Origin::file(path),
            ErrorKind::TooMany {
                what: "packages",
                limit: limits.max_packages,
            },
        ));
    }

    let tool = file.tool.unwrap_or_default();
    for declared in tool.uv.unwrap_or_default().index {
        let origin = origin_of(declared.span().start);
        let declared = declared.into_inner();
        set.indexes.push(IndexRef {
            url: declared.url,
            kind: if declared.explicit {
                IndexKind::Explicit
            } else {
                IndexKind::Primary
            },
            name: declared.name,
            origin,
        });
    }
    for declared in tool.poetry.unwrap_or_default().source {
        let origin = origin_of(declared.span().start);
        let declared = declared.into_inner();
        let Some(url) = declared.url else { continue };
        let priority = declared.priority.as_deref().unwrap_or(if declared.default {
            "default"
        } else if declared.secondary {
            "secondary"
        } else {
            "primary"
        });
        let kind = match priority {
            "supplemental" | "secondary" => IndexKind::Extra,
            "explicit" => IndexKind::Explicit,
            _ => IndexKind::Primary,
        };
        set.indexes.push(IndexRef {
            url,
            kind,
            name: declared.name,
            origin,
        });
    }
    Ok(set)
}

/// Most steps taken resolving `include-group` chains, over all groups.
const MAX_GROUP_WALK: usize = 100_000;

/// The groups that include `name`, directly or through other groups (and `name` itself). An
/// include of an unknown group, or a cycle, is an error.
fn groups_including(
    name: &str,
    groups: &BTreeMap<String, &Vec<Spanned<GroupEntry>>>,
    origin_of: &impl Fn(usize) -> Origin,
) -> Result<BTreeSet<String>, Error> {
    // Check every include resolves and that no group reaches itself; then collect who reaches
    // `name`. Groups are few, so a walk per group is cheap.
    let mut result = BTreeSet::new();
    // Include graphs can branch and rejoin: bound the walk so a crafted file cannot make it
    // exponential.
    let mut steps = 0usize;
    for start in groups.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((group, path)) = stack.pop() {
            steps += 1;
            if steps > MAX_GROUP_WALK {
                return Err(Error::new(
                    origin_of(0).file_only(),
                    ErrorKind::TooMany {
                        what: "steps resolving dependency-group includes",
                        limit: MAX_GROUP_WALK,
                    },
                ));
            }
            if group == name {
                result.insert(start.clone());
            }
            let Some(entries) = groups.get(&group) else {
                continue;
            };
            for entry in *entries {
                let GroupEntry::Include { include_group } = entry.get_ref() else {
                    continue;
                };
                let included = normalize_name(include_group);
                let origin = origin_of(entry.span().start);
                if !groups.contains_key(&included) {
                    return Err(Error::new(
                        origin,
                        ErrorKind::Syntax(format!(
                            "dependency group {group:?} includes {include_group:?}, which is not defined"
                        )),
                    ));
                }
                if path.contains(&included) {
                    return Err(Error::new(
                        origin,
                        ErrorKind::Syntax(format!(
                            "dependency groups include each other in a cycle: {} -> {included}",
                            path.join(" -> ")
                        )),
                    ));
                }
                let mut next = path.clone();
                next.push(included.clone());
                stack.push((included, next));
            }
        }
    }
    Ok(result)
}

fn requirement_package(
    requirement: &Spanned<String>,
    groups: &[String],
    origin_of: &impl Fn(usize) -> Origin,
) -> Result<Package, Error> {
    // The span covers the quoted string; the requirement starts after its quote.
    let origin = origin_of(requirement.span().start);
    let text = requirement.get_ref();
    let parsed = parse_pep508(text).map_err(|message| {
        Error::new(
            origin.clone(),
            ErrorKind::InvalidRequirement {
                text: text.clone(),
                message,
            },
        )
    })?;
    if let Some(marker) = &parsed.marker {
        // Parsed already as part of the requirement; checked again only to keep one error kind.
        parse_marker(marker).map_err(|message| {
            Error::new(
                origin.clone(),
                ErrorKind::InvalidMarker {
                    text: marker.clone(),
                    message,
                },
            )
        })?;
    }
    let mut package = Package::new(&parsed.name, origin);
    package.extras = parsed.extras;
    package.marker = parsed.marker;
    package.direct = true;
    package.groups = groups.to_vec();
    match parsed.url {
        Some(url) => package.source = source_of_url(&url),
        None => {
            package.source = Source::Registry { url: None };
            if let Some(specifier) = parsed.specifier.filter(|s| !s.is_empty()) {
                package.version = pinned_version(&specifier).cloned();
                package.specifier = Some(specifier);
            }
        }
    }
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DependencySet, Error> {
        parse_pyproject(Path::new("pyproject.toml"), text, &Limits::default())
    }

    #[test]
    fn project_extras_groups_and_indexes() {
        let set = parse(
            r#"[project]
name = "demo"
dependencies = [
    "numpy>=1.26",
    "torch @ https://download.pytorch.org/whl/cpu/torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl",
]

[project.optional-dependencies]
Fancy = ["rich>=13; python_version >= '3.8'"]

[dependency-groups]
test = ["pytest>=8"]
dev = [{ include-group = "test" }, "ruff==0.9.1"]

[[tool.uv.index]]
name = "pytorch"
url = "https://download.pytorch.org/whl/cpu"
explicit = true

[[tool.poetry.source]]
name = "mirror"
url = "https://mirror.example/simple"
priority = "supplemental"
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = set
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.groups.clone(), p.origin.line))
            .collect();
        assert_eq!(
            names,
            [
                ("numpy", vec![], Some(4)),
                ("torch", vec![], Some(5)),
                ("rich", vec!["fancy".to_string()], Some(9)),
                ("ruff", vec!["dev".to_string()], Some(13)),
                (
                    "pytest",
                    vec!["test".to_string(), "dev".to_string()],
                    Some(12)
                ),
            ]
        );
        assert!(set.packages.iter().all(|p| p.direct));
        assert!(matches!(set.packages[1].source, Source::Url { .. }));
        assert!(set.packages[3].is_pinned());
        let indexes: Vec<_> = set
            .indexes
            .iter()
            .map(|i| (i.kind, i.name.as_deref()))
            .collect();
        assert_eq!(
            indexes,
            [
                (IndexKind::Explicit, Some("pytorch")),
                (IndexKind::Extra, Some("mirror"))
            ]
        );
    }

    #[test]
    fn bad_includes_and_requirements_are_errors() {
        let e = parse("[dependency-groups]\na = [{ include-group = \"b\" }]\nb = [{ include-group = \"a\" }]\n").err();
        assert!(
            e.as_ref().is_some_and(|e| e.to_string().contains("cycle")),
            "{e:?}"
        );
        let e = parse("[dependency-groups]\na = [{ include-group = \"missing\" }]\n").err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.to_string().contains("not defined")),
            "{e:?}"
        );
        let e = parse("[project]\ndependencies = [\n  \"ok\",\n  \"bad >== 1\",\n]\n").err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::InvalidRequirement { .. }, Some(4)))
            ),
            "{e:?}"
        );
    }
}
