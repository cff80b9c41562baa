//! `conlab replay FILE`: play a recording in the dashboard at its own pace; `--trace`
//! first writes the whole recording as a trace for Perfetto.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use crate::app::{App, Msg, ReplayMsg, Settings};
use crate::cli::ReplayArgs;
use crate::commands::error::CliError;
use crate::recording::replay::Player;
use crate::tui::{self, Extras};
use crate::ui::theme;

/// Check `--speed`, load the recording, open the dashboard in replay mode.
pub fn replay_command(args: &ReplayArgs) -> Result<ExitCode, CliError> {
    if !(args.speed.is_finite() && (0.05..=100.0).contains(&args.speed)) {
        return Err(CliError::Usage(format!(
            "invalid --speed: {} (allowed 0.05..=100)",
            args.speed
        )));
    }
    let rec =
        crate::recording::record::load(&args.file).map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(path) = &args.trace {
        // Kernel samples are not trace tracks yet: the trace would be empty.
        if rec
            .entries
            .iter()
            .any(|e| matches!(e, crate::recording::record::Entry::Watch { .. }))
        {
            return Err(CliError::Usage(format!(
                "invalid --trace: {} is a `conlab watch` recording, whose kernel samples a \
                 trace cannot show yet (it would be empty); replay it without --trace",
                args.file.display()
            )));
        }
        let note = write_trace(&rec, path)?;
        eprintln!("{note}");
        // The trace was the job when there is no terminal to play it in.
        if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if let Some(code) = tui::need_terminal("primes") {
        return Ok(code);
    }
    // A `conlab watch --record` recording plays in the watch screen.
    if crate::watch::playback::app_for(&rec, crate::ui::theme::Theme::default()).is_some() {
        let theme = theme::from_env(args.theme);
        let shots = std::path::Path::new("screenshots");
        return Ok(crate::watch::playback::run(&rec, args.speed, theme, shots)?);
    }
    let mut app = App::new(
        Settings::new("primes", 0, 1, true, 5.0),
        theme::from_env(args.theme),
    );
    app.update(Msg::Present(args.present));
    app.update(Msg::Replay(ReplayMsg::Begin));
    Ok(tui::open(
        app,
        Extras {
            player: Some((Player::new(rec), args.speed)),
            ..Extras::default()
        },
    )?)
}

/// The whole recording as a trace in `path`; returns what it holds, for stderr.
fn write_trace(rec: &crate::recording::record::Recording, path: &Path) -> Result<String, CliError> {
    let file = crate::sys::atomic_file::AtomicFile::create(path).map_err(|e| {
        CliError::Usage(format!(
            "invalid --trace: cannot write {}: {e}",
            path.display()
        ))
    })?;
    let lost = |e: std::io::Error| {
        CliError::Other(anyhow::anyhow!(
            "cannot write trace {}: {e}",
            path.display()
        ))
    };
    // Whole or not at all: the trace is renamed into place once complete.
    let (file, summary) = crate::recording::trace::from_recording(rec, file).map_err(lost)?;
    file.commit().map_err(lost)?;
    Ok(crate::recording::capture::trace_note(path, summary))
}
