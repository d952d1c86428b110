//! X.509 certificates for model-signing's `certificate` method, and the chain check its
//! verifier makes with OpenSSL, done here in Rust: the signing certificate must chain, through
//! the bundle's intermediates, to a CA certificate the caller trusts; every certificate on the
//! path must be valid at the time checked (the signing certificate's `notBefore`, as
//! model-signing checks, since a detached signature carries no trusted time), every issuer must
//! be a CA (basicConstraints, keyCertSign when key usage is stated, path length), every
//! signature along the path must verify (ECDSA P-256/P-384/P-521 with SHA-256/384/512, RSA
//! PKCS#1 v1.5 with SHA-256/384/512), no unknown critical extension may appear, and the signing
//! certificate must allow signing (key usage digitalSignature, or extended key usage
//! codeSigning). Name constraints are not evaluated: a chain that carries them is refused
//! rather than trusted unchecked.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::ObjectIdentifier as Oid;
use der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use crate::AttestError;
use crate::keys::{SigHash, VerifyingKey};
use crate::pem;

const MAX_CHAIN: usize = 16;

const OID_ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
const OID_RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const OID_RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const OID_CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.3");
const OID_NAME_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.30");
/// Extensions whose meaning is honoured here or does not bear on a signature check, so that
/// they may be critical: basicConstraints, keyUsage, extKeyUsage, subjectAltName,
/// certificatePolicies, policyMappings, policyConstraints, inhibitAnyPolicy, subject and
/// authority key identifiers.
const KNOWN_CRITICAL: [&str; 10] = [
    "2.5.29.19",
    "2.5.29.15",
    "2.5.29.37",
    "2.5.29.17",
    "2.5.29.32",
    "2.5.29.33",
    "2.5.29.36",
    "2.5.29.54",
    "2.5.29.14",
    "2.5.29.35",
];

