//! The container layer (zip, tar, npy, compressed streams, nesting) and the dispatcher on
//! arbitrary bytes, under a pickle-ish name and a neutral one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = aigate_scan::ScanLimits {
        max_decoded_bytes: 16 << 20,
        max_in_memory: 16 << 20,
        max_members: 4096,
        ..aigate_scan::ScanLimits::default()
    };
    let Ok(scanner) = aigate_scan::Scanner::new(&[], &[], limits) else { return };
    for name in ["model.pkl", "blob"] {
        let _ = scanner.scan_bytes(data, name);
    }
});
