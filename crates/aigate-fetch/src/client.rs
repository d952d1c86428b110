//! The HTTPS client: redirects followed only into trusted places, retries with backoff, and the
//! Hugging Face Hub's tree listing.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use aigate_integrity::hash::{Algorithm, Digest, Hashed, HashingReader};
use aigate_integrity::manifest::is_inside_project;

use crate::FetchError;
use crate::error::Refusal;
use crate::source::{HfRepoKind, encode_path, hf_file_url};
use crate::trust::{Trust, plain_https};

/// Hosts the Hugging Face Hub redirects large files to. Accepted for `hf://` downloads only when
/// the file's SHA-256 is known in advance, so the bytes are checked whatever host serves them.
const HF_CDN_HOSTS: &[&str] = &[
    "cdn-lfs.huggingface.co",
    "cdn-lfs.hf.co",
    "cdn-lfs-us-1.hf.co",
    "cdn-lfs-eu-1.hf.co",
    "cas-bridge.xethub.hf.co",
];
/// Redirects followed before giving up.
pub(crate) const MAX_REDIRECTS: u32 = 10;
/// Largest Hub tree listing read.
const MAX_LISTING: u64 = 64 << 20;

/// How a [`Client`] is set up. The binary fills it from flags and the environment.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Retries after a failed attempt.
    pub retries: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
    /// A PEM bundle that replaces the built-in Mozilla roots (`SSL_CERT_FILE`).
    pub ca_file: Option<PathBuf>,
    /// The Hugging Face Hub endpoint (`HF_ENDPOINT`), without a trailing slash.
    pub hf_endpoint: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retries: 3,
            backoff: Duration::from_millis(500),
            ca_file: None,
            hf_endpoint: "https://huggingface.co".into(),
        }
    }
}

/// One file to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Where from.
    pub url: Url,
    /// Where to, relative to the artifact folder.
    pub path: String,
    /// Its SHA-256, when known in advance (`--sha256`, or the Hub's LFS pointer).
    pub sha256: Option<Digest>,
}

/// TLS with the built-in Mozilla roots, or only the certificates of the PEM bundle `ca_file`
/// (`SSL_CERT_FILE`).
pub(crate) fn tls_config(
    ca_file: Option<&std::path::Path>,
) -> std::io::Result<ureq::tls::TlsConfig> {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(path) = ca_file {
        let pem = fs::read(path)?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
    }
    Ok(tls.build())
}

/// An HTTPS client that follows redirects only into trusted places.
pub struct Client {
    agent: ureq::Agent,
    retries: u32,
    backoff: Duration,
    hf_endpoint: String,
}

impl Client {
    /// A client set up as `options` say.
    pub fn new(options: &ClientOptions) -> Result<Client, FetchError> {
        let tls = tls_config(options.ca_file.as_deref()).map_err(|source| FetchError::Io {
            path: options
                .ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source,
        })?;
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .max_redirects(0)
            .http_status_as_error(false)
            .https_only(true)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(120)))
            .user_agent(concat!("aigate/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: config.into(),
            retries: options.retries,
            backoff: options.backoff,
            hf_endpoint: options.hf_endpoint.trim_end_matches('/').to_owned(),
        })
    }

    /// The Hub endpoint this client resolves `hf://` sources against.
    pub fn hf_endpoint(&self) -> &str {
        &self.hf_endpoint
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
            let response = self
                .agent
                .get(current.as_str())
                .call()
                .map_err(|e| transport_error(&current, e))?;
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
                        FetchError::Untrusted {
                            refusal: Refusal::NoTrustedPrefix,
                            ..
                        } => FetchError::Untrusted {
                            url: next.to_string(),
                            refusal: Refusal::UntrustedRedirect {
                                from: current.to_string(),
                            },
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
                self.hf_endpoint,
                encode_path(revision)
            ))
            .map_err(|e| FetchError::BadSource {
                text: format!("hf://{repo}@{revision}"),
                reason: format!("gives no listing URL: {e}"),
            })?,
        );
        let mut files = Vec::new();
        while let Some(url) = next.take() {
            trust_listing(trust, &self.hf_endpoint, &url, repo)?;
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
                    return Err(FetchError::Network {
                        url: final_url.to_string(),
                        message: format!("the Hub listed an unsafe path {path:?}"),
                    });
                }
                let sha256 = match entry["lfs"]["oid"].as_str() {
                    None => None,
                    Some(oid) => Some(Digest::from_hex(oid).ok_or_else(|| FetchError::Network {
                        url: final_url.to_string(),
                        message: format!("the Hub listed {path:?} with an LFS oid that is not a SHA-256: {oid:?}"),
                    })?),
                };
                files.push(RemoteFile {
                    url: hf_file_url(&self.hf_endpoint, kind, repo, revision, path)?,
                    path: path.to_owned(),
                    sha256,
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
        if let Some(expected) = &file.sha256
            && *expected != hashed.digest
        {
            let _ = fs::remove_file(dest);
            return Err(FetchError::HashMismatch {
                path: file.path.clone(),
                expected: expected.hex(),
                actual: hashed.digest.hex(),
            });
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
        let mut reader = HashingReader::new(response.into_body().into_reader(), Algorithm::Sha256);
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
        if let Some(want) = want
            && got != want
        {
            return Err(FetchError::Truncated {
                url: url.to_string(),
                got,
                want,
            });
        }
        out.sync_all().map_err(io_err)?;
        Ok(reader.finish())
    }
}

/// The listing API lives outside the repository path, so it is trusted when the repository's
/// own files would be.
fn trust_listing(
    trust: &Trust,
    endpoint: &str,
    api_url: &Url,
    repo: &str,
) -> Result<(), FetchError> {
    let probe = Url::parse(&format!("{endpoint}/{repo}/")).map_err(|e| FetchError::BadSource {
        text: format!("{endpoint}/{repo}/"),
        reason: format!("is not a URL: {e}"),
    })?;
    let same_origin = api_url.host_str() == probe.host_str()
        && api_url.port_or_known_default() == probe.port_or_known_default();
    if !same_origin {
        return Err(FetchError::Untrusted {
            url: api_url.to_string(),
            refusal: Refusal::ListingOffEndpoint,
        });
    }
    trust.check(&probe, probe.as_str())
}

/// Sorts a transport failure: TLS refusals are final; connection and timeout failures may
/// pass. The message is ureq's own words, never its debug form.
fn transport_error(url: &Url, err: ureq::Error) -> FetchError {
    let message = err.to_string();
    match err {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => FetchError::Tls {
            url: url.to_string(),
            message,
        },
        _ => FetchError::Network {
            url: url.to_string(),
            message,
        },
    }
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

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link("<https://hf.co/api/x?cursor=2>; rel=\"next\""),
            Some("https://hf.co/api/x?cursor=2".into())
        );
        assert_eq!(next_link("<https://x>; rel=\"prev\""), None);
    }
}
