//! What `deps` and `policy` share: finding and reading the Python dependency inputs, one by one,
//! so that an input that cannot be read is an error of its own and the others are still read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aigate_python::{DependencySet, InputFormat, Limits, Package, RecordCheck, Source};
use aigate_report::{Dependency, Finding, InputError};

use crate::cli::InputArgs;
use crate::settings::Settings;

/// One input, read or not.
pub struct ReadInput {
    /// Its kind.
    pub format: InputFormat,
    /// What it holds.
    pub set: DependencySet,
    /// For an environment, its RECORD checks (when asked for).
    pub records: Option<Vec<RecordCheck>>,
}

/// The inputs read, and those that could not be.
pub struct Inputs {
    /// Read.
    pub read: Vec<ReadInput>,
    /// Not read, each with why and what to do.
    pub errors: Vec<InputError>,
}

/// The active virtual environment (`VIRTUAL_ENV`) as a dependency input of the project at
/// `root`, unless it is aigate's own tool environment: the one the running binary is installed in,
/// outside the project. pre-commit runs a hook with `VIRTUAL_ENV` set to the hook's environment,
/// and `pipx` and `uv tool` environments hold aigate alone; none of them is what the project
/// installs. An environment inside the project, or one that does not hold this binary, counts.
pub fn active_environment(root: &Path) -> Option<PathBuf> {
    let venv = PathBuf::from(std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty())?);
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let venv_real = real(&venv);
    let ours = std::env::current_exe()
        .map(|exe| real(&exe).starts_with(&venv_real))
        .unwrap_or(false);
    if ours && !venv_real.starts_with(real(root)) {
        return None;
    }
    Some(venv)
}

/// A path as the user reads it best: `./uv.lock` as `uv.lock`, and a path under the current
/// directory (the project root found upwards, made absolute) relative to it.
pub fn shown(path: &Path) -> PathBuf {
    let path = path.strip_prefix(".").unwrap_or(path);
    if path.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rest) = path.strip_prefix(&cwd)
        && !rest.as_os_str().is_empty()
    {
        return rest.to_path_buf();
    }
    path.to_path_buf()
}

/// The kind of a file from its name, allowing prefixes (`main.uv.lock`, `old-requirements.txt`).
pub fn format_of(path: &Path) -> Option<InputFormat> {
    if path.is_dir() {
        return Some(InputFormat::Environment);
    }
    if let Some(format) = aigate_python::format_of_path(path) {
        return Some(format);
    }
    let name = path.file_name()?.to_str()?;
    [
        ("uv.lock", InputFormat::UvLock),
        ("poetry.lock", InputFormat::PoetryLock),
        ("Pipfile.lock", InputFormat::PipfileLock),
        ("pylock.toml", InputFormat::Pylock),
        ("pyproject.toml", InputFormat::Pyproject),
    ]
    .into_iter()
    .find(|(suffix, _)| name.ends_with(suffix))
    .map(|(_, format)| format)
}

/// The hint for an error reading `format`.
fn hint_for(error: &aigate_python::Error) -> String {
    use aigate_python::ErrorKind;
    match &error.kind {
        ErrorKind::Io(_) => {
            "check the path; name inputs with -r FILE, --lock FILE or --env PATH".into()
        }
        ErrorKind::TooLarge { .. } | ErrorKind::LineTooLong { .. } | ErrorKind::TooMany { .. } => {
            "the input is over a reader's bound; a real lock or requirements file is far smaller"
                .into()
        }
        _ => {
            "fix the file at that line (regenerate it with the tool that wrote it), then run again"
                .into()
        }
    }
}

