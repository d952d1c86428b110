//! `aigate verify`: the disk against the lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aigate_report::{Finding, Location, Severity};

use crate::hash::hash_files;
use crate::lock::{LockedArtifact, Lockfile, Status};
use crate::manifest::{Kind, is_inside_project};
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
}

fn finding(rule: &str, severity: Severity, message: String, path: &str, artifact: &str) -> Finding {
    Finding::new(rule, severity, message, Location::file(path)).with_detail("artifact", artifact)
}

/// Whether every path of a locked artifact stays inside the project and inside the artifact.
fn paths_are_contained(root: &Path, a: &LockedArtifact) -> bool {
    let prefix = format!("{}/", a.path.trim_end_matches('/'));
    is_inside_project(&a.path)
        && tree::resolves_inside(root, &a.path)
        && a.files.iter().all(|f| {
            is_inside_project(&f.path) && (f.path == a.path || f.path.starts_with(&prefix))
        })
}

/// Compares the files under `root` with `lock`, and both with what `aigate.toml` declares.
pub fn verify(
    root: &Path,
    declared: &[Declared<'_>],
    lock: &Lockfile,
) -> Result<Vec<Finding>, std::io::Error> {
    let mut out = Vec::new();
    for d in declared {
        match lock.get(d.name) {
            None => out.push(finding(
                NOT_LOCKED,
                Severity::High,
                format!(
                    "{} {} is declared in aigate.toml but not pinned in aigate.lock",
                    d.kind.as_str(),
                    d.name
                ),
                d.path,
                d.name,
            )),
            Some(a) if a.path != d.path => out.push(finding(
                NOT_LOCKED,
                Severity::High,
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
    let mut to_hash: Vec<(PathBuf, &crate::lock::LockedFile, &str)> = Vec::new();
    for a in &lock.artifacts {
        if !declared.iter().any(|d| d.name == a.name) {
            out.push(finding(
                NOT_DECLARED,
                Severity::Medium,
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
            out.push(finding(
                PATH_OUTSIDE_PROJECT,
                Severity::Critical,
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
        match a.approval.status {
            Status::Pending => out.push(finding(
                NOT_APPROVED,
                Severity::High,
                format!("{} {} is not approved", a.kind.as_str(), a.name),
                &a.path,
                &a.name,
            )),
            Status::Approved => {
                if let Some(reason) = &a.approval.forced {
                    out.push(finding(
                        APPROVAL_FORCED,
                        Severity::Info,
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
        let disk: BTreeMap<String, EntryKind> = tree::list(root, &a.path)?.into_iter().collect();
        for f in &a.files {
            match disk.get(&f.path) {
                None => out.push(finding(
                    FILE_REMOVED,
                    Severity::High,
                    format!("{} is pinned but missing", f.path),
                    &f.path,
                    &a.name,
                )),
                Some(EntryKind::File) => to_hash.push((root.join(&f.path), f, &a.name)),
                Some(kind) => out.push(finding(
                    FILE_TYPE_CHANGED,
                    Severity::Critical,
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
            if !a.files.iter().any(|f| &f.path == path) {
                out.push(finding(
                    FILE_ADDED,
                    Severity::High,
                    format!(
                        "{path} ({}) is inside {} {} but not pinned",
                        kind.describe(),
                        a.kind.as_str(),
                        a.name
                    ),
                    path,
                    &a.name,
                ));
            }
        }
    }
    let paths: Vec<PathBuf> = to_hash.iter().map(|(p, _, _)| p.clone()).collect();
    for ((_, pinned, artifact), result) in to_hash.iter().zip(hash_files(&paths)) {
        let now = result?;
        if now.sha256 != pinned.sha256 || now.size != pinned.size {
            out.push(
                finding(
                    FILE_MODIFIED,
                    Severity::Critical,
                    format!(
                        "{} changed: {} bytes with SHA-256 {}, pinned {} bytes with SHA-256 {}",
                        pinned.path, now.size, now.sha256, pinned.size, pinned.sha256
                    ),
                    &pinned.path,
                    artifact,
                )
                .with_detail("sha256", now.sha256.clone())
                .with_detail("pinned-sha256", pinned.sha256.clone()),
            );
        }
    }
    Ok(out)
}
