//! What custody reads back that others could have written: the custody log (checked against
//! its chain and an anchor, and each event's signature against a key), version manifests from the store, and the safetensors headers
//! `aigate diff` compares, and the digest cache `verify` reads from the user's cache folder: no
//! input panics, hangs or allocates without bound.
#![no_main]

use aigate_integrity::custody::{Head, verify_bytes};
use aigate_integrity::hash::Digest;
use aigate_integrity::store::VersionManifest;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn trusted() -> &'static aigate_attest::VerifyingKey {
    static KEY: OnceLock<aigate_attest::VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| aigate_attest::SigningKey::generate_p256().verifying_key())
}

fuzz_target!(|data: &[u8]| {
    let anchor = Head {
        seq: u64::from(data.first().copied().unwrap_or(1)),
        digest: Digest([0; 32]),
    };
    for event in verify_bytes(data, None).events {
        let _ = aigate_attest::check_event(&event, std::slice::from_ref(trusted()));
    }
    let _ = verify_bytes(data, Some(anchor));
    let _ = VersionManifest::from_bytes(Digest([0; 32]), data);
    let _ = aigate_integrity::digest_cache::parse_cache(data);
    let _ = aigate_scan::safetensors_tensors(&mut &data[..], data.len() as u64);
});
