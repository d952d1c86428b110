//! Why a fetch failed, and what to do about it. Hints are data ([`FetchError::hint`]), not text
//! inside the message, so that every renderer can show them.

use std::io;

/// Why a URL is refused before anything is downloaded from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not `https`.
    NotHttps,
    /// It carries a user name or password.
    UserInfo,
    /// Percent-encoded dots, slashes or backslashes, or a raw backslash.
    EncodedSeparators,
    /// `.` or `..` path segments.
    DotSegments,
    /// No `[sources] trusted` prefix covers it.
    NoTrustedPrefix,
    /// A trusted URL redirected here, and no trusted prefix covers this.
    UntrustedRedirect {
        /// The URL that redirected.
        from: String,
    },
    /// The Hub listing API is not on the Hub endpoint.
    ListingOffEndpoint,
}

impl Refusal {
    fn describe(&self) -> String {
        match self {
            Refusal::NotHttps => "only https is fetched".into(),
            Refusal::UserInfo => "URLs with user info are refused".into(),
            Refusal::EncodedSeparators => {
                "percent-encoded dots, slashes or backslashes are refused".into()
            }
            Refusal::DotSegments => "`.` and `..` path segments are refused".into(),
            Refusal::NoTrustedPrefix => "no [sources] trusted prefix covers it".into(),
            Refusal::UntrustedRedirect { from } => {
                format!("{from} redirects there, and no [sources] trusted prefix covers it")
            }
            Refusal::ListingOffEndpoint => "the listing is not on the Hub endpoint".into(),
        }
    }
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The source string is not a URL aigate fetches.
    #[error("{text:?} {reason}")]
    BadSource {
        /// The source as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL is not under a trusted prefix, or not a plain https URL.
    #[error("{url} is not trusted: {}", .refusal.describe())]
    Untrusted {
        /// The URL.
        url: String,
        /// Why.
        refusal: Refusal,
    },
    /// `require-pinned-revision` is on and the revision is not a commit hash.
    #[error(
        "revision {0:?} is not a commit hash, and [sources] require-pinned-revision = true"
    )]
    RevisionNotPinned(String),
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The transfer failed in a way that may pass: a refused or dropped connection, a timeout.
    #[error("{url}: {message}")]
    Network {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The server's certificate or the TLS handshake was refused: trying again will not help.
    #[error("{url}: TLS failed: {message}")]
    Tls {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The body ended before its announced length.
    #[error("{url}: transfer cut off after {got} of {want} bytes")]
    Truncated {
        /// The URL.
        url: String,
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        want: u64,
    },
    /// The content's SHA-256 is not the pinned one.
    #[error("{path}: SHA-256 is {actual}, expected {expected}; nothing was kept")]
    HashMismatch {
        /// The file.
        path: String,
        /// The pinned digest.
        expected: String,
        /// The downloaded content's digest.
        actual: String,
    },
    /// Too many redirects.
    #[error("{0}: more than {max} redirects", max = crate::client::MAX_REDIRECTS)]
    TooManyRedirects(String),
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: io::Error,
    },
}

impl FetchError {
    /// Whether trying again may succeed.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            FetchError::Network { .. } | FetchError::Truncated { .. } => true,
            _ => false,
        }
    }

    /// Whether the failure is a refusal on policy or integrity grounds (a finding, exit 1)
    /// rather than an error that left nothing concluded (exit 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FetchError::Untrusted { .. }
                | FetchError::RevisionNotPinned(_)
                | FetchError::HashMismatch { .. }
        )
    }

    /// What to do about it, when there is something to do.
    pub fn hint(&self) -> Option<String> {
        match self {
            FetchError::BadSource { .. } => Some(
                "write an https:// URL, or hf://ORG/REPO@REVISION[/FILE] such as hf://acme/sentiment@0123…/model.safetensors".into(),
            ),
            FetchError::Untrusted { refusal, .. } => match refusal {
                Refusal::NoTrustedPrefix | Refusal::UntrustedRedirect { .. } => Some(
                    "if you trust it, add its prefix to [sources] trusted in aigate.toml".into(),
                ),
                Refusal::NotHttps => Some("use the https:// address of the same file".into()),
                Refusal::UserInfo => Some(
                    "remove the user name and password from the URL; aigate never sends credentials in URLs".into(),
                ),
                Refusal::EncodedSeparators | Refusal::DotSegments => {
                    Some("write the URL in its plain, normalised form".into())
                }
                Refusal::ListingOffEndpoint => None,
            },
            FetchError::RevisionNotPinned(_) => {
                Some("use the 40-character commit id shown on the Hub".into())
            }
            FetchError::HashMismatch { .. } => Some(
                "the file is not the one that was pinned: check the source, or the --sha256 you gave".into(),
            ),
            FetchError::Tls { .. } => Some(
                "check the server's certificate; set SSL_CERT_FILE to a PEM bundle if it is signed by a private CA".into(),
            ),
            _ => None,
        }
    }
}
