//! `aigate db update`: download OSV's PyPI advisories, or import a zip or folder of records,
//! into the local database, atomically (see `aigate_advisory::db`).

use std::path::PathBuf;

use anyhow::Result;

use aigate_fetch::{RemoteFile, Trust};
use aigate_report::{Report, Severity};

use crate::Finished;
use crate::cli::{DbUpdateArgs, Format};
use crate::failure::Failure;
use crate::project::tool;
use crate::settings::{Settings, now_rfc3339};

/// Where OSV publishes every PyPI advisory, one JSON record per member.
pub const DEFAULT_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip";

/// Runs `aigate db update`.
pub fn update(args: &DbUpdateArgs, settings: &Settings) -> Result<Finished> {
    let root = match args.db.clone().or_else(super::audit::default_db) {
        Some(root) => root,
        None => {
            return Err(Failure::new(
                "no folder for the advisory database: set AIGATE_CACHE_DIR or HOME",
            )
            .hint("or name one with --db PATH")
            .into());
        }
    };
    std::fs::create_dir_all(&root)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", root.display())))?;
    // What killed updates left behind (a SIGKILL runs no clean-up) goes before this one starts.
    aigate_advisory::db::sweep(&root);
    let staging = aigate_advisory::db::new_staging(&root);
    let _staging = crate::cleanup::register(&staging);
    let mut download: Option<PathBuf> = None;
    let (from, source) = match &args.from {
        Some(path) => (path.clone(), path.display().to_string()),
        None => {
            let url_text = args.url.clone().unwrap_or_else(|| DEFAULT_URL.to_owned());
            let url = url::Url::parse(&url_text)
                .map_err(|e| Failure::new(format!("`{url_text}` is no URL: {e}")))?;
            // The URL the user named (or OSV's) is the one trusted prefix: redirects must stay under it.
            let trust = Trust::new(std::slice::from_ref(&url_text))?;
            let client = aigate_fetch::Client::new(&settings.client_options(args.retries))?;
            let dest = root.join(format!(".download-{}.zip", std::process::id()));
            download = Some(dest.clone());
            let _registered = crate::cleanup::register(&dest);
            let file = RemoteFile {
                url,
                path: "all.zip".into(),
                sha256: None,
            };
            if let Err(e) = client.download(&file, &dest, &trust, &|_| {}) {
                let _ = std::fs::remove_file(&dest);
                return Err(Failure::new(format!("cannot download {url_text}: {e}"))
                    .hint("the database was left as it was; check the network or the URL, or import a copy with --from FILE")
                    .into());
            }
            (dest, url_text)
        }
    };
    let result = aigate_advisory::db::install(&root, &staging, &from, &source, &now_rfc3339());
    if let Some(dest) = &download {
        let _ = std::fs::remove_file(dest);
    }
    let meta = result.map_err(|e| {
        Failure::new(format!("the advisory database was not updated: {e}"))
            .hint("the previous database is still in use; check the source, then run again")
    })?;
    if args.output.format == Format::Human && !args.output.quiet {
        crate::output::note(&format!(
            "advisory database updated at {}: {} advisories about PyPI packages from {} records ({} withdrawn, {} of other ecosystems, {} malformed, skipped); source {}, SHA-256 {}",
            root.display(),
            meta.advisories,
            meta.records,
            meta.withdrawn,
            meta.other,
            meta.malformed,
            meta.source,
            meta.sha256
        ));
    }
    let mut report = Report::builder(tool(), "db-update");
    report.database(aigate_report::AdvisoryDatabase {
        path: crate::dependencies::shown(&root).display().to_string(),
        source: meta.source,
        sha256: meta.sha256,
        updated: meta.updated,
        records: meta.records,
        advisories: meta.advisories,
        withdrawn: meta.withdrawn,
        other: meta.other,
        malformed: meta.malformed,
    });
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Critical,
    })
}
