//! ECDSA keys on the curves model-signing supports (P-256, P-384, P-521), read from the PEM
//! forms OpenSSL and Python's `cryptography` write, and the signature hash model-signing uses
//! for each curve: SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use ecdsa::signature::hazmat::PrehashVerifier as _;
use ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
};
use sha2::Digest as _;

use crate::AttestError;
use crate::pem;
use crate::x509::Certificate;

const OID_EC_PUBLIC_KEY: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// An elliptic curve model-signing signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (secp256r1), signatures over SHA-256.
    P256,
    /// NIST P-384 (secp384r1), signatures over SHA-384.
    P384,
    /// NIST P-521 (secp521r1), signatures over SHA-512.
    P521,
}

impl Curve {
    /// `P-256`, `P-384` or `P-521`.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    fn from_oid(oid: der::asn1::ObjectIdentifier) -> Result<Curve, AttestError> {
        match oid {
            OID_P256 => Ok(Curve::P256),
            OID_P384 => Ok(Curve::P384),
            OID_P521 => Ok(Curve::P521),
            other => Err(AttestError::Key(format!(
                "the elliptic curve {other} is not one model-signing supports (P-256, P-384, P-521)"
            ))),
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

enum Secret {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

/// A private key to sign with, and, for model-signing's `certificate` method, the certificate
/// chain the bundle carries (the leaf for this key first, then the CAs).
pub struct SigningKey {
    secret: Secret,
    chain: Vec<Certificate>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("curve", &self.curve())
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads an ECDSA private key from PEM: `EC PRIVATE KEY` (SEC1, as `openssl ecparam
    /// -genkey` writes it, `EC PARAMETERS` block and all), `PRIVATE KEY` (PKCS#8), or
    /// `ENCRYPTED PRIVATE KEY` (PKCS#8 with PBES2, as `openssl pkcs8 -topk8` and
    /// `cryptography` write it), decrypted with `password`. A password given for a key that is
    /// not encrypted is not used.
    pub fn from_pem(pem_text: &str, password: Option<&str>) -> Result<SigningKey, AttestError> {
        let blocks = pem::blocks(pem_text).map_err(pem::key_error)?;
        let block = blocks
            .iter()
            .find(|b| b.label != "EC PARAMETERS")
            .ok_or_else(|| AttestError::Key("no PEM private key block found".into()))?;
        let secret = match block.label.as_str() {
            "EC PRIVATE KEY" if block.has_headers => {
                return Err(AttestError::Key(
                    "this SEC1 key is encrypted in the legacy OpenSSL form (Proc-Type headers), which aigate does not read; convert it with `openssl pkcs8 -topk8 -in KEY -out KEY.p8` (encrypted PKCS#8)".into(),
                ));
            }
            "EC PRIVATE KEY" => secret_from_sec1(&block.der)?,
            "PRIVATE KEY" => secret_from_pkcs8(&block.der)?,
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or(AttestError::PasswordRequired)?;
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(block.der.as_slice())
                    .map_err(|e| AttestError::Key(format!("not an encrypted PKCS#8 key: {e}")))?;
                let plain = info.decrypt(password).map_err(|_| AttestError::Decrypt)?;
                secret_from_pkcs8(plain.as_bytes()).map_err(|_| AttestError::Decrypt)?
            }
            other => {
                return Err(AttestError::Key(format!(
                    "a `{other}` PEM block is not an ECDSA private key"
                )));
            }
        };
        Ok(SigningKey {
            secret,
            chain: Vec::new(),
        })
    }

    /// A new random P-256 key, from the operating system's generator.
    pub fn generate_p256() -> SigningKey {
        use p256::elliptic_curve::Generate as _;
        SigningKey {
            secret: Secret::P256(p256::ecdsa::SigningKey::from(p256::SecretKey::generate())),
            chain: Vec::new(),
        }
    }

    /// Adds the certificate chain of model-signing's `certificate` method: `chain[0]` is the
    /// signing certificate, whose public key must be this key's; the CAs follow.
    pub fn with_certificate_chain(
        mut self,
        chain: Vec<Certificate>,
    ) -> Result<SigningKey, AttestError> {
        let leaf = chain.first().ok_or_else(|| {
            AttestError::Certificate("an empty certificate chain has no signing certificate".into())
        })?;
        if leaf.spki_der()? != self.verifying_key().spki_der() {
            return Err(AttestError::Certificate(
                "the signing certificate's public key is not this private key's".into(),
            ));
        }
        self.chain = chain;
        Ok(self)
    }

    /// The certificates the bundle will carry; empty for a bare key.
    pub fn certificate_chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        match self.secret {
            Secret::P256(_) => Curve::P256,
            Secret::P384(_) => Curve::P384,
            Secret::P521(_) => Curve::P521,
        }
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            public: match &self.secret {
                Secret::P256(k) => Public::P256(*k.verifying_key()),
                Secret::P384(k) => Public::P384(*k.verifying_key()),
                Secret::P521(k) => Public::P521(*k.verifying_key()),
            },
        }
    }

    /// The private key as unencrypted PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<String, AttestError> {
        let der = match &self.secret {
            Secret::P256(k) => k.to_pkcs8_der(),
            Secret::P384(k) => k.to_pkcs8_der(),
            Secret::P521(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| AttestError::Key(format!("cannot encode the key: {e}")))?;
        Ok(pem::encode("PRIVATE KEY", der.as_bytes()))
    }

    /// An ASN.1 DER ECDSA signature over `message`, hashed as model-signing hashes for the
    /// curve. Nonces are deterministic (RFC 6979).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AttestError> {
        let failed = |e: ecdsa::Error| AttestError::Key(format!("signing failed: {e}"));
        Ok(match &self.secret {
            Secret::P256(k) => {
                let sig: p256::ecdsa::Signature = k.try_sign(message).map_err(failed)?;
                sig.to_der().as_bytes().to_vec()
            }
            Secret::P384(k) => {
                let sig: p384::ecdsa::Signature = k.try_sign(message).map_err(failed)?;
                sig.to_der().as_bytes().to_vec()
            }
            Secret::P521(k) => {
                let sig: p521::ecdsa::Signature = k.try_sign(message).map_err(failed)?;
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

fn secret_from_pkcs8(der_bytes: &[u8]) -> Result<Secret, AttestError> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(der_bytes)
        .map_err(|e| AttestError::Key(format!("not a PKCS#8 private key: {e}")))?;
    if info.algorithm.oid != OID_EC_PUBLIC_KEY {
        return Err(AttestError::Key(format!(
            "the PKCS#8 key's algorithm is {}, not an elliptic curve (ECDSA) key",
            info.algorithm.oid
        )));
    }
    let curve_oid = info
        .algorithm
        .parameters_oid()
        .map_err(|e| AttestError::Key(format!("the PKCS#8 key names no curve: {e}")))?;
    let bad = |e: pkcs8::Error| AttestError::Key(format!("a damaged PKCS#8 key: {e}"));
    Ok(match Curve::from_oid(curve_oid)? {
        Curve::P256 => {
            Secret::P256(p256::ecdsa::SigningKey::from_pkcs8_der(der_bytes).map_err(bad)?)
        }
        Curve::P384 => {
            Secret::P384(p384::ecdsa::SigningKey::from_pkcs8_der(der_bytes).map_err(bad)?)
        }
        Curve::P521 => {
            Secret::P521(p521::ecdsa::SigningKey::from_pkcs8_der(der_bytes).map_err(bad)?)
        }
    })
}

fn secret_from_sec1(der_bytes: &[u8]) -> Result<Secret, AttestError> {
    let key = sec1::EcPrivateKey::try_from(der_bytes)
        .map_err(|e| AttestError::Key(format!("not a SEC1 EC private key: {e}")))?;
    let curve_oid = key
        .parameters
        .and_then(|p| p.named_curve())
        .ok_or_else(|| AttestError::Key("the SEC1 key names no curve".into()))?;
    fn bad(e: impl fmt::Display) -> AttestError {
        AttestError::Key(format!("a damaged SEC1 key: {e}"))
    }
    Ok(match Curve::from_oid(curve_oid)? {
        Curve::P256 => Secret::P256(
            p256::SecretKey::from_sec1_der(der_bytes)
                .map_err(bad)?
                .into(),
        ),
        Curve::P384 => Secret::P384(
            p384::SecretKey::from_sec1_der(der_bytes)
                .map_err(bad)?
                .into(),
        ),
        Curve::P521 => Secret::P521(
            p521::SecretKey::from_sec1_der(der_bytes)
                .map_err(bad)?
                .into(),
        ),
    })
}

#[derive(Clone, Copy)]
enum Public {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

/// Which digest a signature is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigHash {
    /// The curve's own: SHA-256, SHA-384 or SHA-512.
    Curve,
    /// SHA-256 whatever the curve (model-signing 0.2's certificate signer).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// A public ECDSA key to verify with.
#[derive(Clone, Copy)]
pub struct VerifyingKey {
    public: Public,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({} {})", self.curve(), self.hint())
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der() == other.spki_der()
    }
}

impl Eq for VerifyingKey {}

impl VerifyingKey {
    /// Reads a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM block.
    pub fn from_pem(pem_text: &str) -> Result<VerifyingKey, AttestError> {
        let blocks = pem::blocks(pem_text).map_err(pem::key_error)?;
        let block = blocks
            .first()
            .ok_or_else(|| AttestError::Key("no PEM public key block found".into()))?;
        if block.label != "PUBLIC KEY" {
            return Err(AttestError::Key(format!(
                "a `{}` PEM block is not a public key (expected `PUBLIC KEY`)",
                block.label
            )));
        }
        VerifyingKey::from_spki_der(&block.der)
    }

    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der_bytes: &[u8]) -> Result<VerifyingKey, AttestError> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(der_bytes)
            .map_err(|e| AttestError::Key(format!("not a public key: {e}")))?;
        if info.algorithm.oid != OID_EC_PUBLIC_KEY {
            return Err(AttestError::Key(format!(
                "the public key's algorithm is {}, not an elliptic curve (ECDSA) key",
                info.algorithm.oid
            )));
        }
        let curve_oid = info
            .algorithm
            .parameters_oid()
            .map_err(|e| AttestError::Key(format!("the public key names no curve: {e}")))?;
        let bad = |e: spki::Error| AttestError::Key(format!("a damaged public key: {e}"));
        let public = match Curve::from_oid(curve_oid)? {
            Curve::P256 => Public::P256(
                p256::ecdsa::VerifyingKey::from_public_key_der(der_bytes).map_err(bad)?,
            ),
            Curve::P384 => Public::P384(
                p384::ecdsa::VerifyingKey::from_public_key_der(der_bytes).map_err(bad)?,
            ),
            Curve::P521 => Public::P521(
                p521::ecdsa::VerifyingKey::from_public_key_der(der_bytes).map_err(bad)?,
            ),
        };
        Ok(VerifyingKey { public })
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        match self.public {
            Public::P256(_) => Curve::P256,
            Public::P384(_) => Curve::P384,
            Public::P521(_) => Curve::P521,
        }
    }

    /// The DER SubjectPublicKeyInfo, the point uncompressed.
    pub fn spki_der(&self) -> Vec<u8> {
        let der = match &self.public {
            Public::P256(k) => k.to_public_key_der(),
            Public::P384(k) => k.to_public_key_der(),
            Public::P521(k) => k.to_public_key_der(),
        };
        der.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// The key as `PUBLIC KEY` PEM, exactly as Python's `cryptography` writes it.
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki_der())
    }

    /// model-signing's key hint: the hex SHA-256 of [`VerifyingKey::to_pem`].
    pub fn hint(&self) -> String {
        aigate_integrity::hash::hex(&sha2::Sha256::digest(self.to_pem().as_bytes()))
    }

    /// Whether `signature` (ASN.1 DER, or the fixed-size `r || s` form) is this key's over
    /// `message` hashed with `hash`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8], hash: SigHash) -> bool {
        macro_rules! check {
            ($key:expr, $curve:ident, $own:ident) => {{
                let Some(sig) = $curve::ecdsa::Signature::from_der(signature)
                    .ok()
                    .or_else(|| $curve::ecdsa::Signature::from_slice(signature).ok())
                else {
                    return false;
                };
                match hash {
                    SigHash::Curve => $key.verify(message, &sig).is_ok(),
                    SigHash::Sha256 => $key
                        .verify_prehash(&sha2::Sha256::digest(message), &sig)
                        .is_ok(),
                    SigHash::Sha384 => $key
                        .verify_prehash(&sha2::Sha384::digest(message), &sig)
                        .is_ok(),
                    SigHash::Sha512 => $key
                        .verify_prehash(&sha2::Sha512::digest(message), &sig)
                        .is_ok(),
                }
            }};
        }
        match &self.public {
            Public::P256(k) => check!(k, p256, Sha256),
            Public::P384(k) => check!(k, p384, Sha384),
            Public::P521(k) => check!(k, p521, Sha512),
        }
    }
}

