//! aigate signs, aigate verifies: every key form and curve, every serialization, bare keys and
//! certificate chains; and the manifests aigate writes are model-signing's, digest for digest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::time::{Duration, SystemTime};

use aigate_attest::statement::parse_statement;
use aigate_attest::{
    AttestError, Bundle, Certificate, Curve, Serialization, SignOptions, SigningKey, ValidityTime,
    Verifier, VerifyingKey, sign_path, verify_path,
};
use aigate_integrity::hash::Algorithm;
use common::*;

fn keys() -> Vec<(&'static str, SigningKey, Curve)> {
    let ours = |name: &str, password: Option<&str>| {
        SigningKey::from_pem(&read(&data().join("keys").join(name)), password).unwrap()
    };
    vec![
        (
            "p256 sec1",
            reference_private("ec_p256.key.pem"),
            Curve::P256,
        ),
        (
            "p256 pkcs8",
            reference_private("ec_p256_pkcs8.key.pem"),
            Curve::P256,
        ),
        (
            "p256 with EC PARAMETERS",
            ours("p256.with-params.pem", None),
            Curve::P256,
        ),
        (
            "p384 sec1",
            reference_private("ec_p384.key.pem"),
            Curve::P384,
        ),
        (
            "p384 encrypted pkcs8",
            ours("p384.encrypted.pem", Some("correct horse")),
            Curve::P384,
        ),
        ("p521 sec1", ours("p521.sec1.pem", None), Curve::P521),
        ("p256 generated", SigningKey::generate_p256(), Curve::P256),
    ]
}

fn serializations() -> Vec<Serialization> {
    vec![
        Serialization::Files {
            hash: Algorithm::Sha256,
        },
        Serialization::Files {
            hash: Algorithm::Blake3,
        },
        Serialization::Shards {
            hash: Algorithm::Sha256,
            shard_size: 1024,
        },
    ]
}

#[test]
fn every_key_and_serialization_round_trips() {
    let (_dir, model) = model_copy();
    for (name, key, curve) in keys() {
        assert_eq!(key.curve(), curve, "{name}");
        let verifier = Verifier::Key(key.verifying_key());
        for serialization in serializations() {
            let options = SignOptions {
                serialization,
                ..SignOptions::default()
            };
            let bundle = sign_path(&model, &key, &options).unwrap();
            let bundle = Bundle::parse(bundle.to_json().as_bytes()).unwrap();
            let v = verify_path(&model, &bundle, &verifier).unwrap();
            assert!(v.is_ok(), "{name} {serialization:?}: {:?}", v.findings);
            assert_eq!(v.statement.params.serialization, serialization);
            // A changed byte is caught under every serialization.
            let (_d2, tampered) = model_copy();
            fs::write(tampered.join("sub/tokenizer.txt"), b"xyz").unwrap();
            let v = verify_path(&tampered, &bundle, &verifier).unwrap();
            assert_eq!(
                rules(&v.findings),
                [(
                    "signature-file-changed".to_owned(),
                    "sub/tokenizer.txt".to_owned()
                )],
                "{name} {serialization:?}"
            );
        }
    }
}

#[test]
fn the_signature_hash_follows_the_curve() {
    // A P-384 signature is over SHA-384 and a P-521 one over SHA-512, as model-signing makes
    // them: the reference P-384 signature verifies, so does ours, and they are of the sizes
    // those curves give (DER ECDSA: about 2 × field size + 8 bytes).
    let (_dir, model) = model_copy();
    for (name, key, _) in keys() {
        let bundle = sign_path(&model, &key, &SignOptions::default()).unwrap();
        let len = bundle.envelope.signatures[0].sig.len();
        let expected = match key.curve() {
            Curve::P256 => 68..=72,
            Curve::P384 => 100..=104,
            Curve::P521 => 135..=139,
        };
        assert!(expected.contains(&len), "{name}: {len}");
    }
}

