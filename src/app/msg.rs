//! What travels on the dashboard's one channel ([`Msg`]) and what `update` asks the
//! event loop to do ([`Command`]).

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::exec::{Model, RunSpec, Stamped};
use crate::observe::monitor::CpuSample;

use super::{Settings, ThemeChoice};

/// Identifies one run, so late events of a cancelled run are recognised and ignored.
pub type RunId = u64;

/// Everything the dashboard learns, each with its time when it matters.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// A mouse event as the terminal gave it: the loop locates it with drawing's layout
    /// (`ui::hit_test`) and sends [`Msg::Click`] instead; `update` ignores it.
    Mouse(MouseEvent),
    /// A left click, located: the model panel under it, if any.
    Click(Option<usize>),
    Resize(u16, u16),
    /// Select model panel `i` (index into [`Model::ALL`]), as a click on it does.
    Select(usize),
    /// Show (`true`) or close the help overlay.
    Help(bool),
    /// Presenter mode on or off (`--present`; `P` toggles it).
    Present(bool),
    /// Draw with this theme.
    Theme(ThemeChoice),
    /// Time passes: the loop's clock (since the dashboard started).
    Tick(Duration),
    Cpu(CpuSample),
    /// An engine event of run `id`; `at` is the loop's clock when it was sent.
    Run {
        id: RunId,
        at: Duration,
        ev: Stamped,
    },
    /// What a witness saw of run `id` of `model` (sent right after its last event, when
    /// the next queued run may already have started): interference, concurrency.
    Witnessed {
        id: RunId,
        model: Model,
        witness: Box<crate::observe::witness::RunWitness>,
    },
    /// Run `id`'s thread ended; `Err` when it could not start (bad size, ...).
    RunEnded {
        id: RunId,
        result: Result<(), String>,
    },
    /// The classify sample's one-line verdict (or why it failed).
    Classified(Result<String, String>),
    /// The screenshot `s` asked for was saved (the SVG's path), or why not.
    ShotSaved(Result<PathBuf, String>),
    /// A sample of the kernel's view of conlab's process tree (`k`).
    Kernel(Box<crate::observe::KernelSample>),
    /// The kernel's view could not start: why.
    KernelUnavailable(String),
    /// A line for the status bar from outside the app.
    Notice(String),
    /// A recording being played back.
    Replay(ReplayMsg),
    /// Open a lesson at its first step.
    Lesson(Box<crate::experiment::lesson::Lesson>),
    /// Quit from outside (SIGTERM / SIGINT).
    Quit,
}

/// A side effect `update` asks the loop to perform.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Start a run on its own thread (the previous one has finished).
    Start { id: RunId, spec: Box<RunSpec> },
    /// Cancel the current run.
    Cancel,
    /// Save the current frame into `screenshots/` (SVG, text, ANSI).
    Screenshot,
    /// Sample the current workload on one thread: waiting or computing?
    Classify(Box<RunSpec>),
    /// Start (`true`) or stop sampling the kernel's view of conlab's process tree.
    Kernel(bool),
    /// Leave: cancel the run, join it, restore the terminal.
    Quit,
}

/// What a recording's playback tells the app.
#[derive(Clone, Debug)]
pub enum ReplayMsg {
    /// Playback begins: keys that would start runs or change settings are refused.
    Begin,
    /// The recording's next run: queue it with these settings as the dashboard would. The
    /// `Start` command that comes back is not carried out — the recorded events stand in
    /// for the run — but its id tells the player where to send them.
    Run {
        settings: Box<Settings>,
        model: Model,
    },
    /// Everything recorded has been played.
    Finished,
}
