//! The custody log: an append-only, hash-chained record of what happened to every artifact
//! version (locked, approved, fetched, verified, signed, rolled back, revoked, deployed), by
//! whom and when. One JSON object per line (JSON Lines), `.aigate/custody.jsonl` by default.
//!
//! Each event carries its position (`seq`, from 1) and the SHA-256 of the previous line's exact
//! bytes (`prev`), so that an event edited, removed or moved breaks the chain at a place
//! [`verify`] names. The chain alone cannot show that the *last* events were cut off or edited;
//! `aigate.lock` (reviewed in version control) records the log's head whenever it is written,
//! and [`verify`] checks the log against that anchor.
//!
//! Appends are serialised across processes by an exclusive lock on the log file itself and
//! written with one `write` in append mode, then synced. A crash in the middle of a write leaves
//! a last line without its newline: it is reported as torn ([`LogError::Torn`]), nothing is
//! appended after it, and it is never dropped or rewritten silently; [`set_aside_torn_tail`]
//! moves it, byte for byte, into a file beside the log when the user asks.
//!
//! An event may carry a signature (`signature`: a key id and an ECDSA signature) made when it
//! was appended, over the DSSE pre-authentication encoding of [`EVENT_PAYLOAD_TYPE`] and the
//! event without its signature ([`Event::unsigned_json`]), so it covers the event's place in
//! the chain (`seq`, `prev`) as well as what it says. The keys are the signing crate's; this
//! module only asks an [`EventSigner`] and keeps what it returns.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::hash::{Algorithm, Digest, hash_reader};

/// The log's file name in the project's state folder.
pub const FILE_NAME: &str = "custody.jsonl";
/// The longest event line read or written; real events are a few hundred bytes.
pub const MAX_LINE_BYTES: usize = 64 << 10;
/// The largest log read: millions of events, and still a bound.
pub const MAX_LOG_BYTES: u64 = 4 << 30;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `aigate lock` pinned a new version of the artifact.
    Lock,
    /// Someone approved a version.
    Approve,
    /// `aigate fetch` downloaded it.
    Fetch,
    /// `aigate verify` found the files as pinned.
    VerifyPassed,
    /// `aigate verify` found them changed.
    VerifyFailed,
    /// The artifact or the lock was signed.
    Sign,
    /// A version was restored from the store.
    Rollback,
    /// A version was marked bad.
    Revoke,
    /// `aigate deps diff` saw a dependency change.
    DepsChange,
    /// A version was recorded as deployed to an environment.
    Deploy,
    /// A torn last line was set aside.
    Repair,
}

impl Action {
    /// Every action, in order.
    pub const ALL: &[Action] = &[
        Action::Lock,
        Action::Approve,
        Action::Fetch,
        Action::VerifyPassed,
        Action::VerifyFailed,
        Action::Sign,
        Action::Rollback,
        Action::Revoke,
        Action::DepsChange,
        Action::Deploy,
        Action::Repair,
    ];

    /// The kebab-case name, as in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Lock => "lock",
            Action::Approve => "approve",
            Action::Fetch => "fetch",
            Action::VerifyPassed => "verify-passed",
            Action::VerifyFailed => "verify-failed",
            Action::Sign => "sign",
            Action::Rollback => "rollback",
            Action::Revoke => "revoke",
            Action::DepsChange => "deps-change",
            Action::Deploy => "deploy",
            Action::Repair => "repair",
        }
    }

    /// The action with this name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

/// What an event says, before the log gives it a place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What happened.
    pub action: Action,
    /// Who did it.
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The artifact, if the event is about one.
    pub artifact: Option<String>,
    /// The artifact's version number.
    pub version: Option<u64>,
    /// The version's content digest.
    pub digest: Option<Digest>,
    /// Anything else: the reason, the environment, the version rolled back from.
    pub details: BTreeMap<String, String>,
}

impl NewEvent {
    /// An event about nothing in particular yet.
    pub fn new(action: Action, by: &str, at: &str) -> Self {
        NewEvent {
            action,
            by: by.to_owned(),
            at: at.to_owned(),
            artifact: None,
            version: None,
            digest: None,
            details: BTreeMap::new(),
        }
    }

