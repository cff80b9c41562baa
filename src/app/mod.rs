//! The dashboard's state machine: [`App`] holds everything shown, [`App::update`] folds
//! one [`Msg`] into it and returns the side effects ([`Command`]) for the loop to perform.
//! No clock, terminal or thread in here: every fact arrives in a message.

mod cpu;
mod explain;
#[cfg(test)]
pub mod fixtures;
pub mod kernel;
pub mod keys;
pub mod lesson_mode;
mod msg;
mod read;
mod run;
mod settings;
pub mod stepping;
mod theme_choice;
pub mod timeline;

use std::collections::VecDeque;
use std::time::Duration;

pub use cpu::{CpuState, CpuTrace, HISTORY};
pub use explain::explain;
pub use msg::{Command, Msg, ReplayMsg, RunId};
pub use run::{ModelRun, RunConfig, RunState, WorkerState};
pub use settings::{CpythonAvail, MAX_WORKERS, NATIVE_LABEL, Settings};
pub use theme_choice::{ThemeChoice, ThemeName};

use crate::exec::{Event, Model, RunSpec};

const CANCELLING: &str = "cancelling…";

/// All the dashboard's state. Only [`App::update`] changes it; the rest of the program
/// reads it through the getters of `read.rs`.
#[derive(Debug)]
pub struct App {
    settings: Settings,
    /// The theme chosen (drawing resolves it into styles).
    theme: ThemeChoice,
    /// The selected model panel (index into [`Model::ALL`]).
    selected: usize,
    panels: [ModelRun; Model::ALL.len()],
    cpu: CpuState,
    help: bool,
    /// Presenter mode (`--present`, `P`): fewer, larger things for a projector.
    present: bool,
    /// The terminal's size (for mouse hit-testing).
    size: (u16, u16),
    /// The loop's clock at the last tick.
    now: Duration,
    /// The run in progress: its id and panel.
    active: Option<(RunId, usize)>,
    /// Runs waiting their turn (`a`).
    queue: VecDeque<RunSpec>,
    /// A classify sample is running: no run starts until it ends (one measurement at a
    /// time, or each skews the other).
    classifying: bool,
    next_id: RunId,
    /// The panel whose run finished last (the explanation talks about it).
    last_finished: Option<usize>,
    /// A short message for the status line (refusals, errors).
    notice: Option<String>,
    /// A short success or progress message (a screenshot saved, a replay finished);
    /// shown unlike a warning, gone at the next key.
    info: Option<String>,
    /// Lesson mode: the lesson and its step.
    lesson: Option<lesson_mode::LessonState>,
    /// Replaying a recording: keys that would start runs are refused.
    replaying: bool,
    /// The last `i` (classify) verdict, shown on the explanation line until a run.
    classified: Option<String>,
    /// The kernel's view of the run's threads (`k`).
    kernel: kernel::KernelView,
    /// After a run of several models, the panel to select: the one whose timeline
    /// teaches (threads: GIL turns or overlapped waits; processes for tiny tasks).
    teach: Option<usize>,
    /// The stepping screen (`t` on the race scene): the class schedules two threads'
    /// `counter += 1`, one bytecode instruction at a time.
    stepper: Option<crate::workload::scenes::stepper::Machine>,
}

pub(crate) fn index_of(m: Model) -> usize {
    Model::ALL.iter().position(|x| *x == m).unwrap_or(0)
}

impl App {
    pub fn new(settings: Settings, theme: impl Into<ThemeChoice>) -> Self {
        App {
            settings,
            theme: theme.into(),
            selected: 0,
            panels: Model::ALL.map(ModelRun::new),
            cpu: CpuState::default(),
            help: false,
            present: false,
            size: (80, 24),
            now: Duration::ZERO,
            active: None,
            queue: VecDeque::new(),
            classifying: false,
            next_id: 1,
            last_finished: None,
            notice: None,
            info: None,
            lesson: None,
            replaying: false,
            classified: None,
            kernel: kernel::KernelView::new(std::process::id()),
            teach: None,
            stepper: None,
        }
    }

    /// The CPU conlab is given (read from its cgroup when the dashboard opens): the CPU
    /// panel shows the quota beside the cores seen. Part of the starting view.
    pub fn set_cpus_given(&mut self, given: crate::core::CpusGiven) {
        self.cpu.given = Some(given);
    }

    /// Does time need to pass (live elapsed)? Otherwise the loop may sleep until a message.
    pub fn wants_ticks(&self) -> bool {
        self.active.is_some() || lesson_mode::waiting_for_quiet(self)
    }

    /// What model `m`'s finished run measured, as a verdict reads it (its time, what other
    /// programs took from it, its threads at once).
    pub fn evidence(&self, m: Model) -> Option<crate::experiment::verdict::Evidence> {
        lesson_mode::model_runs(self, m).map(|r| r.evidence)
    }

