//! The content-addressed store in an object store: `s3://BUCKET/PREFIX` on AWS S3 or any
//! S3-compatible server (MinIO, Ceph, R2, s3s), through the `object_store` crate's S3 client
//! (request signing, multipart uploads, retries, S3's error codes).
//!
//! `object_store` is asynchronous and, with its default features, brings its own HTTP stack
//! and a C cryptography library. Here it runs with neither: its requests go through this
//! crate's `ureq` agent (rustls, the same roots and CA file as every other download) on a
//! blocking thread, and its signatures are computed with RustCrypto's SHA-256 and HMAC. The
//! store is synchronous to its callers, as the rest of aigate is.
//!
//! Objects are keyed `PREFIX/sha256/HEX`. Uploads of more than one part are multipart; every
//! request carries the SHA-256 of its payload (`x-amz-checksum-sha256`), which the server
//! checks, and the whole file is hashed while it is read, so a file that changed since it was
//! locked is aborted, never stored. Parts go up eight at a time, and after each one the
//! upload's state (its id, and each part's SHA-256 and id) is saved in the resume folder, so
//! that a rerun after an interruption sends only the parts the server does not have, once the
//! bytes now read for each part it has hash as they did. Downloads are ranged GETs, eight at a
//! time, hashed and written in order; a corrupted object is an error and its partial copy is
//! removed.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use http_body_util::BodyExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{
    CryptoProvider, DigestAlgorithm, DigestContext, HmacContext, HttpClient, HttpConnector,
    HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpResponseBody, HttpService,
    SigningAlgorithm,
};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use aigate_integrity::hash::Digest;
use aigate_integrity::store::{Put, Store, StoreError};

/// Parts of a multipart upload and of a ranged download; files up to this size go up in one
/// request.
const PART: usize = 16 << 20;
/// Parts in flight at once, up or down (`aws s3 cp` runs ten).
const PARALLEL: usize = 8;
/// The largest upload state read back: a part takes about 200 bytes.
const MAX_STATE_BYTES: u64 = 64 << 20;
/// Chunks of a download delivered from the blocking reader to the async side.
const CHUNK: usize = 1 << 20;

/// Where the store is and how to reach it. The binary fills it from `[store]` and the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION`, `AWS_ENDPOINT_URL`, `SSL_CERT_FILE`).
#[derive(Clone, Default)]
pub struct S3Options {
    /// `s3://BUCKET/PREFIX`.
    pub url: String,
    /// An S3-compatible endpoint (`https://minio.example.org:9000`); AWS when absent.
    pub endpoint: Option<String>,
    /// The region [default: us-east-1].
    pub region: Option<String>,
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The secret key.
    pub secret_access_key: Option<String>,
    /// A session token for temporary credentials.
    pub session_token: Option<String>,
    /// A PEM bundle that replaces the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Where the state of unfinished multipart uploads is kept, so that a rerun resumes
    /// them; none: an interrupted upload starts over.
    pub resume_dir: Option<PathBuf>,
}

/// What one upload did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfer {
    /// Parts sent by this call (1 for an object sent in one request).
    pub parts_sent: u64,
    /// Parts an interrupted earlier upload had sent, found unchanged and kept.
    pub parts_resumed: u64,
    /// The store had the object already: nothing was sent.
    pub already_there: bool,
}

/// An unfinished multipart upload, as saved between parts.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct UploadState {
    store: String,
    key: String,
    upload_id: String,
    part_size: u64,
    parts: BTreeMap<usize, SentPart>,
}

/// A part the server has: the SHA-256 of its bytes and the id that completes the upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SentPart {
    sha256: Digest,
    id: String,
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Options")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A store in an S3 bucket.
#[derive(Debug)]
pub struct S3Store {
    url: String,
    prefix: String,
    client: Arc<AmazonS3>,
    runtime: tokio::runtime::Runtime,
    resume_dir: Option<PathBuf>,
}

/// SHA-256 and HMAC-SHA-256 from RustCrypto, for request signing.
#[derive(Debug)]
struct RustCrypto;

struct Sha256Context(Sha256, Vec<u8>);

impl DigestContext for Sha256Context {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        self.1 = std::mem::take(&mut self.0).finalize().to_vec();
        Ok(&self.1)
    }
}

struct HmacSha256(hmac::Hmac<Sha256>, Vec<u8>);

