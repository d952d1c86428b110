//! What the SBOM command reads from untrusted files: the model-card facts of a model folder
//! (`config.json`, README front matter) and the SBOMs `--check` is given: no input panics or
//! hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aigate_sbom::card::read(Some(data), Some(data));
    let _ = aigate_sbom::check::read(data);
});
