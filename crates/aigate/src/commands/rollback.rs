//! `aigate rollback NAME [--to VERSION]`: an approved version back from the store, verified
//! before anything moves, swapped into place in one step.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;

use aigate_integrity::custody::Action;
use aigate_integrity::lock::{Approval, LockedArtifact, LockedFile, VersionRecord, VersionStatus};
use aigate_integrity::store::{self, Store, StoreError, VersionManifest};
use aigate_report::{ArtifactState, Report, Severity};
use aigate_scan::ScanOptions;

use crate::Finished;
use crate::cli::RollbackArgs;
use crate::custody::{actor, event_about, record_in_lock};
use crate::failure::{Failure, fail};
use crate::project::{
    begin_writing, locked, outcome, require_lock, scan_files, tool, walked, write_lock,
};
use crate::settings::{Settings, now_rfc3339};

/// The version to restore: `--to`, else the newest approved version older than the current
/// one, else the newest approved one that is not the current one. Revoked versions never.
fn target(artifact: &LockedArtifact, to: Option<u64>) -> Result<VersionRecord> {
    let current = artifact.content_digest();
    if let Some(version) = to {
        let Some(record) = artifact.record(version) else {
            fail!(
                "{} has no approved version {version} in aigate.lock (see `aigate inventory {}`)",
                artifact.name,
                artifact.name
            );
        };
        if record.status == VersionStatus::Revoked {
            fail!(
                "{}@{version} is revoked{}; rollback never restores a revoked version",
                artifact.name,
                record
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
        }
        return Ok(record.clone());
    }
    let approved: Vec<&VersionRecord> = artifact
        .history
        .iter()
        .filter(|r| r.status == VersionStatus::Approved && r.digest != current)
        .collect();
    approved
        .iter()
        .filter(|r| r.version < artifact.version)
        .max_by_key(|r| r.version)
        .or_else(|| approved.iter().max_by_key(|r| r.version))
        .map(|r| (*r).clone())
        .ok_or_else(|| {
            Failure::new(format!(
                "{} has no other approved version to roll back to",
                artifact.name
            ))
            .hint(
                "`aigate inventory` lists its versions; only approved, unrevoked ones are restored",
            )
            .into()
        })
}

/// Where the version's files go: the manifest's paths moved from its artifact path to the
/// artifact's path now (the declared path wins if it moved).
fn rebased(manifest: &VersionManifest, path: &str) -> Result<Vec<LockedFile>> {
    manifest
        .files
        .iter()
        .map(|f| {
            let rel = if f.path == manifest.path {
                path.to_owned()
            } else {
                let tail = f
                    .path
                    .strip_prefix(&format!("{}/", manifest.path))
                    .ok_or_else(|| {
                        Failure::new(format!(
                            "the stored manifest lists {} outside its artifact {}",
                            f.path, manifest.path
                        ))
                    })?;
                if path == aigate_integrity::paths::ROOT {
                    tail.to_owned()
                } else {
                    format!("{path}/{tail}")
                }
            };
            Ok(LockedFile {
                path: aigate_integrity::paths::normalize(&rel)
                    .map_err(|e| Failure::new(format!("the stored manifest: {e}")))?,
                size: f.size,
                sha256: f.sha256,
            })
        })
        .collect()
}

/// A sibling of `path` that aigate recognises as its own leftover if the process dies.
fn staging_beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artifact".into());
    path.with_file_name(format!(
        ".{name}.{what}.aigate-partial-{}",
        std::process::id()
    ))
}

/// Removes a file or folder, whichever it is.
fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Puts `staged` where `target` is, in one step where the system allows: on Linux the two are
/// exchanged atomically (so a crash leaves the old version or the new one in place, never
/// neither); elsewhere the old one is moved aside first. The old one is removed afterwards.
fn swap_into_place(staged: &Path, target: &Path) -> Result<()> {
    if fs::symlink_metadata(target).is_err() {
        fs::rename(staged, target)
            .with_context(|| format!("cannot move the restored files to {}", target.display()))?;
        return Ok(());
    }
    let is_dir = fs::symlink_metadata(staged).is_ok_and(|m| m.is_dir());
    if !is_dir {
        // A file replaces a file atomically.
        fs::rename(staged, target)
            .with_context(|| format!("cannot move the restored file to {}", target.display()))?;
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        if renameat_with(CWD, staged, CWD, target, RenameFlags::EXCHANGE).is_ok() {
            return remove_any(staged)
                .with_context(|| format!("cannot remove the replaced {}", staged.display()));
        }
    }
    let old = staging_beside(target, "replaced");
    fs::rename(target, &old).with_context(|| format!("cannot move {} aside", target.display()))?;
    if let Err(e) = fs::rename(staged, target) {
        // Put the old version back: nothing half-restored.
        let _ = fs::rename(&old, target);
        return Err(e)
            .with_context(|| format!("cannot move the restored files to {}", target.display()));
    }
    remove_any(&old).with_context(|| format!("cannot remove the replaced {}", old.display()))
}

