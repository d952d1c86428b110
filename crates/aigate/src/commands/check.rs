//! `aigate check`: every check `aigate.toml` enables (scan, verify, policy, audit, custody, sbom),
//! run in parallel in one process, merged into one report with a section per check. Each check
//! is the command of the same name, so `check` and the command can never disagree.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use aigate_report::{CheckSection, CheckStatus, Location, Outcome, Report, Severity};

use crate::Finished;
use crate::cli::{
    AuditArgs, CheckArgs, CheckName, CompletenessFramework, Format, LogVerifyArgs, OutputArgs,
    PolicyArgs, SbomArgs, SbomFormat, SbomSpec, ScanArgs, VerifyArgs,
};
use crate::dependencies;
use crate::project::tool;
use crate::settings::Settings;

/// Why a check does not run.
enum Plan {
    Run,
    Skip(String),
}

/// How a check ended.
enum Ran {
    /// It ran and reported.
    Reported(Box<Finished>),
    /// It could not run: what stopped it.
    CouldNot(anyhow::Error),
}

/// Output for a check's own report: nothing printed, nothing announced.
fn silent() -> OutputArgs {
    OutputArgs {
        format: Format::Json,
        output: None,
        quiet: true,
    }
}

/// Whether the configuration has a top-level table `name`.
fn has_table(settings: &Settings, name: &str) -> bool {
    settings
        .config_text
        .parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key(name))
}

/// Whether the project has Python dependencies to judge: inputs named on the command line, a
/// lock, requirements or environment found at its root, or a pip configuration there.
fn has_dependency_inputs(args: &CheckArgs, settings: &Settings) -> bool {
    let named = &args.inputs;
    if !(named.requirements.is_empty()
        && named.locks.is_empty()
        && named.envs.is_empty()
        && named.pip_confs.is_empty())
    {
        return true;
    }
    let virtual_env = dependencies::active_environment(&settings.root);
    match aigate_python::discover(&settings.root, virtual_env.as_deref()) {
        Ok(found) => !found.is_empty(),
        // The check itself will report why the folder cannot be read.
        Err(_) => true,
    }
}

/// The files `scan` covers: every declared model and dataset, and `[scan] paths`.
fn scan_paths(settings: &Settings) -> Vec<PathBuf> {
    let declared = settings
        .config
        .artifacts()
        .into_iter()
        .map(|(_, d)| d.path.get_ref().clone());
    declared
        .chain(settings.config.scan.paths.iter().cloned())
        .map(|p| dependencies::shown(&settings.root.join(p)))
        .collect()
}

fn plan(name: CheckName, args: &CheckArgs, settings: &Settings, deps: bool) -> Plan {
    if args.skip.contains(&name) {
        return Plan::Skip("skipped with --skip".into());
    }
    let declared = !settings.config.artifacts().is_empty();
    match name {
        CheckName::Scan if !declared && settings.config.scan.paths.is_empty() => {
            Plan::Skip("aigate.toml declares no model or dataset, and no [scan] paths".into())
        }
        CheckName::Verify if !declared => {
            Plan::Skip("aigate.toml declares no model or dataset".into())
        }
        CheckName::Policy if !deps && !has_table(settings, "policy") => {
            Plan::Skip("no Python dependency input in the project, and no [policy]".into())
        }
        CheckName::Audit if !deps && !has_table(settings, "audit") && args.db.is_none() => {
            Plan::Skip("no Python dependency input in the project, and no [audit]".into())
        }
        CheckName::Custody => {
            let log = crate::custody::log_place(settings).ok();
            let anchored = crate::project::read_lock(settings)
                .ok()
                .flatten()
                .is_some_and(|l| l.custody.is_some());
            if anchored || log.is_some_and(|place| place.exists()) {
                Plan::Run
            } else {
                Plan::Skip("no custody log yet (`aigate lock` starts one)".into())
            }
        }
        CheckName::Sbom if settings.config.sbom.require_completeness.is_empty() => {
            Plan::Skip("[sbom] require-completeness is not set".into())
        }
        _ => Plan::Run,
    }
}

