//! Feeding a recording back into the dashboard's [`App`]: each recorded run is queued as
//! the dashboard would queue it, its events and the CPU samples arrive at their recorded
//! times. Pure: the same recording always yields the same state, and every change reaches
//! the app as a [`Msg`] through `App::update`.

use std::collections::HashMap;
use std::time::Duration;

use crate::app::{App, Command, Msg, ReplayMsg, RunId, Settings};
use crate::exec::Event;
use crate::observe::monitor::CpuSample;
use crate::recording::record::{Entry, Recording};

/// Plays a recording into an app, step by step or all at once.
pub struct Player {
    rec: Recording,
    pos: usize,
    /// Recording run number → the id the app gave that run.
    ids: HashMap<u32, RunId>,
}

impl Player {
    pub fn new(rec: Recording) -> Self {
        Player {
            rec,
            pos: 0,
            ids: HashMap::new(),
        }
    }

    /// When the next entry is due (recording time), if any is left.
    pub fn next_due(&self) -> Option<Duration> {
        self.rec
            .entries
            .get(self.pos)
            .map(|e| Duration::from_micros(e.t_us()))
    }

    /// Recording time of the last entry.
    pub fn end(&self) -> Duration {
        Duration::from_micros(self.rec.entries.last().map_or(0, Entry::t_us))
    }

    pub fn finished(&self) -> bool {
        self.pos >= self.rec.entries.len()
    }

    /// Apply every entry due by `now` (recording time), then tick the app to `now`.
    pub fn play_until(&mut self, app: &mut App, now: Duration) {
        while let Some(entry) = self.rec.entries.get(self.pos) {
            let t = Duration::from_micros(entry.t_us());
            if t > now {
                break;
            }
            app.update(Msg::Tick(t));
            match entry {
                Entry::Cpu { sample, .. } => {
                    if let Ok(s) = serde_json::from_value::<CpuSample>(sample.clone()) {
                        app.update(Msg::Cpu(s));
                    }
                }
                // A watch recording's entries: `conlab replay` plays those in the watch screen.
                Entry::Watch { .. } | Entry::Kernel { .. } => {}
                Entry::Event { run, event, .. } => {
                    if let Event::RunStarted(r) = &event.event {
                        let mut settings = Settings::new(
                            &r.workload,
                            r.size,
                            r.workers,
                            r.gil,
                            r.switch_interval_ms,
                        );
                        settings.tasks = r.tasks;
                        let replay = ReplayMsg::Run {
                            settings: Box::new(settings),
                            model: r.model,
                        };
                        // The Start command is not carried out — the recorded events stand
                        // in for the run — but its id is where they go.
                        for cmd in app.update(Msg::Replay(replay)) {
                            if let Command::Start { id, .. } = cmd {
                                self.ids.insert(*run, id);
                            }
                        }
                    }
                    if let Some(&id) = self.ids.get(run) {
                        app.update(Msg::Run {
                            id,
                            at: t,
                            ev: event.clone(),
                        });
                    }
                }
            }
            self.pos += 1;
        }
        app.update(Msg::Tick(now));
    }

    /// Apply the whole recording.
    pub fn play_all(&mut self, app: &mut App) {
        let end = self.end();
        self.play_until(app, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Model, Stamped};
    use crate::exec::{RunEnd, RunStart};
    use crate::recording::record::Header;
    use crate::ui::theme::Theme;
    use crate::workload::{Answer, TaskOutput};

    fn rec() -> Recording {
        let ev = |t_us: u64, run: u32, event: Event| Entry::Event {
            t_us,
            run,
            event: Stamped { at_us: t_us, event },
        };
        let started = |model| {
            Event::RunStarted(RunStart {
                workload: "primes".into(),
                model,
                workers: 2,
                tasks: 1,
                gil: true,
                switch_interval_ms: 5.0,
                size: 1000,
            })
        };
        let finished = |us| {
            Event::RunFinished(RunEnd {
                answer: Some(Answer {
                    value: "168".into(),
                    meaning: "primes below 1,000".into(),
                }),
                elapsed_us: us,
                cpu_us: us,
                failed: 0,
                cancelled: false,
            })
        };
        let task = |worker| Event::TaskFinished {
            task: 0,
            worker,
            result: Ok(TaskOutput::value(168)),
            wall_us: 10,
            cpu_us: 10,
        };
        Recording {
            header: Header {
                conlab_recording: 1,
                writer: "test".into(),
                cores: 2,
            },
            entries: vec![
                Entry::Cpu {
                    t_us: 0,
                    sample: serde_json::json!({"cores": [10.0, 20.0], "tree_cpu": 5.0, "tree_mem": 1000, "tree_procs": 1}),
                },
                ev(10, 0, started(Model::Sequential)),
                ev(20, 0, task(0)),
                ev(30, 0, finished(2000)),
                ev(40, 1, started(Model::Processes)),
                ev(50, 1, task(1)),
                ev(60, 1, finished(1000)),
            ],
        }
    }

    #[test]
    fn replay_fills_the_recorded_panels() {
        let mut app = App::new(Settings::new("sleep", 0, 1, false, 5.0), Theme::default());
        Player::new(rec()).play_all(&mut app);
        assert_eq!(app.settings().workload().name(), "primes");
        assert_eq!(app.speedup(2), Some(2.0));
        assert_eq!(app.answers_agree(), Some(true));
        assert!(!app.is_running());
        assert_eq!(app.cpu().cores(), 2);
    }

    #[test]
    fn step_by_step_stops_at_the_given_time() {
        let mut app = App::new(Settings::new("primes", 0, 2, true, 5.0), Theme::default());
        let mut p = Player::new(rec());
        p.play_until(&mut app, Duration::from_micros(25));
        assert!(app.is_running(), "the first run is mid-way");
        assert_eq!(p.next_due(), Some(Duration::from_micros(30)));
        p.play_until(&mut app, Duration::from_secs(1));
        assert!(p.finished());
        assert!(!app.is_running());
    }
}