/// Reads the inputs the flags name, or those found at the project's root.
pub fn read(args: &InputArgs, settings: &Settings, records: bool) -> Inputs {
    let limits = Limits::default();
    let mut wanted: Vec<(PathBuf, Option<InputFormat>)> = Vec::new();
    for path in &args.requirements {
        wanted.push((path.clone(), Some(InputFormat::Requirements)));
    }
    for path in &args.locks {
        wanted.push((path.clone(), format_of(path)));
    }
    for path in &args.envs {
        wanted.push((path.clone(), Some(InputFormat::Environment)));
    }
    let mut errors = Vec::new();
    let mut pip_confs = args.pip_confs.clone();
    if wanted.is_empty() && pip_confs.is_empty() {
        pip_confs.extend(
            ["pip.conf", "pip.ini"]
                .into_iter()
                .map(|name| settings.root.join(name))
                .filter(|p| p.is_file()),
        );
    }
    let named_pip_conf = !args.pip_confs.is_empty();
    let mut environment = None;
    if wanted.is_empty() && !named_pip_conf {
        let virtual_env = active_environment(&settings.root);
        match aigate_python::discover(&settings.root, virtual_env.as_deref()) {
            Ok(found) => {
                wanted.extend(found.into_iter().map(|d| (d.path, Some(d.format))));
            }
            Err(e) => errors.push(
                InputError::new(settings.root.display().to_string(), e.to_string())
                    .with_hint("name inputs with -r FILE, --lock FILE or --env PATH"),
            ),
        }
        if wanted.is_empty() && errors.is_empty() && pip_confs.is_empty() {
            errors.push(
                InputError::new(
                    shown(&settings.root).display().to_string(),
                    "no Python dependency input found (uv.lock, poetry.lock, Pipfile.lock, pylock.toml, requirements*.txt, pyproject.toml, .venv)",
                )
                .with_hint("name inputs with -r FILE, --lock FILE or --env PATH"),
            );
        } else {
            // What pip and uv on this machine would use too: their configuration files and
            // variables, which apply to every install from this project.
            let var = |name: &str| std::env::var(name).ok();
            for file in aigate_policy::pip_config_files(&var, virtual_env.as_deref()) {
                if file.is_file() && !pip_confs.contains(&file) {
                    pip_confs.push(file);
                }
            }
            let from_env = aigate_policy::pip_environment(&var);
            if !from_env.indexes.is_empty()
                || !from_env.trusted_hosts.is_empty()
                || !from_env.no_index.is_empty()
            {
                environment = Some(from_env);
            }
        }
    }
    let mut read = Vec::new();
    if let Some(set) = environment {
        read.push(ReadInput {
            format: InputFormat::Requirements,
            set,
            records: None,
        });
    }
    for path in pip_confs {
        let path = shown(&path);
        let limit = aigate_policy::MAX_PIP_CONF_BYTES as u64;
        let parsed = aigate_integrity::files::read_regular(&path, limit)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))
            .and_then(|text| {
                aigate_policy::parse_pip_conf(&path, &text).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(set) => read.push(ReadInput {
                format: InputFormat::Requirements,
                set,
                records: None,
            }),
            Err(message) => errors.push(
                InputError::new(path.display().to_string(), message).with_hint(
                    "pip reads its configuration as INI: [global] then `key = value` lines",
                ),
            ),
        }
    }
    for (path, format) in wanted {
        let path = shown(&path);
        let Some(format) = format else {
            errors.push(
                InputError::new(path.display().to_string(), "cannot tell what kind of file this is from its name")
                    .with_hint("name a lock uv.lock, poetry.lock, Pipfile.lock, pylock.toml or pyproject.toml (a prefix is fine: main.uv.lock), or pass requirements files with -r"),
            );
            continue;
        };
        match aigate_python::read_input(&path, format, &limits) {
            Ok(set) => {
                let records = (records && format == InputFormat::Environment).then(|| {
                    match aigate_python::check_environment_records(&path, &limits) {
                        Ok(mut checks) => {
                            // The check works on canonical paths; show them as the user named
                            // the environment.
                            if let Ok(real) = std::fs::canonicalize(&path) {
                                for check in &mut checks {
                                    if let Ok(rest) = check.dist_info.strip_prefix(&real) {
                                        check.dist_info = path.join(rest);
                                    }
                                }
                            }
                            checks
                        }
                        Err(e) => {
                            errors.push(
                                InputError::new(path.display().to_string(), e.to_string())
                                    .with_hint(
                                        "the environment's RECORD files could not be checked",
                                    ),
                            );
                            Vec::new()
                        }
                    }
                });
                read.push(ReadInput {
                    format,
                    set,
                    records,
                });
            }
            Err(e) => errors.push(
                InputError::new(path.display().to_string(), e.to_string()).with_hint(hint_for(&e)),
            ),
        }
    }
    Inputs { read, errors }
}

