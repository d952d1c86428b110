//! Trusted fetch: downloads only from `[sources] trusted` prefixes, over HTTPS, checking every
//! redirect hop; streams to disk while hashing; retries transient failures with backoff.
//!
//! Sources are `https://` URLs or `hf://ORG/REPO@REVISION[/FILE]` (`hf://datasets/ORG/REPO@…`
//! for datasets), resolved against `HF_ENDPOINT` (default `https://huggingface.co`) as the Hub's
//! own clients do. A whole Hugging Face repository is listed with the Hub's tree API, and every
//! large file is checked against the SHA-256 its LFS pointer records.
//!
//! Trust is decided on normalised URLs: https only, no user info, no `.`/`..` segments and no
//! percent-encoded dots, slashes or backslashes, same host and port, path under the prefix at a
//! segment boundary. `SSL_CERT_FILE` replaces the built-in Mozilla roots, as with OpenSSL.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::hash::{Hashed, HashingReader};
use crate::manifest::is_inside_project;

/// Hosts the Hugging Face Hub redirects large files to. Accepted for `hf://` downloads only when
/// the file's SHA-256 is known in advance, so the bytes are checked whatever host serves them.
const HF_CDN_HOSTS: &[&str] = &[
    "cdn-lfs.huggingface.co",
    "cdn-lfs.hf.co",
    "cdn-lfs-us-1.hf.co",
    "cdn-lfs-eu-1.hf.co",
    "cas-bridge.xethub.hf.co",
];
const MAX_REDIRECTS: u32 = 10;
/// Largest Hub tree listing read.
const MAX_LISTING: u64 = 64 << 20;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The source string is not a URL aigate fetches.
    #[error("{0}")]
    BadSource(String),
    /// The URL is not under a trusted prefix, or not a plain https URL.
    #[error(
        "{url} is not trusted: {reason}\nhint: add its prefix to [sources] trusted in aigate.toml if you trust it"
    )]
    Untrusted {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// `require-pinned-revision` is on and the revision is not a commit hash.
    #[error(
        "revision {0:?} is not a commit hash, and [sources] require-pinned-revision = true\nhint: use the 40-character commit id shown on the Hub"
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
    /// The transfer failed.
    #[error("{url}: {message}")]
    Network {
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
    #[error("{0}: more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects(String),
    /// Writing the download failed.
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
    fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            FetchError::Network { .. } | FetchError::Truncated { .. } => true,
            _ => false,
        }
    }

    /// Whether the failure is a refusal on policy or integrity grounds (exit 1) rather than an
    /// error that left nothing concluded (exit 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FetchError::Untrusted { .. }
                | FetchError::RevisionNotPinned(_)
                | FetchError::HashMismatch { .. }
        )
    }
}

/// What kind of Hugging Face repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HfRepoKind {
    /// `hf://ORG/REPO`.
    Model,
    /// `hf://datasets/ORG/REPO`.
    Dataset,
}

/// A parsed source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One file at an https URL.
    Https(Url),
    /// A Hugging Face repository at a revision, whole or one file.
    Hf {
        /// Model or dataset repository.
        kind: HfRepoKind,
        /// `ORG/REPO`.
        repo: String,
        /// Branch, tag or commit.
        revision: String,
        /// One file in it.
        file: Option<String>,
    },
}

/// Parses `https://…` or `hf://[datasets/]ORG/REPO@REVISION[/FILE]`.
pub fn parse_source(text: &str) -> Result<Source, FetchError> {
    if let Some(rest) = text.strip_prefix("hf://") {
        let (kind, rest) = match rest.strip_prefix("datasets/") {
            Some(rest) => (HfRepoKind::Dataset, rest),
            None => (HfRepoKind::Model, rest),
        };
        let bad = || {
            FetchError::BadSource(format!(
                "{text:?} is not hf://ORG/REPO@REVISION[/FILE]\nhint: name the revision, e.g. hf://acme/sentiment@4f3c2e…/model.safetensors"
            ))
        };
        let (repo, after) = rest.split_once('@').ok_or_else(bad)?;
        let (revision, file) = match after.split_once('/') {
            Some((rev, file)) => (rev, Some(file.to_owned()).filter(|f| !f.is_empty())),
            None => (after, None),
        };
        let parts: Vec<&str> = repo.split('/').collect();
        let name_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        if parts.len() != 2 || !parts.iter().all(|p| name_ok(p)) || !name_ok(revision) {
            return Err(bad());
        }
        if let Some(file) = &file {
            if !is_inside_project(file) || file.split('/').any(|s| s.is_empty() || s == ".") {
                return Err(bad());
            }
        }
        return Ok(Source::Hf {
            kind,
            repo: repo.to_owned(),
            revision: revision.to_owned(),
            file,
        });
    }
    let url = Url::parse(text)
        .map_err(|e| FetchError::BadSource(format!("{text:?} is not a URL: {e}")))?;
    Ok(Source::Https(url))
}

