//! Helpers shared by integration tests.

// Each test crate uses the helpers it needs; the others are unused there.
#![allow(dead_code)]

pub(crate) mod cyclonedx;
pub(crate) mod https;

use std::path::Path;
use std::process::Command;

/// The index variables pip and uv read, which the machine running the tests may set.
pub(crate) const INDEX_VARIABLES: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_TRUSTED_HOST",
    "PIP_NO_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_FIND_LINKS",
];

/// aigate in `dir`, isolated from this machine's virtual environment and pip configuration.
pub(crate) fn isolated(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aigate"));
    command
        .current_dir(dir)
        .env_remove("VIRTUAL_ENV")
        .env("PIP_CONFIG_FILE", "/dev/null");
    for name in INDEX_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// Copies the folder `from` to `to`, recursively.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