#[test]
fn manifests_match_model_signing_digest_for_digest() {
    // The same model signed by model-signing 1.1.1 and by aigate gives the same resources and
    // the same subject digest; only the signature differs.
    let (_dir, model) = model_copy();
    let key = reference_private("ec_p256.key.pem");
    for (sig, serialization) in [
        (
            "model.sig",
            Serialization::Files {
                hash: Algorithm::Sha256,
            },
        ),
        (
            "model_blake3.sig",
            Serialization::Files {
                hash: Algorithm::Blake3,
            },
        ),
        (
            "model_shards1024.sig",
            Serialization::Shards {
                hash: Algorithm::Sha256,
                shard_size: 1024,
            },
        ),
    ] {
        let ours = sign_path(
            &model,
            &key,
            &SignOptions {
                serialization,
                ..SignOptions::default()
            },
        )
        .unwrap();
        let ours = parse_statement(&ours.envelope.payload).unwrap();
        let theirs = parse_statement(&reference_bundle(sig).envelope.payload).unwrap();
        assert_eq!(ours.resources, theirs.resources, "{sig}");
        assert_eq!(ours.subject_name, "model");
        assert_eq!(ours.params.serialization, theirs.params.serialization);
        let mut ours_ignored = ours.params.ignore_paths.clone();
        let mut theirs_ignored = theirs.params.ignore_paths.clone();
        ours_ignored.sort();
        theirs_ignored.sort();
        assert_eq!(ours_ignored, theirs_ignored, "{sig}");
        let subject = |b: &Bundle| -> serde_json::Value {
            serde_json::from_slice::<serde_json::Value>(&b.envelope.payload).unwrap()["subject"]
                .clone()
        };
        let ours_bundle = sign_path(
            &model,
            &key,
            &SignOptions {
                serialization,
                ..SignOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            subject(&ours_bundle),
            subject(&reference_bundle(sig)),
            "{sig}"
        );
    }
}

#[test]
fn shards_are_written_in_the_form_model_signing_verifies() {
    let (_dir, model) = model_copy();
    let key = reference_private("ec_p256.key.pem");
    let options = SignOptions {
        serialization: Serialization::Shards {
            hash: Algorithm::Sha256,
            shard_size: 1024,
        },
        ..SignOptions::default()
    };
    let bundle = sign_path(&model, &key, &options).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&bundle.envelope.payload).unwrap();
    let ser = &payload["predicate"]["serialization"];
    assert_eq!(ser["shard_size"], serde_json::json!(1024));
    assert!(
        ser["shard_size"].is_u64(),
        "an integer, as the OMS spec writes it"
    );
    assert_eq!(
        payload["predicate"]["resources"][0]["algorithm"],
        "sha256-sharded-1024"
    );
}

#[test]
fn a_single_file_is_named_dot_and_verifies_renamed() {
    let (dir, model) = model_copy();
    let key = reference_private("ec_p384.key.pem");
    let file = model.join("weights.bin");
    let bundle = sign_path(&file, &key, &SignOptions::default()).unwrap();
    let st = parse_statement(&bundle.envelope.payload).unwrap();
    assert_eq!(st.subject_name, "weights.bin");
    assert_eq!(st.resources.len(), 1);
    assert_eq!(st.resources[0].file, ".");
    let verifier = Verifier::Key(key.verifying_key());
    let renamed = dir.path().join("download.part");
    fs::copy(&file, &renamed).unwrap();
    let v = verify_path(&renamed, &bundle, &verifier).unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
    fs::write(&renamed, b"other").unwrap();
    let v = verify_path(&renamed, &bundle, &verifier).unwrap();
    assert_eq!(v.findings.len(), 1);
    assert_eq!(v.findings[0].rule, "signature-file-changed");
    assert_eq!(v.findings[0].location.path, renamed.display().to_string());
}

#[test]
fn ignore_paths_and_the_signature_file_are_left_out_and_recorded() {
    let (_dir, model) = model_copy();
    let key = reference_private("ec_p256.key.pem");
    fs::create_dir_all(model.join("cache/deep")).unwrap();
    fs::write(model.join("cache/deep/x"), b"x").unwrap();
    let options = SignOptions {
        ignore_paths: vec!["cache".into(), "README.md".into()],
        signature_path: Some(model.join("model.sig")),
        ..SignOptions::default()
    };
    let bundle = sign_path(&model, &key, &options).unwrap();
    fs::write(model.join("model.sig"), bundle.to_json()).unwrap();
    let st = parse_statement(&bundle.envelope.payload).unwrap();
    let files: Vec<&str> = st.resources.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "config.json",
            "empty.txt",
            "sub/tokenizer.txt",
            "weights.bin"
        ]
    );
    assert_eq!(
        st.params.ignore_paths,
        [
            ".git",
            ".gitattributes",
            ".github",
            ".gitignore",
            "README.md",
            "cache",
            "model.sig"
        ]
    );
    // Verification honours the recorded paths: the cache and the signature itself.
    fs::write(model.join("cache/new"), b"y").unwrap();
    let v = verify_path(&model, &bundle, &Verifier::Key(key.verifying_key())).unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
}

