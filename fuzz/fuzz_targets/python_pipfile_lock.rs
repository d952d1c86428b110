//! The Pipfile.lock reader (JSON, with its own scan for line numbers) on arbitrary text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = aigate_python::Limits::default();
    let _ = aigate_python::parse_pipfile_lock(Path::new("Pipfile.lock"), text, &limits);
});