/// A parsed X.509 certificate and its DER bytes.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    cert: x509_cert::Certificate,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({})", self.subject())
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Certificate {
    /// Parses one DER certificate.
    pub fn from_der(der_bytes: &[u8]) -> Result<Certificate, AttestError> {
        let cert = x509_cert::Certificate::from_der(der_bytes)
            .map_err(|e| AttestError::Certificate(format!("not an X.509 certificate: {e}")))?;
        Ok(Certificate {
            der: der_bytes.to_vec(),
            cert,
        })
    }

    /// Every `CERTIFICATE` block of a PEM text, in order (a leaf, or a CA bundle).
    pub fn from_pem_chain(pem_text: &str) -> Result<Vec<Certificate>, AttestError> {
        let blocks = pem::blocks(pem_text).map_err(AttestError::Certificate)?;
        let certs: Vec<Certificate> = blocks
            .iter()
            .filter(|b| b.label == "CERTIFICATE")
            .map(|b| Certificate::from_der(&b.der))
            .collect::<Result<_, _>>()?;
        if certs.is_empty() {
            return Err(AttestError::Certificate(
                "no `CERTIFICATE` PEM block found".into(),
            ));
        }
        Ok(certs)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject, as an RFC 4514 string.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    pub(crate) fn spki_der(&self) -> Result<Vec<u8>, AttestError> {
        self.cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| AttestError::Certificate(format!("cannot encode the public key: {e}")))
    }

    /// The certificate's ECDSA public key: the key that signs for a `certificate` bundle.
    pub(crate) fn ecdsa_key(&self) -> Result<VerifyingKey, AttestError> {
        VerifyingKey::from_spki_der(&self.spki_der()?)
    }

    fn not_before(&self) -> Duration {
        self.cert
            .tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration()
    }

    fn not_after(&self) -> Duration {
        self.cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
    }

    fn check_time(&self, at: Duration) -> Result<(), AttestError> {
        if at < self.not_before() || at > self.not_after() {
            return Err(AttestError::Untrusted(format!(
                "`{}` is valid from {} to {}, not at {}",
                self.subject(),
                aigate_integrity::clock::rfc3339(secs(self.not_before())),
                aigate_integrity::clock::rfc3339(secs(self.not_after())),
                aigate_integrity::clock::rfc3339(secs(at)),
            )));
        }
        Ok(())
    }

    fn check_critical_extensions(&self) -> Result<(), AttestError> {
        for ext in self
            .cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
        {
            if ext.extn_id == OID_NAME_CONSTRAINTS {
                return Err(AttestError::Untrusted(format!(
                    "`{}` carries name constraints, which aigate does not evaluate",
                    self.subject()
                )));
            }
            let id = ext.extn_id.to_string();
            if ext.critical && !KNOWN_CRITICAL.contains(&id.as_str()) {
                return Err(AttestError::Untrusted(format!(
                    "`{}` has a critical extension aigate does not know ({id})",
                    self.subject()
                )));
            }
        }
        Ok(())
    }

    fn basic_constraints(&self) -> Result<Option<BasicConstraints>, AttestError> {
        self.cert
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .map(|e| e.map(|(_, bc)| bc))
            .map_err(|e| self.bad_extension("basicConstraints", &e))
    }

    fn key_usage(&self) -> Result<Option<KeyUsage>, AttestError> {
        self.cert
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .map(|e| e.map(|(_, ku)| ku))
            .map_err(|e| self.bad_extension("keyUsage", &e))
    }

    fn extended_key_usage(&self) -> Result<Option<ExtendedKeyUsage>, AttestError> {
        self.cert
            .tbs_certificate()
            .get_extension::<ExtendedKeyUsage>()
            .map(|e| e.map(|(_, eku)| eku))
            .map_err(|e| self.bad_extension("extKeyUsage", &e))
    }

    fn bad_extension(&self, name: &str, e: &der::Error) -> AttestError {
        AttestError::Untrusted(format!(
            "`{}` has a malformed or repeated {name} extension: {e}",
            self.subject()
        ))
    }

    /// Whether this certificate may issue others `depth` intermediates above the signing
    /// certificate (0 for the signing certificate's issuer).
    fn check_issuer(&self, intermediates_below: usize) -> Result<(), AttestError> {
        let v1 = self.cert.tbs_certificate().extensions().is_none();
        match self.basic_constraints()? {
            Some(bc) if bc.ca => {
                if let Some(max) = bc.path_len_constraint
                    && intermediates_below > usize::from(max)
                {
                    return Err(AttestError::Untrusted(format!(
                        "`{}` allows {max} intermediate CA(s) below it, the chain has {intermediates_below}",
                        self.subject()
                    )));
                }
            }
            None if v1 => {}
            _ => {
                return Err(AttestError::Untrusted(format!(
                    "`{}` issued a certificate of the chain but is not a CA (basicConstraints)",
                    self.subject()
                )));
            }
        }
        if let Some(ku) = self.key_usage()?
            && !ku.key_cert_sign()
        {
            return Err(AttestError::Untrusted(format!(
                "`{}` is not allowed to sign certificates (keyUsage lacks keyCertSign)",
                self.subject()
            )));
        }
        Ok(())
    }

    /// Whether `issuer` signed this certificate.
    fn signed_by(&self, issuer: &Certificate) -> Result<bool, AttestError> {
        if self.cert.tbs_certificate().issuer() != issuer.cert.tbs_certificate().subject() {
            return Ok(false);
        }
        let tbs =
            self.cert.tbs_certificate().to_der().map_err(|e| {
                AttestError::Certificate(format!("cannot encode a certificate: {e}"))
            })?;
        let Some(signature) = self.cert.signature().as_bytes() else {
            return Ok(false);
        };
        let algorithm = self.cert.signature_algorithm().oid;
        let spki = issuer.cert.tbs_certificate().subject_public_key_info();
        let key_oid = spki.algorithm.oid;
        let ec_hash = match algorithm {
            OID_ECDSA_SHA256 => Some(SigHash::Sha256),
            OID_ECDSA_SHA384 => Some(SigHash::Sha384),
            OID_ECDSA_SHA512 => Some(SigHash::Sha512),
            _ => None,
        };
        if let Some(hash) = ec_hash {
            if key_oid != OID_EC_PUBLIC_KEY {
                return Ok(false);
            }
            let key = issuer.ecdsa_key()?;
            return Ok(key.verify(&tbs, signature, hash));
        }
        if !matches!(algorithm, OID_RSA_SHA256 | OID_RSA_SHA384 | OID_RSA_SHA512) {
            return Err(AttestError::Unsupported(format!(
                "`{}` is signed with algorithm {algorithm}; aigate checks ECDSA and RSA PKCS#1 v1.5 certificate signatures",
                self.subject()
            )));
        }
        if key_oid != OID_RSA_ENCRYPTION {
            return Ok(false);
        }
        Ok(verify_rsa(&issuer.spki_der()?, algorithm, &tbs, signature))
    }
}

