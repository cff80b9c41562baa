//! The watch screen's state: everything it shows arrives in a [`WatchMsg`] (kernel samples,
//! CPU samples, keys, the program's exit); `update` never touches the terminal, the clock
//! or a thread, so it is tested with fixed messages.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::observe::lanes::Lanes;
use crate::observe::monitor::CpuSample;
use crate::observe::{KernelSample, TreeEvent, TreeTotals};
use crate::ui::theme::Theme;

/// Samples in a process's CPU window (0.5 s at the default 5 ms).
pub const CPU_WINDOW: usize = 100;
/// Zoom levels: samples per column.
pub const ZOOMS: [u64; 8] = [1, 2, 4, 10, 20, 50, 100, 200];

/// What the watch screen reacts to.
#[derive(Debug)]
pub enum WatchMsg {
    Kernel(KernelSample),
    Cpu(CpuSample),
    Key(KeyEvent),
    Resize,
    /// The program watch started has exited (not yet reaped).
    ProgramExited,
    /// SIGINT, SIGTERM or SIGHUP reached conlab.
    Signal(i32),
    /// Watching is over: the program was reaped with this exit code (`None`: unknown, or
    /// an attached process), and these samples were still queued (they count in the
    /// totals only).
    Ended {
        exit_code: Option<i32>,
        late: Vec<KernelSample>,
    },
    /// The screenshot `s` asked for was saved (the SVG's path), or why not.
    ShotSaved(Result<PathBuf, String>),
    /// CPython's GIL sampler reported (once the program ended).
    Gil(Box<super::gil::GilReport>),
}

/// What the loop must do after an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// Stop watching (and stop the program if watch started it).
    Quit,
    /// Save what the screen shows now (`s`).
    Screenshot,
}

pub struct WatchApp {
    pub theme: Theme,
    /// The program's command line, or `pid N`.
    pub title: String,
    pub root: u32,
    /// The asked interval (`--sample-ms`).
    pub sample_ms: u64,
    /// The share of one core the sampler keeps to (`--budget`), when known.
    pub budget: Option<f64>,
    pub totals: TreeTotals,
    pub lanes: Lanes,
    pub cores: Vec<f32>,
    /// Per process: (on-CPU ns, interval ns) of its last [`CPU_WINDOW`] samples.
    pub cpu_window: BTreeMap<u32, VecDeque<(u64, u64)>>,
    /// Index into [`ZOOMS`].
    pub zoom: usize,
    /// First lane shown.
    pub scroll: usize,
    /// The program has exited (with this code, once reaped).
    pub finished: Option<Option<i32>>,
    /// A line for the footer (a screenshot saved, or why not), until the next key.
    pub note: Option<String>,
    /// CPython's GIL sampler: what the screen says about it.
    pub gil: super::gil_panel::GilView,
}

impl WatchApp {
    pub fn new(theme: Theme, title: String, root: u32, sample_ms: u64) -> Self {
        WatchApp {
            theme,
            title,
            root,
            sample_ms,
            budget: None,
            totals: TreeTotals::default(),
            lanes: Lanes::default(),
            cores: Vec::new(),
            cpu_window: BTreeMap::new(),
            zoom: 0,
            scroll: 0,
            finished: None,
            note: None,
            gil: super::gil_panel::GilView::None,
        }
    }

    pub fn update(&mut self, msg: WatchMsg) -> Action {
        match msg {
            WatchMsg::Kernel(s) => {
                self.kernel(&s);
                Action::None
            }
            WatchMsg::Cpu(c) => {
                self.cores = c.cores;
                Action::None
            }
            WatchMsg::Key(k) => self.key(k),
            WatchMsg::Resize => Action::None,
            WatchMsg::ProgramExited => {
                self.finished.get_or_insert(None);
                Action::None
            }
            WatchMsg::Signal(_) => Action::Quit,
            WatchMsg::Ended { exit_code, late } => {
                for s in &late {
                    self.totals.apply(s);
                }
                self.finished = Some(exit_code);
                Action::None
            }
            WatchMsg::Gil(r) => {
                self.gil = super::gil_panel::GilView::Reported(r);
                Action::None
            }
            WatchMsg::ShotSaved(r) => {
                self.note = Some(match r {
                    Ok(path) => format!("✓ saved {}", path.display()),
                    Err(e) => format!("screenshot not saved: {e}"),
                });
                Action::None
            }
        }
    }

    /// The share of one core the sampler keeps to (`--budget`), shown in the lanes' title.
    pub fn with_budget(mut self, budget: Option<f64>) -> Self {
        self.budget = budget;
        self
    }

    /// What was counted, for the summary once the screen is closed.
    pub fn into_totals(self) -> TreeTotals {
        self.totals
    }

    fn kernel(&mut self, s: &KernelSample) {
        self.totals.apply(s);
        self.lanes.apply(s);
        let mut per: BTreeMap<u32, u64> = BTreeMap::new();
        for t in &s.threads {
            *per.entry(t.pid).or_default() += t.split.on_cpu;
        }
        for e in &s.events {
            if let TreeEvent::ProcessExited { pid } = e {
                self.cpu_window.remove(pid);
            }
        }
        for (pid, on) in per {
            let w = self.cpu_window.entry(pid).or_default();
            w.push_back((on, s.interval_ns));
            if w.len() > CPU_WINDOW {
                w.pop_front();
            }
        }
    }

