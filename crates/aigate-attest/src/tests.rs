//! Bad input: bundles and statements that must be refused with a clear error, never a panic;
//! statements in the forms the OMS spec writes where model-signing 1.1.1 writes otherwise.
//! Statements are signed here with a test key so that the checks behind the signature are
//! reached.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::Digest as _;

use crate::*;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn key() -> SigningKey {
    let pem = fs::read_to_string(data().join("model-signing-1.1.1/keys/ec_p256.key.pem")).unwrap();
    SigningKey::from_pem(&pem, None).unwrap()
}

fn model() -> PathBuf {
    data().join("model-signing-1.1.1/model")
}

fn reference(name: &str) -> Vec<u8> {
    fs::read(data().join("model-signing-1.1.1/signatures").join(name)).unwrap()
}

fn verifier() -> Verifier {
    Verifier::Key(key().verifying_key())
}

/// A statement over `resources` (name, algorithm, digest hex) with a correct subject digest.
fn statement(resources: &[(&str, &str, String)], serialization: Value) -> Value {
    let mut root = sha2::Sha256::new();
    for (_, _, d) in resources {
        root.update(hex_decode(d));
    }
    json!({
        "_type": statement::STATEMENT_TYPE,
        "subject": [{"name": "model", "digest": {"sha256": aigate_integrity::hash::hex(&root.finalize())}}],
        "predicateType": statement::PREDICATE_TYPE,
        "predicate": {
            "resources": resources.iter().map(|(n, a, d)| json!({"name": n, "algorithm": a, "digest": d})).collect::<Vec<_>>(),
            "serialization": serialization,
        }
    })
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

fn signed(value: &Value) -> Bundle {
    sign_payload(serde_json::to_vec(value).unwrap(), &key()).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    aigate_integrity::hash::hex(&sha2::Sha256::digest(bytes))
}

fn files_sha256() -> Value {
    json!({"method": "files", "hash_type": "sha256", "allow_symlinks": false})
}

fn weights() -> Vec<u8> {
    fs::read(model().join("weights.bin")).unwrap()
}

#[test]
fn truncated_or_non_json_bundles_are_malformed() {
    let whole = reference("model.sig");
    for cut in [0, 1, 10, whole.len() / 2, whole.len() - 1] {
        let err = Bundle::parse(&whole[..cut]).unwrap_err();
        assert!(matches!(err, AttestError::Malformed(_)), "{cut}: {err}");
        assert_eq!(err.rule().map(|r| r.id), Some("signature-malformed"));
    }
    for junk in [&b"\x89PNG\r\n"[..], b"[]", b"\"bundle\"", b"{}", b"null"] {
        assert!(matches!(
            Bundle::parse(junk),
            Err(AttestError::Malformed(_))
        ));
    }
    // Bad base64 in the payload, a non-string signature.
    let mut v: Value = serde_json::from_slice(&whole).unwrap();
    v["dsseEnvelope"]["payload"] = json!("not base64!");
    assert!(Bundle::parse(v.to_string().as_bytes()).is_err());
    let mut v: Value = serde_json::from_slice(&whole).unwrap();
    v["dsseEnvelope"]["signatures"][0]["sig"] = json!(7);
    assert!(Bundle::parse(v.to_string().as_bytes()).is_err());
}

#[test]
fn a_huge_bundle_is_refused_by_its_size_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.sig");
    let file = fs::File::create(&path).unwrap();
    file.set_len(1 << 30).unwrap(); // 1 GiB, sparse: reading it would take a while
    let start = std::time::Instant::now();
    let err = Bundle::read(&path).unwrap_err();
    assert!(
        matches!(err, AttestError::TooLarge { size, .. } if size == 1 << 30),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 5);
    assert!(matches!(
        Bundle::parse(&vec![b' '; (MAX_BUNDLE_BYTES + 1) as usize]),
        Err(AttestError::TooLarge { .. })
    ));
    assert!(matches!(
        Bundle::read(dir.path()),
        Err(AttestError::Malformed(_))
    ));
}

fn edited(edit: impl Fn(&mut Value)) -> Bundle {
    let mut v: Value = serde_json::from_slice(&reference("model.sig")).unwrap();
    edit(&mut v);
    Bundle::parse(v.to_string().as_bytes()).unwrap()
}

