//! `aigate fetch SOURCE --name NAME`: download from a trusted source, check, scan, pin.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use aigate_integrity::fetch::{
    Client, FetchError, RemoteFile, Source, Trust, hf_file_url, is_commit, parse_source,
};
use aigate_integrity::lock::{Approval, LockedArtifact, LockedFile, Verdict};
use aigate_integrity::manifest::{Kind, is_inside_project};
use aigate_report::{Report, Tool};

use crate::ExitStatus;
use crate::cli::FetchArgs;
use aigate_scan::Walked;

use crate::commands::lock::{read_lock, scan_summary, scanner, write_lock};
use crate::config::Project;

/// A staging folder removed on drop unless it was moved into place.
struct Staging {
    path: PathBuf,
    created_parent: Option<PathBuf>,
    keep: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
            if let Some(parent) = &self.created_parent {
                let _ = fs::remove_dir(parent);
            }
        }
    }
}

fn refused(out: &mut dyn Write, err: &FetchError) -> Result<ExitStatus> {
    if err.is_refusal() {
        writeln!(out, "refused: {err}")?;
        Ok(ExitStatus::Findings)
    } else {
        Err(anyhow::anyhow!("{err}"))
    }
}

fn plan(
    args: &FetchArgs,
    project: &Project,
    trust: &Trust,
    client: &Client,
) -> Result<Result<(Vec<RemoteFile>, String), FetchError>> {
    let source = match parse_source(&args.source) {
        Ok(source) => source,
        Err(err) => return Ok(Err(err)),
    };
    let files = match &source {
        Source::Https(url) => {
            let name = url
                .path_segments()
                .and_then(|mut s| s.next_back())
                .filter(|n| !n.is_empty() && is_inside_project(n))
                .context("the URL does not end in a file name")?;
            vec![RemoteFile {
                url: url.clone(),
                path: name.to_owned(),
                sha256: args.sha256.clone(),
            }]
        }
        Source::Hf {
            kind,
            repo,
            revision,
            file,
        } => {
            if project.config.sources.require_pinned_revision && !is_commit(revision) {
                return Ok(Err(FetchError::RevisionNotPinned(revision.clone())));
            }
            match file {
                Some(file) => vec![RemoteFile {
                    url: hf_file_url(*kind, repo, revision, file)?,
                    path: file.clone(),
                    sha256: args.sha256.clone(),
                }],
                None => {
                    if args.sha256.is_some() {
                        bail!(
                            "--sha256 pins one file; a whole repository is checked against its LFS digests"
                        );
                    }
                    match client.list_hf(*kind, repo, revision, trust) {
                        Ok(files) => files,
                        Err(err) => return Ok(Err(err)),
                    }
                }
            }
        }
    };
    for file in &files {
        if let Err(err) = trust.check(&file.url, file.url.as_str()) {
            return Ok(Err(err));
        }
    }
    Ok(Ok((files, args.source.clone())))
}