/// Runs one check: the command of its name, silently.
fn run_one(name: CheckName, args: &CheckArgs, settings: &Settings) -> Result<Finished> {
    use super::{audit, custody, policy, sbom, scan, verify};
    match name {
        CheckName::Scan => scan::run(
            &ScanArgs {
                paths: scan_paths(settings),
                fail_on: args.fail_on,
                list_globals: false,
                output: silent(),
            },
            settings,
        ),
        CheckName::Verify => verify::run(
            &VerifyArgs {
                fail_on: Severity::Low,
                by: None,
                // The gate reads; it runs on every commit and would grow the log each time.
                no_record: true,
                rehash: args.rehash,
                output: silent(),
            },
            settings,
        ),
        CheckName::Policy => policy::run(
            &PolicyArgs {
                inputs: args.inputs.clone(),
                fail_on: Severity::Low,
                no_record_check: args.no_record_check,
                output: silent(),
            },
            settings,
        ),
        CheckName::Audit => audit::run(
            &AuditArgs {
                inputs: args.inputs.clone(),
                db: args.db.clone(),
                fail_on: Severity::Low,
                output: silent(),
            },
            settings,
        ),
        CheckName::Custody => custody::log_verify(&LogVerifyArgs { output: silent() }, settings),
        CheckName::Sbom => {
            use aigate_sbom::completeness::Framework;
            let require = settings
                .config
                .sbom
                .require_completeness
                .iter()
                .map(|f| match f.get_ref().0 {
                    Framework::G7 => CompletenessFramework::G7,
                    Framework::EuAiAct => CompletenessFramework::EuAiAct,
                })
                .collect();
            sbom::run(
                &SbomArgs {
                    inputs: args.inputs.clone(),
                    spec: SbomSpec::V1_7,
                    random_serial: false,
                    with_vulnerabilities: false,
                    db: None,
                    completeness: true,
                    require,
                    check: None,
                    format: Some(SbomFormat::Json),
                    output: None,
                    quiet: true,
                },
                settings,
            )
        }
    }
}

/// One spinner per running check, when a person watches standard error.
struct Spinners {
    bars: Vec<Option<ProgressBar>>,
}

