//! Signing aigate.lock: one signature over every file every artifact pins.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use aigate_attest::{
    AttestError, SignOptions, SigningKey, Verifier, lock_unsigned, sign_lock, sign_path,
    verify_lock,
};
use aigate_integrity::hash::Digest;
use aigate_integrity::lock::{
    Approval, LockedArtifact, LockedFile, Lockfile, ScanRecord, VERSION, Verdict,
};
use aigate_integrity::manifest::Kind;
use aigate_report::Severity;
use common::*;

fn artifact(name: &str, kind: Kind, files: &[(&str, u8)]) -> LockedArtifact {
    LockedArtifact {
        name: name.into(),
        kind,
        path: format!("{}s/{name}", kind.as_str()),
        source: None,
        owner: None,
        version: 1,
        approval: Approval::pending(),
        scan: ScanRecord {
            verdict: Verdict::Clean,
            scanner: "aigate-scan 0.1.0".into(),
            threshold: Severity::Medium,
            findings: 0,
            max_severity: None,
            rules: BTreeMap::new(),
        },
        history: Vec::new(),
        highest_version: None,
        files: files
            .iter()
            .map(|(p, b)| LockedFile {
                path: format!("{}s/{name}/{p}", kind.as_str()),
                size: 1,
                sha256: Digest([*b; 32]),
            })
            .collect(),
    }
}

fn lock() -> Lockfile {
    Lockfile {
        version: VERSION,
        custody: None,
        artifacts: vec![
            artifact(
                "sentiment",
                Kind::Model,
                &[("config.json", 1), ("model.safetensors", 2)],
            ),
            artifact("reviews", Kind::Dataset, &[("train.parquet", 3)]),
        ],
    }
}

fn findings(lock: &Lockfile, key: &SigningKey) -> Vec<(String, String, String)> {
    let bundle = sign_lock(&self::lock(), key).unwrap();
    let mut out: Vec<_> = verify_lock(lock, &bundle, &Verifier::Key(key.verifying_key()))
        .unwrap()
        .into_iter()
        .map(|f| {
            (
                f.rule.clone(),
                f.location.path.clone(),
                f.details.get("artifact").cloned().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

fn t(rule: &str, path: &str, artifact: &str) -> (String, String, String) {
    (rule.into(), path.into(), artifact.into())
}

#[test]
fn a_signed_lock_verifies_and_covers_every_file() {
    let key = SigningKey::generate_p256();
    let bundle = sign_lock(&lock(), &key).unwrap();
    let bundle = aigate_attest::Bundle::parse(bundle.to_json().as_bytes()).unwrap();
    assert!(
        verify_lock(&lock(), &bundle, &Verifier::Key(key.verifying_key()))
            .unwrap()
            .is_empty()
    );
    let st = aigate_attest::statement::parse_statement(&bundle.envelope.payload).unwrap();
    assert_eq!(st.subject_name, "aigate.lock");
    let names: Vec<&str> = st.resources.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(
        names,
        [
            "datasets/reviews/train.parquet",
            "models/sentiment/config.json",
            "models/sentiment/model.safetensors"
        ]
    );
}

#[test]
fn changes_after_signing_name_the_artifact_and_file() {
    let key = SigningKey::generate_p256();
    let mut changed = lock();
    changed.artifacts[0].files[1].sha256 = Digest([9; 32]);
    assert_eq!(
        findings(&changed, &key),
        [t(
            "signature-file-changed",
            "models/sentiment/model.safetensors",
            "sentiment"
        )]
    );
    let mut dropped = lock();
    dropped.artifacts[1].files.clear();
    assert_eq!(
        findings(&dropped, &key),
        [t(
            "signature-file-missing",
            "datasets/reviews/train.parquet",
            "reviews"
        )]
    );
    let mut added = lock();
    added.artifacts[1].files.push(LockedFile {
        path: "datasets/reviews/test.parquet".into(),
        size: 1,
        sha256: Digest([4; 32]),
    });
    assert_eq!(
        findings(&added, &key),
        [t(
            "signature-file-extra",
            "datasets/reviews/test.parquet",
            "reviews"
        )]
    );
}

#[test]
fn another_signer_or_another_signature_is_refused() {
    let key = SigningKey::generate_p256();
    let bundle = sign_lock(&lock(), &key).unwrap();
    let other = SigningKey::generate_p256();
    let err = verify_lock(&lock(), &bundle, &Verifier::Key(other.verifying_key())).unwrap_err();
    assert!(matches!(err, AttestError::WrongKey { .. }), "{err}");
    assert_eq!(err.rule().map(|r| r.id), Some("signature-untrusted-signer"));
    // A model's signature is not the lock's, even by the same key.
    let (_dir, model) = model_copy();
    let model_bundle = sign_path(&model, &key, &SignOptions::default()).unwrap();
    let err = verify_lock(&lock(), &model_bundle, &Verifier::Key(key.verifying_key())).unwrap_err();
    assert!(matches!(err, AttestError::Statement(_)), "{err}");
}

#[test]
fn unsigned_and_unsafe_locks() {
    let f = lock_unsigned("aigate.lock.sig");
    assert_eq!(f.rule, "signature-missing");
    assert_eq!(f.location.path, "aigate.lock.sig");
    assert!(matches!(
        sign_lock(&Lockfile::new(), &SigningKey::generate_p256()),
        Err(AttestError::Empty(_))
    ));
    let mut escaping = lock();
    escaping.artifacts[0].files[0].path = "../outside".into();
    assert!(matches!(
        sign_lock(&escaping, &SigningKey::generate_p256()),
        Err(AttestError::Options(_))
    ));
}