fn verify_rsa(spki_der: &[u8], algorithm: Oid, message: &[u8], signature: &[u8]) -> bool {
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::signature::Verifier as _;
    let Ok(key) = rsa::PublicKey::from_public_key_der(spki_der) else {
        return false;
    };
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
        return false;
    };
    match algorithm {
        OID_RSA_SHA256 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
            .verify(message, &sig)
            .is_ok(),
        OID_RSA_SHA384 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key)
            .verify(message, &sig)
            .is_ok(),
        OID_RSA_SHA512 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(key)
            .verify(message, &sig)
            .is_ok(),
        _ => false,
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// When the chain must be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidityTime {
    /// At the signing certificate's `notBefore`: what model-signing checks. A detached
    /// signature has no trusted signing time, so a certificate that has since expired still
    /// verifies what it signed while it was valid.
    #[default]
    SigningCertificateIssued,
    /// At this instant (now, for a check that expired certificates no longer pass).
    At(SystemTime),
}

/// Checks `chain` (the signing certificate first, then the bundle's untrusted
/// intermediates) against the trusted `roots`, and returns the signing certificate's key.
pub(crate) fn verify_chain(
    chain: &[Certificate],
    roots: &[Certificate],
    time: ValidityTime,
) -> Result<VerifyingKey, AttestError> {
    let leaf = chain.first().ok_or_else(|| {
        AttestError::Malformed("the certificate chain in the bundle is empty".into())
    })?;
    if chain.len() > MAX_CHAIN {
        return Err(AttestError::Malformed(format!(
            "the bundle carries {} certificates; aigate reads at most {MAX_CHAIN}",
            chain.len()
        )));
    }
    if roots.is_empty() {
        return Err(AttestError::Untrusted(
            "no trusted CA certificate was given to check the chain against".into(),
        ));
    }
    let at = match time {
        ValidityTime::SigningCertificateIssued => leaf.not_before(),
        ValidityTime::At(t) => t.duration_since(UNIX_EPOCH).unwrap_or_default(),
    };
    leaf.check_critical_extensions()?;
    leaf.check_time(at)?;
    check_signing_usage(leaf)?;
    let mut path = vec![0usize];
    build_path(leaf, &chain[1..], roots, at, &mut path, 0)?;
    leaf.ecdsa_key().map_err(|e| match e {
        AttestError::Key(m) => AttestError::Unsupported(format!("signing certificate key: {m}")),
        other => other,
    })
}

/// model-signing's rule: key usage with digitalSignature, or else extended key usage with
/// codeSigning.
fn check_signing_usage(leaf: &Certificate) -> Result<(), AttestError> {
    if leaf.key_usage()?.is_some_and(|ku| ku.digital_signature()) {
        return Ok(());
    }
    if leaf
        .extended_key_usage()?
        .is_some_and(|eku| eku.0.contains(&OID_CODE_SIGNING))
    {
        return Ok(());
    }
    Err(AttestError::Untrusted(format!(
        "`{}` may not be used for signing: neither key usage digitalSignature nor extended key usage codeSigning",
        leaf.subject()
    )))
}

/// Depth-first search for an issuer of `current`: a trusted root ends the path; an untrusted
/// intermediate continues it. `intermediates_below` counts CA certificates between `current`
/// and the signing certificate.
fn build_path(
    current: &Certificate,
    intermediates: &[Certificate],
    roots: &[Certificate],
    at: Duration,
    used: &mut Vec<usize>,
    intermediates_below: usize,
) -> Result<(), AttestError> {
    if roots.iter().any(|r| r == current) {
        return Ok(());
    }
    let mut last_error = None;
    for root in roots {
        if current.signed_by(root)? {
            match root
                .check_critical_extensions()
                .and_then(|()| root.check_time(at))
                .and_then(|()| root.check_issuer(intermediates_below))
            {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
    }
    if used.len() <= MAX_CHAIN {
        for (i, candidate) in intermediates.iter().enumerate() {
            if used.contains(&(i + 1)) || candidate == current || !current.signed_by(candidate)? {
                continue;
            }
            let step = candidate
                .check_critical_extensions()
                .and_then(|()| candidate.check_time(at))
                .and_then(|()| candidate.check_issuer(intermediates_below));
            if let Err(e) = step {
                last_error = Some(e);
                continue;
            }
            used.push(i + 1);
            match build_path(
                candidate,
                intermediates,
                roots,
                at,
                used,
                intermediates_below + 1,
            ) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
            used.pop();
        }
    }
    Err(last_error.unwrap_or_else(|| {
        AttestError::Untrusted(format!(
            "no trusted CA issued `{}` (issuer `{}`)",
            current.subject(),
            current.cert.tbs_certificate().issuer()
        ))
    }))
}
