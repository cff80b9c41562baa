//! `conlab fidelity`: how far the simulation is from the real thing — the measuring is
//! [`crate::experiment::fidelity`]'s; this turns the flags into its options, cancels on
//! Ctrl-C and prints the result in the asked format.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::ctrl_c::cancel_on_ctrl_c;
use super::error::CliError;
use crate::cli::FidelityArgs;
use crate::exec::CancelToken;
use crate::experiment::fidelity::{FidelityOptions, measure};

pub fn fidelity_command(args: &FidelityArgs) -> Result<ExitCode, CliError> {
    let opts = FidelityOptions {
        workloads: args.workloads.clone(),
        workers: args.workers.unwrap_or_else(crate::core::default_workers),
        repeat: args.repeat as usize,
        size: args.size,
        pythons: args.python.clone(),
        gil: args.gil == crate::cli::OnOff::On,
        start_method: args.start_method,
        convoy: !args.no_convoy,
        chatty: std::io::stderr().is_terminal(),
    };
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    let report = measure(&opts, &cancel)?;
    crate::out!(
        "{}",
        crate::report::fidelity::exporter(args.format).export(&report)
    );
    let failed = report
        .rows
        .iter()
        .any(|r| r.native_answer.is_none() || r.cpython_answer.is_none());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