#[test]
fn sign_options_are_checked() {
    let (_dir, model) = model_copy();
    let key = reference_private("ec_p256.key.pem");
    for bad in ["../x", "/etc", "*.bin", "."] {
        let options = SignOptions {
            ignore_paths: vec![bad.into()],
            ..SignOptions::default()
        };
        assert!(
            matches!(
                sign_path(&model, &key, &options),
                Err(AttestError::Options(_))
            ),
            "{bad}"
        );
    }
    let options = SignOptions {
        serialization: Serialization::Shards {
            hash: Algorithm::Sha256,
            shard_size: 0,
        },
        ..SignOptions::default()
    };
    assert!(matches!(
        sign_path(&model, &key, &options),
        Err(AttestError::Options(_))
    ));
    // BLAKE3 shards: model-signing could not verify them, so aigate does not write them.
    let options = SignOptions {
        serialization: Serialization::Shards {
            hash: Algorithm::Blake3,
            shard_size: 100,
        },
        ..SignOptions::default()
    };
    assert!(matches!(
        sign_path(&model, &key, &options),
        Err(AttestError::Options(_))
    ));
    let options = SignOptions {
        serialization: Serialization::Shards {
            hash: Algorithm::Sha256,
            shard_size: 1,
        },
        ..SignOptions::default()
    };
    // 3022 one-byte shards are fine; a manifest bound exists for larger counts.
    assert!(sign_path(&model, &key, &options).is_ok());
    let empty = tempfile::tempdir().unwrap();
    fs::create_dir_all(empty.path().join(".git")).unwrap();
    fs::write(empty.path().join(".git/HEAD"), b"x").unwrap();
    assert!(matches!(
        sign_path(empty.path(), &key, &SignOptions::default()),
        Err(AttestError::Empty(_))
    ));
}

#[cfg(unix)]
#[test]
fn links_are_refused_unless_allowed() {
    let (_dir, model) = model_copy();
    let key = reference_private("ec_p256.key.pem");
    std::os::unix::fs::symlink("weights.bin", model.join("link.bin")).unwrap();
    assert!(matches!(
        sign_path(&model, &key, &SignOptions::default()),
        Err(AttestError::Model { .. })
    ));
    let allowed = SignOptions {
        allow_symlinks: true,
        ..SignOptions::default()
    };
    let bundle = sign_path(&model, &key, &allowed).unwrap();
    let st = parse_statement(&bundle.envelope.payload).unwrap();
    let link = st.resources.iter().find(|r| r.file == "link.bin").unwrap();
    let target = st
        .resources
        .iter()
        .find(|r| r.file == "weights.bin")
        .unwrap();
    assert_eq!(link.digest, target.digest);
    let v = verify_path(&model, &bundle, &Verifier::Key(key.verifying_key())).unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
    // A link inside a model signed without links is a finding.
    fs::remove_file(model.join("link.bin")).unwrap();
    let plain = sign_path(&model, &key, &SignOptions::default()).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", model.join("config2.json")).unwrap();
    let v = verify_path(&model, &plain, &Verifier::Key(key.verifying_key())).unwrap();
    assert_eq!(
        rules(&v.findings),
        [(
            "signature-file-not-regular".to_owned(),
            "config2.json".to_owned()
        )]
    );
    // A link looping back is an error, not an endless walk.
    fs::remove_file(model.join("config2.json")).unwrap();
    std::os::unix::fs::symlink("..", model.join("sub/up")).unwrap();
    assert!(matches!(
        sign_path(&model, &key, &allowed),
        Err(AttestError::Model { .. })
    ));
}

fn pki(name: &str) -> Vec<Certificate> {
    Certificate::from_pem_chain(&read(&data().join("pki").join(name))).unwrap()
}

fn pki_key(name: &str) -> SigningKey {
    SigningKey::from_pem(&read(&data().join("pki").join(name)), None).unwrap()
}

