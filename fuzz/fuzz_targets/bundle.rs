//! The signature reader on arbitrary bytes: the Sigstore bundle parser, the signature and
//! certificate-chain checks behind it, the statement parser (fuzzed directly too, although
//! it only ever sees signed payloads), and the PEM key and certificate readers.
#![no_main]

use aigate_attest::{Bundle, Certificate, SigningKey, Verifier, VerifyingKey};
use libfuzzer_sys::fuzz_target;

const PUBLIC: &str =
    include_str!("../../crates/aigate-attest/tests/data/model-signing-1.1.1/keys/ec_p256.pub.pem");
const CA: &str =
    include_str!("../../crates/aigate-attest/tests/data/model-signing-1.1.1/keys/pki/ca.crt");

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::parse(data) {
        let _ = bundle.to_json();
        if let Ok(key) = VerifyingKey::from_pem(PUBLIC) {
            let _ = aigate_attest::verify_bundle(&bundle, &Verifier::Key(key));
        }
        if let Ok(roots) = Certificate::from_pem_chain(CA) {
            let _ = aigate_attest::verify_bundle(&bundle, &Verifier::certificates(roots));
        }
    }
    let _ = aigate_attest::statement::parse_statement(data);
    let _ = Certificate::from_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SigningKey::from_pem(text, Some("pw"));
        let _ = VerifyingKey::from_pem(text);
        let _ = Certificate::from_pem_chain(text);
    }
});
