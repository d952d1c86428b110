//! Signs and verifies models, datasets and `aigate.lock` in the format of OpenSSF
//! model-signing (the `model-signing` package of sigstore/model-transparency, v1.1.1, and the
//! OpenSSF Model Signing specification v1.0), so that a signature made by either tool verifies
//! with the other.
//!
//! The format composes:
//! - a manifest of the model: every file (`files` serialization) or every fixed-size byte
//!   range of every file (`shards`), hashed with SHA-256 or BLAKE3 ([`serialize`]);
//! - an in-toto Statement v1 with the predicate `https://model_signing/signature/v1.0`
//!   (also read: model-signing 0.2's `https://model_signing/Digests/v0.1`) ([`statement`]);
//! - a DSSE envelope (`application/vnd.in-toto+json`) signed over its pre-authentication
//!   encoding with ECDSA P-256/SHA-256, P-384/SHA-384 or P-521/SHA-512 ([`dsse`], [`keys`]);
//! - a Sigstore bundle v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`) carrying the
//!   public key's hint, or the X.509 chain of model-signing's `certificate` method
//!   ([`bundle`], [`x509`]).
//!
//! Keyless Sigstore bundles (a Fulcio certificate with a Rekor entry) are recognised and
//! refused with [`AttestError::Keyless`]: they are never reported as verified.
//!
//! Entry points: [`sign_path`] and [`verify_path`] for a model folder or file;
//! [`sign_lock`] and [`verify_lock`] for the files `aigate.lock` pins; [`KeyEventSigner`] and
//! [`check_event`] for custody-log events; [`keygen`]. Differences
//! between a model and its signature come back as [`aigate_report::Finding`]s with the rules
//! of [`RULES`]; an [`AttestError`] means the signature itself could not be checked, and
//! [`AttestError::to_finding`] turns it into a finding when the caller reports rather than
//! stops.
//!
//! Where model-signing 1.1.1 and the OMS spec v1.0 write differently, aigate writes:
//! - resources sorted by name in code-point order (the spec's; 1.1.1 sorts by path
//!   components but verifies any order, as the subject digest follows the listed order);
//! - `shard_size` as an integer (the spec's; 1.1.1 writes the float `1024.0`, which its own
//!   verifier cannot read back without being told the shard size, while it reads an integer);
//! - shard digests named `sha256-sharded-N` (1.1.1's; the spec says `sha256`, which 1.1.1
//!   rejects);
//! - a single file's resource named `.` (1.1.1's; the spec says its file name, which 1.1.1
//!   rejects).
//!
//! Both forms of each are accepted when verifying.

#![forbid(unsafe_code)]

pub mod bundle;
pub mod custody;
pub mod dsse;
mod error;
pub mod keys;
mod lock;
mod pem;
pub mod rules;
pub mod serialize;
pub mod statement;
pub mod x509;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use aigate_report::{Finding, Location};

pub use bundle::{Bundle, MAX_BUNDLE_BYTES, MEDIA_TYPE, Material};
pub use custody::{EventCheck, KeyEventSigner, check_event};
pub use error::AttestError;
pub use keys::{Curve, KeyPair, SigningKey, VerifyingKey, keygen, write_key_pair};
pub use lock::{LOCK_SUBJECT, lock_unsigned, sign_lock, verify_lock};
pub use rules::RULES;
pub use serialize::DEFAULT_IGNORE_PATHS;
pub use statement::{DEFAULT_SHARD_SIZE, Params, Resource, Serialization, Statement};
pub use x509::{Certificate, ValidityTime};

use keys::SigHash;
use serialize::Ignore;

/// Who may have made a signature.
#[derive(Debug, Clone)]
pub enum Verifier {
    /// The publisher's public key (model-signing's `key` method; also checks a `certificate`
    /// bundle against its signing certificate's key).
    Key(VerifyingKey),
    /// Trusted CA certificates for model-signing's `certificate` method: the bundle's
    /// signing certificate must chain to one of them.
    CertificateChain {
        /// The trusted CAs.
        roots: Vec<Certificate>,
        /// When the chain must be valid.
        time: ValidityTime,
    },
}

impl Verifier {
    /// Trusts these CA certificates, checked as model-signing checks them (valid when the
    /// signing certificate was issued).
    pub fn certificates(roots: Vec<Certificate>) -> Verifier {
        Verifier::CertificateChain {
            roots,
            time: ValidityTime::default(),
        }
    }
}

