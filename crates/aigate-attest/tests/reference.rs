//! Every signature model-signing 1.1.1 made in the reference set verifies with its key or CA,
//! and fails, with the right rule, on a tampered copy of the model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use aigate_attest::{Serialization, Signer, Verifier, verify_path};
use aigate_integrity::hash::Algorithm;
use common::*;

/// (signature, verifier, files on disk it covers)
fn cases() -> Vec<(&'static str, Verifier, usize)> {
    vec![
        ("model.sig", key_verifier("ec_p256.pub.pem"), 5),
        (
            "model_ec_p256_pkcs8.sig",
            key_verifier("ec_p256_pkcs8.pub.pem"),
            5,
        ),
        ("model_ec_p384.sig", key_verifier("ec_p384.pub.pem"), 5),
        ("model_blake3.sig", key_verifier("ec_p256.pub.pem"), 5),
        ("model_shards1024.sig", key_verifier("ec_p256.pub.pem"), 5),
        ("model_cert.sig", reference_ca(), 5),
        (
            "model_inside_ignore_readme.sig",
            key_verifier("ec_p256.pub.pem"),
            4,
        ),
    ]
}

#[test]
fn every_reference_signature_verifies() {
    for (sig, verifier, files) in cases() {
        let verified = verify_path(
            &reference().join("model"),
            &reference_bundle(sig),
            &verifier,
        )
        .unwrap_or_else(|e| panic!("{sig}: {e}"));
        assert!(verified.is_ok(), "{sig}: {:?}", verified.findings);
        assert_eq!(verified.files, files, "{sig}");
    }
}

#[test]
fn the_statements_are_read_as_model_signing_wrote_them() {
    let v = verify_path(
        &reference().join("model"),
        &reference_bundle("model_shards1024.sig"),
        &key_verifier("ec_p256.pub.pem"),
    )
    .unwrap();
    assert_eq!(
        v.statement.params.serialization,
        Serialization::Shards {
            hash: Algorithm::Sha256,
            shard_size: 1024
        }
    );
    // empty.txt has no shard; weights.bin (3000 bytes) has three.
    let names: Vec<String> = v.statement.resources.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        [
            "README.md:0:7",
            "config.json:0:12",
            "sub/tokenizer.txt:0:3",
            "weights.bin:0:1024",
            "weights.bin:1024:2048",
            "weights.bin:2048:3000"
        ]
    );
    let v = verify_path(
        &reference().join("model"),
        &reference_bundle("model_blake3.sig"),
        &key_verifier("ec_p256.pub.pem"),
    )
    .unwrap();
    assert_eq!(
        v.statement.params.serialization,
        Serialization::Files {
            hash: Algorithm::Blake3
        }
    );
    assert_eq!(
        v.signer,
        Signer::Key {
            hint: "9a70d3c23fcf67a7ab819b0a14b8d15b323492d02f99e1b7633634c15e4a258f".into()
        }
    );
    let v = verify_path(
        &reference().join("model"),
        &reference_bundle("model_cert.sig"),
        &reference_ca(),
    )
    .unwrap();
    assert_eq!(
        v.signer,
        Signer::Certificate {
            subject: "CN=model-signer".into()
        }
    );
}

#[test]
fn key_hints_are_model_signings() {
    for (key, hint) in [
        (
            "ec_p256.pub.pem",
            "9a70d3c23fcf67a7ab819b0a14b8d15b323492d02f99e1b7633634c15e4a258f",
        ),
        (
            "ec_p256_pkcs8.pub.pem",
            "31fa3d423c08221a60eba97cfa74dde90d6cd7be9f6f581f0e20021facb5f6ff",
        ),
        (
            "ec_p384.pub.pem",
            "37b3d091a70afc4c53fea82f130e1455db361a5d4b6b82ac0bb2b050b6470eba",
        ),
    ] {
        assert_eq!(reference_public(key).hint(), hint, "{key}");
    }
}

fn tamper_findings(
    sig: &str,
    verifier: &Verifier,
    tamper: impl Fn(&std::path::Path),
) -> Vec<(String, String)> {
    let (_dir, model) = model_copy();
    tamper(&model);
    let verified = verify_path(&model, &reference_bundle(sig), verifier)
        .unwrap_or_else(|e| panic!("{sig}: {e}"));
    rules(&verified.findings)
}

fn pair(rule: &str, file: &str) -> (String, String) {
    (rule.to_owned(), file.to_owned())
}

#[test]
fn one_byte_changed_is_a_changed_file() {
    for (sig, verifier, _) in cases() {
        let got = tamper_findings(sig, &verifier, |m| {
            let path = m.join("weights.bin");
            let mut bytes = fs::read(&path).unwrap();
            bytes[2500] ^= 1;
            fs::write(&path, bytes).unwrap();
        });
        assert_eq!(
            got,
            [pair("signature-file-changed", "weights.bin")],
            "{sig}"
        );
    }
}

