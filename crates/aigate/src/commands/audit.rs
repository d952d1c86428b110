//! `aigate audit`: the Python dependencies matched against the local OSV advisory database.

use std::path::{Path, PathBuf};

use anyhow::Result;

use aigate_advisory::audit::{AuditContext, db_findings};
use aigate_advisory::{AuditInput, Database};
use aigate_report::Report;

use crate::Finished;
use crate::cli::{AuditArgs, Format};
use crate::dependencies;
use crate::failure::Failure;
use crate::project::tool;
use crate::settings::{Settings, now_rfc3339};

/// The managed database's folder inside the user's cache.
pub const DB_FOLDER: &str = "advisories";

/// The default database: `advisories/` in the user's cache.
pub fn default_db() -> Option<PathBuf> {
    crate::trust::cache_dir().map(|c| c.join(DB_FOLDER))
}

const UPDATE_HINT: &str = "run `aigate db update` (offline: `aigate db update --from all.zip`, with OSV's PyPI/all.zip copied over), or name a database with --db PATH";

/// Opens the database `--db` names, or the default one; its absence is an error that says how
/// to make one.
pub fn open(db: Option<&Path>) -> Result<Database> {
    let cache = default_db();
    let path = match db {
        Some(p) => p.to_path_buf(),
        None => {
            let Some(root) = cache.clone() else {
                return Err(Failure::new(
                    "no folder for the advisory database: set AIGATE_CACHE_DIR or HOME",
                )
                .hint(UPDATE_HINT)
                .into());
            };
            if !root.join(aigate_advisory::db::CURRENT).is_file() {
                return Err(
                    Failure::new(format!("no advisory database at {}", root.display()))
                        .hint(UPDATE_HINT)
                        .into(),
                );
            }
            root
        }
    };
    aigate_advisory::db::open(&path, cache.as_deref()).map_err(|e| {
        let hint = match e {
            aigate_advisory::Error::NoDatabase { .. } => UPDATE_HINT,
            _ => "rebuild it with `aigate db update`, or name another with --db PATH",
        };
        Failure::new(format!("cannot read the advisory database: {e}"))
            .hint(hint)
            .into()
    })
}

/// Runs `aigate audit`.
pub fn run(args: &AuditArgs, settings: &Settings) -> Result<Finished> {
    let db = open(args.db.as_deref())?;
    let meta = db.meta();
    if args.output.format == Format::Human && !args.output.quiet {
        let when = if meta.updated.is_empty() {
            String::new()
        } else {
            format!(", updated {}", meta.updated)
        };
        crate::output::note(&format!(
            "advisory database: {} advisories from {}{when}",
            meta.advisories, meta.source
        ));
    }
    let config_path = settings
        .config_path
        .as_ref()
        .map(|p| dependencies::shown(p).display().to_string())
        .unwrap_or_else(|| crate::config::FILE_NAME.to_owned());
    let inputs = dependencies::read(&args.inputs, settings, false);
    let audited: Vec<AuditInput<'_>> = inputs
        .read
        .iter()
        .flat_map(|i| i.set.packages.iter())
        .map(|p| AuditInput {
            package: p,
            location: aigate_policy::location_of(&p.origin).with_subject(aigate_policy::purl(p)),
        })
        .collect();
    let now = now_rfc3339();
    let today = now.get(..10).unwrap_or("");
    let cx = AuditContext {
        config: &settings.config.audit,
        config_path: &config_path,
        config_text: &settings.config_text,
        today,
    };
    let index = db
        .index()
        .map_err(|e| Failure::new(e.to_string()).hint(UPDATE_HINT))?;
    let outcome = aigate_advisory::audit(&index, &audited, &cx).map_err(|e| {
        Failure::new(format!("the advisory index is damaged: {e}")).hint(UPDATE_HINT)
    })?;
    let mut findings = outcome.findings;
    dependencies::add_source_lines(&mut findings);
    let max_age = settings
        .config
        .audit
        .max_db_age
        .as_ref()
        .and_then(|a| a.get_ref().seconds().ok());
    let now_secs = aigate_advisory::audit::epoch_of(&now).unwrap_or(0);
    findings.extend(db_findings(
        meta,
        &dependencies::shown(&db.records).display().to_string(),
        max_age,
        now_secs,
    ));
    let mut report = Report::builder(tool(), "audit");
    report.findings(findings).suppressed(outcome.suppressed);
    report.files(
        inputs
            .read
            .iter()
            .map(|i| (i.set.inputs.len() as u64).max(1))
            .sum(),
    );
    for error in inputs.errors {
        report.error(error);
    }
    let rules: Vec<_> = aigate_advisory::RULES.iter().collect();
    settings.rule_levels().apply(&mut report, &rules);
    Ok(Finished {
        report: report.build(),
        threshold: args.fail_on,
    })
}
