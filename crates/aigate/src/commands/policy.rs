//! `aigate policy`: the Python dependencies checked against `[policy]`.

use anyhow::Result;

use aigate_policy::{Policy, PolicyInput};
use aigate_report::Report;

use crate::Finished;
use crate::cli::PolicyArgs;
use crate::dependencies;
use crate::project::tool;
use crate::settings::Settings;

/// Runs `aigate policy`.
pub fn run(args: &PolicyArgs, settings: &Settings) -> Result<Finished> {
    let config_path = settings
        .config_path
        .as_ref()
        .map(|p| dependencies::shown(p).display().to_string())
        .unwrap_or_else(|| crate::config::FILE_NAME.to_owned());
    let policy = Policy::new(
        &settings.config.policy,
        &config_path,
        &settings.config_text,
        &settings.root,
    )?;
    let inputs = dependencies::read(&args.inputs, settings, !args.no_record_check);
    let checked: Vec<PolicyInput<'_>> = inputs
        .read
        .iter()
        .map(|input| PolicyInput {
            set: &input.set,
            records: input.records.as_deref(),
        })
        .collect();
    let mut findings = policy.check(&checked);
    dependencies::add_source_lines(&mut findings);
    let mut report = Report::builder(tool(), "policy");
    report.findings(findings);
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
    let rules: Vec<_> = aigate_policy::RULES.iter().collect();
    settings.rule_levels().apply(&mut report, &rules);
    Ok(Finished {
        report: report.build(),
        threshold: args.fail_on,
    })
}