fn progress_bar(total_files: usize) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} fetching {msg} {bytes} ({bytes_per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_message(format!("{total_files} file(s)"));
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

fn add_to_manifest(
    project: &Project,
    kind: Kind,
    name: &str,
    dest: &str,
    source: &str,
) -> Result<()> {
    let path = project.root.join(crate::config::FILE_NAME);
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut doc: toml_edit::DocumentMut = text.parse().context("cannot edit aigate.toml")?;
    let entries = doc
        .entry(kind.as_str())
        .or_insert(toml_edit::Item::ArrayOfTables(
            toml_edit::ArrayOfTables::new(),
        ))
        .as_array_of_tables_mut()
        .with_context(|| {
            format!(
                "[[{}]] in aigate.toml is not an array of tables",
                kind.as_str()
            )
        })?;
    let mut table = toml_edit::Table::new();
    table["name"] = toml_edit::value(name);
    table["path"] = toml_edit::value(dest);
    table["source"] = toml_edit::value(source);
    entries.push(table);
    fs::write(&path, doc.to_string()).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs `aigate fetch`.
pub fn run(args: &FetchArgs, project: &Project, out: &mut dyn Write) -> Result<ExitStatus> {
    let kind = if args.dataset {
        Kind::Dataset
    } else {
        Kind::Model
    };
    if project
        .config
        .artifacts()
        .iter()
        .any(|(_, d)| d.name.get_ref() == &args.name)
    {
        bail!(
            "an artifact named {:?} is already declared in aigate.toml\nhint: choose another --name",
            args.name
        );
    }
    let trusted: Vec<String> = project
        .config
        .sources
        .trusted
        .iter()
        .map(|t| t.get_ref().clone())
        .collect();
    if trusted.is_empty() {
        bail!(
            "[sources] trusted is empty in aigate.toml, so nothing may be fetched\nhint: add the URL prefixes you trust, e.g. trusted = [\"https://huggingface.co/acme/\"]"
        );
    }
    let trust = Trust::new(&trusted)?;
    let client = Client::new(args.retries, Duration::from_millis(500))?;
    let (files, source) = match plan(args, project, &trust, &client)? {
        Ok(plan) => plan,
        Err(err) => return refused(out, &err),
    };
    if files.is_empty() {
        bail!("{} lists no files", args.source);
    }
    let dest = args.dest.clone().unwrap_or_else(|| {
        format!(
            "{}/{}",
            if args.dataset { "datasets" } else { "models" },
            args.name
        )
    });
    if !is_inside_project(&dest) {
        bail!("--dest {dest:?} must be a relative path inside the project");
    }
    let dest_path = project.root.join(&dest);
    if dest_path.exists() {
        bail!("{dest} already exists\nhint: choose another --dest or remove it");
    }
    let parent = dest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| project.root.clone());
    let created_parent = (!parent.exists()).then(|| parent.clone());
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let mut staging = Staging {
        path: parent.join(format!(
            ".{}.aigate-partial-{}",
            args.name,
            std::process::id()
        )),
        created_parent,
        keep: false,
    };
    fs::create_dir_all(&staging.path)?;

    let bar = progress_bar(files.len());
    let mut pinned = Vec::with_capacity(files.len());
    for file in &files {
        let target = staging.path.join(&file.path);
        let tick = |n: u64| {
            if let Some(bar) = &bar {
                bar.inc(n);
            }
        };
        match client.download(file, &target, &trust, &tick) {
            Ok(hashed) => pinned.push(LockedFile {
                path: format!("{dest}/{}", file.path),
                size: hashed.size,
                sha256: hashed.sha256,
            }),
            Err(err) => {
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                return refused(out, &err);
            }
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    pinned.sort();

    // Scan the staged files under the names they will have, before anything is moved in place.
    let (scanner, threshold) = scanner(project)?;
    let staged: Vec<Walked> = files
        .iter()
        .zip(&pinned)
        .map(|(file, pin)| Walked {
            path: staging.path.join(&file.path),
            display: pin.path.clone(),
            size: pin.size,
        })
        .collect();
    let mut findings = Vec::new();
    for (file, result) in staged
        .iter()
        .zip(scanner.scan_files(&staged, &aigate_scan::NoProgress))
    {
        findings.extend(
            result
                .with_context(|| format!("cannot scan {}", file.display))?
                .findings,
        );
    }
    let scan = scan_summary(&findings, threshold);
    if scan.verdict == Verdict::Unsafe {
        let report = Report::new(
            Tool::aigate(env!("CARGO_PKG_VERSION")),
            findings,
            Vec::new(),
            Vec::new(),
            staged.len() as u64,
        );
        crate::render::human::render(&report, aigate_scan::RULES, threshold, true, "scanned", out)?;
        writeln!(
            out,
            "refused: {} holds unsafe content; nothing was kept",
            args.source
        )?;
        return Ok(ExitStatus::Findings);
    }

    fs::rename(&staging.path, &dest_path)
        .with_context(|| format!("cannot move the download to {dest}"))?;
    staging.keep = true;
    let files = pinned;
    add_to_manifest(project, kind, &args.name, &dest, &source)?;
    let mut lock = read_lock(project)?.unwrap_or_default();
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let count = files.len();
    lock.artifacts.push(LockedArtifact {
        name: args.name.clone(),
        kind,
        path: dest.clone(),
        source: Some(source),
        owner: None,
        approval: Approval::pending(),
        scan,
        files,
    });
    write_lock(project, &lock)?;
    writeln!(
        out,
        "fetched {} {} into {dest}: {count} file(s), {bytes} bytes, scan clean, pinned pending approval\nhint: review it, then `aigate approve {} --by WHO`",
        kind.as_str(),
        args.name,
        args.name
    )?;
    Ok(ExitStatus::Clean)
}
