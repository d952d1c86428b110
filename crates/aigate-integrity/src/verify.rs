//! `aigate verify`: the disk against the lock.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use aigate_report::{Finding, InputError, Location, Rule};

use crate::digest_cache::{CacheStats, DigestCache};
use crate::lock::{LockedArtifact, LockedFile, Lockfile, Status};
use crate::manifest::Kind;
use crate::paths;
use crate::rules::*;
use crate::tree::{self, EntryKind};

/// An artifact as `aigate.toml` declares it.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    /// Model or dataset.
    pub kind: Kind,
    /// Its name.
    pub name: &'a str,
    /// Its project-relative path.
    pub path: &'a str,
    /// Its source, as the lock would record it (credentials removed).
    pub source: Option<&'a str>,
}

fn finding(rule: &Rule, message: String, path: &str, artifact: &str) -> Finding {
    Finding::new(rule, message, Location::file(path)).with_detail("artifact", artifact)
}

/// What `verify` found: differences as findings, and files it could not read, which do not
/// stop it from checking the rest.
#[derive(Debug, Default)]
pub struct Verified {
    /// Every difference between the disk, the lock and `aigate.toml`.
    pub findings: Vec<Finding>,
    /// Files or folders that could not be read.
    pub errors: Vec<InputError>,
    /// Files checked.
    pub files: u64,
    /// How many of them the digest cache answered, and how many were read.
    pub cache: CacheStats,
}

/// Whether every path of a locked artifact is in its one spelling, stays inside the project
/// and inside the artifact.
fn paths_are_contained(root: &Path, a: &LockedArtifact) -> bool {
    paths::is_normalized(&a.path)
        && tree::resolves_inside(root, &a.path)
        && a.files.iter().all(|f| {
            paths::is_normalized(&f.path)
                && f.path != paths::ROOT
                && paths::is_within(&f.path, &a.path)
        })
}

