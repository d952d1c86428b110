//! The GGUF reader (header, metadata, tensor descriptions, chat templates) on arbitrary bytes,
//! under a `.gguf` name, which selects it whatever the bytes hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = aigate_scan::ScanLimits {
        max_decoded_bytes: 16 << 20,
        max_in_memory: 16 << 20,
        max_decoded_bytes_per_file: 64 << 20,
        min_decoded_bytes_per_file: 64 << 20,
        ..aigate_scan::ScanLimits::default()
    };
    let Ok(scanner) = aigate_scan::Scanner::new(&[], &[], limits) else { return };
    for name in ["model.gguf"] {
        let _ = scanner.scan_bytes(data, name);
    }
});