/// Restores every file of the version into `staging`, verified by digest.
fn restore_all(
    store: &dyn Store,
    files: &[LockedFile],
    artifact_path: &str,
    single_file: bool,
    staging: &Path,
) -> Result<()> {
    let destinations: Vec<(PathBuf, &LockedFile)> = files
        .iter()
        .map(|f| {
            let dest = if single_file {
                staging.to_path_buf()
            } else {
                let tail = if artifact_path == aigate_integrity::paths::ROOT {
                    f.path.as_str()
                } else {
                    f.path
                        .strip_prefix(&format!("{artifact_path}/"))
                        .unwrap_or(&f.path)
                };
                staging.join(tail)
            };
            (dest, f)
        })
        .collect();
    if !single_file {
        fs::create_dir_all(staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        for (dest, _) in &destinations {
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
        }
    }
    let results: Vec<(String, Result<(), StoreError>)> = destinations
        .par_iter()
        .map(|(dest, f)| (f.path.clone(), store.restore(&f.sha256, dest)))
        .collect();
    for (path, result) in results {
        result.map_err(|e| {
            Failure::new(format!("cannot restore {path}: {e}; nothing was changed"))
                .maybe_hint(e.hint())
        })?;
    }
    Ok(())
}

/// Runs `aigate rollback`.
pub fn run(args: &RollbackArgs, settings: &Settings) -> Result<Finished> {
    let _writing = begin_writing(settings)?;
    let mut lock = require_lock(settings)?;
    let store = crate::custody::store(settings)?;
    crate::custody::preflight(settings)?;
    let by = actor(settings, args.by.as_deref());
    let at = now_rfc3339();
    let artifact = locked(&mut lock, &args.name)?;
    let record = target(artifact, args.to)?;
    let Some(manifest_digest) = record.manifest else {
        fail!(
            "{}@{} was approved without being pushed to a store, so it cannot be restored",
            artifact.name,
            record.version
        );
    };
    let manifest = store::manifest(store.as_ref(), &manifest_digest).map_err(|e| {
        Failure::new(format!(
            "cannot read {}@{} from {}: {e}",
            artifact.name,
            record.version,
            store.describe()
        ))
        .maybe_hint(e.hint())
    })?;
    // The manifest must describe the approved bytes: the digest the lock recorded is over the
    // name, kind, path, source and files, so a manifest swapped in the store cannot pass.
    let as_locked = LockedArtifact {
        name: manifest.name.clone(),
        kind: manifest.kind,
        path: manifest.path.clone(),
        source: manifest.source.clone(),
        owner: None,
        version: record.version,
        approval: Approval::pending(),
        scan: artifact.scan.clone(),
        history: Vec::new(),
        highest_version: None,
        files: manifest.files.clone(),
    };
    if as_locked.content_digest() != record.digest || manifest.name != artifact.name {
        fail!(
            "the store's manifest for {}@{} does not match the approved version in aigate.lock; nothing was changed",
            artifact.name,
            record.version
        );
    }
    let files = rebased(&manifest, &artifact.path)?;
    let single_file = manifest.files.len() == 1 && manifest.files[0].path == manifest.path;
    let target_path = settings.root.join(&artifact.path);
    if !aigate_integrity::tree::resolves_inside(&settings.root, &artifact.path) {
        fail!("{} resolves outside the project", artifact.path);
    }
    if let Some(parent) = target_path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let staging = staging_beside(&target_path, "rollback");
    let registered = crate::cleanup::register(&staging);
    let restored = restore_all(
        store.as_ref(),
        &files,
        &artifact.path,
        single_file,
        &staging,
    );
    if let Err(e) = restored {
        let _ = remove_any(&staging);
        return Err(e);
    }
    swap_into_place(&staging, &target_path)?;
    drop(registered);

    let from = artifact.version;
    artifact.files = files;
    artifact.source = manifest.source.clone();
    let highest = artifact.latest_version();
    artifact.version = record.version;
    artifact.settle_highest_version(highest);
    // The restored bytes are scanned again with today's rules; the historic approval stands
    // only if the scan still agrees with it.
    let (scan, _) = scan_files(
        &settings.scanner(ScanOptions::default())?,
        settings.scan_threshold(None),
        &walked(settings, &artifact.files),
    )?;
    artifact.scan = scan;
    let mut approval = Approval::of(
        artifact,
        record.approved_by.as_deref().unwrap_or(&by),
        record.approved_at.as_deref().unwrap_or(&at),
        record.forced.clone(),
    );
    let mut note = format!("restored version {} (was {from})", record.version);
    if approval.problem(artifact).is_some() {
        approval = Approval::pending();
        note.push_str("; the scan no longer agrees with its approval, so it is pending");
    }
    artifact.approval = approval;
    let event =
        event_about(Action::Rollback, &by, &at, artifact).detail("from-version", from.to_string());
    let mut this = outcome(artifact, ArtifactState::Changed);
    this.note = Some(note);
    record_in_lock(settings, &mut lock, &[event])?;
    write_lock(settings, &lock)?;
    let mut report = Report::builder(tool(), "rollback");
    report.artifact(this);
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Info,
    })
}