    /// About this version of this artifact.
    pub fn about(mut self, artifact: &str, version: u64, digest: Digest) -> Self {
        self.artifact = Some(artifact.to_owned());
        self.version = Some(version);
        self.digest = Some(digest);
        self
    }

    /// With one more detail.
    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// One event as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Its position, from 1.
    pub seq: u64,
    /// The SHA-256 of the previous line's bytes; `None` for the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Digest>,
    /// When.
    pub at: String,
    /// Who.
    pub by: String,
    /// What.
    pub action: Action,
    /// The artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Its version number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The version's content digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Anything else.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// A signature over the rest of the event, by the key that recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<EventSignature>,
}

impl Event {
    /// The event without its signature, as the log writes it: what a signature is over.
    pub fn unsigned_json(&self) -> Vec<u8> {
        let unsigned = Event {
            signature: None,
            ..self.clone()
        };
        serde_json::to_vec(&unsigned).unwrap_or_default()
    }
}

/// The DSSE payload type of an event signature; no other signature aigate makes uses it, so an
/// event signature is never taken for a signature of something else by the same key.
pub const EVENT_PAYLOAD_TYPE: &str = "application/vnd.aigate.custody-event+json";

/// One event's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSignature {
    /// The key's id: the hex SHA-256 of its public key as PEM (model-signing's key hint).
    pub keyid: String,
    /// The ECDSA signature, ASN.1 DER, base64.
    pub sig: String,
}

/// Signs events as they are appended, once their place in the chain is known.
pub trait EventSigner {
    /// A signature over `event`, whose `signature` is `None`.
    fn sign(&self, event: &Event) -> Result<EventSignature, String>;
}

/// The log's last event: where the next one goes, and what a lock records as the anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The last event's position.
    pub seq: u64,
    /// The SHA-256 of its line.
    pub digest: Digest,
}

/// Why the log cannot be read or appended to.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The log.
        path: String,
        /// What failed.
        source: io::Error,
    },
    /// The last line has no newline: a write was interrupted.
    #[error(
        "{path} ends in a torn event ({len} bytes from byte {offset} without a newline): a write was interrupted"
    )]
    Torn {
        /// The log.
        path: String,
        /// Where the torn line starts.
        offset: u64,
        /// How long it is.
        len: u64,
    },
    /// The last complete line is not an event, so the next one cannot be chained to it.
    #[error("{path}: the last event cannot be read: {why}")]
    BadTail {
        /// The log.
        path: String,
        /// Why.
        why: String,
    },
}

impl LogError {
    /// What to do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            LogError::Torn { .. } => Some(
                "`aigate log verify` shows it; `aigate log repair` moves the torn bytes into a file beside the log and records that it did",
            ),
            LogError::BadTail { .. } => {
                Some("run `aigate log verify` to see where the chain breaks")
            }
            LogError::Io { .. } => None,
        }
    }
}

fn sha256(bytes: &[u8]) -> Digest {
    hash_reader(bytes, Algorithm::Sha256)
        .map(|h| h.digest)
        .unwrap_or(Digest([0; 32]))
}

/// Where the log's last line is: the bytes of the last complete line, its start offset, and
/// the length of a torn tail after it (0 when the file ends in a newline).
struct Tail {
    last_line: Option<Vec<u8>>,
    torn_at: u64,
    torn_len: u64,
}

/// Reads the end of the log: at most [`MAX_LINE_BYTES`] for the torn part and as much again
/// for the last complete line.
fn read_tail(file: &mut File) -> io::Result<Tail> {
    let len = file.seek(SeekFrom::End(0))?;
    let window = (2 * MAX_LINE_BYTES as u64 + 2).min(len);
    file.seek(SeekFrom::Start(len - window))?;
    let mut buf = Vec::with_capacity(usize::try_from(window).unwrap_or(0));
    file.take(window).read_to_end(&mut buf)?;
    let base = len - window;
    let last_newline = buf.iter().rposition(|b| *b == b'\n');
    let (complete, torn_at) = match last_newline {
        Some(i) => (&buf[..i], base + i as u64 + 1),
        None if base == 0 => (&buf[..0], 0),
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the log's last {window} bytes hold no line break"),
            ));
        }
    };
    let torn_len = len - torn_at;
    let last_line = if last_newline.is_some() {
        let start = complete
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        if start == 0 && base > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the log's last line is longer than {MAX_LINE_BYTES} bytes"),
            ));
        }
        Some(complete[start..].to_vec())
    } else {
        None
    };
    Ok(Tail {
        last_line,
        torn_at,
        torn_len,
    })
}

