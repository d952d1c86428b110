//! `aigate approve NAME --by WHO [--force REASON]`.

use std::io::Write;

use anyhow::{Context, Result, bail};

use aigate_integrity::lock::{Approval, Status, Verdict};

use crate::ExitStatus;
use crate::cli::ApproveArgs;
use crate::commands::lock::{read_lock, write_lock};
use crate::config::Project;

/// Runs `aigate approve`.
pub fn run(args: &ApproveArgs, project: &Project, out: &mut dyn Write) -> Result<ExitStatus> {
    let mut lock =
        read_lock(project)?.context("there is no aigate.lock\nhint: run `aigate lock` first")?;
    if args.by.trim().is_empty() {
        bail!("--by must name who approves");
    }
    let Some(artifact) = lock.get_mut(&args.name) else {
        let names: Vec<&str> = project
            .config
            .artifacts()
            .iter()
            .map(|(_, d)| d.name.get_ref().as_str())
            .collect();
        bail!(
            "no artifact named {:?} in aigate.lock (known: {})\nhint: run `aigate lock` after declaring it",
            args.name,
            names.join(", ")
        );
    };
    let files = aigate_integrity::pin(&project.root, &artifact.path)
        .with_context(|| format!("cannot read {} {}", artifact.kind.as_str(), artifact.name))?;
    if files != artifact.files {
        writeln!(
            out,
            "refused: the files of {} differ from aigate.lock; approval covers pinned bytes only\nhint: run `aigate lock`, review, then approve",
            artifact.name
        )?;
        return Ok(ExitStatus::Findings);
    }
    let forced = match (artifact.scan.verdict, &args.force) {
        (Verdict::Clean, _) => None,
        (Verdict::Unsafe, Some(reason)) if !reason.trim().is_empty() => Some(reason.clone()),
        (Verdict::Unsafe, _) => {
            let rules: Vec<String> = artifact
                .scan
                .rules
                .iter()
                .map(|(r, n)| format!("{r} ×{n}"))
                .collect();
            writeln!(
                out,
                "refused: the scan recorded for {} found unsafe content ({})\nhint: run `aigate scan {}` to see it; to approve anyway, pass --force \"REASON\"; the reason is recorded",
                artifact.name,
                rules.join(", "),
                artifact.path
            )?;
            return Ok(ExitStatus::Findings);
        }
    };
    artifact.approval = Approval {
        status: Status::Approved,
        by: Some(args.by.clone()),
        at: Some(aigate_integrity::clock::now_rfc3339()),
        forced,
    };
    let message = format!(
        "approved {} {} ({} file(s)) by {}{}",
        artifact.kind.as_str(),
        artifact.name,
        artifact.files.len(),
        args.by,
        if artifact.approval.forced.is_some() {
            ", forced despite unsafe scan findings"
        } else {
            ""
        }
    );
    write_lock(project, &lock)?;
    writeln!(out, "{message}")?;
    Ok(ExitStatus::Clean)
}
