//! The 7z reader on arbitrary bytes after the 7z signature (so that every input reaches it),
//! with limits small enough that a bound the input declares shows as a slow or large run.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One scanner for every run: building its rules for globals costs more than most inputs.
fn scanner() -> Option<&'static aigate_scan::Scanner> {
    static SCANNER: OnceLock<Option<aigate_scan::Scanner>> = OnceLock::new();
    SCANNER
        .get_or_init(|| {
            let limits = aigate_scan::ScanLimits {
                max_decoded_bytes: 16 << 20,
                max_in_memory: 16 << 20,
                max_decoded_bytes_per_file: 64 << 20,
                min_decoded_bytes_per_file: 64 << 20,
                ..aigate_scan::ScanLimits::default()
            };
            aigate_scan::Scanner::new(&[], &[], limits).ok()
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = scanner() else { return };
    let mut input = b"7z\xbc\xaf\x27\x1c".to_vec();
    input.extend_from_slice(data);
    let _ = scanner.scan_bytes(&input, "archive.7z");
});
