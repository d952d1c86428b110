//! The requirements-file reader on arbitrary text: no panic, no hang; every entry it returns
//! points at a line of the input.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = aigate_python::Limits {
        max_line_length: 4096,
        ..aigate_python::Limits::default()
    };
    if let Ok(set) = aigate_python::parse_requirements(Path::new("requirements.txt"), text, &limits)
    {
        // Python's splitlines can count more lines than `\n` does, never fewer than one per
        // entry's line.
        for package in &set.packages {
            assert!(package.origin.line.is_some_and(|l| l >= 1));
        }
    }
});
