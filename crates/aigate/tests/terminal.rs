//! What the terminal gets: completions for every shell that name every command, man pages for
//! the CLI and each command, and colour as `--color`, NO_COLOR and CLICOLOR_FORCE say.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn aigate(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aigate"));
    command
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.args(args).output().unwrap()
}

const COMMANDS: &[&str] = &[
    "check", "init", "scan", "lock", "verify", "sbom", "rollback",
];

#[test]
fn completions_name_every_command_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = aigate(&["completions", shell], &[]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    let out = aigate(&["completions", "tcsh"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_for_the_cli_and_every_command() {
    let out = aigate(&["man"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie"), "{}", &page[..40.min(page.len())]);
    assert!(page.contains(".TH aigate 1"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let out = aigate(&["man", "--out", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0));
    for command in COMMANDS {
        let page = std::fs::read_to_string(dir.path().join(format!("aigate-{command}.1"))).unwrap();
        assert!(
            page.contains(&format!(".TH aigate-{command} 1")),
            "{command}"
        );
    }
}

fn coloured(env: &[(&str, &str)], flag: Option<&str>) -> bool {
    let mut args = vec!["scan", "fixtures/malicious/embedded_base64.pkl"];
    if let Some(flag) = flag {
        args.extend(["--color", flag]);
    }
    let out = aigate(&args, env);
    assert_eq!(out.status.code(), Some(1));
    out.stdout.contains(&0x1b)
}

#[test]
fn colour_follows_the_flag_then_no_color_then_clicolor_force() {
    // Standard output is a pipe here: no colour unless forced.
    assert!(!coloured(&[], None));
    assert!(coloured(&[], Some("always")));
    assert!(!coloured(&[("CLICOLOR_FORCE", "1")], Some("never")));
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], None));
    assert!(!coloured(&[("CLICOLOR_FORCE", "0")], None));
    assert!(!coloured(
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
        None
    ));
    assert!(coloured(&[("NO_COLOR", "1")], Some("always")));
    // JSON is never coloured.
    let out = aigate(
        &[
            "scan",
            "fixtures/malicious/embedded_base64.pkl",
            "--format",
            "json",
            "--color",
            "always",
        ],
        &[],
    );
    assert!(!out.stdout.contains(&0x1b));
}
