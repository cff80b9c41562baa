//! `conlab replay FILE` of a `conlab watch --record` recording: the watch screen, fed
//! from the file at the recording's own pace (or `--speed` times it); `q` stops, `s`
//! saves a screenshot, `+`/`-` zoom as in a live watch.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use super::app::{Action, WatchApp, WatchMsg};
use super::interactive::{Restore, save_shot, watch_msg};
use crate::core::LabError;
use crate::observe::monitor::CpuSample;
use crate::recording::record::{Entry, Recording};
use crate::tui::input::Input;
use crate::ui::theme::Theme;

const FRAME: Duration = Duration::from_millis(100);

/// The watch app a recording starts from (`None`: not a watch recording).
pub fn app_for(rec: &Recording, theme: Theme) -> Option<WatchApp> {
    rec.entries.iter().find_map(|e| match e {
        Entry::Watch {
            title,
            root,
            sample_ms,
            ..
        } => Some(WatchApp::new(
            theme.clone(),
            format!("{title} (replay)"),
            *root,
            *sample_ms,
        )),
        _ => None,
    })
}

/// Feed `app` every entry from `pos` on that is due by `now` (recording time); returns
/// the position of the first entry not yet due.
pub fn play_until(rec: &Recording, mut pos: usize, app: &mut WatchApp, now: Duration) -> usize {
    while let Some(e) = rec.entries.get(pos) {
        if Duration::from_micros(e.t_us()) > now {
            break;
        }
        match e {
            Entry::Kernel { sample, .. } => {
                app.update(WatchMsg::Kernel(sample.clone()));
            }
            Entry::Cpu { sample, .. } => {
                if let Ok(c) = serde_json::from_value::<CpuSample>(sample.clone()) {
                    app.update(WatchMsg::Cpu(c));
                }
            }
            Entry::Watch { .. } | Entry::Event { .. } => {}
        }
        pos += 1;
    }
    if pos >= rec.entries.len() {
        app.update(WatchMsg::ProgramExited);
    }
    pos
}

/// Play `rec` in the terminal at `speed` until `q`, Ctrl-C or a signal.
pub fn run(
    rec: &Recording,
    speed: f64,
    theme: Theme,
    shots: &std::path::Path,
) -> Result<ExitCode, LabError> {
    let Some(mut app) = app_for(rec, theme) else {
        return Err(LabError::Refused("not a watch recording".into()));
    };
    let (tx, rx) = crossbeam_channel::unbounded::<WatchMsg>();
    let signals = super::spawn_signals(tx.clone()).map_err(|e| anyhow::anyhow!("signals: {e}"))?;
    let mut terminal = ratatui::try_init().map_err(|e| anyhow::anyhow!("terminal: {e}"))?;
    let restore = Restore;
    let hangup = WatchMsg::Signal(signal_hook::consts::SIGHUP);
    let input = Input::spawn(tx.clone(), watch_msg, hangup)
        .map_err(|e| anyhow::anyhow!("could not start the input thread: {e}"))?;
    let t0 = Instant::now();
    let mut pos = 0;
    let result = loop {
        pos = play_until(rec, pos, &mut app, t0.elapsed().mul_f64(speed));
        if let Err(e) = terminal.draw(|f| super::draw::draw(f, &app)) {
            break Err(LabError::Failed(anyhow::anyhow!("drawing: {e}")));
        }
        let msg = match rx.recv_timeout(FRAME) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        };
        match app.update(msg) {
            Action::Quit => break Ok(()),
            Action::Screenshot => {
                let size = terminal.size().unwrap_or_default();
                app.update(save_shot(&app, size, shots));
            }
            Action::None => {}
        }
    };
    input.stop();
    drop(restore);
    if crate::sys::signals::hung_up() {
        // ratatui's drop would show the cursor and `eprintln!` (panic) on the dead terminal.
        std::mem::forget(terminal);
    }
    signals.close();
    result.map(|()| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{KernelSample, Split, ThreadInterval, TreeEvent};
    use crate::recording::record::Header;

    fn rec() -> Recording {
        let sample = |i: u64| KernelSample {
            planned_step: 0,
            throttled_ns: None,
            cost_ns: 0,
            at_ns: i * 5_000_000,
            interval_ns: 5_000_000,
            threads: vec![ThreadInterval {
                pid: 7,
                tid: 7,
                split: Split::of_interval(5_000_000, 0, 5_000_000, None, true),
            }],
            events: if i == 1 {
                vec![
                    TreeEvent::ProcessBorn {
                        pid: 7,
                        ppid: 1,
                        cmd: "python3 x.py".into(),
                    },
                    TreeEvent::ThreadBorn {
                        pid: 7,
                        tid: 7,
                        name: "python3".into(),
                    },
                ]
            } else {
                vec![]
            },
        };
        let mut entries = vec![Entry::Watch {
            t_us: 0,
            title: "python3 x.py".into(),
            root: 7,
            sample_ms: 5,
        }];
        for i in 1..=4 {
            entries.push(Entry::Kernel {
                t_us: i * 5_000,
                sample: sample(i),
            });
        }
        Recording {
            header: Header {
                conlab_recording: crate::recording::record::VERSION,
                writer: "test".into(),
                cores: 2,
            },
            entries,
        }
    }

    #[test]
    fn plays_what_is_due_and_says_when_it_is_over() {
        let r = rec();
        let mut app = app_for(&r, Theme::default()).expect("a watch recording");
        assert_eq!(app.title, "python3 x.py (replay)");
        let pos = play_until(&r, 0, &mut app, Duration::from_micros(10_000));
        assert_eq!(pos, 3, "the watch entry and two samples");
        assert_eq!(app.totals.samples, 2);
        assert!(app.finished.is_none());
        let pos = play_until(&r, pos, &mut app, Duration::from_secs(1));
        assert_eq!(pos, 5);
        assert_eq!(app.totals.samples, 4);
        assert_eq!(
            app.finished,
            Some(None),
            "the end of the recording is shown"
        );
    }

    #[test]
    fn a_dashboard_recording_is_not_a_watch_recording() {
        let mut r = rec();
        r.entries.remove(0);
        assert!(app_for(&r, Theme::default()).is_none());
    }

    #[test]
    fn a_watch_recording_survives_the_file_format() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("w.jsonl");
        let rec0 = rec();
        {
            let r = crate::recording::record::Recorder::create(&path).expect("create");
            r.watch("python3 x.py", 7, 5);
            for e in &rec0.entries[1..] {
                if let Entry::Kernel { sample, .. } = e {
                    r.kernel(sample);
                }
            }
        }
        let back = crate::recording::record::load(&path).expect("loads");
        let kernels: Vec<_> = back
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Kernel { sample, .. } => Some(sample.clone()),
                _ => None,
            })
            .collect();
        let want: Vec<_> = rec0.entries[1..]
            .iter()
            .filter_map(|e| match e {
                Entry::Kernel { sample, .. } => Some(sample.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(kernels, want);
        assert!(app_for(&back, Theme::default()).is_some());
    }
}
