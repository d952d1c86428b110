//! The TOML readers (uv.lock, poetry.lock, pylock.toml, pyproject.toml) on arbitrary text: no
//! panic, no hang, errors only.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = aigate_python::Limits::default();
    let _ = aigate_python::parse_uv_lock(Path::new("uv.lock"), text, &limits);
    let _ = aigate_python::parse_poetry_lock(Path::new("poetry.lock"), text, &limits);
    let _ = aigate_python::parse_pylock(Path::new("pylock.toml"), text, &limits);
    let _ = aigate_python::parse_pyproject(Path::new("pyproject.toml"), text, &limits);
});
