//! `conlab completions SHELL`: a completion script generated from the clap definitions in
//! `cli.rs`, so it knows every subcommand and flag of this very binary (the hidden,
//! internal ones left out).

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::commands::error::CliError;

/// Print the completion script for `args.shell` on stdout.
pub fn completions_command(args: &CompletionsArgs) -> Result<ExitCode, CliError> {
    crate::out!("{}", script(args.shell));
    Ok(ExitCode::SUCCESS)
}

/// The script for `shell`, as text.
pub fn script(shell: clap_complete::Shell) -> String {
    let mut cmd = public();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "conlab", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// conlab's command line without the hidden, internal subcommands (`worker`, `__guard`,
/// `__exec`): clap_complete would offer them, and clap cannot drop a subcommand, so the
/// top level is rebuilt from the public ones (it has no flags of its own but -h and -V).
fn public() -> clap::Command {
    let full = Cli::command();
    let subcommands: Vec<clap::Command> = full
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let mut cmd = clap::Command::new("conlab")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommands(subcommands);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    for arg in full.get_arguments() {
        cmd = cmd.arg(arg.clone());
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_offers_the_public_subcommands_alone() {
        let s = script(clap_complete::Shell::Bash);
        let top = s
            .lines()
            .find(|l| l.contains("opts=\"") && l.contains(" -V "))
            .unwrap_or_default();
        assert!(top.contains(" run ") && top.contains(" man "), "{top}");
        assert!(!top.contains(" worker "), "{top}");
    }

    #[test]
    fn every_shell_names_the_public_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let s = script(shell);
            for sub in ["run", "compare", "lesson", "watch", "completions", "man"] {
                assert!(s.contains(sub), "{shell}: {sub}");
            }
            for internal in ["__guard", "__exec"] {
                assert!(!s.contains(internal), "{shell}: {internal}");
            }
        }
    }
}
