//! The 7z reader on arbitrary bytes after the 7z signature (so that every input reaches it),
//! with limits small enough that a bound the input declares shows as a slow or large run.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "shared/scanner.rs"]
mod shared;
use shared::scanner;

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = scanner() else { return };
    let mut input = b"7z\xbc\xaf\x27\x1c".to_vec();
    input.extend_from_slice(data);
    let _ = scanner.scan_bytes(&input, "archive.7z");
});
