//! Keys, signers and signature checks shared by `sign`, `verify-sig`, `verify` (with
//! `[trust] keys`) and `fetch --signature`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use aigate_attest::{Bundle, Certificate, SigningKey, Verifier, VerifyOptions, VerifyingKey};
use aigate_report::{Finding, Location};

use crate::cli::{SigningArgs, TrustedSigner};
use crate::config::LOCK_SIGNATURE;
use crate::failure::Failure;
use crate::project::require_lock;
use crate::settings::Settings;

/// The environment variable a key's password is read from when no other is named.
const PASSWORD_ENV: &str = "AIGATE_KEY_PASSWORD";

/// Reads a text file the user named, with the path in the error.
pub fn read_text(path: &Path) -> Result<String> {
    aigate_integrity::files::read_regular(path, 1 << 20)
        .with_context(|| format!("cannot read {}", path.display()))
}

/// The private key, decrypted with a password from `--password-env`, `AIGATE_KEY_PASSWORD` or
/// a prompt, when it is encrypted.
pub fn signing_key(args: &SigningArgs) -> Result<SigningKey> {
    let pem = read_text(&args.key)?;
    let key = match SigningKey::from_pem(&pem, None) {
        Err(aigate_attest::AttestError::PasswordRequired) => {
            let var = args.password_env.as_deref().unwrap_or(PASSWORD_ENV);
            let password = match std::env::var(var) {
                Ok(password) => password,
                Err(_) if std::io::stdin().is_terminal() => {
                    rpassword::prompt_password(format!("password for {}: ", args.key.display()))
                        .context("cannot read the password")?
                }
                Err(_) => {
                    return Err(Failure::new(format!(
                        "{} is encrypted and ${var} is not set",
                        args.key.display()
                    ))
                    .hint(format!(
                        "put the password in ${var} (or name another variable with --password-env)"
                    ))
                    .into());
                }
            };
            SigningKey::from_pem(&pem, Some(&password))
        }
        other => other,
    }
    .with_context(|| format!("cannot use {}", args.key.display()))?;
    let Some(leaf) = &args.certificate else {
        return Ok(key);
    };
    let mut chain = Certificate::from_pem_chain(&read_text(leaf)?)?;
    for ca in &args.certificate_chain {
        chain.extend(Certificate::from_pem_chain(&read_text(ca)?)?);
    }
    Ok(key.with_certificate_chain(chain)?)
}

/// Who a signature must come from, from `--key` or `--certificate-chain`.
pub fn verifier(signer: &TrustedSigner) -> Result<Verifier> {
    if let Some(key) = &signer.key {
        return public_key(key).map(Verifier::Key);
    }
    let mut roots = Vec::new();
    for ca in &signer.certificate_chain {
        roots.extend(Certificate::from_pem_chain(&read_text(ca)?)?);
    }
    Ok(Verifier::certificates(roots))
}

/// A public key from a PEM file.
pub fn public_key(path: &Path) -> Result<VerifyingKey> {
    VerifyingKey::from_pem(&read_text(path)?)
        .with_context(|| format!("cannot use {}", path.display()))
}

/// Where a model's signature goes when none is named: beside a file, inside a folder.
pub fn default_signature(model: &Path) -> PathBuf {
    if model.is_dir() {
        model.join("model.sig")
    } else {
        let mut name = model.as_os_str().to_owned();
        name.push(".sig");
        PathBuf::from(name)
    }
}

/// Checks `bundle` over `model`: signature findings, or the file-set differences, and how many
/// files were checked.
pub fn check_model(
    model: &Path,
    bundle: &Bundle,
    verifier: &Verifier,
    options: &VerifyOptions,
    display: &str,
) -> (Vec<Finding>, u64) {
    match aigate_attest::verify_path_with(model, bundle, verifier, options) {
        Ok(verified) => (verified.findings, verified.files as u64),
        Err(err) => (vec![signature_failure(&err, display)], 0),
    }
}

/// A signature that cannot be checked, as a finding at `display` (an error of aigate itself
/// when no rule says what it is).
pub fn signature_failure(err: &aigate_attest::AttestError, display: &str) -> Finding {
    err.to_finding(Location::file(display)).unwrap_or_else(|| {
        Finding::new(
            &aigate_attest::rules::SIGNATURE_MALFORMED,
            err.to_string(),
            Location::file(display),
        )
    })
}

/// `verify`'s check of the lock's signature when `[trust] keys` names keys: a finding when it
/// is unsigned, signed by another key, or changed after signing.
pub fn check_lock(settings: &Settings) -> Result<Vec<Finding>> {
    let trust = &settings.config.trust;
    if trust.keys.is_empty() {
        return Ok(Vec::new());
    }
    let lock = require_lock(settings)?;
    let rel = trust.lock_signature.as_deref().unwrap_or(LOCK_SIGNATURE);
    let path = settings.root.join(rel);
    if !path.exists() {
        return Ok(vec![aigate_attest::lock_unsigned(rel)]);
    }
    let bundle = match Bundle::read(&path) {
        Ok(bundle) => bundle,
        Err(err) => return Ok(vec![signature_failure(&err, rel)]),
    };
    let mut last_error = None;
    for key_path in &trust.keys {
        let key = public_key(&settings.root.join(key_path))?;
        match aigate_attest::verify_lock(&lock, &bundle, &Verifier::Key(key)) {
            Ok(findings) => return Ok(findings),
            Err(err) => last_error = Some(err),
        }
    }
    Ok(last_error
        .map(|err| {
            signature_failure(&err, rel).with_hint(format!(
                "[trust] keys trusts {}; sign the lock with one of them (`aigate sign --lock --key …`)",
                trust.keys.join(", ")
            ))
        })
        .into_iter()
        .collect())
}
