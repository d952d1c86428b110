//! `aigate trust`: record, withdraw or list the configurations allowed to relax checks.

use anyhow::Result;

use aigate_report::{Report, Severity};

use crate::Finished;
use crate::cli::TrustArgs;
use crate::config;
use crate::output::note;
use crate::project::tool;
use crate::settings::now_rfc3339;
use crate::trust::Store;

/// Runs `aigate trust`.
pub fn run(args: &TrustArgs) -> Result<Finished> {
    let mut store = Store::load()?;
    let finished = Finished {
        report: Report::builder(tool(), "trust").build(),
        threshold: Severity::Info,
    };
    if args.list {
        if store.entries.is_empty() {
            note("no configuration is trusted");
        }
        for entry in &store.entries {
            let state = match aigate_integrity::files::read_regular(
                std::path::Path::new(&entry.path),
                config::MAX_CONFIG_BYTES,
            ) {
                Ok(text) if store.trusts(std::path::Path::new(&entry.path), &text) => "trusted",
                Ok(_) => "changed since it was trusted: not trusted",
                Err(_) => "missing",
            };
            note(&format!(
                "{} ({state}, since {})",
                entry.path, entry.trusted_at
            ));
        }
        return Ok(finished);
    }
    let path = match &args.path {
        Some(path) => path.clone(),
        None => config::find("name the configuration to trust: aigate trust path/to/aigate.toml")?,
    };
    if args.revoke {
        let was = store.revoke(&path)?;
        store.save()?;
        note(&if was {
            format!("{} is no longer trusted", path.display())
        } else {
            format!("{} was not trusted", path.display())
        });
        return Ok(finished);
    }
    // Only a configuration that parses can be trusted: what is recorded is what applies.
    let (_, text) = config::load(&path)?;
    let entry = store.trust(&path, &text, now_rfc3339())?;
    let saved = store.save()?;
    note(&format!(
        "trusted {} (sha256 {}), recorded in {}; editing it withdraws the trust",
        entry.path,
        entry.sha256,
        saved.display()
    ));
    Ok(finished)
}
