//! Helpers shared by the integration tests: the data folder, copies of the reference model,
//! keys.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use aigate_attest::{Bundle, Certificate, SigningKey, Verifier, VerifyingKey};

/// `tests/data`.
pub(crate) fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The model-signing 1.1.1 reference set.
pub(crate) fn reference() -> PathBuf {
    data().join("model-signing-1.1.1")
}

pub(crate) fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
            let mut perms = fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// A writable copy of the reference model, as `<tmp>/model`.
pub(crate) fn model_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    copy_dir(&reference().join("model"), &model);
    (dir, model)
}

pub(crate) fn reference_bundle(name: &str) -> Bundle {
    Bundle::read(&reference().join("signatures").join(name)).unwrap()
}

pub(crate) fn reference_public(name: &str) -> VerifyingKey {
    VerifyingKey::from_pem(&read(&reference().join("keys").join(name))).unwrap()
}

pub(crate) fn reference_private(name: &str) -> SigningKey {
    SigningKey::from_pem(&read(&reference().join("keys").join(name)), None).unwrap()
}

pub(crate) fn key_verifier(name: &str) -> Verifier {
    Verifier::Key(reference_public(name))
}

pub(crate) fn reference_ca() -> Verifier {
    Verifier::certificates(
        Certificate::from_pem_chain(&read(&reference().join("keys/pki/ca.crt"))).unwrap(),
    )
}

/// Rule ids of findings, sorted, with the file detail.
pub(crate) fn rules(findings: &[aigate_report::Finding]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f.rule.clone(),
                f.details.get("file").cloned().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}
