//! Finding a project's inputs, and reading any input by its kind.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;
use crate::limits::Limits;
use crate::model::{DependencySet, InputFormat};

/// An input found at a project's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredInput {
    /// The file, or the environment's folder.
    pub path: PathBuf,
    /// How to read it.
    pub format: InputFormat,
}

/// The kind of input a file name says a file is: `uv.lock`, `poetry.lock`, `Pipfile.lock`,
/// `pylock.toml`/`pylock.*.toml`, `pyproject.toml`, and `*.txt` as requirements.
pub fn format_of_path(path: &Path) -> Option<InputFormat> {
    let name = path.file_name()?.to_str()?;
    Some(match name {
        "uv.lock" => InputFormat::UvLock,
        "poetry.lock" => InputFormat::PoetryLock,
        "Pipfile.lock" => InputFormat::PipfileLock,
        "pyproject.toml" => InputFormat::Pyproject,
        _ if name == "pylock.toml" || (name.starts_with("pylock.") && name.ends_with(".toml")) => {
            InputFormat::Pylock
        }
        _ if name.ends_with(".txt") => InputFormat::Requirements,
        _ => return None,
    })
}

/// The inputs at a project's root, in a fixed order: `uv.lock`, `poetry.lock`, `Pipfile.lock`,
/// `pylock.toml` and `pylock.*.toml`, `requirements*.txt` (sorted), `pyproject.toml`, then the
/// environment: `virtual_env` when given (the caller passes `VIRTUAL_ENV`'s value; this library
/// reads no environment variables) and a folder, else `.venv` at the root if it has a
/// `pyvenv.cfg`.
pub fn discover(root: &Path, virtual_env: Option<&Path>) -> Result<Vec<DiscoveredInput>, Error> {
    let mut found = Vec::new();
    let mut push =
        |path: PathBuf, format: InputFormat| found.push(DiscoveredInput { path, format });
    for (name, format) in [
        ("uv.lock", InputFormat::UvLock),
        ("poetry.lock", InputFormat::PoetryLock),
        ("Pipfile.lock", InputFormat::PipfileLock),
        ("pylock.toml", InputFormat::Pylock),
    ] {
        let path = root.join(name);
        if path.is_file() {
            push(path, format);
        }
    }
    let mut named_locks = Vec::new();
    let mut requirements = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("pylock.") && name.ends_with(".toml") && name != "pylock.toml" {
            named_locks.push(entry.path());
        } else if name.starts_with("requirements") && name.ends_with(".txt") {
            requirements.push(entry.path());
        }
    }
    named_locks.sort();
    requirements.sort();
    for path in named_locks {
        push(path, InputFormat::Pylock);
    }
    for path in requirements {
        push(path, InputFormat::Requirements);
    }
    let pyproject = root.join("pyproject.toml");
    if pyproject.is_file() {
        push(pyproject, InputFormat::Pyproject);
    }
    let dot_venv = root.join(".venv");
    match virtual_env.filter(|v| v.is_dir()) {
        Some(active) => push(active.to_path_buf(), InputFormat::Environment),
        None if dot_venv.join("pyvenv.cfg").is_file() => push(dot_venv, InputFormat::Environment),
        None => {}
    }
    Ok(found)
}

/// Reads one input of a known kind.
pub fn read_input(
    path: &Path,
    format: InputFormat,
    limits: &Limits,
) -> Result<DependencySet, Error> {
    match format {
        InputFormat::Requirements => crate::requirements::read_requirements(path, limits),
        InputFormat::UvLock => crate::uv_lock::read_uv_lock(path, limits),
        InputFormat::PoetryLock => crate::poetry_lock::read_poetry_lock(path, limits),
        InputFormat::PipfileLock => crate::pipfile_lock::read_pipfile_lock(path, limits),
        InputFormat::Pylock => crate::pylock::read_pylock(path, limits),
        InputFormat::Pyproject => crate::pyproject::read_pyproject(path, limits),
        InputFormat::Environment => crate::environment::read_environment(path, limits),
    }
}

/// Reads a path whose kind its name tells ([`format_of_path`]); a folder is an environment.
/// `None` when neither says what it is.
pub fn read_path(path: &Path, limits: &Limits) -> Option<Result<DependencySet, Error>> {
    if path.is_dir() {
        return Some(read_input(path, InputFormat::Environment, limits));
    }
    format_of_path(path).map(|format| read_input(path, format, limits))
}

/// Reads every discovered input into one set. The first error stops the reading: an input that
/// cannot be read is never silently left out.
pub fn read_all(inputs: &[DiscoveredInput], limits: &Limits) -> Result<DependencySet, Error> {
    let mut set = DependencySet::default();
    for input in inputs {
        set.extend(read_input(&input.path, input.format, limits)?);
    }
    Ok(set)
}
