//! Signing `aigate.lock`: one signature over every file every artifact pins, so that a
//! project's models and datasets are covered at once. The manifest is a model-signing one
//! (`files`, sha256) whose resources are the lock's project-relative paths and SHA-256s, and
//! whose subject is named [`LOCK_SUBJECT`], so that a model's own signature is never taken
//! for the lock's. Verifying checks the signature, then that the lock still pins exactly the
//! signed files; whether the disk matches the lock is `aigate verify`'s to check.

use std::collections::BTreeMap;

use aigate_integrity::hash::Algorithm;
use aigate_integrity::lock::Lockfile;
use aigate_integrity::manifest::is_inside_project;
use aigate_report::{Finding, Location};

use crate::statement::{self, Params, Resource, Serialization};
use crate::{AttestError, Bundle, SigningKey, Verifier, sign_payload, verify_bundle};

/// The subject name of a lock's signature.
pub const LOCK_SUBJECT: &str = "aigate.lock";

fn resources(lock: &Lockfile) -> Result<(Vec<Resource>, BTreeMap<String, String>), AttestError> {
    let mut by_path: BTreeMap<String, (Vec<u8>, String)> = BTreeMap::new();
    for artifact in &lock.artifacts {
        for file in &artifact.files {
            if !is_inside_project(&file.path) || statement::check_path(&file.path).is_err() {
                return Err(AttestError::Options(format!(
                    "aigate.lock pins `{}`, which is not a path inside the project",
                    file.path
                )));
            }
            let digest = file.sha256.0.to_vec();
            match by_path.get(&file.path) {
                Some((d, _)) if *d != digest => {
                    return Err(AttestError::Options(format!(
                        "aigate.lock pins `{}` twice with different digests",
                        file.path
                    )));
                }
                Some(_) => {}
                None => {
                    by_path.insert(file.path.clone(), (digest, artifact.name.clone()));
                }
            }
        }
    }
    let owners = by_path
        .iter()
        .map(|(p, (_, a))| (p.clone(), a.clone()))
        .collect();
    let resources = by_path
        .into_iter()
        .map(|(file, (digest, _))| Resource {
            file,
            range: None,
            digest,
        })
        .collect();
    Ok((resources, owners))
}

fn params() -> Params {
    Params {
        serialization: Serialization::Files {
            hash: Algorithm::Sha256,
        },
        allow_symlinks: false,
        ignore_paths: Vec::new(),
    }
}

/// The finding for a lock that must be signed but has no signature file at `signature_path`
/// (project-relative), for the binary to report when the file is absent.
pub fn lock_unsigned(signature_path: &str) -> Finding {
    Finding::new(
        &crate::rules::SIGNATURE_MISSING,
        format!("{LOCK_SUBJECT} is not signed: there is no {signature_path}"),
        Location::file(signature_path),
    )
    .with_hint("sign it with `aigate sign --lock` and commit the signature beside the lock")
}

/// Signs every file `lock` pins (path and SHA-256 as the lock records them).
pub fn sign_lock(lock: &Lockfile, key: &SigningKey) -> Result<Bundle, AttestError> {
    let (resources, _) = resources(lock)?;
    if resources.is_empty() {
        return Err(AttestError::Empty(LOCK_SUBJECT.into()));
    }
    sign_payload(statement::render(LOCK_SUBJECT, &params(), &resources)?, key)
}

/// Checks that `bundle` is a signature of this lock by a signer `verifier` trusts, and that
/// the lock pins exactly the signed files: a file changed, added or dropped since signing is
/// a finding naming the artifact and the file (located at the file's project path). `Err`
/// when the signature cannot be checked, was made by another signer, or is not a lock's.
pub fn verify_lock(
    lock: &Lockfile,
    bundle: &Bundle,
    verifier: &Verifier,
) -> Result<Vec<Finding>, AttestError> {
    let verified = verify_bundle(bundle, verifier)?;
    let st = verified.statement;
    if st.subject_name != LOCK_SUBJECT {
        return Err(AttestError::Statement(format!(
            "this signature is of `{}`, not of {LOCK_SUBJECT}",
            st.subject_name
        )));
    }
    if st.params.serialization != params().serialization {
        return Err(AttestError::Statement(
            "a lock's signature lists files hashed with sha256".into(),
        ));
    }
    let (actual, owners) = resources(lock)?;
    // The artifact a file belongs to: the one pinning it, or else the one whose folder holds
    // it (a file dropped from the lock since signing).
    let artifact = |file: &str| {
        owners.get(file).cloned().or_else(|| {
            lock.artifacts
                .iter()
                .find(|a| file == a.path || file.starts_with(&format!("{}/", a.path)))
                .map(|a| a.name.clone())
        })
    };
    Ok(crate::compare(
        &st.resources,
        &actual,
        &|file: &str| Location::file(file),
        Some(&artifact),
    ))
}