/// Who signed, once the signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A bare key, by its hint (hex SHA-256 of its PEM).
    Key {
        /// The hint.
        hint: String,
    },
    /// A signing certificate that chained to a trusted CA.
    Certificate {
        /// Its subject.
        subject: String,
    },
}

/// A bundle whose signature verified, and the statement it signs.
#[derive(Debug, Clone)]
pub struct VerifiedStatement {
    /// Who signed.
    pub signer: Signer,
    /// What was signed.
    pub statement: Statement,
}

/// What [`verify_path`] found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who signed.
    pub signer: Signer,
    /// What was signed.
    pub statement: Statement,
    /// Regular files checked on disk.
    pub files: usize,
    /// Missing, extra, changed and non-regular files: empty when the model is exactly what
    /// was signed.
    pub findings: Vec<Finding>,
}

impl Verified {
    /// Whether the model is exactly what was signed.
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// How to sign a model.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// Files or shards, and the hash.
    pub serialization: Serialization,
    /// Paths to leave out, relative to the model root (a folder leaves out its subtree).
    pub ignore_paths: Vec<String>,
    /// Leave out `.git`, `.gitattributes`, `.github` and `.gitignore` at the root, as
    /// model-signing does by default.
    pub ignore_git_paths: bool,
    /// Follow symbolic links (hash what they point to, under the link's name); otherwise a
    /// link is an error.
    pub allow_symlinks: bool,
    /// Where the signature will be written: left out of the manifest (and recorded in
    /// `ignore_paths`) when it is inside the model.
    pub signature_path: Option<PathBuf>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            serialization: Serialization::Files {
                hash: aigate_integrity::hash::Algorithm::Sha256,
            },
            ignore_paths: Vec::new(),
            ignore_git_paths: true,
            allow_symlinks: false,
            signature_path: None,
        }
    }
}

/// How to verify a model, beyond what the signature records.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// More paths to leave out, relative to the model root.
    pub ignore_paths: Vec<String>,
    /// Leave out the git paths, as model-signing does by default.
    pub ignore_git_paths: bool,
    /// The signature file: left out when it is inside the model.
    pub signature_path: Option<PathBuf>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            ignore_paths: Vec::new(),
            ignore_git_paths: true,
            signature_path: None,
        }
    }
}

