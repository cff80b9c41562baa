//! `conlab man`: the manual page, generated from the clap definitions in `cli.rs` (roff on
//! stdout), or with `--out-dir` one page per public command written into a folder.

use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::commands::error::CliError;

/// Print conlab.1, or write conlab.1 and conlab-SUBCOMMAND.1 into `--out-dir`.
pub fn man_command(args: &ManArgs) -> Result<ExitCode, CliError> {
    let Some(dir) = &args.out_dir else {
        crate::out!("{}", page()?);
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "1")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("conlab"))
        })
        .collect();
    pages.sort();
    for p in pages {
        crate::outln!("{}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The top page, conlab.1, as roff.
pub fn page() -> anyhow::Result<String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .context("cannot render the manual page")?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
