//! What the commands share about custody: the configured store, the custody log and who is
//! acting. Commands record their events here and anchor the log's head in the lock.

use std::path::PathBuf;

use anyhow::{Context, Result};

use aigate_attest::KeyEventSigner;
use aigate_integrity::custody::{self, EventSigner, Head, LogError, NewEvent, Verified};
use aigate_integrity::lock::{LockedArtifact, Lockfile};
use aigate_integrity::store::{FileStore, Store};

use crate::config::DEFAULT_STORE;
use crate::failure::Failure;
use crate::settings::{ConfigTrust, Settings};

/// The custody log's path: `[custody] log`, else `.aigate/custody.jsonl`, inside the project.
pub fn log_path(settings: &Settings) -> Result<PathBuf> {
    let default = format!(
        "{}/{}",
        aigate_integrity::paths::STATE_DIR,
        custody::FILE_NAME
    );
    let configured = settings.config.custody.log.as_deref().unwrap_or(&default);
    let rel = aigate_integrity::paths::normalize(configured).map_err(|e| {
        Failure::new(format!("[custody] log: {e}"))
            .hint("the custody log lives inside the project: give a project-relative path")
    })?;
    Ok(settings.root.join(rel))
}

/// The configured store: `[store] url`, else `file://.aigate/store`.
pub fn store(settings: &Settings) -> Result<Box<dyn Store>> {
    let section = &settings.config.store;
    let url = section
        .url
        .as_ref()
        .map_or(DEFAULT_STORE, |u| u.get_ref().as_str());
    let trusted = matches!(settings.trust, ConfigTrust::Named | ConfigTrust::Recorded);
    if let Some(path) = url.strip_prefix("file://") {
        let dir = if path.starts_with('/') {
            if !trusted {
                return Err(Failure::new(format!(
                    "[store] url = {url:?} leaves the project, and this aigate.toml is not trusted"
                ))
                .hint("run `aigate trust` if the configuration is yours, or use a project-relative file:// path")
                .into());
            }
            PathBuf::from(path)
        } else {
            let rel = aigate_integrity::paths::normalize(path)
                .map_err(|e| Failure::new(format!("[store] url: {e}")))?;
            settings.root.join(rel)
        };
        return Ok(Box::new(FileStore::new(dir)));
    }
    if url.starts_with("s3://") {
        if !trusted {
            return Err(Failure::new(format!(
                "[store] url = {url:?} sends the project's files to an object store, and this aigate.toml is not trusted"
            ))
            .hint("run `aigate trust` if the configuration is yours, or name it with --config")
            .into());
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let options = aigate_fetch::s3::S3Options {
            url: url.to_owned(),
            endpoint: section.endpoint.clone().or_else(|| env("AWS_ENDPOINT_URL")),
            region: section
                .region
                .clone()
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION")),
            access_key_id: env("AWS_ACCESS_KEY_ID"),
            secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
            session_token: env("AWS_SESSION_TOKEN"),
            ca_file: env("SSL_CERT_FILE").map(PathBuf::from),
            resume_dir: crate::trust::cache_dir().map(|d| d.join("uploads")),
        };
        return aigate_fetch::s3::S3Store::new(&options)
            .map(|s| Box::new(s) as Box<dyn Store>)
            .map_err(|e| {
                Failure::new(format!("[store] url = {url:?}: {e}"))
                    .hint("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and [store] endpoint for an S3-compatible server)")
                    .into()
            });
    }
    Err(Failure::new(format!(
        "[store] url = {url:?} is neither file:// nor s3://"
    ))
    .hint("use file://PATH (a folder) or s3://BUCKET/PREFIX")
    .into())
}

/// Whether `lock` and `approve` push to the store.
pub fn pushes(settings: &Settings) -> bool {
    settings.config.store.push.unwrap_or(true)
}

/// Who is acting: `--by`, else `AIGATE_ACTOR` (a CI job sets it to the account that runs
/// it), else the git identity of the project (`user.name <user.email>`), else the login name.
pub fn actor(settings: &Settings, by: Option<&str>) -> String {
    let env = std::env::var("AIGATE_ACTOR").ok();
    if let Some(by) = by
        .or(env.as_deref())
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        return by.to_owned();
    }
    let git = |key: &str| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&settings.root)
            .args(["config", "--get", key])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    match (git("user.name"), git("user.email")) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name,
        (None, Some(email)) => email,
        (None, None) => std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".to_owned()),
    }
}

