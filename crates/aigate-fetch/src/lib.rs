//! Trusted fetch: downloads only from `[sources] trusted` prefixes, over HTTPS, checking every
//! redirect hop; streams to disk while hashing; retries transient failures with backoff. The
//! only crate of aigate with a network stack (`ureq` over `rustls`): reading or verifying a lock
//! pulls none of it in.
//!
//! Sources are `https://` URLs or `hf://ORG/REPO@REVISION[/FILE]` (`hf://datasets/ORG/REPO@…`
//! for datasets), resolved against the Hub endpoint the caller passes (`HF_ENDPOINT`, default
//! `https://huggingface.co`, as the Hub's own clients do). A whole Hugging Face repository is
//! listed with the Hub's tree API, and every large file is checked against the SHA-256 its LFS
//! pointer records.
//!
//! Trust is decided on normalised URLs ([`Trust`]): https only, no user info, no `.`/`..`
//! segments and no percent-encoded dots, slashes or backslashes, same host and port, path under
//! the prefix at a segment boundary. The rules a declared source must follow, whichever command
//! meets it, are in [`source`]. This crate reads no environment variable: the binary passes
//! the endpoint and the CA file in.

#![forbid(unsafe_code)]

mod client;
mod error;
pub mod rules;
pub mod s3;
pub mod source;
mod trust;

pub use client::{Client, ClientOptions, RemoteFile};
pub use error::FetchError;
pub use rules::RULES;
pub use source::{HfRepoKind, Source, hf_file_url, is_commit, parse_source};
pub use trust::Trust;
pub use url::Url;
