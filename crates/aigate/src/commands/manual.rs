//! `aigate completions` and `aigate man`: shell completions and man pages generated from the
//! command line's own definition, so that they cannot fall behind it.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use aigate_report::{Report, Severity};

use crate::Finished;
use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::output::Destination;
use crate::project::tool;

fn done(command: &str) -> Finished {
    Finished {
        report: Report::builder(tool(), command).build(),
        threshold: Severity::Critical,
    }
}

/// Runs `aigate completions SHELL`.
pub fn completions(args: &CompletionsArgs) -> Result<Finished> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "aigate", &mut script);
    Destination::Stdout.write(&script)?;
    Ok(done("completions"))
}

fn page(command: clap::Command, title: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .title(title.to_owned())
        .render(&mut out)
        .context("cannot render the man page")?;
    Ok(out)
}

/// Runs `aigate man`.
pub fn man(args: &ManArgs) -> Result<Finished> {
    let mut command = Cli::command();
    command.build();
    let Some(dir) = &args.out else {
        Destination::Stdout.write(&page(command, "aigate")?)?;
        return Ok(done("man"));
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_page(dir, "aigate", page(command.clone(), "aigate")?)?;
    for sub in command.get_subcommands() {
        let name = format!("aigate-{}", sub.get_name());
        write_page(dir, &name, page(sub.clone(), &name)?)?;
    }
    Ok(done("man"))
}

fn write_page(dir: &Path, name: &str, bytes: Vec<u8>) -> Result<()> {
    let path = dir.join(format!("{name}.1"));
    aigate_integrity::files::write_atomic(&path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
