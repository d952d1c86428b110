//! `aigate diff NAME [V1] [V2]`: the files added, removed and changed between two versions of
//! an artifact, and inside safetensors files the tensors added, removed and changed (dtype,
//! shape, and their bytes by SHA-256 when both files are at hand).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::Result;
use sha2::{Digest as _, Sha256};

use aigate_integrity::lock::{LockedArtifact, VersionStatus};
use aigate_integrity::store::{self, Store, VersionManifest};
use aigate_report::{FileChange, Report, Severity};
use aigate_scan::SafetensorsTensor;

use crate::Finished;
use crate::cli::ArtifactDiffArgs;
use crate::failure::{Failure, fail};
use crate::project::{locked, require_lock, tool};
use crate::settings::Settings;

/// Both files together at most this size have their tensors hashed one by one.
const TENSOR_DIGEST_BUDGET: u64 = 8 << 30;

/// One side of the comparison: its files by path inside the artifact, and how to open each.
struct Side {
    files: BTreeMap<String, (u64, aigate_integrity::hash::Digest)>,
    /// Whether the files are on disk (the current version) rather than only in the store.
    on_disk: Option<String>,
}

fn inner(path: &str, artifact_path: &str) -> String {
    if path == artifact_path {
        path.rsplit('/').next().unwrap_or(path).to_owned()
    } else {
        path.strip_prefix(&format!("{artifact_path}/"))
            .unwrap_or(path)
            .to_owned()
    }
}

fn side(manifest: &VersionManifest, on_disk: bool) -> Side {
    Side {
        files: manifest
            .files
            .iter()
            .map(|f| (inner(&f.path, &manifest.path), (f.size, f.sha256)))
            .collect(),
        on_disk: on_disk.then(|| manifest.path.clone()),
    }
}

/// The version's manifest: the lock's for the current version, the store's for others.
fn manifest_of(
    artifact: &LockedArtifact,
    version: u64,
    store: Option<&dyn Store>,
) -> Result<(VersionManifest, bool)> {
    if version == artifact.version {
        return Ok((VersionManifest::of(artifact), true));
    }
    let Some(record) = artifact.record(version) else {
        fail!(
            "{} has no version {version} in aigate.lock (known: {})",
            artifact.name,
            artifact.known_versions()
        );
    };
    let (Some(digest), Some(store)) = (record.manifest, store) else {
        fail!(
            "{}@{version} is not in the store, so its files cannot be listed",
            artifact.name
        );
    };
    let manifest = store::manifest(store, &digest)
        .map_err(|e| Failure::new(format!("cannot read {}@{version}: {e}", artifact.name)))?;
    Ok((manifest, false))
}

/// Opens one file of a side: from the project when the side is on disk, else from the store
/// (copied to a temporary file, verified).
fn open(
    settings: &Settings,
    side: &Side,
    rel: &str,
    digest: &aigate_integrity::hash::Digest,
    store: Option<&dyn Store>,
    scratch: &tempfile::TempDir,
) -> Option<File> {
    if let Some(path) = &side.on_disk {
        let full = if side.files.len() == 1 && !settings.root.join(path).is_dir() {
            settings.root.join(path)
        } else {
            settings.root.join(path).join(rel)
        };
        return File::open(full).ok();
    }
    let store = store?;
    let dest: PathBuf = scratch.path().join(digest.hex());
    if !dest.exists() {
        store.restore(digest, &dest).ok()?;
    }
    File::open(dest).ok()
}

fn describe(t: &SafetensorsTensor) -> String {
    let dims: Vec<String> = t.shape.iter().map(u64::to_string).collect();
    format!("{}[{}]", t.dtype, dims.join(","))
}

fn range_digest(file: &mut File, start: u64, len: u64) -> Option<String> {
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut hasher = Sha256::new();
    let mut left = len;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).ok()?;
        file.read_exact(&mut buf[..n]).ok()?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Some(aigate_integrity::hash::hex(&hasher.finalize()))
}

