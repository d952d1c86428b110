//! Why signing or verifying could not be done, with advice kept apart from the message.

use std::io;

use aigate_report::{Finding, Location, Rule};

use crate::rules;

/// Why a signature could not be made or checked. Differences between a model and its
/// signature are not errors: they are [`Finding`]s.
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    /// The signature file is larger than any real bundle.
    #[error("the signature is {size} bytes, more than the {max} bytes aigate reads from a bundle")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The bound, [`crate::MAX_BUNDLE_BYTES`].
        max: u64,
    },
    /// Not JSON, truncated, or missing a field a bundle needs.
    #[error("the signature is not a Sigstore bundle: {0}")]
    Malformed(String),
    /// Another media type than the Sigstore bundle v0.3 one.
    #[error("the bundle's media type is `{0}`, not `{media}`", media = crate::bundle::MEDIA_TYPE)]
    MediaType(String),
    /// Zero or several DSSE signatures.
    #[error("the DSSE envelope holds {0} signatures; a model-signing bundle holds exactly one")]
    SignatureCount(usize),
    /// The DSSE payload is not an in-toto statement.
    #[error("the DSSE payload type is `{0}`, not `{expected}`", expected = crate::dsse::PAYLOAD_TYPE)]
    PayloadType(String),
    /// The signature does not verify over the envelope with the key that should have made it.
    #[error("the signature does not verify with {0}")]
    BadSignature(String),
    /// The bundle names another public key than the trusted one.
    #[error("signed by another key: the bundle names key {bundle}, the trusted key is {trusted}")]
    WrongKey {
        /// The SHA-256 hint of the key the bundle names.
        bundle: String,
        /// The hint of the trusted key.
        trusted: String,
    },
    /// The certificate chain does not lead to a trusted CA, or a certificate in it is unfit.
    #[error("the signing certificate is not trusted: {0}")]
    Untrusted(String),
    /// A keyless bundle (Fulcio certificate and Rekor entry).
    #[error(
        "keyless (Sigstore) bundles are not supported yet: this signature carries a short-lived Fulcio certificate and a transparency log entry"
    )]
    Keyless,
    /// A hash, serialization, key type or signature algorithm aigate does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The verifier does not fit the bundle (a key for a certificate bundle, or the reverse).
    #[error("{0}")]
    VerifierMismatch(String),
    /// The signed statement breaks the in-toto or model-signing format.
    #[error("the signed statement is not valid: {0}")]
    Statement(String),
    /// A key that cannot be read or used.
    #[error("key: {0}")]
    Key(String),
    /// An encrypted private key and no password.
    #[error("the private key is encrypted and no password was given")]
    PasswordRequired,
    /// Decryption of a private key failed.
    #[error("the private key could not be decrypted: a wrong password, or a damaged key")]
    Decrypt,
    /// A certificate that cannot be read.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A path in the model that cannot be signed (a link, a special file, a name that is not
    /// UTF-8).
    #[error("{path}: {message}")]
    Model {
        /// The entry.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Nothing to sign.
    #[error("nothing to sign: {0} holds no file once the ignored paths are left out")]
    Empty(String),
    /// A signing or verification option that cannot be honoured.
    #[error("invalid option: {0}")]
    Options(String),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: io::Error,
    },
}

impl AttestError {
    pub(crate) fn io(path: impl Into<String>, source: io::Error) -> Self {
        AttestError::Io {
            path: path.into(),
            source,
        }
    }

    /// What to do about it, when aigate knows.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            AttestError::TooLarge { .. } | AttestError::Malformed(_) => Some(
                "a model-signing signature is a small JSON file (a Sigstore bundle); get it again from the publisher",
            ),
            AttestError::MediaType(_) => Some(
                "model-signing writes `application/vnd.dev.sigstore.bundle.v0.3+json`; this is another kind of file",
            ),
            AttestError::BadSignature(_) => Some(
                "the statement or the signature was altered, or another key made it; get both from the publisher again",
            ),
            AttestError::WrongKey { .. } => Some(
                "verify with the key the publisher uses, or, if the signer really changed, trust the new key after checking it with them",
            ),
            AttestError::Untrusted(_) => Some(
                "pass the CA certificate that issued the signing certificate; check its validity dates and that it may sign code",
            ),
            AttestError::Keyless => Some(
                "verify it with `model_signing verify sigstore --identity … --identity_provider …`, or ask the publisher for a key or certificate signature",
            ),
            AttestError::Unsupported(_) => Some(
                "aigate verifies ECDSA P-256, P-384 and P-521 signatures over files or shards hashed with sha256 or blake3",
            ),
            AttestError::VerifierMismatch(_) => None,
            AttestError::Key(_) => Some(
                "aigate reads ECDSA P-256, P-384 and P-521 keys in PEM: `EC PRIVATE KEY` (SEC1), `PRIVATE KEY` or `ENCRYPTED PRIVATE KEY` (PKCS#8), and `PUBLIC KEY` (SPKI)",
            ),
            AttestError::PasswordRequired => Some("give the key's password"),
            AttestError::Decrypt => Some("check the password"),
            AttestError::Model { .. } => Some(
                "replace links with the files they stand for, or allow symbolic links when signing",
            ),
            AttestError::Empty(_) => Some("check the path and the ignored paths"),
            AttestError::Statement(_)
            | AttestError::SignatureCount(_)
            | AttestError::PayloadType(_)
            | AttestError::Certificate(_)
            | AttestError::Options(_)
            | AttestError::Io { .. } => None,
        }
    }

    /// The rule a finding about this error carries: `None` for errors that say nothing about
    /// the signature (I/O, options, keys of the caller).
    pub fn rule(&self) -> Option<&'static Rule> {
        match self {
            AttestError::TooLarge { .. }
            | AttestError::Malformed(_)
            | AttestError::MediaType(_)
            | AttestError::SignatureCount(_)
            | AttestError::PayloadType(_)
            | AttestError::Statement(_) => Some(&rules::SIGNATURE_MALFORMED),
            AttestError::BadSignature(_) => Some(&rules::SIGNATURE_INVALID),
            AttestError::WrongKey { .. } | AttestError::Untrusted(_) => {
                Some(&rules::SIGNATURE_UNTRUSTED)
            }
            AttestError::Keyless | AttestError::Unsupported(_) => {
                Some(&rules::SIGNATURE_UNSUPPORTED)
            }
            AttestError::VerifierMismatch(_) => Some(&rules::SIGNATURE_UNTRUSTED),
            AttestError::Key(_)
            | AttestError::PasswordRequired
            | AttestError::Decrypt
            | AttestError::Certificate(_)
            | AttestError::Model { .. }
            | AttestError::Empty(_)
            | AttestError::Options(_)
            | AttestError::Io { .. } => None,
        }
    }

    /// This error as a finding at `location` (the signature file, say), when it is about the
    /// signature; the error's hint becomes the finding's.
    pub fn to_finding(&self, location: Location) -> Option<Finding> {
        let rule = self.rule()?;
        let finding = Finding::new(rule, self.to_string(), location);
        Some(match self.hint() {
            Some(hint) => finding.with_hint(hint),
            None => finding,
        })
    }
}
