//! `aigate fetch SOURCE --name NAME`: download from a trusted source, check, scan, pin.

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use aigate_fetch::rules::{
    FETCH_HASH_MISMATCH, FETCH_UNSAFE_CONTENT, FETCH_UNTRUSTED, SOURCE_REVISION_NOT_PINNED,
};
use aigate_fetch::source::redacted;
use aigate_fetch::{
    Client, FetchError, RemoteFile, Source, Trust, hf_file_url, is_commit, parse_source,
};
use aigate_integrity::lock::{Approval, LockedArtifact, LockedFile, Verdict};
use aigate_integrity::manifest::{Kind, is_inside_project};
use aigate_report::{ArtifactState, Finding, Location, Report, ReportBuilder, Severity};
use aigate_scan::{ScanOptions, Walked};

use crate::Finished;
use crate::cli::FetchArgs;
use crate::failure::{Failure, fail};
use crate::project::{begin_writing, outcome, read_lock, scan_files, tool, write_lock};
use crate::settings::{ConfigTrust, Settings};

/// A staging folder removed on drop unless it was moved into place, and on interruption.
struct Staging {
    path: PathBuf,
    created_parent: Option<PathBuf>,
    keep: bool,
    _registered: crate::cleanup::Registered,
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

/// A refusal on policy or integrity grounds becomes a finding (exit 1); any other failure is
/// an error (exit 2).
fn refusal(err: FetchError, source: &str) -> Result<Finding> {
    let rule = match &err {
        FetchError::Untrusted { .. } => &FETCH_UNTRUSTED,
        FetchError::RevisionNotPinned(_) => &SOURCE_REVISION_NOT_PINNED,
        FetchError::HashMismatch { .. } => &FETCH_HASH_MISMATCH,
        _ => return Err(err.into()),
    };
    let mut finding = Finding::new(
        rule,
        format!("refused: {err}; nothing was kept"),
        Location::file(redacted(source)),
    );
    if let Some(hint) = err.hint() {
        finding = finding.with_hint(hint);
    }
    Ok(finding)
}

fn refused(err: FetchError, source: &str) -> Result<Finished> {
    let mut report = Report::builder(tool(), "fetch");
    report.finding(refusal(err, source)?);
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Info,
    })
}

