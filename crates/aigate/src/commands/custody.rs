//! `aigate inventory`, `aigate log [verify|repair]`, `aigate revoke`, `aigate deploy` and
//! `aigate store push|gc`: the versions of every artifact and the chain of custody over them.

use std::collections::BTreeSet;

use anyhow::Result;
use sha2::Digest as _;

use aigate_attest::EventCheck;
use aigate_integrity::custody::{self, Action, Event, NewEvent};
use aigate_integrity::lock::{LockedArtifact, Status, VersionRecord, VersionStatus};
use aigate_integrity::rules::{
    CUSTODY_EVENT_SIGNATURE_INVALID, CUSTODY_EVENT_SIGNER_UNKNOWN, CUSTODY_EVENT_UNSIGNED,
    CUSTODY_LOG_BROKEN, CUSTODY_LOG_TORN,
};
use aigate_integrity::store::{self, Store};
use aigate_report::{CustodyEvent, Finding, InventoryEntry, Location, Report, Severity};

use crate::Finished;
use crate::cli::{
    DeployArgs, InventoryArgs, InventoryFormat, LogArgs, LogRepairArgs, LogVerifyArgs, OutputArgs,
    RevokeArgs, StoreGcArgs, StorePushArgs,
};
use crate::custody::{LogPlace, actor, event_about, log_failure, log_place, record_in_lock};
use crate::failure::{Failure, fail};
use crate::output::Destination;
use crate::project::{begin_writing, locked, require_lock, tool, write_lock};
use crate::settings::{Settings, now_rfc3339};

fn finished(report: aigate_report::ReportBuilder, threshold: Severity) -> Finished {
    Finished {
        report: report.build(),
        threshold,
    }
}

/// The inventory rows of one artifact: its history, then its current version unless the
/// history already has it.
fn entries(
    artifact: &LockedArtifact,
    intended_use: Option<&str>,
    store: Option<&dyn Store>,
) -> Vec<InventoryEntry> {
    let current_digest = artifact.content_digest();
    let restorable = |record: &VersionRecord| -> Option<bool> {
        let store = store?;
        let manifest = record.manifest?;
        Some(match store::manifest(store, &manifest) {
            Ok(m) => m
                .files
                .iter()
                .all(|f| store.contains(&f.sha256).unwrap_or(false)),
            Err(_) => false,
        })
    };
    let mut rows: Vec<InventoryEntry> = artifact
        .history
        .iter()
        .map(|r| {
            let current = r.version == artifact.version && r.digest == current_digest;
            InventoryEntry {
                name: artifact.name.clone(),
                kind: artifact.kind.as_str().to_owned(),
                version: r.version,
                current,
                status: r.status.as_str().to_owned(),
                digest: r.digest.hex(),
                origin: artifact.source.clone(),
                owner: artifact.owner.clone(),
                intended_use: intended_use.map(str::to_owned),
                approved_by: r.approved_by.clone(),
                approved_at: r.approved_at.clone(),
                revoked_reason: r.reason.clone(),
                files: current.then_some(artifact.files.len() as u64),
                bytes: current.then(|| artifact.files.iter().map(|f| f.size).sum()),
                restorable: restorable(r),
            }
        })
        .collect();
    if !rows.iter().any(|r| r.current) {
        let approved = artifact.approval.status == Status::Approved;
        rows.push(InventoryEntry {
            name: artifact.name.clone(),
            kind: artifact.kind.as_str().to_owned(),
            version: artifact.version,
            current: true,
            status: if approved { "approved" } else { "pending" }.to_owned(),
            digest: current_digest.hex(),
            origin: artifact.source.clone(),
            owner: artifact.owner.clone(),
            intended_use: intended_use.map(str::to_owned),
            approved_by: artifact.approval.by.clone().filter(|_| approved),
            approved_at: artifact.approval.at.clone().filter(|_| approved),
            revoked_reason: None,
            files: Some(artifact.files.len() as u64),
            bytes: Some(artifact.files.iter().map(|f| f.size).sum()),
            restorable: None,
        });
    }
    rows.sort_by_key(|r| r.version);
    rows
}

