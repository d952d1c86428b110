//! `aigate lock`: hash and scan every declared artifact; write aigate.lock.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};

use aigate_integrity::lock::{Approval, LockedArtifact, Lockfile, ScanRecord, Status, Verdict};
use aigate_report::{Finding, Severity};
use aigate_scan::{NoProgress, ScanLimits, Scanner, Walked};

use crate::ExitStatus;
use crate::config::Project;

/// Reads aigate.lock if there is one.
pub fn read_lock(project: &Project) -> Result<Option<Lockfile>> {
    let path = project.lock_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(Lockfile::parse(&text)?)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes aigate.lock through a temporary file, so a reader never sees half of it.
pub fn write_lock(project: &Project, lock: &Lockfile) -> Result<()> {
    let path = project.lock_path();
    let tmp = path.with_extension(format!("lock.tmp{}", std::process::id()));
    std::fs::write(&tmp, lock.render())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
}

/// The scan verdict over an artifact's files.
pub fn scan_record(scanner: &Scanner, threshold: Severity, files: &[Walked]) -> Result<ScanRecord> {
    let mut findings: Vec<Finding> = Vec::new();
    for (file, result) in files.iter().zip(scanner.scan_files(files, &NoProgress)) {
        let scan = result.with_context(|| format!("cannot scan {}", file.display))?;
        findings.extend(scan.findings);
    }
    Ok(scan_summary(&findings, threshold))
}

/// The verdict recorded for findings at a threshold.
pub fn scan_summary(findings: &[Finding], threshold: Severity) -> ScanRecord {
    let failing: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= threshold)
        .collect();
    let mut rules = BTreeMap::new();
    for f in &failing {
        *rules.entry(f.rule.clone()).or_insert(0) += 1;
    }
    ScanRecord {
        verdict: if failing.is_empty() {
            Verdict::Clean
        } else {
            Verdict::Unsafe
        },
        scanner: aigate_scan::SCANNER_VERSION.into(),
        threshold,
        findings: failing.len() as u64,
        max_severity: findings.iter().map(|f| f.severity).max(),
        rules,
    }
}

/// A scanner configured from `[scan]`, and its threshold.
pub fn scanner(project: &Project) -> Result<(Scanner, Severity)> {
    let scan = &project.config.scan;
    let scanner = Scanner::new(&scan.allow, &scan.deny, ScanLimits::default())?;
    Ok((scanner, scan.fail_on.map_or(Severity::Medium, |s| s.0)))
}

/// Walk entries for pinned files.
pub fn walked(project: &Project, files: &[aigate_integrity::lock::LockedFile]) -> Vec<Walked> {
    files
        .iter()
        .map(|f| Walked {
            path: project.root.join(&f.path),
            display: f.path.clone(),
            size: f.size,
        })
        .collect()
}

fn human_size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// Runs `aigate lock`.
pub fn run(project: &Project, out: &mut dyn Write) -> Result<ExitStatus> {
    let previous = read_lock(project)?.unwrap_or_default();
    let (scanner, threshold) = scanner(project)?;
    let mut lock = Lockfile::new();
    for (kind, decl) in project.config.artifacts() {
        let name = decl.name.get_ref();
        let path = decl.path.get_ref();
        let files = aigate_integrity::pin(&project.root, path)
            .with_context(|| format!("cannot pin {} {name}", kind.as_str()))?;
        let scan = scan_record(&scanner, threshold, &walked(project, &files))?;
        let mut artifact = LockedArtifact {
            name: name.clone(),
            kind,
            path: path.clone(),
            source: decl.source.as_ref().map(|s| s.get_ref().clone()),
            owner: decl.owner.clone(),
            approval: Approval::pending(),
            scan,
            files,
        };
        let state = match previous.get(name) {
            Some(prev) if prev.same_content(&artifact) => {
                artifact.approval = prev.approval.clone();
                "unchanged"
            }
            Some(_) => "changed",
            None => "new",
        };
        let bytes: u64 = artifact.files.iter().map(|f| f.size).sum();
        let approval = match artifact.approval.status {
            Status::Approved => format!(
                "approved by {}",
                artifact.approval.by.as_deref().unwrap_or("?")
            ),
            Status::Pending => "pending approval".to_owned(),
        };
        let verdict = match artifact.scan.verdict {
            Verdict::Clean => "scan clean".to_owned(),
            Verdict::Unsafe => format!("scan UNSAFE ({} finding(s))", artifact.scan.findings),
        };
        writeln!(
            out,
            "{} {name}: {} file(s), {}, {verdict}, {approval} ({state})",
            kind.as_str(),
            artifact.files.len(),
            human_size(bytes)
        )?;
        lock.artifacts.push(artifact);
    }
    write_lock(project, &lock)?;
    writeln!(out, "wrote {}", project.lock_path().display())?;
    Ok(ExitStatus::Clean)
}