impl HmacContext for HmacSha256 {
    fn update(&mut self, data: &[u8]) {
        hmac::Mac::update(&mut self.0, data);
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        let mac = std::mem::replace(
            &mut self.0,
            <hmac::Hmac<Sha256> as hmac::KeyInit>::new_from_slice(b"").map_err(not_supported)?,
        );
        self.1 = hmac::Mac::finalize(mac).into_bytes().to_vec();
        Ok(&self.1)
    }
}

fn not_supported(e: impl std::fmt::Display) -> object_store::Error {
    object_store::Error::NotSupported {
        source: e.to_string().into(),
    }
}

impl CryptoProvider for RustCrypto {
    fn digest(&self, algorithm: DigestAlgorithm) -> object_store::Result<Box<dyn DigestContext>> {
        match algorithm {
            DigestAlgorithm::Sha256 => Ok(Box::new(Sha256Context(Sha256::new(), Vec::new()))),
            _ => Err(not_supported("only SHA-256 digests are provided")),
        }
    }

    fn hmac(
        &self,
        algorithm: DigestAlgorithm,
        secret: &[u8],
    ) -> object_store::Result<Box<dyn HmacContext>> {
        match algorithm {
            DigestAlgorithm::Sha256 => Ok(Box::new(HmacSha256(
                <hmac::Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret)
                    .map_err(not_supported)?,
                Vec::new(),
            ))),
            _ => Err(not_supported("only HMAC-SHA-256 is provided")),
        }
    }

    fn sign(
        &self,
        _algorithm: SigningAlgorithm,
        _pem: &[u8],
    ) -> object_store::Result<Box<dyn object_store::client::Signer>> {
        Err(not_supported(
            "RSA signing (Google Cloud) is not used by S3",
        ))
    }
}

/// `object_store`'s HTTP through a `ureq` agent, on tokio's blocking threads.
#[derive(Debug)]
struct UreqConnector {
    agent: ureq::Agent,
}

#[derive(Debug)]
struct UreqService {
    agent: ureq::Agent,
}

impl HttpConnector for UreqConnector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(UreqService {
            agent: self.agent.clone(),
        }))
    }
}

fn http_error(kind: HttpErrorKind, e: impl std::error::Error + Send + Sync + 'static) -> HttpError {
    HttpError::new(kind, e)
}

#[async_trait::async_trait]
impl HttpService for UreqService {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| http_error(HttpErrorKind::Request, e))?
            .to_bytes();
        let agent = self.agent.clone();
        let (head_tx, head_rx) = tokio::sync::oneshot::channel();
        let (chunk_tx, chunk_rx) = tokio::sync::mpsc::channel::<Result<Bytes, HttpError>>(4);
        tokio::task::spawn_blocking(move || {
            let request = http::Request::from_parts(parts, body.to_vec());
            let response = match agent.run(request) {
                Ok(r) => r,
                Err(e) => {
                    let _ = head_tx.send(Err(http_error(HttpErrorKind::Connect, e)));
                    return;
                }
            };
            let (head, body) = response.into_parts();
            if head_tx.send(Ok(head)).is_err() {
                return;
            }
            let mut reader = body.into_reader();
            let mut buf = vec![0u8; CHUNK];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if chunk_tx
                            .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = chunk_tx.blocking_send(Err(http_error(HttpErrorKind::Decode, e)));
                        return;
                    }
                }
            }
        });
        let head = head_rx
            .await
            .map_err(|e| http_error(HttpErrorKind::Interrupted, e))??;
        let stream = futures::stream::unfold(chunk_rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|chunk| (chunk.map(http_body::Frame::data), rx))
        })
        // The body is polled again after its end; a fused stream answers that with its end.
        .fuse();
        let body = HttpResponseBody::new(http_body_util::StreamBody::new(stream));
        Ok(http::Response::from_parts(head, body))
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn io_error(what: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        what: what.display().to_string(),
        source,
    }
}