/// Whether a revision is a full commit hash.
pub fn is_commit(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The Hub endpoint: `HF_ENDPOINT`, or `https://huggingface.co`.
pub fn hf_endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "https://huggingface.co".into())
        .trim_end_matches('/')
        .to_owned()
}

fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The download URL of one file of a Hub repository.
pub fn hf_file_url(
    kind: HfRepoKind,
    repo: &str,
    revision: &str,
    file: &str,
) -> Result<Url, FetchError> {
    let prefix = if kind == HfRepoKind::Dataset {
        "datasets/"
    } else {
        ""
    };
    let text = format!(
        "{}/{prefix}{repo}/resolve/{}/{}",
        hf_endpoint(),
        encode_path(revision),
        encode_path(file)
    );
    Url::parse(&text).map_err(|e| FetchError::BadSource(format!("{text}: {e}")))
}

/// The prefixes downloads may come from, parsed once.
#[derive(Debug, Clone)]
pub struct Trust {
    prefixes: Vec<Url>,
}

impl Trust {
    /// Parses `[sources] trusted`.
    pub fn new(prefixes: &[String]) -> Result<Trust, FetchError> {
        let prefixes = prefixes
            .iter()
            .map(|p| {
                let url = Url::parse(p)
                    .map_err(|e| FetchError::BadSource(format!("trusted source {p:?}: {e}")))?;
                plain_https(&url, p)?;
                Ok(url)
            })
            .collect::<Result<_, FetchError>>()?;
        Ok(Trust { prefixes })
    }

    /// Checks a URL: plain https under a trusted prefix. `raw` is the URL as written, to catch
    /// dot segments the parser has already resolved.
    pub fn check(&self, url: &Url, raw: &str) -> Result<(), FetchError> {
        plain_https(url, raw)?;
        let trusted = self.prefixes.iter().any(|p| {
            p.scheme() == url.scheme()
                && p.host_str() == url.host_str()
                && p.port_or_known_default() == url.port_or_known_default()
                && under(p.path(), url.path())
        });
        if trusted {
            Ok(())
        } else {
            Err(FetchError::Untrusted {
                url: url.to_string(),
                reason: "no [sources] trusted prefix covers it".into(),
            })
        }
    }
}