#[test]
fn certificate_signatures_round_trip_through_intermediates() {
    let (_dir, model) = model_copy();
    // The reference PKI: leaf signed by a self-signed P-256 CA.
    let key = reference_private("pki/leaf.key")
        .with_certificate_chain(
            [
                Certificate::from_pem_chain(&read(&reference().join("keys/pki/leaf.crt"))).unwrap(),
                Certificate::from_pem_chain(&read(&reference().join("keys/pki/ca.crt"))).unwrap(),
            ]
            .concat(),
        )
        .unwrap();
    let bundle = sign_path(&model, &key, &SignOptions::default()).unwrap();
    assert!(
        matches!(bundle.material, aigate_attest::Material::CertificateChain(ref c) if c.len() == 2)
    );
    assert!(
        verify_path(&model, &bundle, &reference_ca())
            .unwrap()
            .is_ok()
    );
    // Ours: an RSA root, a P-384 intermediate it signed with sha384WithRSA, a P-256 leaf.
    let key = pki_key("leaf.key")
        .with_certificate_chain([pki("leaf.crt"), pki("intermediate.crt")].concat())
        .unwrap();
    let bundle = sign_path(&model, &key, &SignOptions::default()).unwrap();
    let v = verify_path(&model, &bundle, &Verifier::certificates(pki("root.crt"))).unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
    // Trusting the intermediate itself is enough too.
    assert!(
        verify_path(
            &model,
            &bundle,
            &Verifier::certificates(pki("intermediate.crt"))
        )
        .unwrap()
        .is_ok()
    );
    // Another root is not.
    let err = verify_path(&model, &bundle, &reference_ca()).unwrap_err();
    assert!(matches!(err, AttestError::Untrusted(_)), "{err}");
    // Valid when the leaf was issued; expired by 2100 when checked then.
    let later = Verifier::CertificateChain {
        roots: pki("root.crt"),
        time: ValidityTime::At(SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800)),
    };
    let err = verify_path(&model, &bundle, &later).unwrap_err();
    assert!(err.to_string().contains("valid from"), "{err}");
    // The leaf's key verifies it as a bare key too, as model-signing's key verifier does.
    let leaf_key = VerifyingKey::from_spki_der(&key.verifying_key().spki_der()).unwrap();
    assert!(
        verify_path(&model, &bundle, &Verifier::Key(leaf_key))
            .unwrap()
            .is_ok()
    );
}

#[test]
fn unfit_certificates_are_refused() {
    let (_dir, model) = model_copy();
    let roots = Verifier::certificates(pki("root.crt"));
    // No digitalSignature, no codeSigning.
    let key = pki_key("leaf-nosign.key")
        .with_certificate_chain([pki("leaf-nosign.crt"), pki("intermediate.crt")].concat())
        .unwrap();
    let bundle = sign_path(&model, &key, &SignOptions::default()).unwrap();
    let err = verify_path(&model, &bundle, &roots).unwrap_err();
    assert!(
        err.to_string().contains("may not be used for signing"),
        "{err}"
    );
    // Issued by a certificate that is not a CA.
    let key = pki_key("under-notca.key")
        .with_certificate_chain(
            [
                pki("under-notca.crt"),
                pki("notca.crt"),
                pki("intermediate.crt"),
            ]
            .concat(),
        )
        .unwrap();
    let bundle = sign_path(&model, &key, &SignOptions::default()).unwrap();
    let err = verify_path(&model, &bundle, &roots).unwrap_err();
    assert!(err.to_string().contains("not a CA"), "{err}");
    // Without its intermediate the leaf reaches no trusted CA.
    let key = pki_key("leaf.key")
        .with_certificate_chain(pki("leaf.crt"))
        .unwrap();
    let bundle = sign_path(&model, &key, &SignOptions::default()).unwrap();
    let err = verify_path(&model, &bundle, &roots).unwrap_err();
    assert!(err.to_string().contains("no trusted CA"), "{err}");
    // A chain whose leaf is not the signing key's is refused when signing.
    assert!(matches!(
        pki_key("leaf.key").with_certificate_chain(pki("leaf-nosign.crt")),
        Err(AttestError::Certificate(_))
    ));
}

#[test]
fn keygen_writes_a_usable_pair_once() {
    let pair = aigate_attest::keygen().unwrap();
    assert!(
        pair.private_pem
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let key = SigningKey::from_pem(&pair.private_pem, None).unwrap();
    assert_eq!(key.curve(), Curve::P256);
    assert_eq!(
        VerifyingKey::from_pem(&pair.public_pem).unwrap(),
        key.verifying_key()
    );
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = (dir.path().join("k.pem"), dir.path().join("k.pub.pem"));
    aigate_attest::write_key_pair(&pair, &private, &public).unwrap();
    assert_eq!(read(&public), pair.public_pem);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            fs::metadata(&private).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = aigate_attest::keygen().unwrap();
    let err =
        aigate_attest::write_key_pair(&again, &private, &dir.path().join("other.pub")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(read(&private), pair.private_pem, "not overwritten");
    assert!(!dir.path().join("other.pub").exists());
}