/// The tensor-level changes between two safetensors files; `None` when either header cannot
/// be read (the file-level change still says the file changed).
fn tensor_changes(path: &str, old: (File, u64), new: (File, u64)) -> Option<Vec<FileChange>> {
    let (mut old_file, old_len) = old;
    let (mut new_file, new_len) = new;
    let (old_tensors, old_data) = aigate_scan::safetensors_tensors(&mut old_file, old_len).ok()?;
    let (new_tensors, new_data) = aigate_scan::safetensors_tensors(&mut new_file, new_len).ok()?;
    let hash_bytes = old_len.saturating_add(new_len) <= TENSOR_DIGEST_BUDGET;
    let old_by: BTreeMap<&str, &SafetensorsTensor> =
        old_tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let new_by: BTreeMap<&str, &SafetensorsTensor> =
        new_tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let change = |kind: &str, name: &str, old: Option<String>, new: Option<String>| FileChange {
        change: kind.to_owned(),
        path: path.to_owned(),
        tensor: Some(name.to_owned()),
        old,
        new,
    };
    let mut out = Vec::new();
    for (name, o) in &old_by {
        match new_by.get(name) {
            None => out.push(change("removed", name, Some(describe(o)), None)),
            Some(n) if describe(o) != describe(n) => {
                out.push(change(
                    "changed",
                    name,
                    Some(describe(o)),
                    Some(describe(n)),
                ));
            }
            Some(n) if hash_bytes => {
                let a = range_digest(&mut old_file, old_data + o.begin, o.end - o.begin);
                let b = range_digest(&mut new_file, new_data + n.begin, n.end - n.begin);
                if a != b {
                    out.push(change(
                        "changed",
                        name,
                        a.map(|d| format!("{} sha256:{d}", describe(o))),
                        b.map(|d| format!("{} sha256:{d}", describe(n))),
                    ));
                }
            }
            Some(_) => {}
        }
    }
    for (name, n) in &new_by {
        if !old_by.contains_key(name) {
            out.push(change("added", name, None, Some(describe(n))));
        }
    }
    Some(out)
}

/// Runs `aigate diff`.
pub fn run(args: &ArtifactDiffArgs, settings: &Settings) -> Result<Finished> {
    let mut lock = require_lock(settings)?;
    let store = crate::custody::store(settings).ok();
    let artifact = locked(&mut lock, &args.name)?.clone();
    let new_version = args.new.unwrap_or(artifact.version);
    let approved: Vec<u64> = artifact
        .history
        .iter()
        .filter(|r| r.status == VersionStatus::Approved && r.version != new_version)
        .map(|r| r.version)
        .collect();
    let old_version = match args.old {
        Some(v) => v,
        None => approved
            .iter()
            .copied()
            .filter(|v| *v < new_version)
            .max()
            .or_else(|| approved.iter().copied().max())
            .ok_or_else(|| {
                Failure::new(format!(
                    "{} has no other approved version to compare version {new_version} with",
                    artifact.name
                ))
                .hint(
                    "name both versions: `aigate diff NAME V1 V2` (`aigate inventory` lists them)",
                )
            })?,
    };
    let (old_manifest, old_on_disk) = manifest_of(&artifact, old_version, store.as_deref())?;
    let (new_manifest, new_on_disk) = manifest_of(&artifact, new_version, store.as_deref())?;
    let old = side(&old_manifest, old_on_disk);
    let new = side(&new_manifest, new_on_disk);
    let scratch = tempfile::tempdir()?;
    let mut changes = Vec::new();
    let file_change =
        |kind: &str, path: &str, old: Option<String>, new: Option<String>| FileChange {
            change: kind.to_owned(),
            path: path.to_owned(),
            tensor: None,
            old,
            new,
        };
    for (path, (old_size, old_digest)) in &old.files {
        match new.files.get(path) {
            None => changes.push(file_change(
                "removed",
                path,
                Some(format!("sha256:{old_digest}")),
                None,
            )),
            Some((_, new_digest)) if new_digest != old_digest => {
                changes.push(file_change(
                    "changed",
                    path,
                    Some(format!("sha256:{old_digest}")),
                    Some(format!("sha256:{new_digest}")),
                ));
                let new_size = new.files.get(path).map_or(0, |(s, _)| *s);
                let opened = (
                    open(settings, &old, path, old_digest, store.as_deref(), &scratch),
                    open(settings, &new, path, new_digest, store.as_deref(), &scratch),
                );
                if path.ends_with(".safetensors")
                    && let (Some(a), Some(b)) = opened
                    && let Some(tensors) = tensor_changes(path, (a, *old_size), (b, new_size))
                {
                    changes.extend(tensors);
                }
            }
            Some(_) => {}
        }
    }
    for (path, (_, digest)) in &new.files {
        if !old.files.contains_key(path) {
            changes.push(file_change(
                "added",
                path,
                None,
                Some(format!("sha256:{digest}")),
            ));
        }
    }
    crate::output::note(&format!(
        "{} version {old_version} → {new_version}",
        artifact.name
    ));
    let mut report = Report::builder(tool(), "diff");
    report
        .file_changes(changes)
        .files((old.files.len() + new.files.len()) as u64);
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Info,
    })
}