impl Spinners {
    fn new(names: &[(CheckName, bool)], output: &OutputArgs) -> Spinners {
        let wanted =
            output.format == Format::Human && !output.quiet && std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {prefix:8} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = names
            .iter()
            .map(|(name, runs)| {
                (wanted && *runs).then(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(name.as_str());
                    bar.set_message("running");
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
            })
            .collect();
        Spinners { bars }
    }

    fn done(&self, index: usize) {
        if let Some(Some(bar)) = self.bars.get(index) {
            bar.finish_and_clear();
        }
    }
}

fn zero_counts() -> std::collections::BTreeMap<Severity, u64> {
    Severity::ALL.iter().map(|s| (*s, 0)).collect()
}

/// A path `verify` and `log verify` give relative to the project, as seen from where aigate
/// runs, so that every section of the report (and SARIF's URIs) names files the same way.
fn from_here(root: &Path, path: &str) -> String {
    let relative = Path::new(path);
    if root == Path::new(".")
        || root.as_os_str().is_empty()
        || relative.is_absolute()
        || path.starts_with('$')
        || relative.starts_with(root)
    {
        return path.to_owned();
    }
    dependencies::shown(&root.join(relative))
        .display()
        .to_string()
}

/// Runs `aigate check`.
pub fn run(args: &CheckArgs, settings: &Settings) -> Result<Finished> {
    let deps = has_dependency_inputs(args, settings);
    let plans: Vec<(CheckName, Plan)> = CheckName::ALL
        .iter()
        .map(|name| (*name, plan(*name, args, settings, deps)))
        .collect();
    let spinners = Spinners::new(
        &plans
            .iter()
            .map(|(n, p)| (*n, matches!(p, Plan::Run)))
            .collect::<Vec<_>>(),
        &args.output,
    );
    let results: Vec<Option<(Ran, Duration)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plans
            .iter()
            .enumerate()
            .map(|(index, (name, plan))| {
                let spinners = &spinners;
                matches!(plan, Plan::Run).then(|| {
                    scope.spawn(move || {
                        let start = Instant::now();
                        let ran = match run_one(*name, args, settings) {
                            Ok(finished) => Ran::Reported(Box::new(finished)),
                            Err(err) => Ran::CouldNot(err),
                        };
                        spinners.done(index);
                        (ran, start.elapsed())
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.map(|h| {
                    h.join().unwrap_or_else(|_| {
                        (
                            Ran::CouldNot(anyhow::anyhow!(
                                "the check stopped on an internal error"
                            )),
                            Duration::ZERO,
                        )
                    })
                })
            })
            .collect()
    });
    let mut report = Report::builder(tool(), "check");
    let mut seen: BTreeSet<(String, Location, String)> = BTreeSet::new();
    let mut files = 0;
    for ((name, plan), result) in plans.into_iter().zip(results) {
        let default_threshold = match name {
            CheckName::Scan => settings.scan_threshold(args.fail_on),
            _ => args.fail_on.unwrap_or(Severity::Low),
        };
        let mut section = CheckSection {
            name: name.as_str().to_owned(),
            status: CheckStatus::Skipped,
            threshold: default_threshold,
            allowed: false,
            reason: None,
            hint: None,
            findings: zero_counts(),
            failing: 0,
            errors: 0,
            files: 0,
            duration_ms: 0,
        };
        match (plan, result) {
            (Plan::Skip(reason), _) => section.reason = Some(reason),
            (Plan::Run, None) => section.reason = Some("not run".into()),
            (Plan::Run, Some((ran, elapsed))) => {
                section.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
                match ran {
                    Ran::CouldNot(err) => {
                        section.status = CheckStatus::Missing;
                        section.allowed = args.allow_missing.contains(&name);
                        section.reason = Some(format!("{err:#}"));
                        section.hint = crate::failure::hint_of(&err);
                    }
                    Ran::Reported(finished) => {
                        let threshold = args.fail_on.unwrap_or(finished.threshold);
                        let own = finished.report;
                        section.threshold = threshold;
                        let outcome = own.outcome(threshold);
                        section.errors = own.summary.errors;
                        section.files = own.summary.files;
                        files += own.summary.files;
                        report.suppressed(own.summary.suppressed);
                        // A finding two checks share (an untrusted configuration) is reported
                        // and counted once, by the first check that found it.
                        for mut finding in own.findings {
                            if matches!(name, CheckName::Verify | CheckName::Custody) {
                                finding.location.path =
                                    from_here(&settings.root, &finding.location.path);
                            }
                            let key = (
                                finding.rule.clone(),
                                finding.location.clone(),
                                finding.message.clone(),
                            );
                            if seen.insert(key) {
                                *section.findings.entry(finding.severity).or_default() += 1;
                                if !finding.is_internal_error() && finding.fails(threshold) {
                                    section.failing += 1;
                                }
                                finding.check = Some(name.as_str().to_owned());
                                report.finding(finding);
                            }
                        }
                        section.status = if section.failing > 0 {
                            CheckStatus::Failed
                        } else if outcome == Outcome::Error {
                            CheckStatus::Error
                        } else {
                            CheckStatus::Passed
                        };
                        report.scanned(own.scanned);
                        for error in own.errors {
                            report.error(error);
                        }
                    }
                }
            }
        }
        report.check(section);
    }
    report.files(files);
    Ok(Finished {
        report: report.build(),
        threshold: args.fail_on.unwrap_or(Severity::Low),
    })
}
