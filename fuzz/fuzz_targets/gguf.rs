//! The GGUF reader (header, metadata, tensor descriptions, chat templates) on arbitrary bytes,
//! under a `.gguf` name, which selects it whatever the bytes hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "shared/scanner.rs"]
mod shared;
use shared::scanner;

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = scanner() else { return };
    for name in ["model.gguf"] {
        let _ = scanner.scan_bytes(data, name);
    }
});