#[test]
fn envelope_and_bundle_checks() {
    let wrong_media =
        edited(|v| v["mediaType"] = json!("application/vnd.dev.sigstore.bundle.v0.1+json"));
    assert!(matches!(
        verify_bundle(&wrong_media, &verifier()),
        Err(AttestError::MediaType(_))
    ));
    let two = edited(|v| {
        let sig = v["dsseEnvelope"]["signatures"][0].clone();
        v["dsseEnvelope"]["signatures"] = json!([sig.clone(), sig]);
    });
    assert!(matches!(
        verify_bundle(&two, &verifier()),
        Err(AttestError::SignatureCount(2))
    ));
    let none = edited(|v| v["dsseEnvelope"]["signatures"] = json!([]));
    assert!(matches!(
        verify_bundle(&none, &verifier()),
        Err(AttestError::SignatureCount(0))
    ));
    let ty = edited(|v| v["dsseEnvelope"]["payloadType"] = json!("application/json"));
    assert!(matches!(
        verify_bundle(&ty, &verifier()),
        Err(AttestError::PayloadType(_))
    ));
    // The payload changed after signing.
    let mut bundle = Bundle::parse(&reference("model.sig")).unwrap();
    let text = String::from_utf8(bundle.envelope.payload.clone()).unwrap();
    bundle.envelope.payload = text.replace("config.json", "config.jsoN").into_bytes();
    let err = verify_bundle(&bundle, &verifier()).unwrap_err();
    assert!(matches!(err, AttestError::BadSignature(_)), "{err}");
    assert_eq!(err.rule().map(|r| r.id), Some("signature-invalid"));
    // No hint (older bundles) and another key: the signature decides.
    let mut bundle = Bundle::parse(&reference("model.sig")).unwrap();
    bundle.material = Material::PublicKey { hint: None };
    let other = SigningKey::generate_p256();
    assert!(matches!(
        verify_bundle(&bundle, &Verifier::Key(other.verifying_key())),
        Err(AttestError::BadSignature(_))
    ));
    assert!(verify_bundle(&bundle, &verifier()).is_ok());
    // Older bundles carry rawBytes and a null keyid: accepted.
    let old = edited(|v| {
        v["verificationMaterial"]["publicKey"] =
            json!({"rawBytes": "AAAA", "keyDetails": "PKIX_ECDSA_P256_SHA_256"});
        v["dsseEnvelope"]["signatures"][0]["keyid"] = Value::Null;
        v["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("tlogEntries");
    });
    assert!(verify_bundle(&old, &verifier()).is_ok());
}

#[test]
fn keyless_and_message_bundles_are_refused_never_verified() {
    let keyless = edited(|v| {
        v["verificationMaterial"] = json!({
            "certificate": {"rawBytes": "MIIB"},
            "tlogEntries": [{"logIndex": "1"}]
        });
    });
    let err = verify_bundle(&keyless, &verifier()).unwrap_err();
    assert!(matches!(err, AttestError::Keyless), "{err}");
    assert!(err.to_string().contains("not supported yet"));
    assert_eq!(err.rule().map(|r| r.id), Some("signature-unsupported"));
    assert!(matches!(
        verify_bundle(&keyless, &Verifier::certificates(Vec::new())),
        Err(AttestError::Keyless)
    ));
    // A keyless bundle without log entries is not even a bundle.
    let mut v: Value = serde_json::from_slice(&reference("model.sig")).unwrap();
    v["verificationMaterial"] = json!({"certificate": {"rawBytes": "MIIB"}});
    assert!(matches!(
        Bundle::parse(v.to_string().as_bytes()),
        Err(AttestError::Malformed(_))
    ));
    let mut v: Value = serde_json::from_slice(&reference("model.sig")).unwrap();
    v.as_object_mut().unwrap().remove("dsseEnvelope");
    v["messageSignature"] = json!({});
    assert!(matches!(
        Bundle::parse(v.to_string().as_bytes()),
        Err(AttestError::Unsupported(_))
    ));
    let mut v: Value = serde_json::from_slice(&reference("model.sig")).unwrap();
    v["verificationMaterial"]["x509CertificateChain"] =
        json!({"certificates": [{"rawBytes": "AAAA"}]});
    assert!(matches!(
        Bundle::parse(v.to_string().as_bytes()),
        Err(AttestError::Malformed(_))
    ));
}

fn statement_error(value: &Value) -> AttestError {
    verify_path(&model(), &signed(value), &verifier()).unwrap_err()
}

#[test]
fn manifests_naming_paths_outside_the_model_are_refused() {
    let d = sha256_hex(b"x");
    for name in [
        "../etc/passwd",
        "/etc/passwd",
        "sub/../../x",
        "a//b",
        "./config.json",
        "",
    ] {
        let err = statement_error(&statement(&[(name, "sha256", d.clone())], files_sha256()));
        assert!(matches!(err, AttestError::Statement(_)), "{name:?}: {err}");
    }
    let shards = json!({"method": "shards", "hash_type": "sha256", "shard_size": 10, "allow_symlinks": false});
    for name in ["../x:0:10", "/x:0:10", "x:0", "x:10:0", "x:0:11"] {
        let err = statement_error(&statement(&[(name, "sha256", d.clone())], shards.clone()));
        assert!(matches!(err, AttestError::Statement(_)), "{name}: {err}");
    }
}

#[test]
fn statements_that_break_the_format_are_refused() {
    let d = sha256_hex(b"x");
    let base = statement(&[("a", "sha256", d.clone())], files_sha256());
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "statement type",
            Box::new(|v| v["_type"] = json!("https://in-toto.io/Statement/v0.1")),
        ),
        (
            "predicate type",
            Box::new(|v| v["predicateType"] = json!("https://slsa.dev/provenance/v1")),
        ),
        (
            "two subjects",
            Box::new(|v| {
                let s = v["subject"][0].clone();
                v["subject"] = json!([s.clone(), s]);
            }),
        ),
        (
            "subject digest",
            Box::new(|v| v["subject"][0]["digest"]["sha256"] = json!("00".repeat(32))),
        ),
        (
            "algorithm",
            Box::new(|v| v["predicate"]["resources"][0]["algorithm"] = json!("blake3")),
        ),
        (
            "digest length",
            Box::new(|v| v["predicate"]["resources"][0]["digest"] = json!("abcd")),
        ),
        (
            "digest hex",
            Box::new(|v| v["predicate"]["resources"][0]["digest"] = json!("zz".repeat(32))),
        ),
        (
            "no serialization",
            Box::new(|v| {
                v["predicate"]
                    .as_object_mut()
                    .unwrap()
                    .remove("serialization");
            }),
        ),
        (
            "allow_symlinks",
            Box::new(|v| v["predicate"]["serialization"]["allow_symlinks"] = json!("false")),
        ),
        (
            "shard size",
            Box::new(|v| {
                v["predicate"]["serialization"] = json!({"method": "shards", "hash_type": "sha256", "shard_size": -1, "allow_symlinks": false});
            }),
        ),
        (
            "ignore everything",
            Box::new(|v| v["predicate"]["serialization"]["ignore_paths"] = json!(["."])),
        ),
    ];
    for (what, edit) in cases {
        let mut v = base.clone();
        edit(&mut v);
        let err = statement_error(&v);
        assert!(matches!(err, AttestError::Statement(_)), "{what}: {err}");
    }
    let mut twice = statement(
        &[("a", "sha256", d.clone()), ("a", "sha256", d.clone())],
        files_sha256(),
    );
    let err = statement_error(&twice);
    assert!(err.to_string().contains("twice"), "{err}");
    twice["predicate"]["serialization"]["method"] = json!("tensors");
    assert!(matches!(
        statement_error(&twice),
        AttestError::Unsupported(_)
    ));
    let blake2 = statement(
        &[("a", "blake2b", d)],
        json!({"method": "files", "hash_type": "blake2b", "allow_symlinks": false}),
    );
    assert!(matches!(
        statement_error(&blake2),
        AttestError::Unsupported(_)
    ));
}

