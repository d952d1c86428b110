//! aigate: the supply-chain gate for AI/ML projects. The only crate that prints.

// A binary has no public API: `pub` here means "used by other modules".
#![allow(unreachable_pub)]
// Doc comments on the CLI types are its --help text, where `[sources]` is a TOML table, not a link.
#![allow(rustdoc::broken_intra_doc_links)]
// ... and a URL in it is text for the terminal, where `<…>` would be noise.
#![allow(rustdoc::bare_urls)]

mod cleanup;
mod cli;
mod commands;
mod config;
mod custody;
mod dependencies;
mod failure;
mod output;
mod project;
mod registry;
mod render;
mod settings;
mod signatures;
mod sources;
mod trust;

use std::process::ExitCode;

use std::borrow::Cow;

use anyhow::Result;
use clap::Parser;

use aigate_report::{Outcome, Report, Severity};

use cli::{Cli, Command, OutputArgs};
use output::Destination;
use render::RenderOptions;
use settings::Settings;

/// How a run ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing at or above the threshold.
    Clean = 0,
    /// Findings at or above the threshold.
    Findings = 1,
    /// Usage, configuration or I/O error: nothing could be concluded.
    Error = 2,
}

impl From<Outcome> for ExitStatus {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Clean => ExitStatus::Clean,
            Outcome::Findings => ExitStatus::Findings,
            Outcome::Error => ExitStatus::Error,
        }
    }
}

/// What a command hands back: its report, and the threshold its findings are judged at.
pub struct Finished {
    /// The report.
    pub report: Report,
    /// Findings at or above this fail the run.
    pub threshold: Severity,
}

/// Output for commands whose result is a file they wrote, not a report.
static QUIET_HUMAN: OutputArgs = OutputArgs {
    format: cli::Format::Human,
    output: None,
    quiet: true,
};

/// Says, for people, which configuration a run uses and whether it may relax checks (nothing
/// when there is none).
fn announced(settings: Settings, output: &OutputArgs) -> Settings {
    let some_config = settings.trust != settings::ConfigTrust::NoConfig;
    if some_config && output.format == cli::Format::Human && !output.quiet {
        output::note(&settings.describe());
    }
    settings
}