/// Where the custody log is kept.
pub enum LogPlace {
    /// A file in the project.
    File(PathBuf),
    /// In the store, beside its objects (`[custody] in-store`).
    Store(Box<dyn Store>),
}

impl LogPlace {
    /// The log, for messages.
    pub fn describe(&self) -> String {
        match self {
            LogPlace::File(path) => path.display().to_string(),
            LogPlace::Store(store) => custody::store_log_name(store.as_ref()),
        }
    }

    /// Whether there is a log (a store that cannot be reached is taken to have one, so that
    /// a check that needs it runs and says why it cannot).
    pub fn exists(&self) -> bool {
        match self {
            LogPlace::File(path) => path.exists(),
            LogPlace::Store(store) => !matches!(store.read_log(custody::MAX_LOG_BYTES), Ok(None)),
        }
    }

    /// Appends `events`, signed by `signer` when there is one.
    pub fn append(
        &self,
        events: &[NewEvent],
        signer: Option<&dyn EventSigner>,
    ) -> Result<Head, LogError> {
        match self {
            LogPlace::File(path) => custody::append_signed(path, events, signer),
            LogPlace::Store(store) => custody::append_in_store(store.as_ref(), events, signer),
        }
    }

    /// Reads and checks the whole log against the chain and `anchor`.
    pub fn verify(&self, anchor: Option<Head>) -> Result<Verified, LogError> {
        match self {
            LogPlace::File(path) => custody::verify(path, anchor),
            LogPlace::Store(store) => custody::verify_in_store(store.as_ref(), anchor),
        }
    }
}

/// Where the custody log is: in the store with `[custody] in-store = true`, else the file
/// [`log_path`] names.
pub fn log_place(settings: &Settings) -> Result<LogPlace> {
    let section = &settings.config.custody;
    if section.in_store == Some(true) {
        if section.log.is_some() {
            return Err(Failure::new(
                "[custody] names both a log file (`log`) and the store (`in-store = true`)",
            )
            .hint("keep one: the log lives in one place")
            .into());
        }
        return Ok(LogPlace::Store(store(settings)?));
    }
    Ok(LogPlace::File(log_path(settings)?))
}

/// The variable naming the private key custody events are signed with, for CI jobs that hold
/// the key in a secret.
pub const KEY_ENV: &str = "AIGATE_CUSTODY_KEY";