fn open_locked(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the custody log is not a regular file",
        ));
    }
    file.lock()?;
    Ok(file)
}

/// Appends `events` to the log at `path`, in order, under the log's lock, each chained to the
/// one before; returns the new head. Refuses when the log ends in a torn line or its last
/// line is not an event.
pub fn append(path: &Path, events: &[NewEvent]) -> Result<Head, LogError> {
    append_signed(path, events, None)
}

/// [`append`], each event signed by `signer` when there is one; a signature that cannot be
/// made appends nothing.
pub fn append_signed(
    path: &Path,
    events: &[NewEvent],
    signer: Option<&dyn EventSigner>,
) -> Result<Head, LogError> {
    let shown = path.display().to_string();
    let io_err = |source| LogError::Io {
        path: shown.clone(),
        source,
    };
    let mut file = open_locked(path).map_err(io_err)?;
    let tail = read_tail(&mut file).map_err(io_err)?;
    if tail.torn_len > 0 {
        return Err(LogError::Torn {
            path: shown,
            offset: tail.torn_at,
            len: tail.torn_len,
        });
    }
    let text = chain_after(tail.last_line.as_deref(), events, signer, &shown)?;
    // One write in append mode while the lock is held: no other writer interleaves, and a
    // crash leaves a prefix of it, which the next reader sees as torn.
    file.write_all(&text.bytes).map_err(io_err)?;
    file.sync_data().map_err(io_err)?;
    match text.head {
        Some(head) => Ok(head),
        None => Ok(head(path)?.unwrap_or(Head {
            seq: 0,
            digest: Digest([0; 32]),
        })),
    }
}

/// New lines to append, and the head they make (`None` when there were no events).
pub struct Chained {
    /// The lines, each ending in a newline.
    pub bytes: Vec<u8>,
    /// The last new event's head.
    pub head: Option<Head>,
}

/// The lines that append `events` after a log whose last complete line is `last_line`
/// (`None`: an empty log), each chained to the one before and signed by `signer`; `shown`
/// names the log in errors. Every way of keeping a log appends through this.
pub fn chain_after(
    last_line: Option<&[u8]>,
    events: &[NewEvent],
    signer: Option<&dyn EventSigner>,
    shown: &str,
) -> Result<Chained, LogError> {
    let io_err = |source| LogError::Io {
        path: shown.to_owned(),
        source,
    };
    let (mut seq, mut prev) = match last_line {
        None => (0, None),
        Some(line) => {
            let event: Event = serde_json::from_slice(line).map_err(|e| LogError::BadTail {
                path: shown.to_owned(),
                why: e.to_string(),
            })?;
            (event.seq, Some(sha256(line)))
        }
    };
    let mut text = Vec::new();
    for new in events {
        seq += 1;
        let event = Event {
            seq,
            prev,
            at: new.at.clone(),
            by: new.by.clone(),
            action: new.action,
            artifact: new.artifact.clone(),
            version: new.version,
            digest: new.digest,
            details: new.details.clone(),
            signature: None,
        };
        let event = match signer {
            Some(signer) => {
                let signature = signer.sign(&event).map_err(|why| {
                    io_err(io::Error::other(format!(
                        "cannot sign event {seq} for the custody log: {why}"
                    )))
                })?;
                Event {
                    signature: Some(signature),
                    ..event
                }
            }
            None => event,
        };
        let line = serde_json::to_vec(&event)
            .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        if line.len() > MAX_LINE_BYTES {
            return Err(io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "an event of {} bytes is longer than the log allows",
                    line.len()
                ),
            )));
        }
        prev = Some(sha256(&line));
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    Ok(Chained {
        bytes: text,
        head: (!events.is_empty())
            .then_some(prev.map(|digest| Head { seq, digest }))
            .flatten(),
    })
}

