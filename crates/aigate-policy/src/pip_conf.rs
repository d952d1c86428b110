//! pip's configuration files (`pip.conf`, `pip.ini`): the index settings in them, read as pip's
//! `configparser` reads them, so that `extra-index-url` there is checked like the option in a
//! requirements file.

use std::path::Path;

use aigate_python::{DependencySet, EnvRef, IndexKind, IndexRef, Origin, TrustedHost};

/// Largest pip configuration read.
pub const MAX_PIP_CONF_BYTES: usize = 1 << 20;

/// Why a pip configuration cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct PipConfError {
    /// The file.
    pub file: String,
    /// The 1-based line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// A key, its line, and its values with their lines (continuation lines add values).
type Setting = (String, usize, Vec<(String, usize)>);

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Reads the index settings of a pip configuration: `index-url`, `extra-index-url`,
/// `find-links` and `trusted-host` (each may hold several values, on continuation lines), and
/// `no-index`, in every section (`[global]`, `[install]`, …; pip applies `[global]` to every
/// command). Keys are compared as pip does: case-insensitive, `_` read as `-`. `$VAR` and
/// `${VAR}` in values are reported, never expanded.
pub fn parse_pip_conf(path: &Path, text: &str) -> Result<DependencySet, PipConfError> {
    let error = |line: usize, message: String| PipConfError {
        file: path.display().to_string(),
        line: saturate(line),
        message,
    };
    if text.len() > MAX_PIP_CONF_BYTES {
        return Err(error(1, format!("larger than {MAX_PIP_CONF_BYTES} bytes")));
    }
    let mut set = DependencySet::default();
    let mut section: Option<String> = None;
    // The key being read, its line, and its values so far (continuation lines add to them).
    let mut current: Option<Setting> = None;
    let flush = |set: &mut DependencySet, entry: Option<Setting>| {
        let Some((key, key_line, values)) = entry else {
            return;
        };
        let truthy = values.first().is_some_and(|(v, _)| {
            matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
        });
        let kind = match key.as_str() {
            "index-url" => Some(IndexKind::Primary),
            "extra-index-url" => Some(IndexKind::Extra),
            "find-links" => Some(IndexKind::FindLinks),
            _ => None,
        };
        for (value, line) in values {
            for word in value.split_whitespace() {
                let origin = Origin::line(path, saturate(line));
                for name in env_refs(word) {
                    set.env_refs.push(EnvRef {
                        name,
                        origin: origin.clone(),
                    });
                }
                match (kind, key.as_str()) {
                    (Some(kind), _) => set.indexes.push(IndexRef {
                        url: word.to_owned(),
                        kind,
                        name: None,
                        origin,
                    }),
                    (None, "trusted-host") => set.trusted_hosts.push(TrustedHost {
                        host: word.to_owned(),
                        origin,
                    }),
                    _ => {}
                }
            }
        }
        if key == "no-index" && truthy {
            set.no_index.push(Origin::line(path, saturate(key_line)));
        }
    };
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            match current.as_mut() {
                Some((_, _, values)) => values.push((trimmed.to_owned(), number)),
                None => {
                    return Err(error(
                        number,
                        "a continuation line with no key before it".into(),
                    ));
                }
            }
            continue;
        }
        flush(&mut set, current.take());
        if let Some(name) = trimmed.strip_prefix('[') {
            let Some(name) = name.strip_suffix(']') else {
                return Err(error(
                    number,
                    format!("malformed section header {trimmed:?}"),
                ));
            };
            section = Some(name.trim().to_ascii_lowercase());
            continue;
        }
        let Some(at) = trimmed.find(['=', ':']) else {
            return Err(error(
                number,
                format!("expected `key = value`, found {trimmed:?}"),
            ));
        };
        if section.is_none() {
            return Err(error(number, "a key before any [section]".into()));
        }
        let key = trimmed[..at].trim().to_ascii_lowercase().replace('_', "-");
        let value = trimmed[at + 1..].trim();
        let values = if value.is_empty() {
            Vec::new()
        } else {
            vec![(value.to_owned(), number)]
        };
        current = Some((key, number, values));
    }
    flush(&mut set, current.take());
    Ok(set)
}

/// The names of `$VAR` and `${VAR}` references in a value.
fn env_refs(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let (name, after) = match rest.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => break,
            },
            None => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            }
        };
        if !name.is_empty() {
            names.push(name.to_owned());
        }
        rest = after;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_settings_are_read_with_their_lines() {
        let text = "[global]\nindex-url = https://pypi.org/simple\nextra_index_url =\n    https://a.example/simple\n    https://b.example/simple ${TOKEN}\ntrusted-host = a.example\n\n[install]\nno-index = yes\ntimeout = 60\n";
        let set = parse_pip_conf(Path::new("pip.conf"), text).unwrap_or_default();
        let got: Vec<(&str, IndexKind, Option<u32>)> = set
            .indexes
            .iter()
            .map(|i| (i.url.as_str(), i.kind, i.origin.line))
            .collect();
        assert_eq!(
            got,
            [
                ("https://pypi.org/simple", IndexKind::Primary, Some(2)),
                ("https://a.example/simple", IndexKind::Extra, Some(4)),
                ("https://b.example/simple", IndexKind::Extra, Some(5)),
                ("${TOKEN}", IndexKind::Extra, Some(5)),
            ]
        );
        assert_eq!(set.trusted_hosts[0].host, "a.example");
        assert_eq!(set.env_refs[0].name, "TOKEN");
        assert_eq!(set.no_index.len(), 1);
    }

    #[test]
    fn malformed_files_are_errors_naming_the_line() {
        for (text, line) in [
            ("index-url = x\n", 1),
            ("[global]\njust words\n", 2),
            ("  continuation\n", 1),
            ("[global\n", 1),
        ] {
            let err = parse_pip_conf(Path::new("pip.conf"), text).err();
            assert_eq!(err.map(|e| e.line), Some(line), "{text:?}");
        }
    }
}