#[test]
fn the_oms_spec_forms_verify_too() {
    let file = |name: &str| fs::read(model().join(name)).unwrap();
    // Shards named with the bare hash and an integer size (the spec), rather than
    // `sha256-sharded-1024` and `1024.0` (model-signing 1.1.1).
    let w = weights();
    let mut resources = vec![
        ("README.md:0:7".to_owned(), sha256_hex(&file("README.md"))),
        (
            "config.json:0:12".to_owned(),
            sha256_hex(&file("config.json")),
        ),
        (
            "sub/tokenizer.txt:0:3".to_owned(),
            sha256_hex(&file("sub/tokenizer.txt")),
        ),
    ];
    for (start, end) in [(0, 1024), (1024, 2048), (2048, 3000)] {
        resources.push((
            format!("weights.bin:{start}:{end}"),
            sha256_hex(&w[start..end]),
        ));
    }
    let list: Vec<(&str, &str, String)> = resources
        .iter()
        .map(|(n, d)| (n.as_str(), "sha256", d.clone()))
        .collect();
    let ser = json!({"method": "shards", "hash_type": "sha256", "shard_size": 1024, "allow_symlinks": false});
    let v = verify_path(&model(), &signed(&statement(&list, ser)), &verifier()).unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
    // A single file named by its file name (the spec) rather than `.` (model-signing).
    let single = statement(&[("weights.bin", "sha256", sha256_hex(&w))], files_sha256());
    let v = verify_path(&model().join("weights.bin"), &signed(&single), &verifier()).unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
    // Resources in any order: model-signing 1.1.1 sorts by path components.
    let list = [
        ("weights.bin", "sha256", sha256_hex(&w)),
        (
            "sub/tokenizer.txt",
            "sha256",
            sha256_hex(&file("sub/tokenizer.txt")),
        ),
        ("empty.txt", "sha256", sha256_hex(b"")),
        ("config.json", "sha256", sha256_hex(&file("config.json"))),
        ("README.md", "sha256", sha256_hex(&file("README.md"))),
    ];
    let v = verify_path(
        &model(),
        &signed(&statement(&list, files_sha256())),
        &verifier(),
    )
    .unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
}