/// The end of the log at `path` ([`read_tail`]); `None` when there is no log.
fn tail_of(path: &Path, shown: &str) -> Result<Option<Tail>, LogError> {
    let io_err = |source| LogError::Io {
        path: shown.to_owned(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_err(source)),
    };
    read_tail(&mut file).map(Some).map_err(io_err)
}

/// Whether the log at `path` can be appended to: absent, or ending in a newline after an
/// event. For commands that change files and must then record it, to ask before they start.
pub fn appendable(path: &Path) -> Result<(), LogError> {
    let shown = path.display().to_string();
    let Some(tail) = tail_of(path, &shown)? else {
        return Ok(());
    };
    if tail.torn_len > 0 {
        return Err(LogError::Torn {
            path: shown,
            offset: tail.torn_at,
            len: tail.torn_len,
        });
    }
    chain_after(tail.last_line.as_deref(), &[], None, &shown).map(|_| ())
}

/// [`appendable`] for the log kept in `store`.
pub fn appendable_in_store(store: &dyn crate::store::Store) -> Result<(), LogError> {
    let shown = store_log_name(store);
    let bytes = store
        .read_log(MAX_LOG_BYTES)
        .map_err(|e| LogError::Io {
            path: shown.clone(),
            source: io::Error::other(e.to_string()),
        })?
        .map(|(bytes, _)| bytes)
        .unwrap_or_default();
    let (last_line, torn) = split_tail(&bytes);
    if let Some(offset) = torn {
        return Err(LogError::Torn {
            path: shown,
            offset,
            len: bytes.len() as u64 - offset,
        });
    }
    chain_after(last_line, &[], None, &shown).map(|_| ())
}

/// How often an append to a log in a store reads and tries again when other writers keep
/// replacing the log first.
const STORE_ATTEMPTS: u32 = 50;

/// The last complete line of a log's bytes, and where a torn tail after it starts (`None`
/// when the bytes end in a newline).
fn split_tail(bytes: &[u8]) -> (Option<&[u8]>, Option<u64>) {
    let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else {
        return (None, (!bytes.is_empty()).then_some(0));
    };
    let torn = (end + 1 < bytes.len()).then_some(end as u64 + 1);
    let complete = &bytes[..end];
    let start = complete
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    (Some(&complete[start..]), torn)
}

/// Appends `events` to the log kept in `store` ([`crate::store::LOG_NAME`]): reads it, chains
/// the events after its last line and replaces it only if no other writer replaced it in the
/// meantime (a conditional write), reading again when one did. What [`append_signed`] refuses,
/// this refuses too.
pub fn append_in_store(
    store: &dyn crate::store::Store,
    events: &[NewEvent],
    signer: Option<&dyn EventSigner>,
) -> Result<Head, LogError> {
    let shown = store_log_name(store);
    let failed = |e: crate::store::StoreError| LogError::Io {
        path: shown.clone(),
        source: io::Error::other(e.to_string()),
    };
    for attempt in 0..STORE_ATTEMPTS {
        let current = store.read_log(MAX_LOG_BYTES).map_err(failed)?;
        let (bytes, version) = match &current {
            Some((bytes, version)) => (bytes.as_slice(), Some(version.as_str())),
            None => (&[][..], None),
        };
        let (last_line, torn) = split_tail(bytes);
        if let Some(offset) = torn {
            return Err(LogError::Torn {
                path: shown,
                offset,
                len: bytes.len() as u64 - offset,
            });
        }
        let chained = chain_after(last_line, events, signer, &shown)?;
        let Some(head) = chained.head else {
            return verify_bytes(bytes, None).head.ok_or(LogError::BadTail {
                path: shown,
                why: "the log is empty".into(),
            });
        };
        if u64::try_from(bytes.len() + chained.bytes.len()).unwrap_or(u64::MAX) > MAX_LOG_BYTES {
            return Err(failed(crate::store::StoreError::Backend(format!(
                "the log would grow past {MAX_LOG_BYTES} bytes"
            ))));
        }
        let mut next = Vec::with_capacity(bytes.len() + chained.bytes.len());
        next.extend_from_slice(bytes);
        next.extend_from_slice(&chained.bytes);
        if store.replace_log(&next, version).map_err(failed)? {
            return Ok(head);
        }
        // Refused: another writer got there first, or this write landed and its answer was
        // lost, so a retry of it was refused. The chain tells: a log that begins with exactly
        // what was written holds these events already, and they are not appended twice.
        if let Some((now, _)) = store.read_log(MAX_LOG_BYTES).map_err(failed)?
            && now.starts_with(&next)
        {
            return Ok(head);
        }
        // Another writer got there first: back off a little, longer each time, and chain
        // after what it wrote.
        std::thread::sleep(std::time::Duration::from_millis(5 * u64::from(attempt + 1)));
    }
    Err(failed(crate::store::StoreError::Backend(format!(
        "other writers replaced the log {STORE_ATTEMPTS} times in a row while this one tried to append"
    ))))
}

