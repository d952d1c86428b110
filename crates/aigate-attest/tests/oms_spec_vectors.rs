//! The test vectors of the OpenSSF Model Signing spec v1.0 (`ossf/model-signing-spec`,
//! `test-vectors/v1.0`, Apache-2.0): every `valid/` bundle verifies over the files it signs
//! (the keyless one is refused as unsupported, never verified), every `invalid/` and
//! `invalid-payload/` bundle is rejected.
//!
//! The vectors are not copied into this repository (material fetched from other repositories
//! stays out of its commits). Point `AIGATE_OMS_SPEC` at a folder holding the spec's
//! `test-vectors/`, `model/` with the files the vectors sign (model-transparency's
//! `scripts/tests/v1.1.0-elliptic-key/`: `signme-1`, `signme-2`, `ignore-me`), and
//! `keys/` with model-transparency's `signing-key-pub.pem` and `ca-cert.pem`. Without it the
//! test says so and checks nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::PathBuf;

use aigate_attest::{AttestError, Bundle, Certificate, Verifier, VerifyingKey, verify_path};

#[test]
fn every_oms_spec_vector_passes() {
    let Some(root) = std::env::var_os("AIGATE_OMS_SPEC").map(PathBuf::from) else {
        eprintln!("AIGATE_OMS_SPEC is not set: the OMS spec vectors were not checked");
        return;
    };
    let vectors = root.join("test-vectors/v1.0");
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let key = Verifier::Key(
        VerifyingKey::from_pem(&read(root.join("keys/signing-key-pub.pem"))).unwrap(),
    );
    let ca = Verifier::certificates(
        Certificate::from_pem_chain(&read(root.join("keys/ca-cert.pem"))).unwrap(),
    );
    let mut checked = 0;
    for (name, verifier) in [("key", &key), ("certificate", &ca)] {
        let bundle = Bundle::read(&vectors.join(format!("valid/{name}.bundle.json"))).unwrap();
        let model = root.join("model");
        let v = verify_path(&model, &bundle, verifier).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(v.is_ok(), "{name}: {:?}", v.findings);
        checked += 1;
    }
    let keyless = Bundle::read(&vectors.join("valid/sigstore.bundle.json")).unwrap();
    assert!(matches!(
        verify_path(&root.join("model"), &keyless, &key),
        Err(AttestError::Keyless)
    ));
    checked += 1;
    for dir in ["invalid", "invalid-payload"] {
        for entry in std::fs::read_dir(vectors.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let refused = match Bundle::read(&path) {
                Err(_) => true,
                Ok(bundle) => {
                    verify_path(&root.join("model"), &bundle, &key).is_err()
                        && verify_path(&root.join("model"), &bundle, &ca).is_err()
                }
            };
            assert!(refused, "{} was accepted", path.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 8, "the spec has 3 valid and 5 invalid vectors");
}