/// One CSV field, quoted when it must be (RFC 4180).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The inventory as CSV, one row per version, with a header.
pub fn inventory_csv(rows: &[InventoryEntry]) -> String {
    let mut out = String::from(
        "name,kind,version,current,status,digest,origin,owner,intended_use,approved_by,approved_at,revoked_reason,files,bytes,restorable\n",
    );
    for r in rows {
        let opt = |v: &Option<String>| csv_field(v.as_deref().unwrap_or(""));
        let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        let fields = [
            csv_field(&r.name),
            r.kind.clone(),
            r.version.to_string(),
            r.current.to_string(),
            r.status.clone(),
            r.digest.clone(),
            opt(&r.origin),
            opt(&r.owner),
            opt(&r.intended_use),
            opt(&r.approved_by),
            opt(&r.approved_at),
            opt(&r.revoked_reason),
            num(r.files),
            num(r.bytes),
            r.restorable.map(|b| b.to_string()).unwrap_or_default(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Runs `aigate inventory`; returns how the report is to be written (CSV is written here).
pub fn inventory(args: &InventoryArgs, settings: &Settings) -> Result<(Finished, OutputArgs)> {
    let lock = require_lock(settings)?;
    let store = crate::custody::store(settings).ok();
    let mut rows = Vec::new();
    let mut names = Vec::new();
    for artifact in &lock.artifacts {
        names.push(artifact.name.clone());
        if args.name.as_ref().is_some_and(|n| n != &artifact.name) {
            continue;
        }
        let intended_use = settings
            .config
            .artifacts()
            .into_iter()
            .find(|(_, d)| d.name.get_ref() == &artifact.name)
            .and_then(|(_, d)| d.intended_use.clone());
        rows.extend(entries(artifact, intended_use.as_deref(), store.as_deref()));
    }
    if let Some(name) = &args.name
        && !names.contains(name)
    {
        fail!(
            "no artifact named {name:?} in aigate.lock (known: {})",
            names.join(", ")
        );
    }
    let mut output = OutputArgs {
        format: match args.format {
            InventoryFormat::Json => crate::cli::Format::Json,
            _ => crate::cli::Format::Human,
        },
        output: args.output.clone(),
        quiet: false,
    };
    if args.format == InventoryFormat::Csv {
        Destination::from_flag(args.output.as_ref()).write(inventory_csv(&rows).as_bytes())?;
        output = OutputArgs {
            format: crate::cli::Format::Human,
            output: None,
            quiet: true,
        };
        rows.clear();
    }
    let mut report = Report::builder(tool(), "inventory");
    report.inventory(rows);
    Ok((finished(report, Severity::Info), output))
}

fn shown(event: &Event) -> CustodyEvent {
    CustodyEvent {
        seq: event.seq,
        at: event.at.clone(),
        by: event.by.clone(),
        action: event.action.as_str().to_owned(),
        artifact: event.artifact.clone(),
        version: event.version,
        digest: event.digest.map(|d| d.hex()),
        details: event.details.clone(),
        signed_by: event.signature.as_ref().map(|s| s.keyid.clone()),
    }
}

/// Runs `aigate log`: the events, filtered.
pub fn log(args: &LogArgs, settings: &Settings) -> Result<Finished> {
    let action = match &args.action {
        Some(name) => Some(Action::parse(name).ok_or_else(|| {
            let all: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
            Failure::new(format!("--action {name:?} is not an action of the log"))
                .hint(format!("one of: {}", all.join(", ")))
        })?),
        None => None,
    };
    let since = match &args.since {
        Some(t) if aigate_integrity::clock::is_rfc3339(t) => Some(t.clone()),
        Some(t) if aigate_integrity::clock::is_rfc3339(&format!("{t}T00:00:00Z")) => {
            Some(format!("{t}T00:00:00Z"))
        }
        Some(t) => fail!("--since {t:?} is neither RFC 3339 (2026-12-01T09:30:00Z) nor a date"),
        None => None,
    };
    let place = log_place(settings)?;
    let verified = place
        .verify(None)
        .map_err(|e| log_failure(e, "cannot read the custody log"))?;
    let mut report = Report::builder(tool(), "log");
    report.events(
        verified
            .events
            .iter()
            .filter(|e| args.artifact.is_none() || e.artifact == args.artifact)
            .filter(|e| action.is_none_or(|a| e.action == a))
            .filter(|e| args.by.as_ref().is_none_or(|b| e.by.contains(b.as_str())))
            .filter(|e| since.as_ref().is_none_or(|s| e.at.as_str() >= s.as_str()))
            .map(shown),
    );
    report.findings(log_findings(&verified, &place));
    report.findings(signature_findings(&verified, &place, settings)?);
    Ok(finished(report, Severity::Medium))
}

/// Where a finding about line `line` of the log points.
fn at_line(place: &LogPlace, line: u64) -> Location {
    Location::file(place.describe()).with_span(aigate_report::Span {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: 1,
        end_line: None,
        end_column: None,
    })
}

/// The findings about the events' signatures, checked against `[trust] keys`: the first
/// signature that does not verify, the first event signed by a key not trusted and, with
/// `[custody] require-signed`, the first unsigned event from the first signed one on; each
/// with how many events share the problem.
fn signature_findings(
    verified: &custody::Verified,
    place: &LogPlace,
    settings: &Settings,
) -> Result<Vec<Finding>> {
    let signed = verified.events.iter().any(|e| e.signature.is_some());
    let required = settings.config.custody.require_signed == Some(true);
    if !signed && !required {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    for key in &settings.config.trust.keys {
        keys.push(crate::signatures::public_key(&settings.root.join(key))?);
    }
    let mut invalid: Vec<(u64, String)> = Vec::new();
    let mut unknown: Vec<(u64, String)> = Vec::new();
    let mut unsigned: Vec<u64> = Vec::new();
    let mut began = false;
    for event in &verified.events {
        match aigate_attest::check_event(event, &keys) {
            EventCheck::Valid { .. } => began = true,
            EventCheck::Invalid { keyid } => {
                began = true;
                invalid.push((event.seq, keyid));
            }
            EventCheck::UnknownKey { keyid } => {
                began = true;
                unknown.push((event.seq, keyid));
            }
            EventCheck::Unsigned => {
                if required && (began || !signed) {
                    unsigned.push(event.seq);
                }
            }
        }
    }
    // Lines and events agree while the chain is intact, and only the intact part is read.
    let mut out = Vec::new();
    if let Some((seq, keyid)) = invalid.first() {
        out.push(
            Finding::new(
                &CUSTODY_EVENT_SIGNATURE_INVALID,
                format!(
                    "event {seq}'s signature does not verify with the key it names ({}…): the event was changed after it was signed{}",
                    short_id(keyid),
                    more(invalid.len())
                ),
                at_line(place, *seq),
            )
            .with_detail("event", seq.to_string())
            .with_detail("keyid", keyid.clone())
            .with_detail("events", invalid.len().to_string()),
        );
    }
    if let Some((seq, keyid)) = unknown.first() {
        let trusted = if keys.is_empty() {
            "`[trust] keys` lists no key to check it with".to_owned()
        } else {
            format!(
                "`[trust] keys` ({}) does not list it",
                settings.config.trust.keys.join(", ")
            )
        };
        out.push(
            Finding::new(
                &CUSTODY_EVENT_SIGNER_UNKNOWN,
                format!(
                    "event {seq} is signed by key {}…, and {trusted}{}",
                    short_id(keyid),
                    more(unknown.len())
                ),
                at_line(place, *seq),
            )
            .with_detail("event", seq.to_string())
            .with_detail("keyid", keyid.clone())
            .with_detail("events", unknown.len().to_string()),
        );
    }
    if let Some(seq) = unsigned.first() {
        out.push(
            Finding::new(
                &CUSTODY_EVENT_UNSIGNED,
                format!(
                    "event {seq} is not signed, and `[custody] require-signed` is set{}",
                    more(unsigned.len())
                ),
                at_line(place, *seq),
            )
            .with_detail("event", seq.to_string())
            .with_detail("events", unsigned.len().to_string()),
        );
    }
    Ok(out)
}

/// The first 16 characters of a key id read from the log (which anyone could have written).
fn short_id(keyid: &str) -> String {
    keyid.chars().take(16).collect()
}

/// " (and N more events)" for a problem `count` events share.
fn more(count: usize) -> String {
    match count {
        0 | 1 => String::new(),
        2 => " (and 1 more event)".to_owned(),
        n => format!(" (and {} more events)", n - 1),
    }
}

/// The findings about the log's state: its first break and a torn tail.
fn log_findings(verified: &custody::Verified, place: &LogPlace) -> Vec<Finding> {
    let shown = place.describe();
    let mut out = Vec::new();
    if let Some(b) = &verified.first_break {
        let mut f = Finding::new(
            &CUSTODY_LOG_BROKEN,
            b.what.clone(),
            Location::file(shown.clone()).with_span(aigate_report::Span {
                line: u32::try_from(b.line).unwrap_or(u32::MAX),
                column: 1,
                end_line: None,
                end_column: None,
            }),
        )
        .with_detail("line", b.line.to_string());
        if let Some(seq) = b.seq {
            f = f.with_detail("event", seq.to_string());
        }
        out.push(f);
    }
    if let Some((offset, len)) = verified.torn {
        out.push(
            Finding::new(
                &CUSTODY_LOG_TORN,
                format!(
                    "the log ends in {len} bytes without a newline at byte {offset}: an event whose write was interrupted"
                ),
                Location::file(shown),
            )
            .with_detail("offset", offset.to_string()),
        );
    }
    out
}

/// Runs `aigate log verify`.
pub fn log_verify(_args: &LogVerifyArgs, settings: &Settings) -> Result<Finished> {
    let lock = require_lock(settings)?;
    let place = log_place(settings)?;
    let verified = place
        .verify(lock.custody)
        .map_err(|e| log_failure(e, "cannot read the custody log"))?;
    let mut report = Report::builder(tool(), "log-verify");
    report
        .findings(log_findings(&verified, &place))
        .findings(signature_findings(&verified, &place, settings)?)
        .files(verified.events.len() as u64);
    Ok(finished(report, Severity::Medium))
}

/// Runs `aigate log repair`.
pub fn log_repair(args: &LogRepairArgs, settings: &Settings) -> Result<Finished> {
    let _writing = begin_writing(settings)?;
    let path = match log_place(settings)? {
        LogPlace::File(path) => path,
        LogPlace::Store(store) => {
            return Err(Failure::new(format!(
                "{} is replaced whole on every write, so it cannot be torn: there is nothing to repair",
                custody::store_log_name(store.as_ref())
            ))
            .hint("`aigate log verify` shows what is wrong with it")
            .into());
        }
    };
    let mut report = Report::builder(tool(), "log-repair");
    // Only a torn tail is repaired: a log that lost events before it stays broken, and the
    // repair event would otherwise move the lock's anchor past the loss.
    let lock = require_lock(settings)?;
    let verified = custody::verify(&path, lock.custody)
        .map_err(|e| log_failure(e, "cannot read the custody log"))?;
    if let Some(b) = verified.first_break {
        return Err(Failure::new(format!(
            "the custody log is broken before its torn tail, so it is not repaired: {}",
            b.what
        ))
        .hint(
            "restore the log from version control or a backup; `aigate log verify` shows the break",
        )
        .into());
    }
    let Some((aside, digest, offset)) = custody::set_aside_torn_tail(&path)
        .map_err(|e| log_failure(e, "cannot repair the custody log"))?
    else {
        crate::output::note("the custody log ends cleanly: nothing to repair");
        return Ok(finished(report, Severity::Medium));
    };
    let by = actor(settings, args.by.as_deref());
    let event = NewEvent::new(Action::Repair, &by, &now_rfc3339())
        .detail("torn-bytes-sha256", digest.hex())
        .detail("torn-at-byte", offset.to_string())
        .detail("set-aside-in", aside.display().to_string());
    let mut lock = lock;
    record_in_lock(settings, &mut lock, &[event])?;
    write_lock(settings, &lock)?;
    crate::output::note(&format!(
        "the torn bytes are in {}; the log records the repair",
        aside.display()
    ));
    report.files(1);
    Ok(finished(report, Severity::Medium))
}

/// Splits `NAME@VERSION`.
fn name_at_version(target: &str) -> Result<(&str, u64)> {
    let Some((name, version)) = target.rsplit_once('@') else {
        fail!("{target:?} does not name a version: write NAME@VERSION (see `aigate inventory`)");
    };
    let version = version
        .trim_start_matches('v')
        .parse::<u64>()
        .map_err(|_| Failure::new(format!("{version:?} in {target:?} is not a version number")))?;
    Ok((name, version))
}

/// Runs `aigate revoke NAME@VERSION --reason REASON`.
pub fn revoke(args: &RevokeArgs, settings: &Settings) -> Result<Finished> {
    if args.reason.trim().is_empty() {
        fail!("--reason must say why the version is bad");
    }
    let (name, version) = name_at_version(&args.target)?;
    let _writing = begin_writing(settings)?;
    let mut lock = require_lock(settings)?;
    let by = actor(settings, args.by.as_deref());
    let at = now_rfc3339();
    let artifact = locked(&mut lock, name)?;
    let current_digest = artifact.content_digest();
    let digest = match artifact.record(version) {
        Some(r) => r.digest,
        None if version == artifact.version => current_digest,
        None => {
            fail!(
                "{name} has no version {version} in aigate.lock (known: {})",
                artifact.known_versions()
            );
        }
    };
    if let Some(r) = artifact.history.iter_mut().find(|r| r.version == version) {
        r.status = VersionStatus::Revoked;
        r.revoked_by = Some(by.clone());
        r.revoked_at = Some(at.clone());
        r.reason = Some(args.reason.clone());
    } else {
        artifact.history.push(VersionRecord {
            version,
            digest,
            manifest: None,
            status: VersionStatus::Revoked,
            approved_by: None,
            approved_at: None,
            forced: None,
            revoked_by: Some(by.clone()),
            revoked_at: Some(at.clone()),
            reason: Some(args.reason.clone()),
        });
        artifact.history.sort_by_key(|r| r.version);
    }
    let event = NewEvent::new(Action::Revoke, &by, &at)
        .about(name, version, digest)
        .detail("reason", args.reason.clone());
    let is_current = version == artifact.version;
    record_in_lock(settings, &mut lock, &[event])?;
    write_lock(settings, &lock)?;
    crate::output::note(&format!(
        "{name}@{version} is revoked{}",
        if is_current {
            format!(
                "; it is the current version: `aigate rollback {name}` restores the last approved one"
            )
        } else {
            String::new()
        }
    ));
    Ok(finished(
        Report::builder(tool(), "revoke"),
        Severity::Medium,
    ))
}

/// Runs `aigate deploy NAME --to ENV`: records the current version's deployment, after
/// checking that it is approved and not revoked.
pub fn deploy(args: &DeployArgs, settings: &Settings) -> Result<Finished> {
    if args.to.trim().is_empty() {
        fail!("--to must name the environment");
    }
    let _writing = begin_writing(settings)?;
    let mut lock = require_lock(settings)?;
    let by = actor(settings, args.by.as_deref());
    let artifact = locked(&mut lock, &args.name)?;
    if let Some(revoked) = artifact.revoked(&artifact.content_digest()) {
        let mut report = Report::builder(tool(), "deploy");
        report.finding(crate::commands::lock::revoked_finding(artifact, revoked));
        return Ok(finished(report, Severity::Medium));
    }
    if let Some(problem) = artifact.approval.problem(artifact) {
        fail!(
            "{} cannot be recorded as deployed: its approval does not stand: {problem}",
            args.name
        );
    }
    if artifact.approval.status != Status::Approved {
        return Err(Failure::new(format!(
            "{} version {} is not approved; only approved versions are recorded as deployed",
            args.name, artifact.version
        ))
        .hint(format!(
            "review it, then `aigate approve {} --by WHO`",
            args.name
        ))
        .into());
    }
    let event = event_about(Action::Deploy, &by, &now_rfc3339(), artifact)
        .detail("environment", args.to.clone());
    record_in_lock(settings, &mut lock, &[event])?;
    write_lock(settings, &lock)?;
    Ok(finished(
        Report::builder(tool(), "deploy"),
        Severity::Medium,
    ))
}

/// Runs `aigate store push`.
pub fn store_push(_args: &StorePushArgs, settings: &Settings) -> Result<Finished> {
    let lock = require_lock(settings)?;
    let store = crate::custody::store(settings)?;
    for artifact in &lock.artifacts {
        crate::custody::push(settings, store.as_ref(), artifact)?;
    }
    crate::output::note(&format!(
        "pushed {} artifact(s) to {}",
        lock.artifacts.len(),
        store.describe()
    ));
    let mut report = Report::builder(tool(), "store-push");
    report.files(lock.artifacts.iter().map(|a| a.files.len() as u64).sum());
    Ok(finished(report, Severity::Medium))
}

/// Runs `aigate store gc`: keeps every object a current or approved version refers to.
pub fn store_gc(args: &StoreGcArgs, settings: &Settings) -> Result<Finished> {
    let _writing = begin_writing(settings)?;
    let lock = require_lock(settings)?;
    let store = crate::custody::store(settings)?;
    let mut keep = BTreeSet::new();
    for artifact in &lock.artifacts {
        keep.extend(artifact.files.iter().map(|f| f.sha256));
        // The current version's manifest, by its digest: gc only removes, never writes.
        let manifest = store::VersionManifest::of(artifact).to_bytes();
        keep.insert(aigate_integrity::hash::Digest(
            sha2::Sha256::digest(&manifest).into(),
        ));
        for record in artifact
            .history
            .iter()
            .filter(|r| r.status == VersionStatus::Approved)
        {
            let Some(manifest) = record.manifest else {
                continue;
            };
            keep.insert(manifest);
            // A manifest that cannot be read keeps nothing it names alive: refuse to collect
            // rather than delete what a rollback may need.
            let m = store::manifest(store.as_ref(), &manifest).map_err(|e| {
                Failure::new(format!(
                    "cannot read the manifest of {}@{}: {e}; nothing was removed",
                    artifact.name, record.version
                ))
            })?;
            keep.extend(m.files.iter().map(|f| f.sha256));
        }
    }
    let mut removed = 0u64;
    for object in store.list()? {
        if keep.contains(&object) {
            continue;
        }
        removed += 1;
        if !args.dry_run {
            store.remove(&object)?;
        }
    }
    crate::output::note(&format!(
        "{} {removed} object(s) no kept version refers to; {} kept",
        if args.dry_run {
            "would remove"
        } else {
            "removed"
        },
        keep.len()
    ));
    Ok(finished(
        Report::builder(tool(), "store-gc"),
        Severity::Medium,
    ))
}