/// A new key pair as PEM, as `aigate keygen` writes it.
pub struct KeyPair {
    /// The private key, unencrypted PKCS#8 (`PRIVATE KEY`). Keep it secret.
    pub private_pem: String,
    /// The public key, SubjectPublicKeyInfo (`PUBLIC KEY`): give it to verifiers.
    pub public_pem: String,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

/// Generates a P-256 key pair: the curve and hash model-signing and Sigstore use by default.
pub fn keygen() -> Result<KeyPair, AttestError> {
    let key = SigningKey::generate_p256();
    Ok(KeyPair {
        private_pem: key.to_pkcs8_pem()?,
        public_pem: key.verifying_key().to_pem(),
    })
}

/// Writes a key pair: the private key readable by its owner only (mode 0600 on Unix), the
/// public key world-readable. Refuses to overwrite either file; when the public key cannot be
/// written, the private one written just before is removed.
pub fn write_key_pair(pair: &KeyPair, private_path: &Path, public_path: &Path) -> io::Result<()> {
    for path in [private_path, public_path] {
        if fs::symlink_metadata(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} already exists; aigate does not overwrite keys",
                    path.display()
                ),
            ));
        }
    }
    write_new(private_path, pair.private_pem.as_bytes(), 0o600)?;
    if let Err(err) = write_new(public_path, pair.public_pem.as_bytes(), 0o644) {
        let _ = fs::remove_file(private_path);
        return Err(err);
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    let result = file.write_all(bytes).and_then(|()| file.sync_all());
    if result.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    result
}
