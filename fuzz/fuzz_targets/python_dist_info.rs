//! The installed-distribution readers (METADATA headers, RECORD rows, direct_url.json) on
//! arbitrary bytes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = aigate_python::Limits {
        max_metadata_size: 1 << 16,
        ..aigate_python::Limits::default()
    };
    let _ = aigate_python::parse_metadata(Path::new("METADATA"), data, &limits);
    let _ = aigate_python::parse_direct_url(Path::new("direct_url.json"), data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(entries) = aigate_python::parse_record(Path::new("RECORD"), text)
    {
        for entry in entries {
            assert!(!entry.path.is_empty());
        }
    }
});
