//! pip's configuration files (`pip.conf`, `pip.ini`): the index settings in them, read as pip's
//! `configparser` reads them, so that `extra-index-url` there is checked like the option in a
//! requirements file.

use std::path::{Path, PathBuf};

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

/// The configuration files pip on this machine reads, in pip's order (global, user, site), as
/// `pip config debug` lists them; `var` reads an environment variable. `PIP_CONFIG_FILE` comes
/// first when set, and then the user's files are skipped, as pip skips them; set to the null
/// device it means no file at all. Existence is the caller's check.
pub fn pip_config_files(
    var: &dyn Fn(&str) -> Option<String>,
    virtual_env: Option<&Path>,
) -> Vec<PathBuf> {
    let named = var("PIP_CONFIG_FILE").filter(|v| !v.is_empty());
    if named
        .as_deref()
        .is_some_and(|f| f == "/dev/null" || f.eq_ignore_ascii_case("nul"))
    {
        return Vec::new();
    }
    let mut files: Vec<PathBuf> = named.iter().map(PathBuf::from).collect();
    let home = var("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        if let Some(data) = var("ProgramData") {
            files.push(Path::new(&data).join("pip").join("pip.ini"));
        }
    } else {
        let dirs = var("XDG_CONFIG_DIRS")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/etc/xdg".to_owned());
        files.extend(
            dirs.split(':')
                .filter(|d| !d.is_empty())
                .map(|d| Path::new(d).join("pip").join("pip.conf")),
        );
        files.push(PathBuf::from("/etc/pip.conf"));
    }
    let user_skipped = named.as_deref().is_some_and(|f| Path::new(f).exists());
    if !user_skipped {
        if cfg!(windows) {
            if let Some(data) = var("APPDATA") {
                files.push(Path::new(&data).join("pip").join("pip.ini"));
            }
        } else if let Some(home) = &home {
            files.push(home.join(".pip").join("pip.conf"));
            let config_home = var("XDG_CONFIG_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".config"));
            files.push(config_home.join("pip").join("pip.conf"));
            if cfg!(target_os = "macos") {
                files.push(home.join("Library/Application Support/pip/pip.conf"));
            }
        }
    }
    if let Some(env) = virtual_env {
        files.push(env.join(if cfg!(windows) { "pip.ini" } else { "pip.conf" }));
    }
    files
}

/// The index settings pip and uv take from the environment (`PIP_INDEX_URL`,
/// `PIP_EXTRA_INDEX_URL`, `PIP_FIND_LINKS`, `PIP_TRUSTED_HOST`, `PIP_NO_INDEX`, and uv's
/// `UV_INDEX_URL`, `UV_DEFAULT_INDEX`, `UV_EXTRA_INDEX_URL`, `UV_INDEX`, `UV_FIND_LINKS`), each
/// value's origin named `$VARIABLE`. Lists are whitespace-separated, as both tools read them;
/// uv's `UV_INDEX` entries may be `name=url`.
pub fn pip_environment(var: &dyn Fn(&str) -> Option<String>) -> DependencySet {
    let mut set = DependencySet::default();
    let lists: [(&str, IndexKind); 9] = [
        ("PIP_INDEX_URL", IndexKind::Primary),
        ("PIP_EXTRA_INDEX_URL", IndexKind::Extra),
        ("PIP_FIND_LINKS", IndexKind::FindLinks),
        ("UV_INDEX_URL", IndexKind::Primary),
        ("UV_DEFAULT_INDEX", IndexKind::Primary),
        ("UV_EXTRA_INDEX_URL", IndexKind::Extra),
        // uv tries `UV_INDEX` entries before the default index: extra indexes in pip's terms.
        ("UV_INDEX", IndexKind::Extra),
        ("UV_FIND_LINKS", IndexKind::FindLinks),
        ("PIP_TRUSTED_HOST", IndexKind::Primary),
    ];
    for (name, kind) in lists {
        let Some(value) = var(name) else { continue };
        let origin = Origin::file(format!("${name}"));
        for word in value.split_whitespace() {
            if name == "PIP_TRUSTED_HOST" {
                set.trusted_hosts.push(TrustedHost {
                    host: word.to_owned(),
                    origin: origin.clone(),
                });
                continue;
            }
            let (index_name, url) = match word.split_once('=') {
                Some((n, url)) if name == "UV_INDEX" && !n.contains("://") => {
                    (Some(n.to_owned()), url)
                }
                _ => (None, word),
            };
            set.indexes.push(IndexRef {
                url: url.to_owned(),
                kind,
                name: index_name,
                origin: origin.clone(),
            });
        }
    }
    if var("PIP_NO_INDEX").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    }) {
        set.no_index.push(Origin::file("$PIP_NO_INDEX"));
    }
    set
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

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_environment_variables_pip_and_uv_read_are_index_settings() {
        let var = vars(&[
            (
                "PIP_EXTRA_INDEX_URL",
                "https://a.example/simple  https://b.example/simple",
            ),
            ("PIP_TRUSTED_HOST", "a.example"),
            ("UV_INDEX", "internal=https://c.example/simple"),
            ("PIP_NO_INDEX", "yes"),
            ("PIP_TIMEOUT", "60"),
        ]);
        let set = pip_environment(&var);
        let got: Vec<(&str, IndexKind, Option<&str>, String)> = set
            .indexes
            .iter()
            .map(|i| {
                (
                    i.url.as_str(),
                    i.kind,
                    i.name.as_deref(),
                    i.origin.file.display().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "https://a.example/simple",
                    IndexKind::Extra,
                    None,
                    "$PIP_EXTRA_INDEX_URL".to_owned()
                ),
                (
                    "https://b.example/simple",
                    IndexKind::Extra,
                    None,
                    "$PIP_EXTRA_INDEX_URL".to_owned()
                ),
                (
                    "https://c.example/simple",
                    IndexKind::Extra,
                    Some("internal"),
                    "$UV_INDEX".to_owned()
                ),
            ]
        );
        assert_eq!(set.trusted_hosts[0].host, "a.example");
        assert_eq!(set.no_index.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn pip_config_files_follow_pips_order_and_its_config_file_variable() {
        let var = vars(&[
            ("HOME", "/home/u"),
            ("XDG_CONFIG_DIRS", "/opt/xdg:/etc/xdg"),
        ]);
        let files = pip_config_files(&var, Some(Path::new("/venv")));
        let mut want: Vec<PathBuf> = [
            "/opt/xdg/pip/pip.conf",
            "/etc/xdg/pip/pip.conf",
            "/etc/pip.conf",
            "/home/u/.pip/pip.conf",
            "/home/u/.config/pip/pip.conf",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        if cfg!(target_os = "macos") {
            want.push(PathBuf::from(
                "/home/u/Library/Application Support/pip/pip.conf",
            ));
        }
        want.push(PathBuf::from("/venv/pip.conf"));
        assert_eq!(files, want);
        let none = pip_config_files(
            &vars(&[("HOME", "/home/u"), ("PIP_CONFIG_FILE", "/dev/null")]),
            None,
        );
        assert!(none.is_empty(), "{none:?}");
        // A PIP_CONFIG_FILE that exists replaces the user's files.
        let named = pip_config_files(
            &vars(&[("HOME", "/home/u"), ("PIP_CONFIG_FILE", "/")]),
            None,
        );
        assert_eq!(named.first(), Some(&PathBuf::from("/")));
        assert!(!named.iter().any(|f| f.starts_with("/home/u")), "{named:?}");
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