/// `path` relative to `root` when it is inside it, compared lexically after making both
/// absolute (the signature may not exist yet).
fn relative_inside(root: &Path, path: &Path) -> Option<String> {
    let absolute = |p: &Path| -> Option<PathBuf> {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        Some(out)
    };
    let root = fs_canonical(root).or_else(|| absolute(root))?;
    let path = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
            fs_canonical(parent).map(|p| p.join(name))
        }
        _ => None,
    }
    .or_else(|| absolute(path))?;
    let rel = path.strip_prefix(&root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

fn fs_canonical(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

fn check_user_ignore(path: &str) -> Result<(), AttestError> {
    if path.starts_with('/') || path.split('/').any(|s| s == "..") {
        return Err(AttestError::Options(format!(
            "ignore path `{path}` must be relative to the model root, without `..`"
        )));
    }
    if path.contains(['*', '?', '[']) {
        return Err(AttestError::Options(format!(
            "ignore path `{path}` holds a glob character; ignore paths are exact paths"
        )));
    }
    Ok(())
}

/// The model's name for the subject: the last component of `path`, resolved when it is `.`
/// or `..`, as model-signing names it.
fn model_name(path: &Path) -> String {
    match path.file_name().and_then(|n| n.to_str()) {
        Some(name) => name.to_owned(),
        None => fs_canonical(path)
            .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .unwrap_or_else(|| "model".to_owned()),
    }
}

/// Signs the model at `path` (a folder or one file) with `key`, as model-signing's
/// `sign key` (or `sign certificate`, when the key carries a chain) does.
pub fn sign_path(
    path: &Path,
    key: &SigningKey,
    options: &SignOptions,
) -> Result<Bundle, AttestError> {
    match options.serialization {
        Serialization::Shards { shard_size: 0, .. } => {
            return Err(AttestError::Options(
                "the shard size must be at least 1 byte".into(),
            ));
        }
        // model-signing hashes BLAKE3 by whole files (BLAKE3 is parallel within a file) and
        // re-hashes a BLAKE3 shard manifest as files, so it could not verify such a signature.
        // aigate still verifies them.
        Serialization::Shards {
            hash: aigate_integrity::hash::Algorithm::Blake3,
            ..
        } => {
            return Err(AttestError::Options(
                "model-signing verifies BLAKE3 by whole files only: sign with files serialization and blake3, or shards with sha256".into(),
            ));
        }
        _ => {}
    }
    let mut ignore = Ignore::default();
    for p in &options.ignore_paths {
        check_user_ignore(p)?;
        ignore.add(p).map_err(|_| {
            AttestError::Options(format!("ignore path `{p}` names the whole model"))
        })?;
    }
    if let Some(sig) = &options.signature_path
        && let Some(rel) = relative_inside(path, sig)
    {
        ignore.add(&rel)?;
    }
    if options.ignore_git_paths {
        for p in DEFAULT_IGNORE_PATHS {
            ignore.add(p)?;
        }
    }
    let walked = serialize::walk(path, options.allow_symlinks, &ignore)?;
    if let Some((rel, what)) = walked.not_regular.first() {
        return Err(AttestError::Model {
            path: path.join(rel).display().to_string(),
            message: format!("is {what}; model-signing signs regular files only"),
        });
    }
    if walked.files.is_empty() {
        return Err(AttestError::Empty(path.display().to_string()));
    }
    let resources = serialize::hash_model(&walked.files, options.serialization)?;
    let params = Params {
        serialization: options.serialization,
        allow_symlinks: options.allow_symlinks,
        ignore_paths: ignore.sorted(),
    };
    let payload = statement::render(&model_name(path), &params, &resources)?;
    sign_payload(payload, key)
}

/// Wraps a statement in a DSSE envelope signed by `key`, in a bundle.
pub(crate) fn sign_payload(payload: Vec<u8>, key: &SigningKey) -> Result<Bundle, AttestError> {
    let sig = key.sign(&dsse::pae(dsse::PAYLOAD_TYPE, &payload))?;
    let material = if key.certificate_chain().is_empty() {
        Material::PublicKey {
            hint: Some(key.verifying_key().hint()),
        }
    } else {
        Material::CertificateChain(
            key.certificate_chain()
                .iter()
                .map(|c| c.der().to_vec())
                .collect(),
        )
    };
    Ok(Bundle {
        media_type: MEDIA_TYPE.to_owned(),
        material,
        tlog_entries: Vec::new(),
        timestamp_verification_data: None,
        envelope: bundle::Envelope {
            payload,
            payload_type: dsse::PAYLOAD_TYPE.to_owned(),
            signatures: vec![bundle::EnvelopeSignature {
                sig,
                keyid: Some(String::new()),
            }],
        },
    })
}

/// Checks the bundle's signature with `verifier` and returns the statement it signs: the
/// media type, exactly one DSSE signature, the in-toto payload type, the signature over the
/// DSSE pre-authentication encoding (or model-signing 0.2's form of it), the key hint or the
/// certificate chain; then the statement's format. The model on disk is not looked at.
pub fn verify_bundle(
    bundle: &Bundle,
    verifier: &Verifier,
) -> Result<VerifiedStatement, AttestError> {
    if !bundle.has_supported_media_type() {
        return Err(AttestError::MediaType(bundle.media_type.clone()));
    }
    if matches!(bundle.material, Material::Keyless(_)) {
        return Err(AttestError::Keyless);
    }
    let env = &bundle.envelope;
    let [signature] = env.signatures.as_slice() else {
        return Err(AttestError::SignatureCount(env.signatures.len()));
    };
    if env.payload_type != dsse::PAYLOAD_TYPE {
        return Err(AttestError::PayloadType(env.payload_type.clone()));
    }
    let pae = dsse::pae(dsse::PAYLOAD_TYPE, &env.payload);
    let signer = match (verifier, &bundle.material) {
        (Verifier::Key(key), material) => {
            match material {
                Material::PublicKey { hint: Some(hint) } if *hint != key.hint() => {
                    return Err(AttestError::WrongKey {
                        bundle: hint.clone(),
                        trusted: key.hint(),
                    });
                }
                Material::CertificateChain(certs) => {
                    let leaf = certs
                        .first()
                        .map(|der| Certificate::from_der(der))
                        .transpose()
                        .map_err(|e| AttestError::Malformed(e.to_string()))?
                        .map(|c| c.ecdsa_key())
                        .transpose();
                    if let Ok(Some(leaf_key)) = leaf
                        && leaf_key != *key
                    {
                        return Err(AttestError::WrongKey {
                            bundle: leaf_key.hint(),
                            trusted: key.hint(),
                        });
                    }
                }
                _ => {}
            }
            let ok = key.verify(&pae, &signature.sig, SigHash::Curve)
                || key.verify(
                    &dsse::pae_compat(&env.payload),
                    &signature.sig,
                    SigHash::Curve,
                );
            if !ok {
                return Err(AttestError::BadSignature(format!(
                    "the trusted {} key {}",
                    key.curve(),
                    key.hint()
                )));
            }
            Signer::Key { hint: key.hint() }
        }
        (Verifier::CertificateChain { roots, time }, Material::CertificateChain(ders)) => {
            let chain = ders
                .iter()
                .map(|der| Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| AttestError::Malformed(e.to_string()))?;
            let key = x509::verify_chain(&chain, roots, *time)?;
            let subject = chain.first().map(Certificate::subject).unwrap_or_default();
            // model-signing 0.2 signed its mistaken PAE over SHA-256 whatever the curve.
            let ok = key.verify(&pae, &signature.sig, SigHash::Curve)
                || key.verify(
                    &dsse::pae_compat(&env.payload),
                    &signature.sig,
                    SigHash::Sha256,
                );
            if !ok {
                return Err(AttestError::BadSignature(format!(
                    "the key of the signing certificate `{subject}`"
                )));
            }
            Signer::Certificate { subject }
        }
        (Verifier::CertificateChain { .. }, Material::PublicKey { .. }) => {
            return Err(AttestError::VerifierMismatch(
                "the bundle was signed with a bare key, not a certificate: verify it with the publisher's public key".into(),
            ));
        }
        (Verifier::CertificateChain { .. }, Material::Keyless(_)) => {
            return Err(AttestError::Keyless);
        }
    };
    let statement = statement::parse_statement(&env.payload)?;
    Ok(VerifiedStatement { signer, statement })
}

/// Verifies the model at `path` against `bundle`: see [`verify_path_with`].
pub fn verify_path(
    path: &Path,
    bundle: &Bundle,
    verifier: &Verifier,
) -> Result<Verified, AttestError> {
    verify_path_with(path, bundle, verifier, &VerifyOptions::default())
}

/// Verifies the model at `path` (a folder or one file) against `bundle`: the signature with
/// [`verify_bundle`], then the model re-hashed with the statement's own serialization
/// parameters (method, hash, shard size, symbolic links, ignored paths, plus the git paths and
/// `options`), the file set required to match exactly. Manifest names are relative to the
/// model root, so a folder verifies under any name (a download's staging folder, say).
///
/// `Err` when the signature cannot be checked; otherwise every missing, extra, changed or
/// non-regular file is a finding.
pub fn verify_path_with(
    path: &Path,
    bundle: &Bundle,
    verifier: &Verifier,
    options: &VerifyOptions,
) -> Result<Verified, AttestError> {
    let VerifiedStatement { signer, statement } = verify_bundle(bundle, verifier)?;
    let mut ignore = Ignore::default();
    for p in &statement.params.ignore_paths {
        ignore.add(p)?;
    }
    for p in &options.ignore_paths {
        check_user_ignore(p)?;
        ignore.add(p).map_err(|_| {
            AttestError::Options(format!("ignore path `{p}` names the whole model"))
        })?;
    }
    if let Some(sig) = &options.signature_path
        && let Some(rel) = relative_inside(path, sig)
    {
        ignore.add(&rel)?;
    }
    if options.ignore_git_paths {
        for p in DEFAULT_IGNORE_PATHS {
            ignore.add(p)?;
        }
    }
    let walked = serialize::walk(path, statement.params.allow_symlinks, &ignore)?;
    let local = serialize::hash_model(&walked.files, statement.params.serialization)?;
    let shown = path.display().to_string();
    let root = shown.trim_end_matches('/');
    let locate = |file: &str| {
        if walked.single_file || file == "." {
            Location::file(root)
        } else {
            Location::file(format!("{root}/{file}"))
        }
    };
    let mut expected = statement.resources.clone();
    if walked.single_file {
        // A single file is named `.` by model-signing and by its file name by the OMS spec;
        // either names this file, which may have been renamed (a download's staging name).
        let names: std::collections::BTreeSet<&str> =
            expected.iter().map(|r| r.file.as_str()).collect();
        if names.len() == 1 && names.iter().all(|n| !n.contains('/')) {
            for r in &mut expected {
                r.file = ".".into();
            }
        }
    }
    let mut findings = compare(&expected, &local, &locate, None);
    for (rel, what) in &walked.not_regular {
        findings.push(
            Finding::new(
                &rules::SIGNATURE_FILE_NOT_REGULAR,
                format!("`{rel}` is {what}, and the signature does not allow links"),
                locate(rel),
            )
            .with_detail("file", rel.as_str()),
        );
    }
    Ok(Verified {
        signer,
        statement,
        files: walked.files.len(),
        findings,
    })
}

/// Names the artifact a lock file belongs to.
pub(crate) type ArtifactOf<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A file's resources: its digest, or its shards in order.
type FileResources<'a> = Vec<(Option<(u64, u64)>, &'a [u8])>;

fn by_file(resources: &[Resource]) -> BTreeMap<&str, FileResources<'_>> {
    let mut out: BTreeMap<&str, FileResources<'_>> = BTreeMap::new();
    for r in resources {
        out.entry(r.file.as_str())
            .or_default()
            .push((r.range, r.digest.as_slice()));
    }
    for shards in out.values_mut() {
        shards.sort_by_key(|(range, _)| *range);
    }
    out
}