#[test]
fn model_signing_0_2_statements_verify() {
    // The v0.2 predicate: one subject per file, no serialization (files, sha256).
    let file = |name: &str| fs::read(model().join(name)).unwrap();
    let subjects: Vec<Value> = [
        "README.md",
        "config.json",
        "empty.txt",
        "sub/tokenizer.txt",
        "weights.bin",
    ]
    .iter()
    .map(|n| json!({"name": n, "digest": {"sha256": sha256_hex(&file(n))}}))
    .collect();
    let st = json!({
        "_type": statement::STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": statement::PREDICATE_TYPE_V0_2,
        "predicate": {"unused": "Unused, just passed due to API requirements"},
    });
    // Signed over model-signing 0.2's mistaken PAE.
    let payload = serde_json::to_vec_pretty(&st).unwrap();
    let sig = key().sign(&dsse::pae_compat(&payload)).unwrap();
    let mut bundle = sign_payload(payload, &key()).unwrap();
    bundle.envelope.signatures[0].sig = sig;
    let v = verify_path(&model(), &bundle, &verifier()).unwrap();
    assert!(v.is_ok(), "{:?}", v.findings);
    assert_eq!(v.statement.predicate_type, statement::PREDICATE_TYPE_V0_2);
}

#[test]
fn errors_become_findings_with_hints() {
    let err = AttestError::Keyless;
    let finding = err
        .to_finding(aigate_report::Location::file("model.sig"))
        .unwrap();
    assert_eq!(finding.rule, "signature-unsupported");
    assert!(finding.hint.is_some());
    let io = AttestError::io("x", std::io::Error::other("boom"));
    assert!(io.to_finding(aigate_report::Location::file("x")).is_none());
    assert!(!err.to_string().contains("hint"));
}

#[test]
fn unusable_keys_are_clear_errors() {
    let keys = data().join("keys");
    let read = |n: &str| fs::read_to_string(keys.join(n)).unwrap();
    for (name, password) in [("ed25519.pem", None), ("rsa.pem", None), ("k256.pem", None)] {
        let err = SigningKey::from_pem(&read(name), password).unwrap_err();
        assert!(matches!(err, AttestError::Key(_)), "{name}: {err}");
    }
    for name in ["ed25519.pub.pem", "rsa.pub.pem"] {
        assert!(
            matches!(
                VerifyingKey::from_pem(&read(name)),
                Err(AttestError::Key(_))
            ),
            "{name}"
        );
    }
    assert!(matches!(
        SigningKey::from_pem(&read("p384.encrypted.pem"), None),
        Err(AttestError::PasswordRequired)
    ));
    assert!(matches!(
        SigningKey::from_pem(&read("p384.encrypted.pem"), Some("wrong")),
        Err(AttestError::Decrypt)
    ));
    let legacy = SigningKey::from_pem(&read("p521.legacy-encrypted.pem"), Some("x")).unwrap_err();
    assert!(legacy.to_string().contains("legacy"), "{legacy}");
    assert!(matches!(
        SigningKey::from_pem("", None),
        Err(AttestError::Key(_))
    ));
    assert!(matches!(
        VerifyingKey::from_pem(&read("p521.sec1.pem")),
        Err(AttestError::Key(_))
    ));
    let p521 = SigningKey::from_pem(&read("p521.sec1.pem"), None).unwrap();
    assert_eq!(
        p521.verifying_key(),
        VerifyingKey::from_pem(&read("p521.pub.pem")).unwrap()
    );
}

#[test]
fn arbitrary_bytes_never_panic_the_reader() {
    // A cheap stand-in for the fuzzer: mutate a real bundle at random and parse and verify.
    let whole = reference("model_cert.sig");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let roots = Verifier::certificates(Vec::new());
    for _ in 0..300 {
        let mut bytes = whole.clone();
        for _ in 0..(next() % 8 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        if let Ok(bundle) = Bundle::parse(&bytes) {
            let _ = verify_bundle(&bundle, &verifier());
            let _ = verify_bundle(&bundle, &roots);
        }
    }
}