/// Reads one file for `deps diff`.
pub fn read_one(path: &Path) -> Result<DependencySet, InputError> {
    let path = shown(path);
    let Some(format) = format_of(&path) else {
        return Err(
            InputError::new(path.display().to_string(), "cannot tell what kind of file this is from its name")
                .with_hint("name it so that it ends in uv.lock, poetry.lock, Pipfile.lock, pylock.toml, pyproject.toml or .txt"),
        );
    };
    aigate_python::read_input(&path, format, &Limits::default()).map_err(|e| {
        InputError::new(path.display().to_string(), e.to_string()).with_hint(hint_for(&e))
    })
}

/// A source as one string, and its kind.
pub fn source_of(source: &Source) -> (String, &'static str) {
    match source {
        Source::Registry { url: Some(url) } => (url.clone(), "registry"),
        Source::Registry { url: None } => ("default index".into(), "registry"),
        Source::Url { url, .. } => (url.clone(), "url"),
        Source::Path { path } => (path.clone(), "path"),
        Source::Directory { path } => (path.clone(), "directory"),
        Source::Editable { location } => (location.clone(), "editable"),
        Source::Vcs {
            vcs, url, commit, ..
        } => (
            match commit {
                Some(c) => format!("{vcs}+{url}@{c}"),
                None => format!("{vcs}+{url}"),
            },
            "vcs",
        ),
        Source::Virtual { path } => (path.clone(), "virtual"),
        Source::Unknown => ("unknown".into(), "unknown"),
    }
}

/// A package's licence as it is shown: the SPDX expression its metadata declares or implies
/// (`true`), else the first line of its free-text `License` (`false`), cut at 80 characters.
pub fn licence_of(package: &Package) -> Option<(String, bool)> {
    let l = package.licence.as_ref()?;
    match aigate_policy::licence::licence_expression(l) {
        Ok(Some((e, _))) => Some((e.to_string(), true)),
        _ => l
            .text
            .as_deref()
            .and_then(|t| t.lines().next())
            .map(|t| (t.chars().take(80).collect(), false)),
    }
}

/// A package as `deps` lists it.
pub fn dependency(package: &Package, indexes: &[String]) -> Dependency {
    let (mut source, source_kind) = source_of(&package.source);
    if matches!(package.source, Source::Registry { url: None }) && !indexes.is_empty() {
        source = indexes.join(", ");
    }
    let licence = licence_of(package).map(|(text, _)| text);
    Dependency {
        name: package.name.clone(),
        version: package.version.as_ref().map(ToString::to_string),
        specifier: package
            .specifier
            .as_ref()
            .map(ToString::to_string)
            .filter(|s| !s.is_empty() && package.version.is_none()),
        source,
        source_kind: source_kind.into(),
        hashes: package.hashes.iter().map(ToString::to_string).collect(),
        licence,
        location: aigate_policy::location_of(&package.origin)
            .with_subject(aigate_policy::purl(package)),
        direct: package.direct,
        groups: package.groups.clone(),
        marker: package.marker.clone(),
    }
}

/// Adds the text of the line each finding points at (`source`), for the human renderer to show
/// as cargo-deny does. Files are read once each, bounded.
pub fn add_source_lines(findings: &mut [Finding]) {
    let mut files: HashMap<String, Option<String>> = HashMap::new();
    for finding in findings {
        let Some(span) = finding.location.span else {
            continue;
        };
        let text = files
            .entry(finding.location.path.clone())
            .or_insert_with(|| {
                aigate_integrity::files::read_regular(Path::new(&finding.location.path), 64 << 20)
                    .ok()
            });
        let line = text.as_deref().and_then(|t| {
            t.lines()
                .nth(usize::try_from(span.line).ok()?.checked_sub(1)?)
                .map(|l| l.trim_end().chars().take(200).collect::<String>())
        });
        if let Some(line) = line.filter(|l| !l.trim().is_empty()) {
            finding.details.insert("source".into(), line);
        }
    }
}