    fn key(&mut self, k: KeyEvent) -> Action {
        self.note = None;
        let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            _ if ctrl_c => return Action::Quit,
            KeyCode::Char('q') | KeyCode::Esc => return Action::Quit,
            KeyCode::Char('s') => return Action::Screenshot,
            KeyCode::Char('+') | KeyCode::Char('=') => self.zoom = self.zoom.saturating_sub(1),
            KeyCode::Char('-') => self.zoom = (self.zoom + 1).min(ZOOMS.len() - 1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll = (self.scroll + 1).min(self.lanes.lanes.len().saturating_sub(1))
            }
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
        Action::None
    }

    /// Samples per column at the current zoom.
    pub fn samples_per_column(&self) -> u64 {
        ZOOMS[self.zoom.min(ZOOMS.len() - 1)]
    }

    /// A process's CPU over its window, in % of one core (`None` before its first sample).
    pub fn process_cpu(&self, pid: u32) -> Option<f64> {
        let w = self.cpu_window.get(&pid)?;
        let (on, dt) = w
            .iter()
            .fold((0u64, 0u64), |(a, b), (on, dt)| (a + on, b + dt));
        (dt > 0).then(|| on as f64 / dt as f64 * 100.0)
    }

    /// The interval between samples now, in ms: the asked one, or the whole multiple of
    /// it the sampler stretched to (read off the last sample, so replays show it too).
    pub fn interval_ms(&self) -> u64 {
        self.totals.interval_ms(self.sample_ms)
    }

    /// Seconds since watching started (the last sample's time: no clock read here).
    pub fn elapsed_s(&self) -> f64 {
        self.totals.at_ns as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Split, ThreadInterval};

    fn app() -> WatchApp {
        WatchApp::new(Theme::default(), "python3 x.py".into(), 10, 5)
    }

    fn sample(at: u64, on: u64) -> KernelSample {
        KernelSample {
            planned_step: 0,
            throttled_ns: None,
            cost_ns: 0,
            at_ns: at,
            interval_ns: 5_000_000,
            threads: vec![ThreadInterval {
                pid: 10,
                tid: 10,
                split: Split {
                    on_cpu: on,
                    lock: 5_000_000 - on,
                    span: 5_000_000,
                    ..Split::default()
                },
            }],
            events: if at == 0 {
                vec![
                    TreeEvent::ProcessBorn {
                        pid: 10,
                        ppid: 1,
                        cmd: "python3 x.py".into(),
                    },
                    TreeEvent::ThreadBorn {
                        pid: 10,
                        tid: 10,
                        name: "python3".into(),
                    },
                ]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn process_cpu_is_a_window_average() {
        let mut a = app();
        assert_eq!(a.process_cpu(10), None);
        for i in 0..(CPU_WINDOW as u64 + 20) {
            // Old samples fully on a CPU, the last CPU_WINDOW at a quarter.
            let on = if i < 20 { 5_000_000 } else { 1_250_000 };
            a.update(WatchMsg::Kernel(sample(i * 5_000_000, on)));
        }
        let cpu = a.process_cpu(10).expect("has samples");
        assert!((cpu - 25.0).abs() < 1e-9, "{cpu}");
        assert!((a.elapsed_s() - 0.595).abs() < 1e-9);
    }

    #[test]
    fn keys_quit_and_zoom() {
        let mut a = app();
        let key = |c| WatchMsg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        assert_eq!(a.update(key('-')), Action::None);
        assert_eq!(a.samples_per_column(), 2);
        for _ in 0..20 {
            a.update(key('-'));
        }
        assert_eq!(a.samples_per_column(), 200);
        a.update(key('+'));
        assert_eq!(a.samples_per_column(), 100);
        assert_eq!(a.update(key('q')), Action::Quit);
        assert_eq!(
            a.update(WatchMsg::Key(KeyEvent::new(
                KeyCode::Char('c'),
                KeyModifiers::CONTROL
            ))),
            Action::Quit
        );
        assert_eq!(a.update(WatchMsg::Signal(15)), Action::Quit);
    }

    #[test]
    fn exited_processes_leave_the_cpu_window() {
        let mut a = app();
        a.update(WatchMsg::Kernel(sample(0, 5_000_000)));
        assert!(a.process_cpu(10).is_some());
        a.update(WatchMsg::Kernel(KernelSample {
            events: vec![TreeEvent::ProcessExited { pid: 10 }],
            ..KernelSample::default()
        }));
        assert_eq!(a.process_cpu(10), None);
        a.update(WatchMsg::ProgramExited);
        assert_eq!(a.finished, Some(None));
    }

    #[test]
    fn the_end_counts_late_samples_in_the_totals_only() {
        let mut a = app().with_budget(Some(0.02));
        assert_eq!(a.budget, Some(0.02));
        a.update(WatchMsg::Kernel(sample(0, 5_000_000)));
        let lanes = a.lanes.clone();
        a.update(WatchMsg::Ended {
            exit_code: Some(3),
            late: vec![sample(5_000_000, 5_000_000), sample(10_000_000, 0)],
        });
        assert_eq!(a.finished, Some(Some(3)));
        assert_eq!(a.totals.samples, 3);
        assert_eq!(a.lanes, lanes, "the lanes stop where the screen stopped");
        assert_eq!(a.into_totals().samples, 3);
    }

    #[test]
    fn a_saved_screenshot_is_noted_until_the_next_key() {
        let mut a = app();
        a.update(WatchMsg::ShotSaved(Ok(PathBuf::from("shots/w.svg"))));
        assert_eq!(a.note.as_deref(), Some("✓ saved shots/w.svg"));
        a.update(WatchMsg::ShotSaved(Err("disk full".into())));
        assert_eq!(a.note.as_deref(), Some("screenshot not saved: disk full"));
        a.update(WatchMsg::Key(KeyEvent::new(
            KeyCode::Char('x'),
            KeyModifiers::NONE,
        )));
        assert_eq!(a.note, None);
    }
}