impl S3Store {
    /// The store `options.url` names, with the agent's TLS roots.
    pub fn new(options: &S3Options) -> Result<S3Store, String> {
        let rest = options
            .url
            .strip_prefix("s3://")
            .ok_or_else(|| "not an s3:// URL".to_owned())?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err("the URL names no bucket".into());
        }
        let prefix = prefix.trim_matches('/').to_owned();
        let tls = crate::client::tls_config(options.ca_file.as_deref()).map_err(|e| {
            let path = options.ca_file.as_ref().map(|p| p.display().to_string());
            format!("{}: {e}", path.unwrap_or_default())
        })?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            // A server that stops sending or taking bytes for a minute is gone: the request
            // fails (and is retried) rather than hanging; long transfers are not capped.
            .timeout_per_read(Some(Duration::from_secs(60)))
            .timeout_per_write(Some(Duration::from_secs(60)))
            .user_agent(concat!("aigate/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(options.region.as_deref().unwrap_or("us-east-1"))
            .with_http_connector(UreqConnector { agent })
            .with_crypto_provider(Arc::new(RustCrypto))
            .with_checksum_algorithm(object_store::aws::Checksum::SHA256);
        if let Some(endpoint) = &options.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let Some(key) = &options.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &options.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(token) = &options.session_token {
            builder = builder.with_token(token);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(S3Store {
            url: options.url.clone(),
            prefix,
            client: Arc::new(client),
            runtime,
            resume_dir: options.resume_dir.clone(),
        })
    }

    fn log_key(&self) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(aigate_integrity::store::LOG_NAME)
        } else {
            ObjectPath::from(format!(
                "{}/{}",
                self.prefix,
                aigate_integrity::store::LOG_NAME
            ))
        }
    }

    fn key(&self, digest: &Digest) -> ObjectPath {
        let hex = digest.hex();
        if self.prefix.is_empty() {
            ObjectPath::from(format!("sha256/{hex}"))
        } else {
            ObjectPath::from(format!("{}/sha256/{hex}", self.prefix))
        }
    }

    /// Where the state of an interrupted upload of `key` is kept, if anywhere.
    fn state_path(&self, key: &ObjectPath) -> Option<PathBuf> {
        let dir = self.resume_dir.as_ref()?;
        let name = Sha256::digest(format!("{}\n{key}", self.url).as_bytes());
        Some(dir.join(format!("{}.json", aigate_integrity::hash::hex(&name))))
    }

    /// The state an interrupted upload of `key` left, when it is this store's and this part
    /// size's; anything else (absent, damaged, another store's) is no state.
    fn load_state(&self, key: &ObjectPath) -> Option<UploadState> {
        let path = self.state_path(key)?;
        let bytes = aigate_integrity::files::read_regular_bytes(&path, MAX_STATE_BYTES).ok()?;
        serde_json::from_slice::<UploadState>(&bytes)
            .ok()
            .filter(|s| s.store == self.url && s.key == key.as_ref() && s.part_size == PART as u64)
    }