/// The output settings of a command other than `audit`, which alone writes VEX.
fn non_audit_output(command: &Command) -> Option<&OutputArgs> {
    Some(match command {
        Command::Check(a) => &a.output,
        Command::Scan(a) => &a.output,
        Command::Lock(a) => &a.output,
        Command::Approve(a) => &a.output,
        Command::Verify(a) => &a.output,
        Command::Fetch(a) => &a.output,
        Command::Sign(a) => &a.output,
        Command::VerifySig(a) => &a.output,
        Command::Deps(a) => match &a.command {
            Some(cli::DepsCommand::Diff(diff)) => &diff.output,
            None => &a.output,
        },
        Command::Db(a) => match &a.command {
            cli::DbCommand::Update(update) => &update.output,
        },
        Command::Policy(a) => &a.output,
        Command::Log(a) => match &a.command {
            Some(cli::LogCommand::Verify(v)) => &v.output,
            Some(cli::LogCommand::Repair(r)) => &r.output,
            None => &a.output,
        },
        Command::Rollback(a) => &a.output,
        Command::Revoke(a) => &a.output,
        Command::Deploy(a) => &a.output,
        Command::Diff(a) => &a.output,
        Command::Store(a) => match &a.command {
            cli::StoreCommand::Push(p) => &p.output,
            cli::StoreCommand::Gc(g) => &g.output,
        },
        Command::Audit(_)
        | Command::Init(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Keygen(_)
        | Command::Trust(_)
        | Command::Sbom(_)
        | Command::Inventory(_) => {
            return None;
        }
    })
}

fn run(cli: &Cli) -> Result<(Finished, Cow<'_, OutputArgs>)> {
    let config = cli.config.as_deref();
    // Refused before the command runs, so that nothing is written for a report that cannot be.
    if non_audit_output(&cli.command).is_some_and(|o| o.format == cli::Format::CyclonedxVex) {
        return Err(failure::Failure::new(
            "--format cyclonedx-vex is written by `aigate audit` only: it carries advisories",
        )
        .hint("use --format json or --format sarif here")
        .into());
    }
    let project = |output: &OutputArgs| Settings::project(config).map(|s| announced(s, output));
    Ok(match &cli.command {
        Command::Check(args) => {
            let settings = Settings::project_in(config, args.path.as_deref())?;
            (
                commands::check::run(args, &announced(settings, &args.output))?,
                Cow::Borrowed(&args.output),
            )
        }
        Command::Completions(args) => (
            commands::manual::completions(args)?,
            Cow::Borrowed(&QUIET_HUMAN),
        ),
        Command::Man(args) => (commands::manual::man(args)?, Cow::Borrowed(&QUIET_HUMAN)),
        Command::Init(args) => (commands::init::run(args)?, Cow::Borrowed(&QUIET_HUMAN)),
        Command::Scan(args) => (
            commands::scan::run(args, &announced(Settings::optional(config)?, &args.output))?,
            Cow::Borrowed(&args.output),
        ),
        Command::Lock(args) => (
            commands::lock::run(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Approve(args) => (
            commands::approve::run(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Verify(args) => (
            commands::verify::run(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Fetch(args) => (
            commands::fetch::run(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Keygen(args) => (commands::sign::keygen(args)?, Cow::Borrowed(&QUIET_HUMAN)),
        Command::Sign(args) => (
            commands::sign::sign(args, config)?,
            Cow::Borrowed(&args.output),
        ),
        Command::VerifySig(args) => (
            commands::sign::verify_sig(args)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Trust(args) => (commands::trust::run(args)?, Cow::Borrowed(&QUIET_HUMAN)),
        Command::Deps(args) => match &args.command {
            Some(cli::DepsCommand::Diff(diff)) => (
                commands::deps::diff(diff, &Settings::optional(config)?)?,
                Cow::Borrowed(&diff.output),
            ),
            None => (
                commands::deps::list(args, &Settings::optional(config)?)?,
                Cow::Borrowed(&args.output),
            ),
        },
        Command::Audit(args) => (
            commands::audit::run(args, &Settings::optional(config)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Db(args) => match &args.command {
            cli::DbCommand::Update(update) => (
                commands::db::update(update, &Settings::optional(config)?)?,
                Cow::Borrowed(&update.output),
            ),
        },
        Command::Policy(args) => (
            commands::policy::run(args, &Settings::optional(config)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Inventory(args) => {
            let (finished, output) =
                commands::custody::inventory(args, &Settings::project(config)?)?;
            (finished, Cow::Owned(output))
        }
        Command::Log(args) => match &args.command {
            Some(cli::LogCommand::Verify(v)) => (
                commands::custody::log_verify(v, &project(&v.output)?)?,
                Cow::Borrowed(&v.output),
            ),
            Some(cli::LogCommand::Repair(r)) => (
                commands::custody::log_repair(r, &project(&r.output)?)?,
                Cow::Borrowed(&r.output),
            ),
            None => (
                commands::custody::log(args, &project(&args.output)?)?,
                Cow::Borrowed(&args.output),
            ),
        },
        Command::Rollback(args) => (
            commands::rollback::run(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Revoke(args) => (
            commands::custody::revoke(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Deploy(args) => (
            commands::custody::deploy(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Diff(args) => (
            commands::diff::run(args, &project(&args.output)?)?,
            Cow::Borrowed(&args.output),
        ),
        Command::Store(args) => match &args.command {
            cli::StoreCommand::Push(p) => (
                commands::custody::store_push(p, &project(&p.output)?)?,
                Cow::Borrowed(&p.output),
            ),
            cli::StoreCommand::Gc(g) => (
                commands::custody::store_gc(g, &project(&g.output)?)?,
                Cow::Borrowed(&g.output),
            ),
        },
        Command::Sbom(args) => (
            commands::sbom::run(args, &Settings::optional(config)?)?,
            Cow::Owned(commands::sbom::output(args)?),
        ),
    })
}

/// Renders and writes the report; the exit status is the report's verdict, whatever became of
/// standard output.
fn finish(finished: &Finished, output: &OutputArgs, color: cli::ColorWhen) -> Result<ExitStatus> {
    let options = RenderOptions {
        format: output.format,
        threshold: finished.threshold,
        quiet: output.quiet,
        color: output.format == cli::Format::Human && use_color(color, output),
    };
    let bytes = render::to_bytes(&finished.report, &options)?;
    Destination::from_flag(output.output.as_ref()).write(&bytes)?;
    if output.format == cli::Format::Human {
        #[allow(clippy::print_stderr)]
        {
            eprint!("{}", render::human::errors(&finished.report));
        }
    }
    Ok(finished.report.outcome(finished.threshold).into())
}

/// Whether the human report is coloured: `--color`, else NO_COLOR and CLICOLOR_FORCE (as
/// no-color.org and bixense.com/clicolors say), else whether standard output is a terminal.
fn use_color(when: cli::ColorWhen, output: &OutputArgs) -> bool {
    use std::io::IsTerminal;
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match when {
        cli::ColorWhen::Always => true,
        cli::ColorWhen::Never => false,
        cli::ColorWhen::Auto if set("NO_COLOR") => false,
        cli::ColorWhen::Auto
            if set("CLICOLOR_FORCE")
                && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") =>
        {
            true
        }
        cli::ColorWhen::Auto => {
            output.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// With `-v`: how long the run and each check took, on standard error.
fn verbose_notes(finished: &Finished, elapsed: std::time::Duration) {
    for check in &finished.report.checks {
        output::note(&format!(
            "check {}: {} in {} ms ({} file(s) or input(s))",
            check.name,
            check.status.as_str(),
            check.duration_ms,
            check.files
        ));
    }
    output::note(&format!(
        "{} finished in {} ms",
        finished.report.command,
        elapsed.as_millis()
    ));
}

/// Prints an error that ended a command, with its hint, and gives the exit status of errors.
fn exit_status(err: &anyhow::Error) -> ExitStatus {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("error: {err:#}");
        if let Some(hint) = failure::hint_of(err) {
            eprintln!("hint: {hint}");
        }
    }
    ExitStatus::Error
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cleanup::install();
    let start = std::time::Instant::now();
    let status = match run(&cli).and_then(|(finished, output)| {
        if cli.verbose > 0 {
            verbose_notes(&finished, start.elapsed());
        }
        finish(&finished, &output, cli.color)
    }) {
        Ok(status) => status,
        Err(err) => exit_status(&err),
    };
    ExitCode::from(status as u8)
}
