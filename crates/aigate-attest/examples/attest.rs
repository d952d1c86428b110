//! A small signer and verifier over the `aigate-attest` API, for the interoperability script
//! and the benchmark until `aigate sign` / `verify-sig` exist.
//!
//! ```text
//! attest sign   --key KEY.pem [--password-env VAR] [--cert LEAF.pem [--chain CA.pem]...]
//!               [--shards SIZE] [--blake3] [--ignore PATH]... [--no-git-ignores]
//!               [--allow-symlinks] --signature OUT MODEL
//! attest verify (--key PUB.pem | --ca CA.pem...) --signature SIG [--ignore PATH]... MODEL
//! attest keygen PRIVATE.pem PUBLIC.pem
//! ```
//!
//! Exit codes: 0 verified (or signed), 1 the model differs from its signature, 2 an error.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use aigate_attest::{
    AttestError, Bundle, Certificate, Serialization, SignOptions, SigningKey, Verifier,
    VerifyOptions, VerifyingKey,
};
use aigate_integrity::hash::Algorithm;

#[derive(Default)]
struct Args {
    key: Option<PathBuf>,
    password_env: Option<String>,
    cert: Option<PathBuf>,
    chain: Vec<PathBuf>,
    ca: Vec<PathBuf>,
    shards: Option<u64>,
    blake3: bool,
    ignore: Vec<String>,
    no_git_ignores: bool,
    allow_symlinks: bool,
    signature: Option<PathBuf>,
    positional: Vec<String>,
}

fn parse(mut rest: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args::default();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| rest.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--key" => a.key = Some(value("--key")?.into()),
            "--password-env" => a.password_env = Some(value("--password-env")?),
            "--cert" => a.cert = Some(value("--cert")?.into()),
            "--chain" => a.chain.push(value("--chain")?.into()),
            "--ca" => a.ca.push(value("--ca")?.into()),
            "--shards" => {
                a.shards = Some(
                    value("--shards")?
                        .parse()
                        .map_err(|e| format!("--shards: {e}"))?,
                );
            }
            "--blake3" => a.blake3 = true,
            "--ignore" => a.ignore.push(value("--ignore")?),
            "--no-git-ignores" => a.no_git_ignores = true,
            "--allow-symlinks" => a.allow_symlinks = true,
            "--signature" => a.signature = Some(value("--signature")?.into()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ => a.positional.push(arg),
        }
    }
    Ok(a)
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn fail(e: &AttestError) -> String {
    match e.hint() {
        Some(hint) => format!("{e}\n  hint: {hint}"),
        None => e.to_string(),
    }
}

fn sign(a: &Args) -> Result<ExitCode, String> {
    let [model] = a.positional.as_slice() else {
        return Err("sign takes one MODEL path".into());
    };
    let key_path = a.key.as_ref().ok_or("sign needs --key")?;
    let password = match &a.password_env {
        Some(var) => Some(std::env::var(var).map_err(|e| format!("{var}: {e}"))?),
        None => None,
    };
    let mut key =
        SigningKey::from_pem(&read(key_path)?, password.as_deref()).map_err(|e| fail(&e))?;
    if let Some(cert) = &a.cert {
        let mut chain = Certificate::from_pem_chain(&read(cert)?).map_err(|e| fail(&e))?;
        for ca in &a.chain {
            chain.extend(Certificate::from_pem_chain(&read(ca)?).map_err(|e| fail(&e))?);
        }
        key = key.with_certificate_chain(chain).map_err(|e| fail(&e))?;
    }
    let hash = if a.blake3 {
        Algorithm::Blake3
    } else {
        Algorithm::Sha256
    };
    let signature = a.signature.clone().ok_or("sign needs --signature")?;
    let options = SignOptions {
        serialization: match a.shards {
            Some(shard_size) => Serialization::Shards { hash, shard_size },
            None => Serialization::Files { hash },
        },
        ignore_paths: a.ignore.clone(),
        ignore_git_paths: !a.no_git_ignores,
        allow_symlinks: a.allow_symlinks,
        signature_path: Some(signature.clone()),
    };
    let bundle = aigate_attest::sign_path(model.as_ref(), &key, &options).map_err(|e| fail(&e))?;
    std::fs::write(&signature, bundle.to_json())
        .map_err(|e| format!("{}: {e}", signature.display()))?;
    println!("signed {model} into {}", signature.display());
    Ok(ExitCode::SUCCESS)
}

fn verify(a: &Args) -> Result<ExitCode, String> {
    let [model] = a.positional.as_slice() else {
        return Err("verify takes one MODEL path".into());
    };
    let verifier = match (&a.key, a.ca.is_empty()) {
        (Some(key), true) => {
            Verifier::Key(VerifyingKey::from_pem(&read(key)?).map_err(|e| fail(&e))?)
        }
        (None, false) => {
            let mut roots = Vec::new();
            for ca in &a.ca {
                roots.extend(Certificate::from_pem_chain(&read(ca)?).map_err(|e| fail(&e))?);
            }
            Verifier::certificates(roots)
        }
        _ => return Err("verify needs --key PUB.pem or --ca CA.pem (not both)".into()),
    };
    let signature = a.signature.clone().ok_or("verify needs --signature")?;
    let bundle = Bundle::read(&signature).map_err(|e| fail(&e))?;
    let options = VerifyOptions {
        ignore_paths: a.ignore.clone(),
        ignore_git_paths: !a.no_git_ignores,
        signature_path: Some(signature),
    };
    let verified = aigate_attest::verify_path_with(model.as_ref(), &bundle, &verifier, &options)
        .map_err(|e| fail(&e))?;
    if verified.is_ok() {
        println!(
            "verified {model}: {} file(s), signed by {:?}",
            verified.files, verified.signer
        );
        return Ok(ExitCode::SUCCESS);
    }
    for f in &verified.findings {
        println!("{} {}: {}", f.severity, f.rule, f.message);
    }
    Ok(ExitCode::from(1))
}

fn keygen(a: &Args) -> Result<ExitCode, String> {
    let [private, public] = a.positional.as_slice() else {
        return Err("keygen takes PRIVATE.pem PUBLIC.pem".into());
    };
    let pair = aigate_attest::keygen().map_err(|e| fail(&e))?;
    aigate_attest::write_key_pair(&pair, private.as_ref(), public.as_ref())
        .map_err(|e| e.to_string())?;
    println!("wrote {private} and {public}");
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let result = parse(args).and_then(|a| match command.as_str() {
        "sign" => sign(&a),
        "verify" => verify(&a),
        "keygen" => keygen(&a),
        _ => Err("usage: attest sign|verify|keygen … (see the source)".into()),
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
