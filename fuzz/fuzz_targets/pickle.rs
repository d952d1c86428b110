//! The pickle reader and interpreter on arbitrary bytes: no panic, no hang, bounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = aigate_pickle::Limits {
        max_opcodes: 1 << 20,
        max_stack: 1 << 16,
        max_memo: 1 << 16,
        max_embedded_bytes: 1 << 20,
        ..aigate_pickle::Limits::default()
    };
    let analysis = aigate_pickle::analyze_bytes(data, &limits);
    assert!(analysis.bytes <= data.len() as u64);
});