/// Compares the files under `root` with `lock`, and both with what `aigate.toml` declares.
/// Linear in the number of files: each is looked up once. Digests come from `cache` where a
/// file's fingerprint is unchanged (pass [`DigestCache::disabled`] to read every file).
pub fn verify(
    root: &Path,
    declared: &[Declared<'_>],
    lock: &Lockfile,
    cache: &mut DigestCache,
) -> Verified {
    let mut out = Verified::default();
    let locked: HashMap<&str, &LockedArtifact> = lock
        .artifacts
        .iter()
        .map(|a| (a.name.as_str(), a))
        .collect();
    let declared_names: HashSet<&str> = declared.iter().map(|d| d.name).collect();
    for d in declared {
        match locked.get(d.name) {
            None => out.findings.push(finding(
                &NOT_LOCKED,
                format!(
                    "{} {} is declared in aigate.toml but not pinned in aigate.lock",
                    d.kind.as_str(),
                    d.name
                ),
                d.path,
                d.name,
            )),
            Some(a) if a.path == d.path && a.source.as_deref() != d.source => {
                out.findings.push(finding(
                    &SOURCE_CHANGED,
                    format!(
                        "{} {} is declared from {} but pinned from {}",
                        d.kind.as_str(),
                        d.name,
                        d.source.unwrap_or("no source"),
                        a.source.as_deref().unwrap_or("no source")
                    ),
                    d.path,
                    d.name,
                ));
            }
            Some(a) if a.path != d.path => out.findings.push(finding(
                &NOT_LOCKED,
                format!(
                    "{} {} is declared at {} but pinned at {}",
                    d.kind.as_str(),
                    d.name,
                    d.path,
                    a.path
                ),
                d.path,
                d.name,
            )),
            Some(_) => {}
        }
    }
    let mut to_hash: Vec<(PathBuf, &LockedFile, &str)> = Vec::new();
    for a in &lock.artifacts {
        if !declared_names.contains(a.name.as_str()) {
            out.findings.push(finding(
                &NOT_DECLARED,
                format!(
                    "{} {} is pinned in aigate.lock but no longer declared in aigate.toml",
                    a.kind.as_str(),
                    a.name
                ),
                &a.path,
                &a.name,
            ));
            continue;
        }
        if !paths_are_contained(root, a) {
            out.findings.push(finding(
                &PATH_OUTSIDE_PROJECT,
                format!(
                    "{} {} pins paths outside the project or outside {}; its files were not read",
                    a.kind.as_str(),
                    a.name,
                    a.path
                ),
                &a.path,
                &a.name,
            ));
            continue;
        }
        if let Some(why) = a.approval.problem(a) {
            out.findings.push(finding(
                &APPROVAL_INVALID,
                format!(
                    "the approval of {} {} does not stand: {why}",
                    a.kind.as_str(),
                    a.name
                ),
                &a.path,
                &a.name,
            ));
        }
        match a.approval.status {
            Status::Pending => out.findings.push(
                finding(
                    &NOT_APPROVED,
                    format!("{} {} is not approved", a.kind.as_str(), a.name),
                    &a.path,
                    &a.name,
                )
                .with_hint(format!(
                    "review it and run `aigate approve {} --by WHO`",
                    a.name
                )),
            ),
            Status::Approved => {
                if let Some(reason) = &a.approval.forced {
                    out.findings.push(finding(
                        &APPROVAL_FORCED,
                        format!(
                            "{} {} was approved by {} despite unsafe scan findings: {reason}",
                            a.kind.as_str(),
                            a.name,
                            a.approval.by.as_deref().unwrap_or("someone")
                        ),
                        &a.path,
                        &a.name,
                    ));
                }
            }
        }
        let disk = match tree::list(root, &a.path) {
            Ok(entries) => entries,
            Err(err) => {
                out.errors.push(InputError::new(
                    a.path.clone(),
                    format!("cannot list {} {}: {err}", a.kind.as_str(), a.name),
                ));
                continue;
            }
        };
        let disk_kinds: HashMap<&str, EntryKind> =
            disk.iter().map(|(p, k)| (p.as_str(), *k)).collect();
        let pinned: HashSet<&str> = a.files.iter().map(|f| f.path.as_str()).collect();
        for f in &a.files {
            match disk_kinds.get(f.path.as_str()) {
                None => out.findings.push(finding(
                    &FILE_REMOVED,
                    format!("{} is pinned but missing", f.path),
                    &f.path,
                    &a.name,
                )),
                Some(EntryKind::File) => to_hash.push((root.join(&f.path), f, &a.name)),
                Some(EntryKind::NonUtf8Name) => {}
                Some(kind) => out.findings.push(finding(
                    &FILE_TYPE_CHANGED,
                    format!(
                        "{} was pinned as a regular file and is now {}",
                        f.path,
                        kind.describe()
                    ),
                    &f.path,
                    &a.name,
                )),
            }
        }
        for (path, kind) in &disk {
            if *kind == EntryKind::NonUtf8Name {
                out.findings.push(finding(
                    &NAME_NOT_UTF8,
                    format!(
                        "{path} is inside {} {} but its name is not UTF-8 (shown escaped), so it is not pinned",
                        a.kind.as_str(),
                        a.name
                    ),
                    path,
                    &a.name,
                ));
            } else if !pinned.contains(path.as_str()) {
                let added = finding(
                    &FILE_ADDED,
                    format!(
                        "{path} ({}) is inside {} {} but not pinned",
                        kind.describe(),
                        a.kind.as_str(),
                        a.name
                    ),
                    path,
                    &a.name,
                );
                // `aigate lock` refuses links and special files, so re-locking is no fix for them.
                out.findings.push(if *kind == EntryKind::File {
                    added
                } else {
                    added.with_hint(
                        "aigate pins regular files only: replace it with the file it stands for, or remove it",
                    )
                });
            }
        }
    }
    let paths: Vec<PathBuf> = to_hash.iter().map(|(p, _, _)| p.clone()).collect();
    out.files = paths.len() as u64;
    let (digests, stats) = cache.hash_files(&paths);
    out.cache = stats;
    for ((_, pinned, artifact), result) in to_hash.iter().zip(digests) {
        let now = match result {
            Ok(now) => now,
            Err(err) => {
                out.errors.push(InputError::new(
                    pinned.path.clone(),
                    format!("cannot read: {err}"),
                ));
                continue;
            }
        };
        if now.digest != pinned.sha256 || now.size != pinned.size {
            out.findings.push(
                finding(
                    &FILE_MODIFIED,
                    format!(
                        "{} changed: {} bytes with SHA-256 {}, pinned {} bytes with SHA-256 {}",
                        pinned.path, now.size, now.digest, pinned.size, pinned.sha256
                    ),
                    &pinned.path,
                    artifact,
                )
                .with_detail("sha256", now.digest.hex())
                .with_detail("pinned-sha256", pinned.sha256.hex()),
            );
        }
    }
    out
}
