//! `aigate keygen`, `sign`, `verify-sig`, `verify` with `[trust] keys`, through the real binary:
//! signatures made by OpenSSF model-signing 1.1.1 verify, ours verify, and every tampering is
//! named with its rule.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

mod support;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference() -> PathBuf {
    repo().join("crates/aigate-attest/tests/data/model-signing-1.1.1")
}

fn aigate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(dir)
        .env("AIGATE_CACHE_DIR", dir.join(".cache"))
        .args(args)
        .output()
        .unwrap()
}

fn rules(out: &Output) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

use support::copy_dir;

#[test]
fn model_signing_signatures_verify_and_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    copy_dir(&reference().join("model"), &model);
    let key = reference().join("keys/ec_p256.pub.pem");
    let sig = reference().join("signatures/model.sig");
    let verify = || {
        aigate(
            dir.path(),
            &[
                "verify-sig",
                "model",
                "--format",
                "json",
                "--key",
                key.to_str().unwrap(),
                "--signature",
                sig.to_str().unwrap(),
            ],
        )
    };
    assert_eq!(verify().status.code(), Some(0));
    fs::write(model.join("extra.py"), b"print(1)").unwrap();
    assert_eq!(rules(&verify()), ["signature-file-extra"]);
    fs::remove_file(model.join("extra.py")).unwrap();
    fs::write(model.join("config.json"), b"{}").unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rules(&out), ["signature-file-changed"]);
    let ca = reference().join("keys/pki/ca.crt");
    copy_dir(&reference().join("model"), &model);
    let out = aigate(
        dir.path(),
        &[
            "verify-sig",
            "model",
            "--certificate-chain",
            ca.to_str().unwrap(),
            "--signature",
            reference()
                .join("signatures/model_cert.sig")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn keygen_sign_and_verify_round_trip_with_our_own_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        aigate(d, &["keygen", "--out", "release"]).status.code(),
        Some(0)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join("release.key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = aigate(d, &["keygen", "--out", "release"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "keygen must not overwrite keys"
    );
    copy_dir(&reference().join("model"), &d.join("model"));
    let out = aigate(d, &["sign", "model", "--key", "release.key.pem"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d.join("model/model.sig").is_file());
    let verify = |key: &str| {
        aigate(
            d,
            &["verify-sig", "model", "--key", key, "--format", "json"],
        )
    };
    assert_eq!(verify("release.pub.pem").status.code(), Some(0));
    fs::rename(d.join("model/weights.bin"), d.join("model/weights2.bin")).unwrap();
    let mut renamed = rules(&verify("release.pub.pem"));
    renamed.sort();
    assert_eq!(renamed, ["signature-file-extra", "signature-file-missing"]);
    let other = reference().join("keys/ec_p256.pub.pem");
    let out = verify(other.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rules(&out), ["signature-untrusted-signer"]);
}

#[test]
fn an_encrypted_key_takes_its_password_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy_dir(&reference().join("model"), &d.join("model"));
    let keys = repo().join("crates/aigate-attest/tests/data/keys");
    let key = keys.join("p384.encrypted.pem");
    let run = |password: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aigate"));
        cmd.current_dir(d)
            .args(["sign", "model", "--key", key.to_str().unwrap()])
            .env_remove("AIGATE_KEY_PASSWORD");
        if let Some(password) = password {
            cmd.env("AIGATE_KEY_PASSWORD", password);
        }
        cmd.output().unwrap()
    };
    let out = run(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AIGATE_KEY_PASSWORD"));
    assert_eq!(run(Some("not it")).status.code(), Some(2));
    let out = run(Some("correct horse"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pubkey = keys.join("p384.pub.pem");
    let out = aigate(
        d,
        &["verify-sig", "model", "--key", pubkey.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn verify_requires_the_lock_signed_by_a_trusted_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy_dir(&reference().join("model"), &d.join("models/m"));
    assert_eq!(
        aigate(d, &["keygen", "--out", "keys/release"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        aigate(d, &["keygen", "--out", "keys/other"]).status.code(),
        Some(0)
    );
    fs::write(
        d.join("aigate.toml"),
        "[trust]\nkeys = [\"keys/release.pub.pem\"]\n\n[[model]]\nname = \"m\"\npath = \"models/m\"\n",
    )
    .unwrap();
    assert_eq!(aigate(d, &["lock"]).status.code(), Some(0));
    assert_eq!(
        aigate(d, &["approve", "m", "--by", "alice"]).status.code(),
        Some(0)
    );
    let verify = || aigate(d, &["verify", "--format", "json"]);
    assert_eq!(rules(&verify()), ["signature-missing"]);
    assert_eq!(
        aigate(d, &["sign", "--lock", "--key", "keys/other.key.pem"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(rules(&verify()), ["signature-untrusted-signer"]);
    let out = aigate(d, &["sign", "--lock", "--key", "keys/release.key.pem"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The lock changed after signing: re-locked with a new file.
    fs::write(d.join("models/m/new.txt"), b"new").unwrap();
    assert_eq!(aigate(d, &["lock"]).status.code(), Some(0));
    assert_eq!(
        aigate(d, &["approve", "m", "--by", "alice"]).status.code(),
        Some(0)
    );
    assert_eq!(rules(&verify()), ["signature-file-extra"]);
}
