//! OSV records (JSON and YAML) and the binary advisory index: no input panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aigate_advisory::records::parse_record("r.json", data);
    let _ = aigate_advisory::records::parse_record("r.yaml", data);
    if let Ok(index) = aigate_advisory::index::Index::decode(data) {
        let names: Vec<String> = index.names().take(16).map(str::to_owned).collect();
        for name in names {
            let _ = index.advisories(&name);
        }
    }
});