fn under(prefix: &str, path: &str) -> bool {
    if prefix.ends_with('/') {
        path.starts_with(prefix)
    } else {
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

fn plain_https(url: &Url, raw: &str) -> Result<(), FetchError> {
    let refuse = |reason: &str| {
        Err(FetchError::Untrusted {
            url: raw.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if url.scheme() != "https" {
        return refuse("only https is fetched");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("URLs with user info are refused");
    }
    let lower = raw.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "\\"]
        .iter()
        .any(|t| lower.contains(t))
    {
        return refuse("percent-encoded dots, slashes or backslashes are refused");
    }
    let path = lower.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    if path.split('/').skip(1).any(|seg| seg == "." || seg == "..") {
        return refuse("`.` and `..` path segments are refused");
    }
    Ok(())
}

/// One file to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Where from.
    pub url: Url,
    /// Where to, relative to the artifact folder.
    pub path: String,
    /// Its SHA-256, when known in advance (`--sha256`, or the Hub's LFS pointer).
    pub sha256: Option<String>,
}

/// An HTTPS client that follows redirects only into trusted places.
pub struct Client {
    agent: ureq::Agent,
    retries: u32,
    backoff: Duration,
}

impl Client {
    /// A client with `retries` retries after the first attempt, waiting `backoff`, then twice
    /// as long each time.
    pub fn new(retries: u32, backoff: Duration) -> Result<Client, FetchError> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
            let pem = fs::read(&path).map_err(|source| FetchError::Io {
                path: Path::new(&path).display().to_string(),
                source,
            })?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(true)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(120)))
            .user_agent(concat!("aigate/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: config.into(),
            retries,
            backoff,
        })
    }

    /// GETs `url`, following redirects whose targets are trusted. `pinned` admits the Hub's
    /// CDN hosts, for content whose digest is checked.
    fn get(
        &self,
        url: &Url,
        trust: &Trust,
        pinned: bool,
    ) -> Result<(Url, ureq::http::Response<ureq::Body>), FetchError> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let response =
                self.agent
                    .get(current.as_str())
                    .call()
                    .map_err(|e| FetchError::Network {
                        url: current.to_string(),
                        message: e.to_string(),
                    })?;
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| FetchError::Network {
                        url: current.to_string(),
                        message: format!("HTTP {status} without a Location"),
                    })?;
                let next = current.join(location).map_err(|e| FetchError::Network {
                    url: current.to_string(),
                    message: format!("bad redirect {location:?}: {e}"),
                })?;
                let cdn = pinned && next.host_str().is_some_and(|h| HF_CDN_HOSTS.contains(&h));
                if cdn {
                    plain_https(&next, location)?;
                } else {
                    trust.check(&next, location).map_err(|err| match err {
                        FetchError::Untrusted { reason, .. } => FetchError::Untrusted {
                            url: next.to_string(),
                            reason: format!("{current} redirects there, and {reason}"),
                        },
                        other => other,
                    })?;
                }
                current = next;
                continue;
            }
            if status >= 400 {
                return Err(FetchError::Status {
                    url: current.to_string(),
                    status,
                });
            }
            return Ok((current, response));
        }
        Err(FetchError::TooManyRedirects(url.to_string()))
    }

    fn with_retries<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let mut wait = self.backoff;
        let mut tries = 0;
        loop {
            match attempt() {
                Err(err) if err.is_transient() && tries < self.retries => {
                    tries += 1;
                    std::thread::sleep(wait);
                    wait *= 2;
                }
                other => return other,
            }
        }
    }

    /// Lists the files of a Hub repository at a revision, with their LFS SHA-256.
    pub fn list_hf(
        &self,
        kind: HfRepoKind,
        repo: &str,
        revision: &str,
        trust: &Trust,
    ) -> Result<Vec<RemoteFile>, FetchError> {
        let api = if kind == HfRepoKind::Dataset {
            "datasets"
        } else {
            "models"
        };
        let mut next = Some(
            Url::parse(&format!(
                "{}/api/{api}/{repo}/tree/{}?recursive=true",
                hf_endpoint(),
                encode_path(revision)
            ))
            .map_err(|e| FetchError::BadSource(e.to_string()))?,
        );
        let mut files = Vec::new();
        while let Some(url) = next.take() {
            trust_listing(trust, &url, repo)?;
            let (final_url, response) = self.with_retries(|| self.get(&url, trust, false))?;
            let link = response
                .headers()
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(next_link);
            let mut body = Vec::new();
            response
                .into_body()
                .into_reader()
                .take(MAX_LISTING)
                .read_to_end(&mut body)
                .map_err(|e| FetchError::Network {
                    url: final_url.to_string(),
                    message: e.to_string(),
                })?;
            let entries: Vec<serde_json::Value> =
                serde_json::from_slice(&body).map_err(|e| FetchError::Network {
                    url: final_url.to_string(),
                    message: format!("the tree listing is not JSON: {e}"),
                })?;
            for entry in entries {
                if entry["type"] != "file" {
                    continue;
                }
                let Some(path) = entry["path"].as_str() else {
                    continue;
                };
                if !is_inside_project(path) {
                    return Err(FetchError::BadSource(format!(
                        "the Hub listed an unsafe path {path:?}"
                    )));
                }
                files.push(RemoteFile {
                    url: hf_file_url(kind, repo, revision, path)?,
                    path: path.to_owned(),
                    sha256: entry["lfs"]["oid"].as_str().map(str::to_owned),
                });
            }
            next = link.and_then(|l| final_url.join(&l).ok());
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Downloads `file` to `dest`, hashing as it writes; checks the pinned digest. On any error
    /// the partial file is removed.
    pub fn download(
        &self,
        file: &RemoteFile,
        dest: &Path,
        trust: &Trust,
        progress: &dyn Fn(u64),
    ) -> Result<Hashed, FetchError> {
        let result = self.with_retries(|| self.download_once(file, dest, trust, progress));
        if result.is_err() {
            let _ = fs::remove_file(dest);
        }
        let hashed = result?;
        if let Some(expected) = &file.sha256 {
            if !expected.eq_ignore_ascii_case(&hashed.sha256) {
                let _ = fs::remove_file(dest);
                return Err(FetchError::HashMismatch {
                    path: file.path.clone(),
                    expected: expected.to_ascii_lowercase(),
                    actual: hashed.sha256,
                });
            }
        }
        Ok(hashed)
    }

    fn download_once(
        &self,
        file: &RemoteFile,
        dest: &Path,
        trust: &Trust,
        progress: &dyn Fn(u64),
    ) -> Result<Hashed, FetchError> {
        let (url, response) = self.get(&file.url, trust, file.sha256.is_some())?;
        let want = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let io_err = |source| FetchError::Io {
            path: dest.display().to_string(),
            source,
        };
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut out = File::create(dest).map_err(io_err)?;
        let mut reader = HashingReader::new(response.into_body().into_reader());
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    let got = reader.size();
                    return Err(match want {
                        Some(want) if got < want => FetchError::Truncated {
                            url: url.to_string(),
                            got,
                            want,
                        },
                        _ => FetchError::Network {
                            url: url.to_string(),
                            message: err.to_string(),
                        },
                    });
                }
            };
            out.write_all(&buf[..n]).map_err(io_err)?;
            progress(n as u64);
        }
        let got = reader.size();
        if let Some(want) = want {
            if got != want {
                return Err(FetchError::Truncated {
                    url: url.to_string(),
                    got,
                    want,
                });
            }
        }
        out.sync_all().map_err(io_err)?;
        Ok(reader.finish())
    }
}