    /// Saves the state after every part, so that an interruption loses at most the parts in
    /// flight. A state that cannot be written costs only the resumption.
    fn save_state(&self, key: &ObjectPath, state: &UploadState) {
        let Some(path) = self.state_path(key) else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = fs::create_dir_all(dir);
        }
        if let Ok(bytes) = serde_json::to_vec(state) {
            let _ = aigate_integrity::files::write_atomic(&path, &bytes);
        }
    }

    fn forget_state(&self, key: &ObjectPath) {
        if let Some(path) = self.state_path(key) {
            let _ = fs::remove_file(path);
        }
    }

    /// Uploads the bytes `open` reads as the object `digest`, hashing them on the way; a
    /// mismatch aborts the upload and is reported by `mismatch`. An upload of more than one
    /// part resumes the one an earlier call left unfinished: each part it sent is kept when
    /// the bytes now read for it hash as they did then, and sent again otherwise. When the
    /// server no longer knows the earlier upload, it starts over once.
    fn upload<'r>(
        &self,
        open: &dyn Fn() -> std::io::Result<Box<dyn Read + 'r>>,
        digest: &Digest,
        mismatch: &dyn Fn(Digest) -> StoreError,
    ) -> Result<Transfer, StoreError> {
        let key = self.key(digest);
        let mut reader = open().map_err(backend)?;
        let mut first = vec![0u8; PART];
        let n = read_full(&mut reader, &mut first).map_err(backend)?;
        first.truncate(n);
        if n < PART {
            let actual = Digest(Sha256::digest(&first).into());
            if actual != *digest {
                return Err(mismatch(actual));
            }
            return self.runtime.block_on(async {
                self.client
                    .put(&key, PutPayload::from(first))
                    .await
                    .map(|_| Transfer {
                        parts_sent: 1,
                        ..Transfer::default()
                    })
                    .map_err(backend)
            });
        }
        let state = self.load_state(&key);
        let resuming = state.is_some();
        match self.upload_parts(&key, first, reader, digest, mismatch, state) {
            Err(PartsError::Upload(_)) if resuming => {
                // The earlier upload may have expired or been aborted: once more, from nothing,
                // after telling the server to drop what it may still hold of it.
                if let Some(stale) = self.load_state(&key) {
                    let _ = self
                        .runtime
                        .block_on(self.client.abort_multipart(&key, &stale.upload_id));
                }
                self.forget_state(&key);
                let mut reader = open().map_err(backend)?;
                let mut first = vec![0u8; PART];
                let n = read_full(&mut reader, &mut first).map_err(backend)?;
                first.truncate(n);
                self.upload_parts(&key, first, reader, digest, mismatch, None)
                    .map_err(PartsError::into_inner)
            }
            other => other.map_err(PartsError::into_inner),
        }
    }

    /// The multipart upload: parts read in order, the whole stream hashed as it is read, up
    /// to [`PARALLEL`] parts in flight, the state saved after each.
    fn upload_parts(
        &self,
        key: &ObjectPath,
        first: Vec<u8>,
        mut reader: Box<dyn Read + '_>,
        digest: &Digest,
        mismatch: &dyn Fn(Digest) -> StoreError,
        state: Option<UploadState>,
    ) -> Result<Transfer, PartsError> {
        self.runtime.block_on(async {
            let upload_err = |e: object_store::Error| PartsError::Upload(backend(e));
            let mut state = match state {
                Some(state) => state,
                None => {
                    let upload_id = self
                        .client
                        .create_multipart(key)
                        .await
                        .map_err(upload_err)?;
                    UploadState {
                        store: self.url.clone(),
                        key: key.as_ref().to_owned(),
                        upload_id,
                        part_size: PART as u64,
                        parts: BTreeMap::new(),
                    }
                }
            };
            self.save_state(key, &state);
            let mut transfer = Transfer::default();
            let mut hasher = Sha256::new();
            let mut in_flight = FuturesUnordered::new();
            let mut index = 0usize;
            let mut part = Some(first);
            while let Some(bytes) = part.take() {
                hasher.update(&bytes);
                let part_digest = Digest(Sha256::digest(&bytes).into());
                let sent = state
                    .parts
                    .get(&index)
                    .filter(|p| p.sha256 == part_digest)
                    .is_some();
                if sent {
                    transfer.parts_resumed += 1;
                } else {
                    let client = Arc::clone(&self.client);
                    let (key, id) = (key.clone(), state.upload_id.clone());
                    let at = index;
                    in_flight.push(async move {
                        let part = client
                            .put_part(&key, &id, at, PutPayload::from(bytes))
                            .await;
                        (at, part_digest, part)
                    });
                }
                while in_flight.len() >= PARALLEL {
                    if let Some(done) = in_flight.next().await {
                        self.record_part(key, &mut state, &mut transfer, done)?;
                    }
                }
                let mut next = vec![0u8; PART];
                let n = match read_full(&mut reader, &mut next) {
                    Ok(n) => n,
                    Err(e) => {
                        // The parts on the way are kept for the next attempt to resume.
                        while let Some(done) = in_flight.next().await {
                            let _ = self.record_part(key, &mut state, &mut transfer, done);
                        }
                        return Err(PartsError::Read(backend(e)));
                    }
                };
                if n > 0 {
                    next.truncate(n);
                    part = Some(next);
                    index += 1;
                }
            }
            while let Some(done) = in_flight.next().await {
                self.record_part(key, &mut state, &mut transfer, done)?;
            }
            let actual = Digest(hasher.finalize().into());
            if actual != *digest {
                let _ = self.client.abort_multipart(key, &state.upload_id).await;
                self.forget_state(key);
                return Err(PartsError::Read(mismatch(actual)));
            }
            let parts: Vec<PartId> = (0..=index)
                .map(|i| {
                    state.parts.get(&i).map(|p| PartId {
                        content_id: p.id.clone(),
                    })
                })
                .collect::<Option<_>>()
                .ok_or_else(|| PartsError::Read(backend("a part of the upload was not sent")))?;
            self.client
                .complete_multipart(key, &state.upload_id, parts)
                .await
                .map_err(upload_err)?;
            self.forget_state(key);
            Ok(transfer)
        })
    }

    fn record_part(
        &self,
        key: &ObjectPath,
        state: &mut UploadState,
        transfer: &mut Transfer,
        (index, sha256, part): (usize, Digest, object_store::Result<PartId>),
    ) -> Result<(), PartsError> {
        let part = part.map_err(|e| PartsError::Upload(backend(e)))?;
        state.parts.insert(
            index,
            SentPart {
                sha256,
                id: part.content_id,
            },
        );
        transfer.parts_sent += 1;
        self.save_state(key, state);
        Ok(())
    }

    /// The transfer that sends nothing, when the store has the object already.
    fn already_there(&self, digest: &Digest) -> Result<Option<Transfer>, StoreError> {
        Ok(self.contains(digest)?.then(|| Transfer {
            already_there: true,
            ..Transfer::default()
        }))
    }

    /// Stores what `reader` reads as the object `expected`, resuming an interrupted upload of
    /// it; what was done, in parts. A reader that fails leaves the parts sent so far for the
    /// next call to resume.
    pub fn put_reader(
        &self,
        reader: &mut dyn Read,
        expected: &Digest,
    ) -> Result<Transfer, StoreError> {
        if let Some(done) = self.already_there(expected)? {
            return Ok(done);
        }
        let cell = std::cell::RefCell::new(Some(reader));
        let open = || -> std::io::Result<Box<dyn Read + '_>> {
            match cell.borrow_mut().take() {
                Some(reader) => Ok(Box::new(reader)),
                None => Err(std::io::Error::other("the stream cannot be read twice")),
            }
        };
        self.upload(&open, expected, &|actual| StoreError::Corrupt {
            expected: *expected,
            actual,
        })
    }

    /// Stores the file at `source` as `expected` ([`Store::put_file`]), with what was done.
    pub fn put_file_counted(
        &self,
        source: &Path,
        expected: &Digest,
    ) -> Result<Transfer, StoreError> {
        if let Some(done) = self.already_there(expected)? {
            return Ok(done);
        }
        let open = || -> std::io::Result<Box<dyn Read + '_>> {
            Ok(Box::new(std::io::BufReader::with_capacity(
                CHUNK,
                File::open(source)?,
            )))
        };
        self.upload(&open, expected, &|actual| StoreError::Changed {
            path: source.display().to_string(),
            expected: *expected,
            actual,
        })
    }
}