/// Reads and checks the log kept in `store`, as [`verify`] does for a file.
pub fn verify_in_store(
    store: &dyn crate::store::Store,
    anchor: Option<Head>,
) -> Result<Verified, LogError> {
    let bytes = store
        .read_log(MAX_LOG_BYTES)
        .map_err(|e| LogError::Io {
            path: store_log_name(store),
            source: io::Error::other(e.to_string()),
        })?
        .map(|(bytes, _)| bytes)
        .unwrap_or_default();
    Ok(verify_bytes(&bytes, anchor))
}

/// The log in `store`, for messages.
pub fn store_log_name(store: &dyn crate::store::Store) -> String {
    format!(
        "{}/{}",
        store.describe().trim_end_matches('/'),
        crate::store::LOG_NAME
    )
}

/// The log's head: `None` when it is empty or absent.
pub fn head(path: &Path) -> Result<Option<Head>, LogError> {
    let shown = path.display().to_string();
    let Some(tail) = tail_of(path, &shown)? else {
        return Ok(None);
    };
    let Some(line) = tail.last_line else {
        return Ok(None);
    };
    let event: Event = serde_json::from_slice(&line).map_err(|e| LogError::BadTail {
        path: shown,
        why: e.to_string(),
    })?;
    Ok(Some(Head {
        seq: event.seq,
        digest: sha256(&line),
    }))
}

/// One break in the chain, or another reason the log is not what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The 1-based line where it shows.
    pub line: u64,
    /// The event the break points at, when it can tell (the edited or missing one).
    pub seq: Option<u64>,
    /// What is wrong, for a person.
    pub what: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// Every event read, in order (lines that are not events are left out).
    pub events: Vec<Event>,
    /// The first break, if any: everything before it is intact.
    pub first_break: Option<Break>,
    /// A torn last line: its offset and length.
    pub torn: Option<(u64, u64)>,
    /// The head of the intact part.
    pub head: Option<Head>,
}

/// Reads and checks the whole log at `path` against the chain, and against `anchor` (the head
/// `aigate.lock` recorded) when there is one. An absent log is an empty one.
pub fn verify(path: &Path, anchor: Option<Head>) -> Result<Verified, LogError> {
    let shown = path.display().to_string();
    let bytes = match crate::files::read_regular_bytes(path, MAX_LOG_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(LogError::Io {
                path: shown,
                source,
            });
        }
    };
    Ok(verify_bytes(&bytes, anchor))
}

