//! The model-card facts the SBOM reads from a model folder (`config.json`, README front
//! matter): no input panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aigate_sbom::card::read(Some(data), Some(data));
});