fn plan(
    args: &FetchArgs,
    settings: &Settings,
    trust: &Trust,
    client: &Client,
) -> Result<Result<Vec<RemoteFile>, FetchError>> {
    let source = parse_source(&args.source)?;
    let files = match &source {
        Source::Https(url) => {
            let name = url
                .path_segments()
                .and_then(|mut s| s.next_back())
                .filter(|n| !n.is_empty() && is_inside_project(n))
                .ok_or_else(|| Failure::new(format!("{url} does not end in a file name")))?;
            vec![RemoteFile {
                url: url.clone(),
                path: name.to_owned(),
                sha256: args.sha256,
            }]
        }
        Source::Hf {
            kind,
            repo,
            revision,
            file,
        } => {
            if settings.config.sources.require_pinned_revision && !is_commit(revision) {
                return Ok(Err(FetchError::RevisionNotPinned(revision.clone())));
            }
            match file {
                Some(file) => vec![RemoteFile {
                    url: hf_file_url(client.hf_endpoint(), *kind, repo, revision, file)?,
                    path: file.clone(),
                    sha256: args.sha256,
                }],
                None => {
                    if args.sha256.is_some() {
                        fail!(
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
    Ok(Ok(files))
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
    settings: &Settings,
    kind: Kind,
    name: &str,
    dest: &str,
    source: &str,
) -> Result<()> {
    let path = settings
        .config_path
        .clone()
        .unwrap_or_else(|| settings.root.join(crate::config::FILE_NAME));
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
    aigate_integrity::files::write_atomic(&path, doc.to_string().as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Runs `aigate fetch`.
pub fn run(args: &FetchArgs, settings: &Settings) -> Result<Finished> {
    let kind = if args.dataset {
        Kind::Dataset
    } else {
        Kind::Model
    };
    if !aigate_integrity::manifest::is_valid_name(&args.name) {
        return Err(Failure::new(format!(
            "--name {:?} may hold only letters, digits, `.`, `_` and `-`",
            args.name
        ))
        .hint("the name is the artifact's key in aigate.toml and aigate.lock, not a path")
        .into());
    }
    if settings
        .config
        .artifacts()
        .iter()
        .any(|(_, d)| d.name.get_ref() == &args.name)
    {
        return Err(Failure::new(format!(
            "an artifact named {:?} is already declared in aigate.toml",
            args.name
        ))
        .hint("choose another --name")
        .into());
    }
    let trusted: Vec<String> = settings
        .config
        .sources
        .trusted
        .iter()
        .map(|t| t.get_ref().clone())
        .collect();
    if trusted.is_empty() {
        if matches!(&settings.trust, ConfigTrust::Untrusted(dropped) if dropped.iter().any(|d| d.starts_with("[sources]")))
        {
            return Err(Failure::new(
                "[sources] trusted in aigate.toml was ignored: this configuration is not trusted, so it cannot say where downloads may come from",
            )
            .hint("review aigate.toml, then run `aigate trust` (or name it with --config)")
            .into());
        }
        return Err(Failure::new(
            "[sources] trusted is empty in aigate.toml, so nothing may be fetched",
        )
        .hint("add the URL prefixes you trust, e.g. trusted = [\"https://huggingface.co/acme/\"]")
        .into());
    }
    let _writing = begin_writing(settings)?;
    crate::custody::preflight(settings)?;
    let trust = Trust::new(&trusted)?;
    let client = Client::new(&settings.client_options(args.retries))?;
    let files = match plan(args, settings, &trust, &client)? {
        Ok(files) => files,
        Err(err) => return refused(err, &args.source),
    };
    if files.is_empty() {
        fail!("{} lists no files", args.source);
    }
    let dest = args.dest.clone().unwrap_or_else(|| {
        format!(
            "{}/{}",
            if args.dataset { "datasets" } else { "models" },
            args.name
        )
    });
    if !is_inside_project(&dest) {
        fail!("the destination {dest:?} must be a relative path inside the project");
    }
    let dest_path = settings.root.join(&dest);
    if dest_path.exists() {
        return Err(Failure::new(format!("{dest} already exists"))
            .hint("choose another --dest or remove it")
            .into());
    }
    let parent = dest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| settings.root.clone());
    let created_parent = (!parent.exists()).then(|| parent.clone());
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let staging_path = parent.join(format!(
        ".{}.aigate-partial-{}",
        args.name,
        std::process::id()
    ));
    let mut staging = Staging {
        _registered: crate::cleanup::register(&staging_path),
        path: staging_path,
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
                sha256: hashed.digest,
            }),
            Err(err) => {
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                return refused(err, &args.source);
            }
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    pinned.sort();

    // A publisher's signature is checked over exactly what was downloaded, before anything else.
    if let Some(findings) =
        check_publisher_signature(args, settings, &client, &trust, &files, &staging.path)?
    {
        let mut report = Report::builder(tool(), "fetch");
        report.findings(findings).files(files.len() as u64);
        return Ok(finish(report, Severity::Info));
    }

    // Scan the staged files under the names they will have, before anything is moved in place.
    let threshold = settings.scan_threshold(None);
    let scanner = settings.scanner(ScanOptions::default())?;
    let staged: Vec<Walked> = files
        .iter()
        .zip(&pinned)
        .map(|(file, pin)| Walked::file(staging.path.join(&file.path), pin.path.clone(), pin.size))
        .collect();
    let (scan, findings) = scan_files(&scanner, threshold, &staged)?;
    let mut report = Report::builder(tool(), "fetch");
    report.files(staged.len() as u64);
    if scan.verdict == Verdict::Unsafe {
        report.finding(
            Finding::new(
                &FETCH_UNSAFE_CONTENT,
                format!(
                    "refused: {} holds content at or above {threshold}; nothing was kept",
                    redacted(&args.source)
                ),
                Location::file(redacted(&args.source)),
            )
            .with_detail("findings", scan.findings.to_string()),
        );
        report.findings(findings);
        return Ok(finish(report, threshold));
    }

    fs::rename(&staging.path, &dest_path)
        .with_context(|| format!("cannot move the download to {dest}"))?;
    staging.keep = true;
    let source = redacted(&args.source);
    add_to_manifest(settings, kind, &args.name, &dest, &source)?;
    let mut lock = read_lock(settings)?.unwrap_or_default();
    let artifact = LockedArtifact {
        name: args.name.clone(),
        kind,
        path: dest.clone(),
        source: Some(source.clone()),
        owner: None,
        version: 1,
        approval: Approval::pending(),
        scan,
        history: Vec::new(),
        highest_version: None,
        files: pinned,
    };
    if crate::custody::pushes(settings) {
        let store = crate::custody::store(settings)?;
        crate::custody::push(settings, store.as_ref(), &artifact)?;
    }
    let by = crate::custody::actor(settings, None);
    let event = crate::custody::event_about(
        aigate_integrity::custody::Action::Fetch,
        &by,
        &crate::settings::now_rfc3339(),
        &artifact,
    )
    .detail("source", source);
    let mut fetched = outcome(&artifact, ArtifactState::Fetched);
    fetched.note = Some(format!(
        "review it, then `aigate approve {} --by WHO`",
        args.name
    ));
    lock.artifacts.push(artifact);
    crate::custody::record_in_lock(settings, &mut lock, &[event])?;
    write_lock(settings, &lock)?;
    report.artifact(fetched).findings(findings);
    Ok(finish(report, threshold))
}

/// The publisher key a download must be signed with: `--key`, or the key `[sources] keys`
/// gives the prefix the download comes from.
fn publisher_key(args: &FetchArgs, settings: &Settings, first: &RemoteFile) -> Option<PathBuf> {
    if let Some(key) = &args.key {
        return Some(key.clone());
    }
    settings
        .config
        .sources
        .keys
        .iter()
        .find(|(prefix, _)| first.url.as_str().starts_with(prefix.as_str()))
        .map(|(_, key)| settings.root.join(key))
}

/// When the download must carry a publisher's signature, checks it over the staging folder:
/// `Some(findings)` (a refusal) when it is missing or does not hold, `None` when it holds or
/// none is required.
fn check_publisher_signature(
    args: &FetchArgs,
    settings: &Settings,
    client: &Client,
    trust: &Trust,
    files: &[RemoteFile],
    staging: &Path,
) -> Result<Option<Vec<Finding>>> {
    let Some(first) = files.first() else {
        return Ok(None);
    };
    let Some(key_path) = publisher_key(args, settings, first) else {
        if args.signature.is_some() {
            fail!("--signature needs the publisher's public key: --key PUB.pem, or [sources] keys");
        }
        return Ok(None);
    };
    let verifier = aigate_attest::Verifier::Key(crate::signatures::public_key(&key_path)?);
    let inside = staging.join("model.sig");
    // Beside the staging folder, named so that a run that dies leaves a recognisable leftover.
    let beside = staging.with_file_name(format!(
        ".{}.sig.aigate-partial-{}",
        args.name,
        std::process::id()
    ));
    let (signature, _downloaded) = match &args.signature {
        Some(url) if url.starts_with("https://") => {
            let target = beside.clone();
            let registered = crate::cleanup::register(&target);
            let remote = RemoteFile {
                url: aigate_fetch::Url::parse(url)
                    .map_err(|e| Failure::new(format!("--signature {url:?}: {e}")))?,
                path: "model.sig".into(),
                sha256: None,
            };
            trust.check(&remote.url, url).map_err(anyhow::Error::from)?;
            client.download(&remote, &target, trust, &|_| {})?;
            (target, Some(registered))
        }
        Some(file) => (PathBuf::from(file), None),
        None if inside.is_file() => (inside, None),
        None => {
            let finding = Finding::new(
                &aigate_attest::rules::SIGNATURE_MISSING,
                format!(
                    "refused: {} requires a publisher signature ({}), and none came with the download; nothing was kept",
                    redacted(&args.source),
                    key_path.display()
                ),
                Location::file(redacted(&args.source)),
            )
            .with_hint("give the publisher's model-signing signature with --signature FILE|URL");
            return Ok(Some(vec![finding]));
        }
    };
    let display = signature.display().to_string();
    let bundle = match aigate_attest::Bundle::read(&signature) {
        Ok(bundle) => bundle,
        Err(err) => {
            return Ok(Some(vec![crate::signatures::signature_failure(
                &err, &display,
            )]));
        }
    };
    let options = aigate_attest::VerifyOptions {
        signature_path: Some(signature.clone()),
        ..aigate_attest::VerifyOptions::default()
    };
    let (findings, _) =
        crate::signatures::check_model(staging, &bundle, &verifier, &options, &display);
    let _ = fs::remove_file(&beside);
    Ok((!findings.is_empty()).then_some(findings))
}

fn finish(report: ReportBuilder, threshold: Severity) -> Finished {
    Finished {
        report: report.build(),
        threshold,
    }
}