/// Checks the log's bytes against the chain and `anchor`, as [`verify`] does.
pub fn verify_bytes(bytes: &[u8], anchor: Option<Head>) -> Verified {
    let mut out = Verified::default();
    let mut rest: &[u8] = bytes;
    let mut offset = 0u64;
    let mut line_no = 0u64;
    let mut prev: Option<(u64, Digest)> = None;
    let mut heads: BTreeMap<u64, Digest> = BTreeMap::new();
    while !rest.is_empty() {
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            out.torn = Some((offset, rest.len() as u64));
            break;
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        offset += end as u64 + 1;
        line_no += 1;
        let digest = sha256(line);
        let broken = |what: String, seq: Option<u64>| Break {
            line: line_no,
            seq,
            what,
        };
        let event: Event = match serde_json::from_slice(line) {
            Ok(event) => event,
            Err(e) => {
                out.first_break
                    .get_or_insert(broken(format!("line {line_no} is not an event: {e}"), None));
                break;
            }
        };
        let expected_seq = prev.map_or(1, |(seq, _)| seq + 1);
        let problem = if event.seq != expected_seq {
            Some(if event.seq > expected_seq {
                let later = later_line_of(rest, expected_seq);
                broken(
                    match later {
                        Some(at) => format!(
                            "events were moved: line {line_no} holds event {} where event {expected_seq} belongs, and event {expected_seq} is {at} line(s) further down",
                            event.seq
                        ),
                        None => format!(
                            "event {expected_seq} is missing: line {line_no} holds event {} after event {}",
                            event.seq,
                            expected_seq - 1
                        ),
                    },
                    Some(expected_seq),
                )
            } else {
                broken(
                    format!(
                        "line {line_no} holds event {} where event {expected_seq} belongs: events were moved or repeated",
                        event.seq
                    ),
                    Some(event.seq),
                )
            })
        } else if event.prev != prev.map(|(_, d)| d) {
            let before = expected_seq - 1;
            Some(broken(
                if before == 0 {
                    format!("event 1 (line {line_no}) names a previous event, but it is the first")
                } else {
                    format!(
                        "event {before} was changed: event {} (line {line_no}) records another digest for it",
                        event.seq
                    )
                },
                Some(before),
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            out.first_break = Some(problem);
            break;
        }
        prev = Some((event.seq, digest));
        heads.insert(event.seq, digest);
        out.events.push(event);
    }
    out.head = prev.map(|(seq, digest)| Head { seq, digest });
    if out.first_break.is_none()
        && let Some(anchor) = anchor
    {
        match heads.get(&anchor.seq) {
            Some(d) if *d == anchor.digest => {}
            Some(_) => {
                out.first_break = Some(Break {
                    line: anchor.seq,
                    seq: Some(anchor.seq),
                    what: format!(
                        "event {} is not the one aigate.lock recorded as the log's head: it, or the events before it, were rewritten",
                        anchor.seq
                    ),
                });
            }
            // A torn tail does not excuse it: the lock is written only after the log's append
            // is synced, so a crash can never leave the anchor past the intact events.
            None => {
                out.first_break = Some(Break {
                    line: line_no + 1,
                    seq: Some(out.head.map_or(1, |h| h.seq + 1)),
                    what: format!(
                        "the log ends at event {}, but aigate.lock records event {} as its head: events were cut off the end",
                        out.head.map_or(0, |h| h.seq),
                        anchor.seq
                    ),
                });
            }
        }
    }
    out
}

/// How many lines after the current one the event numbered `seq` is, if it is there.
fn later_line_of(rest: &[u8], seq: u64) -> Option<u64> {
    rest.split(|b| *b == b'\n')
        .position(|line| serde_json::from_slice::<Event>(line).is_ok_and(|e| e.seq == seq))
        .map(|i| i as u64 + 1)
}

/// Moves a torn last line out of the log, byte for byte, into `custody.jsonl.torn-OFFSET`
/// beside it, under the log's lock; returns that file and the torn bytes' digest, or `None`
/// when the log ends cleanly. The caller then appends a [`Action::Repair`] event that records
/// both.
pub fn set_aside_torn_tail(path: &Path) -> Result<Option<(PathBuf, Digest, u64)>, LogError> {
    let shown = path.display().to_string();
    let io_err = |source| LogError::Io {
        path: shown.clone(),
        source,
    };
    let mut file = open_locked(path).map_err(io_err)?;
    let tail = read_tail(&mut file).map_err(io_err)?;
    if tail.torn_len == 0 {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(tail.torn_at)).map_err(io_err)?;
    let mut torn = Vec::new();
    (&mut file)
        .take(tail.torn_len)
        .read_to_end(&mut torn)
        .map_err(io_err)?;
    let aside = path.with_file_name(format!(
        "{}.torn-{}",
        path.file_name().map_or_else(
            || FILE_NAME.to_owned(),
            |n| n.to_string_lossy().into_owned()
        ),
        tail.torn_at
    ));
    crate::files::write_atomic(&aside, &torn).map_err(io_err)?;
    file.set_len(tail.torn_at).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    Ok(Some((aside, sha256(&torn), tail.torn_at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: Action, name: &str, version: u64) -> NewEvent {
        NewEvent::new(action, "alice", "2026-12-01T00:00:00Z").about(
            name,
            version,
            Digest([version as u8; 32]),
        )
    }

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".aigate").join(FILE_NAME);
        for v in 1..=n {
            append(&path, &[event(Action::Lock, "m", v)]).unwrap();
        }
        (dir, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn appended_events_chain_and_verify() {
        let (_dir, path) = log_with(3);
        let verified = verify(&path, head(&path).unwrap()).unwrap();
        assert_eq!(verified.first_break, None);
        assert_eq!(verified.events.len(), 3);
        assert_eq!(verified.events[2].seq, 3);
        assert_eq!(
            verified.events[1].prev,
            Some(sha256(lines(&path)[0].as_bytes()))
        );
    }

    #[test]
    fn an_edited_event_is_named() {
        let (_dir, path) = log_with(4);
        let mut l = lines(&path);
        l[1] = l[1].replace("alice", "mallory");
        fs::write(&path, l.join("\n") + "\n").unwrap();
        let b = verify(&path, None).unwrap().first_break.unwrap();
        assert_eq!(b.seq, Some(2), "{b:?}");
    }

    #[test]
    fn a_removed_event_is_named() {
        let (_dir, path) = log_with(4);
        let mut l = lines(&path);
        l.remove(2);
        fs::write(&path, l.join("\n") + "\n").unwrap();
        let b = verify(&path, None).unwrap().first_break.unwrap();
        assert_eq!(b.seq, Some(3), "{b:?}");
    }

    #[test]
    fn reordered_events_are_named() {
        let (_dir, path) = log_with(4);
        let mut l = lines(&path);
        l.swap(1, 2);
        fs::write(&path, l.join("\n") + "\n").unwrap();
        let b = verify(&path, None).unwrap().first_break.unwrap();
        assert_eq!(b.seq, Some(2), "{b:?}");
        assert!(b.what.contains("moved"), "{b:?}");
    }

    #[test]
    fn a_cut_or_rewritten_end_is_caught_by_the_anchor() {
        let (_dir, path) = log_with(3);
        let anchor = head(&path).unwrap();
        let mut l = lines(&path);
        l.pop();
        fs::write(&path, l.join("\n") + "\n").unwrap();
        assert_eq!(verify(&path, None).unwrap().first_break, None);
        let b = verify(&path, anchor).unwrap().first_break.unwrap();
        assert_eq!(b.seq, Some(3), "{b:?}");
        // The last event rewritten, the chain before it intact.
        let (_dir, path) = log_with(3);
        let anchor = head(&path).unwrap();
        let mut l = lines(&path);
        l[2] = l[2].replace("alice", "mallory");
        fs::write(&path, l.join("\n") + "\n").unwrap();
        let b = verify(&path, anchor).unwrap().first_break.unwrap();
        assert_eq!(b.seq, Some(3), "{b:?}");
    }

    #[test]
    fn a_torn_tail_does_not_hide_events_cut_off_before_it() {
        let (_dir, path) = log_with(4);
        let anchor = head(&path).unwrap();
        let mut l = lines(&path);
        l.truncate(2);
        fs::write(&path, l.join("\n") + "\n{\"seq\":3,").unwrap();
        let verified = verify(&path, anchor).unwrap();
        assert!(verified.torn.is_some());
        let b = verified.first_break.unwrap();
        assert_eq!(b.seq, Some(3), "{b:?}");
    }

    #[test]
    fn a_torn_tail_is_reported_refused_and_set_aside_only_when_asked() {
        let (_dir, path) = log_with(2);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":3,"prev":"#).unwrap();
        drop(f);
        let before = fs::read(&path).unwrap();
        let verified = verify(&path, None).unwrap();
        assert_eq!(verified.events.len(), 2);
        assert!(verified.torn.is_some());
        assert!(matches!(
            append(&path, &[event(Action::Approve, "m", 2)]),
            Err(LogError::Torn { .. })
        ));
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "a refused append writes nothing"
        );
        let (aside, _, offset) = set_aside_torn_tail(&path).unwrap().unwrap();
        assert_eq!(fs::read(&aside).unwrap(), br#"{"seq":3,"prev":"#);
        assert_eq!(fs::read(&path).unwrap().len() as u64, offset);
        append(&path, &[event(Action::Repair, "m", 2)]).unwrap();
        assert_eq!(verify(&path, None).unwrap().first_break, None);
    }

    /// Signs with the SHA-256 of what it is given, to show what it was given.
    struct DigestSigner;

    impl EventSigner for DigestSigner {
        fn sign(&self, event: &Event) -> Result<EventSignature, String> {
            assert!(event.signature.is_none());
            Ok(EventSignature {
                keyid: "test".into(),
                sig: sha256(&event.unsigned_json()).hex(),
            })
        }
    }

    #[test]
    fn a_signer_signs_each_event_in_its_place_in_the_chain() {
        let (_dir, path) = log_with(1);
        append_signed(
            &path,
            &[
                event(Action::Approve, "m", 1),
                event(Action::Deploy, "m", 1),
            ],
            Some(&DigestSigner),
        )
        .unwrap();
        let verified = verify(&path, head(&path).unwrap()).unwrap();
        assert_eq!(verified.first_break, None);
        assert_eq!(verified.events[0].signature, None);
        for e in &verified.events[1..] {
            let sig = e.signature.as_ref().unwrap();
            // Over the event as it stands in the log: its number and previous digest included.
            assert_eq!(sig.sig, sha256(&e.unsigned_json()).hex());
            assert!(e.prev.is_some());
        }
        assert_eq!(verified.events[2].seq, 3);
    }

    struct FailingSigner;

    impl EventSigner for FailingSigner {
        fn sign(&self, _: &Event) -> Result<EventSignature, String> {
            Err("the key is gone".into())
        }
    }

    #[test]
    fn a_signature_that_cannot_be_made_appends_nothing() {
        let (_dir, path) = log_with(2);
        let before = fs::read(&path).unwrap();
        let err = append_signed(
            &path,
            &[event(Action::Approve, "m", 2)],
            Some(&FailingSigner),
        )
        .unwrap_err();
        assert!(err.to_string().contains("the key is gone"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_log_in_a_store_chains_signs_and_loses_nothing_to_concurrent_appenders() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::FileStore::new(dir.path().join("store"));
        append_in_store(&store, &[event(Action::Lock, "m", 1)], Some(&DigestSigner)).unwrap();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..10 {
                        append_in_store(
                            store,
                            &[event(Action::VerifyPassed, &format!("m{t}"), i)],
                            None,
                        )
                        .unwrap();
                    }
                });
            }
        });
        let head = append_in_store(&store, &[event(Action::Deploy, "m", 1)], None).unwrap();
        assert_eq!(head.seq, 42);
        let verified = verify_in_store(&store, Some(head)).unwrap();
        assert_eq!(verified.first_break, None);
        assert_eq!(verified.events.len(), 42);
        assert!(verified.events[0].signature.is_some());
        // The log is a file beside the objects, and an edit of it is caught like any other.
        let path = dir.path().join("store").join(crate::store::LOG_NAME);
        let text = fs::read_to_string(&path)
            .unwrap()
            .replacen("alice", "mallory", 2);
        fs::write(&path, text).unwrap();
        let b = verify_in_store(&store, Some(head))
            .unwrap()
            .first_break
            .unwrap();
        assert_eq!(b.seq, Some(1), "{b:?}");
    }

    #[test]
    fn a_torn_log_in_a_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::FileStore::new(dir.path().join("store"));
        append_in_store(&store, &[event(Action::Lock, "m", 1)], None).unwrap();
        let path = dir.path().join("store").join(crate::store::LOG_NAME);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":2"#).unwrap();
        drop(f);
        assert!(matches!(
            append_in_store(&store, &[event(Action::Approve, "m", 1)], None),
            Err(LogError::Torn { .. })
        ));
    }

    #[test]
    fn concurrent_appenders_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let path = &path;
                s.spawn(move || {
                    for i in 0..25 {
                        append(path, &[event(Action::VerifyPassed, &format!("m{t}"), i)]).unwrap();
                    }
                });
            }
        });
        let verified = verify(&path, None).unwrap();
        assert_eq!(verified.first_break, None);
        assert_eq!(verified.events.len(), 100);
    }
}
