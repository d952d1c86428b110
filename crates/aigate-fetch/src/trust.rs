//! Which URLs may be fetched: plain https under a `[sources] trusted` prefix.

use url::Url;

use crate::FetchError;
use crate::error::Refusal;

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
                let url = Url::parse(p).map_err(|e| FetchError::BadSource {
                    text: p.clone(),
                    reason: format!("is not a URL prefix: {e}"),
                })?;
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
                refusal: Refusal::NoTrustedPrefix,
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

pub(crate) fn plain_https(url: &Url, raw: &str) -> Result<(), FetchError> {
    let refuse = |refusal: Refusal| {
        Err(FetchError::Untrusted {
            url: raw.to_owned(),
            refusal,
        })
    };
    if url.scheme() != "https" {
        return refuse(Refusal::NotHttps);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse(Refusal::UserInfo);
    }
    let lower = raw.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "\\"]
        .iter()
        .any(|t| lower.contains(t))
    {
        return refuse(Refusal::EncodedSeparators);
    }
    let path = lower.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    if path.split('/').skip(1).any(|seg| seg == "." || seg == "..") {
        return refuse(Refusal::DotSegments);
    }
    Ok(())
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
}