fn short(digest: &[u8]) -> String {
    aigate_integrity::hash::hex(digest.get(..6).unwrap_or(digest))
}

/// Findings for every file whose resources differ between what was signed and what is
/// there; `artifact` names the artifact a file belongs to, for the lock.
pub(crate) fn compare(
    signed: &[Resource],
    actual: &[Resource],
    locate: &dyn Fn(&str) -> Location,
    artifact: Option<ArtifactOf<'_>>,
) -> Vec<Finding> {
    let signed = by_file(signed);
    let actual = by_file(actual);
    let mut findings = Vec::new();
    let with_artifact = |finding: Finding, file: &str| match artifact.and_then(|a| a(file)) {
        Some(name) => finding.with_detail("artifact", name),
        None => finding,
    };
    let label = |file: &str| match artifact.and_then(|a| a(file)) {
        Some(name) => format!("`{file}` (artifact {name})"),
        None => format!("`{file}`"),
    };
    for (file, want) in &signed {
        match actual.get(file) {
            None => findings.push(with_artifact(
                Finding::new(
                    &rules::SIGNATURE_FILE_MISSING,
                    format!("{} is signed but missing", label(file)),
                    locate(file),
                )
                .with_detail("file", *file),
                file,
            )),
            Some(got) if got != want => {
                let message = describe_change(&label(file), want, got);
                findings.push(with_artifact(
                    Finding::new(&rules::SIGNATURE_FILE_CHANGED, message, locate(file))
                        .with_detail("file", *file),
                    file,
                ));
            }
            Some(_) => {}
        }
    }
    for file in actual.keys() {
        if !signed.contains_key(file) {
            findings.push(with_artifact(
                Finding::new(
                    &rules::SIGNATURE_FILE_EXTRA,
                    format!("{} is not covered by the signature", label(file)),
                    locate(file),
                )
                .with_detail("file", *file),
                file,
            ));
        }
    }
    findings
}

fn describe_change(label: &str, want: &FileResources<'_>, got: &FileResources<'_>) -> String {
    match (want.as_slice(), got.as_slice()) {
        ([(None, w)], [(None, g)]) => format!(
            "{label} differs from what was signed (digest {}… signed, {}… now)",
            short(w),
            short(g)
        ),
        _ => {
            let size = |rs: &FileResources<'_>| rs.iter().filter_map(|(r, _)| r.map(|r| r.1)).max();
            match (size(want), size(got)) {
                (Some(w), Some(g)) if w != g => {
                    format!(
                        "{label} differs from what was signed ({w} bytes signed, {g} bytes now)"
                    )
                }
                _ => {
                    let first = want
                        .iter()
                        .zip(got.iter())
                        .find(|(w, g)| w != g)
                        .and_then(|(w, _)| w.0);
                    match first {
                        Some((start, end)) => {
                            format!("{label} differs from what was signed in bytes {start}..{end}")
                        }
                        None => format!("{label} differs from what was signed"),
                    }
                }
            }
        }
    }
}
