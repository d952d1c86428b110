//! What the SBOM command reads from untrusted files: the model-card facts of a model folder
//! (`config.json`, README front matter), the SBOMs `--check` is given, and the Hub repositories
//! a project's configuration files name (what `aigate init` declares): no input panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aigate_sbom::card::read(Some(data), Some(data));
    let _ = aigate_sbom::check::read(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = aigate_sbom::hub_refs::find(text);
    }
});