/// The listing API lives outside the repository path, so it is trusted when the repository's
/// own files would be.
fn trust_listing(trust: &Trust, api_url: &Url, repo: &str) -> Result<(), FetchError> {
    let endpoint = hf_endpoint();
    let probe = Url::parse(&format!("{endpoint}/{repo}/"))
        .map_err(|e| FetchError::BadSource(e.to_string()))?;
    let same_origin = api_url.host_str() == probe.host_str()
        && api_url.port_or_known_default() == probe.port_or_known_default();
    if !same_origin {
        return Err(FetchError::Untrusted {
            url: api_url.to_string(),
            reason: "the listing is not on the Hub endpoint".into(),
        });
    }
    trust.check(&probe, probe.as_str())
}

/// The `rel="next"` target of a Link header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust() -> Trust {
        Trust::new(&[
            "https://huggingface.co/acme/".into(),
            "https://data.example.org/sets".into(),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn check(raw: &str) -> Result<(), FetchError> {
        let url = Url::parse(raw).map_err(|e| FetchError::BadSource(e.to_string()))?;
        trust().check(&url, raw)
    }

    #[test]
    fn trusted_prefixes_match_at_segment_boundaries() {
        assert!(check("https://huggingface.co/acme/sentiment/resolve/main/a.bin").is_ok());
        assert!(check("https://HuggingFace.co:443/acme/x").is_ok());
        assert!(check("https://data.example.org/sets/2026.parquet").is_ok());
        assert!(check("https://data.example.org/sets").is_ok());
        assert!(check("https://data.example.org/setsevil/x").is_err());
        assert!(check("https://huggingface.co/acmeevil/x").is_err());
        assert!(check("https://huggingface.co.evil.com/acme/x").is_err());
        assert!(check("https://huggingface.co:8443/acme/x").is_err());
    }

    #[test]
    fn tricks_are_refused() {
        for raw in [
            "http://huggingface.co/acme/x",
            "https://user:pw@huggingface.co/acme/x",
            "https://huggingface.co/acme/../evil/x",
            "https://huggingface.co/acme/./x",
            "https://huggingface.co/acme/%2e%2e/evil/x",
            "https://huggingface.co/acme/..%2Fevil/x",
            "https://huggingface.co/acme\\..\\evil",
        ] {
            assert!(check(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn hf_sources_parse() {
        assert_eq!(
            parse_source("hf://acme/sentiment@main/onnx/model.onnx").ok(),
            Some(Source::Hf {
                kind: HfRepoKind::Model,
                repo: "acme/sentiment".into(),
                revision: "main".into(),
                file: Some("onnx/model.onnx".into()),
            })
        );
        assert!(matches!(
            parse_source("hf://datasets/acme/tickets@0123456789abcdef0123456789abcdef01234567"),
            Ok(Source::Hf {
                kind: HfRepoKind::Dataset,
                file: None,
                ..
            })
        ));
        for bad in [
            "hf://acme/sentiment",
            "hf://acme@main",
            "hf://acme/s@main/../x",
            "hf://a/b/c@main",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
        assert!(is_commit("0123456789abcdef0123456789abcdef01234567"));
        assert!(!is_commit("main"));
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link("<https://hf.co/api/x?cursor=2>; rel=\"next\""),
            Some("https://hf.co/api/x?cursor=2".into())
        );
        assert_eq!(next_link("<https://x>; rel=\"prev\""), None);
    }
}