/// The signer of recorded events: the key AIGATE_CUSTODY_KEY names, else `[custody] key`
/// (relative to the project, or absolute); none when neither names one. A key named but not
/// usable is an error: events are never written unsigned because a key could not be read.
pub fn event_signer(settings: &Settings) -> Result<Option<KeyEventSigner>> {
    let from_env = std::env::var_os(KEY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let trusted = matches!(settings.trust, ConfigTrust::Named | ConfigTrust::Recorded);
    let configured = match settings.config.custody.key.as_deref() {
        Some(k) if std::path::Path::new(k).is_absolute() => {
            if !trusted {
                return Err(Failure::new(format!(
                    "[custody] key = {k:?} reads a key outside the project, and this aigate.toml is not trusted"
                ))
                .hint("run `aigate trust` if the configuration is yours, or set AIGATE_CUSTODY_KEY")
                .into());
            }
            Some(PathBuf::from(k))
        }
        Some(k) => {
            let rel = aigate_integrity::paths::normalize(k)
                .map_err(|e| Failure::new(format!("[custody] key: {e}")))?;
            Some(settings.root.join(rel))
        }
        None => None,
    };
    let Some(key) = from_env.or(configured) else {
        return Ok(None);
    };
    let args = crate::cli::SigningArgs {
        key,
        password_env: None,
        certificate: None,
        certificate_chain: Vec::new(),
    };
    let key = crate::signatures::signing_key(&args)
        .context("cannot sign custody events ([custody] key or AIGATE_CUSTODY_KEY)")?;
    Ok(Some(KeyEventSigner::new(key)))
}

/// Checks, before a command changes files, that it will be able to record what it did: the
/// log can be appended to and the signing key, when one is named, can be used. A rollback or
/// fetch that moved files and then could not record it would leave the lock behind the disk.
pub fn preflight(settings: &Settings) -> Result<()> {
    event_signer(settings)?;
    match log_place(settings)? {
        LogPlace::File(path) => custody::appendable(&path),
        LogPlace::Store(store) => custody::appendable_in_store(store.as_ref()),
    }
    .map_err(|e| {
        log_failure(
            e,
            "cannot record in the custody log, so nothing was changed",
        )
    })
}

/// Appends events to the custody log, signed when a key is configured; returns its new head.
pub fn record(settings: &Settings, events: &[NewEvent]) -> Result<Head> {
    let place = log_place(settings)?;
    let signer = event_signer(settings)?;
    place
        .append(events, signer.as_ref().map(|s| s as &dyn EventSigner))
        .map_err(|e| log_failure(e, "cannot record in the custody log"))
}

/// Records `events` when the project keeps a custody log (the log exists, or `lock` anchors
/// one), without moving the lock's anchor: commands that only read the lock (`verify`, `sign`,
/// `deps diff`) do not rewrite it. A log that cannot be written is said on standard error; what
/// the command found stands.
pub fn record_if_kept(settings: &Settings, lock: Option<&Lockfile>, events: &[NewEvent]) {
    if events.is_empty() {
        return;
    }
    let place = match log_place(settings) {
        Ok(place) => place,
        Err(err) => {
            crate::output::note(&format!("{err:#}; the events were not recorded"));
            return;
        }
    };
    let anchored = lock.is_some_and(|l| l.custody.is_some());
    if !anchored && !place.exists() {
        return;
    }
    if let Err(err) = record(settings, events) {
        crate::output::note(&format!("{err:#}; the events were not recorded"));
    }
}

/// A log error as a failure with its hint.
pub fn log_failure(err: LogError, context: &str) -> anyhow::Error {
    Failure::new(format!("{context}: {err}"))
        .maybe_hint(err.hint())
        .into()
}

/// Records `events` and anchors the log's new head in `lock` (which the caller writes next).
pub fn record_in_lock(settings: &Settings, lock: &mut Lockfile, events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    lock.custody = Some(record(settings, events)?);
    Ok(())
}

/// An event about the artifact's current version.
pub fn event_about(
    action: custody::Action,
    by: &str,
    at: &str,
    artifact: &LockedArtifact,
) -> NewEvent {
    NewEvent::new(action, by, at).about(&artifact.name, artifact.version, artifact.content_digest())
}

/// Pushes the artifact's files and manifest to the store; returns the manifest's digest.
pub fn push(
    settings: &Settings,
    store: &dyn Store,
    artifact: &LockedArtifact,
) -> Result<aigate_integrity::hash::Digest> {
    let (manifest, _) = aigate_integrity::store::push_artifact(store, &settings.root, artifact)
        .map_err(|e| {
            Failure::new(format!(
                "cannot push {} {} to {}: {e}",
                artifact.kind.as_str(),
                artifact.name,
                store.describe()
            ))
            .maybe_hint(e.hint())
        })
        .context("the store")?;
    Ok(manifest)
}