    pub fn is_running(&self) -> bool {
        self.active.is_some()
    }

    /// The panel the progress and timeline show: the running one, else the selected one
    /// if it ran, else the last one finished.
    pub fn focus(&self) -> usize {
        if let Some((_, i)) = self.active {
            return i;
        }
        if self.panels[self.selected].config.is_some() {
            return self.selected;
        }
        self.last_finished.unwrap_or(self.selected)
    }

    /// Worker rows the progress panel shows (the focused run's, else the settings').
    pub fn shown_workers(&self) -> usize {
        let p = &self.panels[self.focus()];
        if p.config.is_some() {
            p.workers.len()
        } else {
            self.settings.workers
        }
    }

    /// Fold one message into the state; the commands are for the loop to carry out.
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(k) => keys::on_key(self, k),
            Msg::Mouse(_) => Vec::new(),
            Msg::Click(panel) => keys::on_click(self, panel),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Msg::Select(panel) => {
                self.selected = panel.min(self.panels.len() - 1);
                Vec::new()
            }
            Msg::Help(on) => {
                self.help = on;
                Vec::new()
            }
            Msg::Present(on) => {
                self.present = on;
                Vec::new()
            }
            Msg::Theme(theme) => {
                self.theme = theme;
                Vec::new()
            }
            Msg::Tick(now) => {
                self.now = now;
                if let Some((_, i)) = self.active {
                    self.panels[i].tick(now);
                }
                lesson_mode::on_tick(self)
            }
            Msg::Cpu(s) => {
                if let Some((_, i)) = self.active {
                    self.panels[i].sample(&s);
                }
                let cmds = lesson_mode::on_cpu(self, &s);
                self.cpu.push(s);
                cmds
            }
            Msg::Run { id, at, ev } => {
                let Some((aid, i)) = self.active else {
                    return Vec::new();
                };
                if aid != id {
                    return Vec::new();
                }
                self.panels[i].apply(at, &ev);
                // A lost or stopped worker is said on the status line, with its reason
                // ("died (signal: 9 (SIGKILL))", "not responding for 4 s"), not only counted.
                match &ev.event {
                    Event::WorkerDied { reason, .. } => self.notice = Some(reason.clone()),
                    Event::Note { key, value }
                        if key == crate::exec::processes::NOT_RESPONDING
                            || key == crate::exec::processes::RESPONDING =>
                    {
                        self.notice = Some(value.clone())
                    }
                    _ => {}
                }
                if let Event::RunFinished(_) = ev.event {
                    self.active = None;
                    if self.notice.as_deref() == Some(CANCELLING) {
                        self.notice = None;
                    }
                    self.last_finished = Some(i);
                    if self.panels[i].state == RunState::Cancelled {
                        self.clear_queue();
                        self.teach = None;
                    }
                    let next = self.start_next();
                    if next.is_empty()
                        && let Some(t) = self.teach.take()
                        && self.panels[t].is_finished()
                    {
                        self.selected = t;
                    }
                    return next;
                }
                Vec::new()
            }
            Msg::Witnessed { id, model, witness } => {
                // The run has finished (its panel is no longer the active one): the
                // witness belongs to its model's panel, unless a newer run took it.
                let i = index_of(model);
                let newer = self.active.is_some_and(|(aid, a)| a == i && aid != id);
                if !newer && self.panels[i].is_finished() {
                    self.panels[i].witness = Some(*witness);
                }
                Vec::new()
            }
            Msg::RunEnded { id, result } => {
                let Some((aid, i)) = self.active else {
                    return Vec::new();
                };
                if aid != id {
                    return Vec::new();
                }
                let reason = result
                    .err()
                    .unwrap_or_else(|| "the run ended without a result".to_string());
                self.panels[i].state = RunState::Failed(reason.clone());
                self.notice = Some(reason);
                self.active = None;
                self.clear_queue();
                Vec::new()
            }
            Msg::Classified(r) => {
                self.classifying = false;
                match r {
                    Ok(line) => {
                        self.classified = Some(line);
                        self.notice = None;
                        self.info = None;
                    }
                    Err(e) => self.notice = Some(format!("classify failed: {e}")),
                }
                Vec::new()
            }
            Msg::ShotSaved(r) => {
                match r {
                    Ok(path) => {
                        let json = if self.lesson.is_some() {
                            ", .lesson.json"
                        } else {
                            ""
                        };
                        self.info = Some(format!("saved {} (+ .txt, .ans{json})", path.display()))
                    }
                    Err(e) => self.notice = Some(format!("screenshot not saved: {e}")),
                }
                Vec::new()
            }
            Msg::Kernel(s) => {
                self.kernel.apply(&s);
                Vec::new()
            }
            Msg::KernelUnavailable(why) => {
                self.kernel.on = false;
                self.kernel.unavailable = Some(why.clone());
                self.notice = Some(why);
                Vec::new()
            }
            Msg::Notice(line) => {
                self.notice = Some(line);
                Vec::new()
            }
            Msg::Replay(r) => self.on_replay(r),
            Msg::Lesson(l) => {
                lesson_mode::start(self, *l);
                Vec::new()
            }
            Msg::Quit => vec![Command::Quit],
        }
    }

    fn on_replay(&mut self, r: ReplayMsg) -> Vec<Command> {
        match r {
            ReplayMsg::Begin => {
                self.replaying = true;
                Vec::new()
            }
            ReplayMsg::Run { settings, model } => {
                self.settings = *settings;
                self.enqueue(&[model])
            }
            ReplayMsg::Finished => {
                self.info = Some("replay finished: q quits, s saves a screenshot".into());
                Vec::new()
            }
        }
    }

    fn clear_queue(&mut self) {
        for spec in self.queue.drain(..) {
            let p = &mut self.panels[index_of(spec.model)];
            if p.state == RunState::Queued {
                p.state = RunState::Idle;
            }
        }
    }

    /// Queue runs of `models` with the current settings, one after another.
    pub fn enqueue(&mut self, models: &[Model]) -> Vec<Command> {
        if self.is_running() {
            self.notice = Some("a run is in progress: wait, or press c to cancel it".into());
            return Vec::new();
        }
        if self.classifying {
            self.notice = Some(
                "classifying: the run starts after the 1-second sample (one measurement at a time)"
                    .into(),
            );
            return Vec::new();
        }
        self.notice = None;
        self.info = None;
        self.classified = None;
        let teaching = if self.settings.workload().kind() == crate::workload::WorkKind::Overhead {
            Model::Processes
        } else {
            Model::Threads
        };
        self.teach = (models.len() > 1 && models.contains(&teaching)).then(|| index_of(teaching));
        let workload = crate::workload::find(&self.settings.spec(Model::Sequential).workload);
        // A model the workload is not for is not run, and is no failure: its panel stays
        // idle and says which models the workload runs under.
        let runs = |m: &Model| workload.is_none_or(|w| w.models().contains(m));
        if let Some(w) = workload
            && !models.iter().any(runs)
        {
            self.notice = Some(format!(
                "{} runs under {} only: select its panel",
                w.name(),
                w.model_names()
            ));
            return Vec::new();
        }
        for &m in models.iter().filter(|m| runs(m)) {
            self.panels[index_of(m)].reset();
            self.panels[index_of(m)].state = RunState::Queued;
            self.queue.push_back(self.settings.spec(m));
        }
        self.start_next()
    }

    fn start_next(&mut self) -> Vec<Command> {
        let Some(spec) = self.queue.pop_front() else {
            return Vec::new();
        };
        let id = self.next_id;
        self.next_id += 1;
        self.active = Some((id, index_of(spec.model)));
        self.selected = index_of(spec.model);
        self.panels[index_of(spec.model)].offload = spec.asyncio.offload;
        vec![Command::Start {
            id,
            spec: Box::new(spec),
        }]
    }

    /// Cancel the run in progress and everything queued.
    pub fn cancel(&mut self) -> Vec<Command> {
        self.clear_queue();
        if self.is_running() {
            self.notice = Some(CANCELLING.into());
            vec![Command::Cancel]
        } else {
            Vec::new()
        }
    }

    /// Forget every result (the workload or size changed: answers no longer compare).
    pub fn reset_results(&mut self) {
        self.classified = None;
        for p in &mut self.panels {
            p.reset();
        }
        self.last_finished = None;
    }

    /// The sequential panel's elapsed, when it finished with the same workload and size.
    pub fn baseline_us(&self) -> Option<u64> {
        let s = &self.panels[0];
        (s.is_finished() && s.elapsed_us > 0).then_some(s.elapsed_us)
    }

    /// Speed-up of panel `i` against sequential.
    pub fn speedup(&self, i: usize) -> Option<f64> {
        let base = self.baseline_us()?;
        let p = &self.panels[i];
        (p.is_finished() && p.elapsed_us > 0).then(|| base as f64 / p.elapsed_us as f64)
    }

    /// Do all finished panels give the same answer? `None` when fewer than two finished.
    pub fn answers_agree(&self) -> Option<bool> {
        if self.settings.workload().answer_is_measured() {
            return None;
        }
        let answers: Vec<_> = self
            .panels
            .iter()
            .filter(|p| p.is_finished())
            .filter_map(|p| p.answer.as_ref().map(|a| &a.value))
            .collect();
        (answers.len() >= 2).then(|| answers.iter().all(|a| *a == answers[0]))
    }
}

#[cfg(test)]
mod tests;