#[test]
fn an_added_file_is_extra() {
    for (sig, verifier, _) in cases() {
        let got = tamper_findings(sig, &verifier, |m| {
            fs::write(m.join("sub/payload.pkl"), b"cos\nsystem\n").unwrap();
        });
        assert_eq!(
            got,
            [pair("signature-file-extra", "sub/payload.pkl")],
            "{sig}"
        );
    }
}

#[test]
fn a_removed_file_is_missing() {
    for (sig, verifier, _) in cases() {
        let got = tamper_findings(sig, &verifier, |m| {
            fs::remove_file(m.join("config.json")).unwrap();
        });
        assert_eq!(
            got,
            [pair("signature-file-missing", "config.json")],
            "{sig}"
        );
    }
}

#[test]
fn a_renamed_file_is_missing_and_extra() {
    for (sig, verifier, _) in cases() {
        let got = tamper_findings(sig, &verifier, |m| {
            fs::rename(m.join("sub/tokenizer.txt"), m.join("sub/tokenizer.json")).unwrap();
        });
        assert_eq!(
            got,
            [
                pair("signature-file-extra", "sub/tokenizer.json"),
                pair("signature-file-missing", "sub/tokenizer.txt")
            ],
            "{sig}"
        );
    }
}

#[test]
fn a_grown_file_is_changed_under_shards_too() {
    let got = tamper_findings(
        "model_shards1024.sig",
        &key_verifier("ec_p256.pub.pem"),
        |m| {
            let path = m.join("weights.bin");
            let mut bytes = fs::read(&path).unwrap();
            bytes.push(0);
            fs::write(&path, bytes).unwrap();
        },
    );
    assert_eq!(got, [pair("signature-file-changed", "weights.bin")]);
}

#[test]
fn the_default_ignores_apply_at_the_root_only() {
    let (_dir, model) = model_copy();
    fs::create_dir_all(model.join(".git")).unwrap();
    fs::write(model.join(".git/HEAD"), b"ref: x").unwrap();
    fs::write(model.join(".gitattributes"), b"*.bin lfs").unwrap();
    let v = verify_path(
        &model,
        &reference_bundle("model.sig"),
        &key_verifier("ec_p256.pub.pem"),
    )
    .unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
    fs::create_dir_all(model.join("sub/.git")).unwrap();
    fs::write(model.join("sub/.git/HEAD"), b"ref: x").unwrap();
    let v = verify_path(
        &model,
        &reference_bundle("model.sig"),
        &key_verifier("ec_p256.pub.pem"),
    )
    .unwrap();
    assert_eq!(
        rules(&v.findings),
        [pair("signature-file-extra", "sub/.git/HEAD")]
    );
}

#[test]
fn signed_ignore_paths_are_honoured() {
    // README.md is ignored by that signature, so changing it changes nothing.
    let got = tamper_findings(
        "model_inside_ignore_readme.sig",
        &key_verifier("ec_p256.pub.pem"),
        |m| {
            fs::write(m.join("README.md"), b"changed").unwrap();
            fs::write(m.join("model.sig"), b"{}").unwrap();
        },
    );
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn a_staging_folder_of_another_name_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join(".aigate-staging-1234");
    copy_dir(&reference().join("model"), &staging);
    for (sig, verifier, _) in cases() {
        let v = verify_path(&staging, &reference_bundle(sig), &verifier).unwrap();
        assert!(v.is_ok(), "{sig}: {:?}", v.findings);
    }
}

#[test]
fn another_key_is_refused_before_the_model_is_read() {
    let err = verify_path(
        &reference().join("model"),
        &reference_bundle("model.sig"),
        &key_verifier("ec_p384.pub.pem"),
    )
    .unwrap_err();
    assert!(
        matches!(err, aigate_attest::AttestError::WrongKey { .. }),
        "{err}"
    );
    assert_eq!(err.rule().map(|r| r.id), Some("signature-untrusted-signer"));
    let err = verify_path(
        &reference().join("model"),
        &reference_bundle("model_cert.sig"),
        &key_verifier("ec_p256.pub.pem"),
    )
    .unwrap_err();
    assert!(
        matches!(err, aigate_attest::AttestError::WrongKey { .. }),
        "{err}"
    );
    // A bare-key bundle cannot pass a certificate verifier.
    let err = verify_path(
        &reference().join("model"),
        &reference_bundle("model.sig"),
        &reference_ca(),
    )
    .unwrap_err();
    assert!(
        matches!(err, aigate_attest::AttestError::VerifierMismatch(_)),
        "{err}"
    );
}
