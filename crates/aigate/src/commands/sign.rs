//! `aigate keygen`, `aigate sign` and `aigate verify-sig`: OpenSSF model-signing signatures of
//! models, files and the lock.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use aigate_attest::{Bundle, Serialization, SignOptions, VerifyOptions};
use aigate_integrity::hash::Algorithm;
use aigate_report::{Report, Severity};

use crate::Finished;
use crate::cli::{KeygenArgs, SignArgs, VerifySigArgs};
use crate::config::LOCK_SIGNATURE;
use crate::failure::Failure;
use crate::output::note;
use crate::project::{require_lock, tool};
use crate::settings::Settings;
use crate::signatures::{check_model, default_signature, signature_failure, signing_key, verifier};

/// Runs `aigate keygen`.
pub fn keygen(args: &KeygenArgs) -> Result<Finished> {
    let pair = aigate_attest::keygen()?;
    let base = args.out.as_os_str().to_string_lossy().into_owned();
    let private = PathBuf::from(format!("{base}.key.pem"));
    let public = PathBuf::from(format!("{base}.pub.pem"));
    if let Some(parent) = private.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    aigate_attest::write_key_pair(&pair, &private, &public)
        .with_context(|| format!("cannot write the key pair {base}.*.pem"))?;
    note(&format!(
        "wrote {} (private, mode 0600) and {} (public)",
        private.display(),
        public.display()
    ));
    Ok(Finished {
        report: Report::builder(tool(), "keygen").build(),
        threshold: Severity::Info,
    })
}

/// Runs `aigate sign`.
pub fn sign(args: &SignArgs, config: Option<&Path>) -> Result<Finished> {
    let key = signing_key(&args.signing)?;
    let mut signed_lock = None;
    let (bundle, target) = if args.lock {
        let settings = Settings::project(config)?;
        let lock = require_lock(&settings)?;
        let target = args.signature.clone().unwrap_or_else(|| {
            settings.root.join(
                settings
                    .config
                    .trust
                    .lock_signature
                    .as_deref()
                    .unwrap_or(LOCK_SIGNATURE),
            )
        });
        let bundle = aigate_attest::sign_lock(&lock, &key)?;
        signed_lock = Some((settings, lock));
        (bundle, target)
    } else {
        let model = args.path.as_deref().unwrap_or(Path::new("."));
        let hash: Algorithm = args
            .hash
            .parse()
            .map_err(|e: String| Failure::new(format!("--hash: {e}")))?;
        let serialization = match args.shard_size {
            Some(shard_size) => Serialization::Shards { hash, shard_size },
            None => Serialization::Files { hash },
        };
        let target = args
            .signature
            .clone()
            .unwrap_or_else(|| default_signature(model));
        let options = SignOptions {
            serialization,
            ignore_paths: args.ignore_paths.clone(),
            signature_path: Some(target.clone()),
            ..SignOptions::default()
        };
        (aigate_attest::sign_path(model, &key, &options)?, target)
    };
    aigate_integrity::files::write_atomic(&target, bundle.to_json().as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    note(&format!("wrote {}", target.display()));
    if let Some((settings, lock)) = signed_lock {
        let by = crate::custody::actor(&settings, None);
        let at = crate::settings::now_rfc3339();
        let signature = crate::dependencies::shown(&target).display().to_string();
        let events: Vec<_> = lock
            .artifacts
            .iter()
            .map(|a| {
                crate::custody::event_about(aigate_integrity::custody::Action::Sign, &by, &at, a)
                    .detail("signature", signature.clone())
            })
            .collect();
        crate::custody::record_if_kept(&settings, Some(&lock), &events);
    }
    Ok(Finished {
        report: Report::builder(tool(), "sign").build(),
        threshold: Severity::Info,
    })
}

/// Runs `aigate verify-sig`.
pub fn verify_sig(args: &VerifySigArgs) -> Result<Finished> {
    let verifier = verifier(&args.signer)?;
    let signature = args
        .signature
        .clone()
        .unwrap_or_else(|| default_signature(&args.path));
    let display = signature.display().to_string();
    let mut report = Report::builder(tool(), "verify-sig");
    match Bundle::read(&signature) {
        Ok(bundle) => {
            let options = VerifyOptions {
                ignore_paths: args.ignore_paths.clone(),
                signature_path: Some(signature.clone()),
                ..VerifyOptions::default()
            };
            let (findings, files) = check_model(&args.path, &bundle, &verifier, &options, &display);
            report.findings(findings).files(files);
        }
        Err(aigate_attest::AttestError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(Failure::new(format!("there is no signature at {display}"))
                .hint("name it with --signature")
                .into());
        }
        Err(err) => {
            report.finding(signature_failure(&err, &display));
        }
    }
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Info,
    })
}
