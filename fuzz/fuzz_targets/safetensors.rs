//! The safetensors header reader on arbitrary bytes, under a `.safetensors` name, which
//! selects it whatever the bytes hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "shared/scanner.rs"]
mod shared;
use shared::scanner;

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = scanner() else { return };
    for name in ["model.safetensors"] {
        let _ = scanner.scan_bytes(data, name);
    }
});
