//! conlab's entry point: parse the command line, hand off, print errors, set the exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use conlab::cli::{Cli, Command};

/// The command line, or the exit: `--help` printed with the write checked (a full disk is
/// an error, exit 1), `--version` with the defaults a bug report needs, usage errors as
/// clap says them.
fn parse() -> Result<Cli, ExitCode> {
    let e = match Cli::try_parse() {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    // `-V` / `--version`: not clap's one line (see commands::version).
    if e.kind() == ErrorKind::DisplayVersion {
        return Err(finish(conlab::commands::version::version_command()));
    }
    if e.use_stderr() {
        e.exit();
    }
    conlab::sys::out::check(e.print());
    match conlab::sys::out::finish_after_print() {
        Ok(()) => Err(ExitCode::SUCCESS),
        Err(why) => {
            let _ = writeln!(std::io::stderr(), "conlab: error: {why}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // This is conlab: the guard and tied programs are started by re-running it.
    if let Ok(exe) = std::env::current_exe() {
        conlab::sys::guard::install(exe);
    }
    // A conlab that was SIGKILLed inside its own `--cpu-quota` cgroup left it behind.
    if !matches!(
        cli.command,
        Some(Command::Worker(_) | Command::Guard | Command::Exec(_))
    ) {
        let _ = conlab::sys::cgroup::child::remove_stale();
    }
    // Many connections at once need many open files: take what the hard limit allows.
    let _ = conlab::sys::fds::raise_open_files_limit();
    let result = match cli.command {
        None => conlab::commands::tui::tui_command(&cli.tui),
        Some(Command::Tui(args)) => conlab::commands::tui::tui_command(&args),
        Some(Command::Run(args)) => conlab::commands::run::run_command(&args),
        Some(Command::Compare(args)) => conlab::commands::compare::compare_command(&args),
        Some(Command::Replay(args)) => conlab::commands::replay::replay_command(&args),
        Some(Command::Lesson(args)) => conlab::commands::lesson::lesson_command(&args),
        Some(Command::Shot(args)) => conlab::commands::shot::shot_command(&args),
        Some(Command::Serve(args)) => conlab::commands::serve::serve_command(&args),
        Some(Command::Classify(args)) => conlab::commands::classify::classify_command(&args),
        Some(Command::Fidelity(args)) => conlab::commands::fidelity::fidelity_command(&args),
        Some(Command::Watch(args)) => conlab::commands::watch::watch_command(&args),
        Some(Command::Worker(args)) => conlab::commands::worker::worker_command(&args),
        Some(Command::Step(args)) => conlab::commands::step::step_command(&args),
        Some(Command::Guard) => conlab::commands::guard::guard_command(),
        Some(Command::Exec(args)) => conlab::commands::exec::exec_command(&args),
        Some(Command::Completions(args)) => {
            conlab::commands::completions::completions_command(&args)
        }
        Some(Command::Man(args)) => conlab::commands::man::man_command(&args),
    };
    finish(result)
}

/// Print an error, set the exit code.
fn finish(result: Result<ExitCode, conlab::commands::error::CliError>) -> ExitCode {
    // Every group conlab started is stopped and reaped by now: let the guard go.
    conlab::sys::guard::shutdown();
    let mut code = match result {
        Ok(code) => code,
        Err(e) => {
            // Not `eprintln!`: stderr may be a terminal that hung up.
            let _ = writeln!(std::io::stderr(), "conlab: error: {e:#}");
            ExitCode::from(e.exit_code())
        }
    };
    // What was printed must have arrived: a lost result is a failure, said so.
    if let Err(why) = conlab::sys::out::finish() {
        let _ = writeln!(std::io::stderr(), "conlab: error: {why}");
        if code == ExitCode::SUCCESS {
            code = ExitCode::FAILURE;
        }
    }
    // Ended by SIGINT, SIGTERM or SIGHUP (after cancelling, reaping and restoring): say so
    // in the exit code, as the shell would (130, 143, 129).
    conlab::sys::signals::exit_code(code)
}