/// Why a multipart upload stopped: the store refused (an earlier upload being resumed may be
/// gone), or the bytes could not be read or were not the expected ones.
enum PartsError {
    Upload(StoreError),
    Read(StoreError),
}

impl PartsError {
    fn into_inner(self) -> StoreError {
        match self {
            PartsError::Upload(e) | PartsError::Read(e) => e,
        }
    }
}

fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match reader.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl Store for S3Store {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn contains(&self, digest: &Digest) -> Result<bool, StoreError> {
        let key = self.key(digest);
        self.runtime.block_on(async {
            match self.client.head(&key).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(backend(e)),
            }
        })
    }

    fn put_file(&self, source: &Path, expected: &Digest) -> Result<Put, StoreError> {
        File::open(source).map_err(|e| io_error(source, e))?;
        let transfer = self.put_file_counted(source, expected)?;
        Ok(if transfer.already_there {
            Put::AlreadyThere
        } else {
            Put::Stored
        })
    }

    fn put_bytes(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest(Sha256::digest(bytes).into());
        if !self.contains(&digest)? {
            let open = || -> std::io::Result<Box<dyn Read + '_>> { Ok(Box::new(bytes)) };
            self.upload(&open, &digest, &|actual| StoreError::Corrupt {
                expected: digest,
                actual,
            })?;
        }
        Ok(digest)
    }

    fn restore(&self, digest: &Digest, dest: &Path) -> Result<(), StoreError> {
        let key = self.key(digest);
        let mut created = false;
        let result = self.runtime.block_on(async {
            let size = match self.client.head(&key).await {
                Ok(meta) => meta.size,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(StoreError::Missing(*digest));
                }
                Err(e) => return Err(backend(e)),
            };
            let mut out = File::create_new(dest).map_err(|e| io_error(dest, e))?;
            created = true;
            let mut hasher = Sha256::new();
            // Ranged GETs, PARALLEL at once, taken in order: the bytes are hashed and written
            // as one stream while the next parts are on the way. An object replaced between
            // the HEAD and the GETs fails the digest, as any corruption does.
            let ranges = (0..size.div_ceil(PART as u64))
                .map(|i| i * PART as u64..size.min((i + 1) * PART as u64));
            let mut parts = futures::stream::iter(ranges)
                .map(|range| {
                    let client = Arc::clone(&self.client);
                    let key = key.clone();
                    async move { client.get_range(&key, range).await }
                })
                .buffered(PARALLEL);
            while let Some(part) = parts.next().await {
                let part = part.map_err(|e| match e {
                    object_store::Error::NotFound { .. } => StoreError::Missing(*digest),
                    e => backend(e),
                })?;
                hasher.update(&part);
                out.write_all(&part).map_err(|e| io_error(dest, e))?;
            }
            let actual = Digest(hasher.finalize().into());
            if actual != *digest {
                return Err(StoreError::Corrupt {
                    expected: *digest,
                    actual,
                });
            }
            out.sync_all().map_err(|e| io_error(dest, e))
        });
        if result.is_err() && created {
            let _ = fs::remove_file(dest);
        }
        result
    }

    fn get_bytes(&self, digest: &Digest, max: u64) -> Result<Vec<u8>, StoreError> {
        let key = self.key(digest);
        let bytes = self.runtime.block_on(async {
            let got = match self.client.get(&key).await {
                Ok(g) => g,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(StoreError::Missing(*digest));
                }
                Err(e) => return Err(backend(e)),
            };
            if got.meta.size > max {
                return Err(backend(format!(
                    "object sha256:{digest} is {} bytes, more than the {max} read here",
                    got.meta.size
                )));
            }
            got.bytes().await.map_err(backend)
        })?;
        let actual = Digest(Sha256::digest(&bytes).into());
        if actual != *digest {
            return Err(StoreError::Corrupt {
                expected: *digest,
                actual,
            });
        }
        Ok(bytes.to_vec())
    }

    fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let base = if self.prefix.is_empty() {
            ObjectPath::from("sha256")
        } else {
            ObjectPath::from(format!("{}/sha256", self.prefix))
        };
        let mut out: Vec<Digest> = self.runtime.block_on(async {
            let mut listing = self.client.list(Some(&base));
            let mut out = Vec::new();
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(backend)?;
                if let Some(d) = meta.location.filename().and_then(Digest::from_hex) {
                    out.push(d);
                }
            }
            Ok::<_, StoreError>(out)
        })?;
        out.sort();
        Ok(out)
    }

    fn remove(&self, digest: &Digest) -> Result<(), StoreError> {
        let key = self.key(digest);
        self.runtime.block_on(async {
            match self.client.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(backend(e)),
            }
        })
    }

    fn read_log(&self, max: u64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let key = self.log_key();
        self.runtime.block_on(async {
            let got = match self.client.get(&key).await {
                Ok(g) => g,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(backend(e)),
            };
            if got.meta.size > max {
                return Err(backend(format!(
                    "{key} is {} bytes, more than the {max} read here",
                    got.meta.size
                )));
            }
            let Some(version) = got.meta.e_tag.clone() else {
                return Err(backend(format!(
                    "the server gave {key} no ETag, so it cannot be updated safely"
                )));
            };
            let bytes = got.bytes().await.map_err(backend)?;
            Ok(Some((bytes.to_vec(), version)))
        })
    }

    fn replace_log(&self, bytes: &[u8], version: Option<&str>) -> Result<bool, StoreError> {
        let key = self.log_key();
        // S3's conditional writes (If-Match on the ETag read, If-None-Match: * for the first):
        // two writers that read the same log cannot both replace it.
        let mode = match version {
            Some(e_tag) => PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag.to_owned()),
                version: None,
            }),
            None => PutMode::Create,
        };
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.runtime.block_on(async {
            match self
                .client
                .put_opts(&key, PutPayload::from(bytes.to_vec()), options)
                .await
            {
                Ok(_) => Ok(true),
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. },
                ) => Ok(false),
                Err(e) => Err(backend(e)),
            }
        })
    }
}
