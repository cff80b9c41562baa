//! Lesson mode: the dashboard steps through a [`Lesson`]; each step sets the scene, the
//! audience guesses the kind of answer the question asks for (the fastest model, yes or
//! no, a time, a number, a choice: keys 1..), Enter runs it, and the measured answer is
//! revealed first, then whether the guess (and the lesson's written text) matched it.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Command, Settings, index_of};
use crate::exec::Model;
use crate::experiment::judge::{ModelRuns, judge};
use crate::experiment::lesson::{Lesson, Step};
use crate::experiment::room;
use crate::experiment::verdict::Evidence;
use crate::observe::Interference;

/// Where a lesson is.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonState {
    pub lesson: Lesson,
    pub step: usize,
    /// The audience's guess before the run: an index into the step's options.
    pub guess: Option<usize>,
    /// Waiting for a quiet moment before running the step again (`w`).
    pub quiet: Option<QuietWait>,
    /// Hands counted for each answer of the step (`v`, then a key per answer).
    pub hands: Vec<u32>,
    /// Counting hands: the keys 1.. add a hand to their answer.
    pub counting: bool,
    /// The answer the last hand went to (Backspace takes it back).
    pub last_hand: Option<usize>,
    /// What each step left when the class moved on (index: step).
    pub records: Vec<Option<StepRecord>>,
    /// The end-of-lesson summary is shown (`n` after the last step).
    pub summary: bool,
}

/// What a step left: the room's hands and guess, and what it measured.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRecord {
    pub hands: Vec<u32>,
    pub guess: Option<usize>,
    pub verdict: Option<Verdict>,
}

/// How long `w` waits for other programs to quiet down before running anyway.
pub const QUIET_PATIENCE: Duration = Duration::from_secs(60);
/// How long the machine must stay quiet before the step runs.
pub const QUIET_FOR: Duration = Duration::from_secs(2);

/// Waiting for other programs to leave the cores alone (`w` after an inconclusive step).
#[derive(Clone, Debug, PartialEq)]
pub struct QuietWait {
    /// The loop's clock when waiting gives up and runs anyway: set at the first tick after
    /// `w` (the clock stands still while nothing runs, so `now` at the key is stale).
    pub until: Option<Duration>,
    /// Since when the machine has been quiet, if it is now.
    pub quiet_since: Option<Duration>,
    /// Cores other programs kept busy at the last CPU sample.
    pub others: Option<f64>,
}

impl LessonState {
    pub fn current(&self) -> &Step {
        &self.lesson.steps[self.step.min(self.lesson.steps.len() - 1)]
    }

    /// The room's guess: the key pressed, else the answer most hands went up for.
    pub fn room_guess(&self) -> Option<usize> {
        self.guess.or_else(|| room::leader(&self.hands))
    }

    /// The guess, as its option's words.
    pub fn guess_text(&self) -> Option<String> {
        self.current().options().get(self.room_guess()?).cloned()
    }

    /// Were any hands counted for this step?
    pub fn any_hands(&self) -> bool {
        self.hands.iter().any(|&h| h > 0)
    }

    /// The end-of-lesson summary: each step's question, the room's guess, the
    /// measurement and whether the room was right. The current step as it stands now
    /// (its hands, its guess, `now`: what it measured, if it ran), the others as the
    /// class left them.
    pub fn summaries(&self, now: Option<&Verdict>) -> Vec<room::StepSummary> {
        self.lesson
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let r = self.records.get(i).and_then(Option::as_ref);
                let kept = r.and_then(|r| r.verdict.as_ref());
                if i == self.step {
                    return room::summarize(i, step, &self.hands, self.guess, now.or(kept));
                }
                room::summarize(
                    i,
                    step,
                    r.map_or(&[][..], |r| &r.hands),
                    r.and_then(|r| r.guess),
                    kept,
                )
            })
            .collect()
    }
}

/// Open `lesson` at its first step.
pub fn start(app: &mut App, lesson: Lesson) {
    let n = lesson.steps.len();
    app.lesson = Some(LessonState {
        lesson,
        step: 0,
        guess: None,
        quiet: None,
        hands: Vec::new(),
        counting: false,
        last_hand: None,
        records: vec![None; n],
        summary: false,
    });
    enter_step(app);
}

/// The settings a step runs with, from the dashboard's `current` ones (workers when the
/// step sets none, the CPython interpreter found): the step's scene, and a notice when
/// it asks for real CPython that is not there (the simulation runs instead).
pub fn settings_for(step: &Step, current: &Settings) -> (Settings, Option<String>) {
    let mut s = Settings::new(
        step.workload.get_ref(),
        step.size.unwrap_or(0),
        step.workers.unwrap_or(current.workers),
        step.gil,
        step.switch_interval_ms
            .as_ref()
            .map_or(5.0, |ms| *ms.get_ref()),
    );
    s.tasks = step.tasks.unwrap_or(0);
    s.variant = step.variant.clone();
    s.flags.split = step.split;
    s.cpython = current.cpython.clone();
    // The real interpreter when the step asks for it and it is there; else the
    // simulation, and the status line says why.
    let mut notice = None;
    if step.runtime == Some(crate::core::Runtime::Cpython)
        && let Err(why) = s.switch_runtime()
    {
        notice = Some(format!(
            "this step runs real CPython, but {why}: running the simulation"
        ));
    }
    (s, notice)
}

/// Apply the current step's scene to the settings and clear old results.
fn enter_step(app: &mut App) {
    let Some(l) = &mut app.lesson else { return };
    l.quiet = None;
    l.counting = false;
    l.last_hand = None;
    l.summary = false;
    // Back at a step the room already guessed: its hands and guess come back with it.
    let kept = l.records.get(l.step).cloned().flatten();
    l.guess = kept.as_ref().and_then(|r| r.guess);
    l.hands = kept.map(|r| r.hands).unwrap_or_default();
    l.hands.resize(l.current().options().len(), 0);
    let step = l.current().clone();
    let (s, notice) = settings_for(&step, &app.settings);
    app.settings = s;
    app.reset_results();
    app.selected = step.models.first().map_or(0, |m| index_of(*m));
    app.notice = notice;
}

/// The finished models of the step with their elapsed µs, in the step's order.
fn finished(app: &App, step: &Step) -> Vec<(Model, u64)> {
    step.models
        .iter()
        .filter_map(|&m| {
            let p = &app.panels[index_of(m)];
            (p.is_finished() && p.elapsed_us > 0).then_some((m, p.elapsed_us))
        })
        .collect()
}

/// The fastest finished model among the step's, with its elapsed µs.
pub fn fastest(app: &App) -> Option<(Model, u64)> {
    let step = app.lesson.as_ref()?.current();
    finished(app, step).into_iter().min_by_key(|&(_, us)| us)
}

/// Has every model of the step finished (so the answer can be revealed)?
pub fn step_done(app: &App) -> bool {
    let Some(l) = &app.lesson else { return false };
    !app.is_running()
        && l.current()
            .models
            .iter()
            .all(|m| app.panels[index_of(*m)].is_finished())
}

/// What the run measured, put against the question: judged in
/// [`crate::experiment::judge`], the same as `conlab lesson --auto`.
pub use crate::experiment::judge::StepVerdict as Verdict;

/// What one finished model of the step measured, as the judge reads it: its time, the
/// cores other programs kept busy meanwhile (the CPU monitor's samples), its answer and
/// its workers' busy times.
pub(crate) fn model_runs(app: &App, m: Model) -> Option<ModelRuns> {
    let p = &app.panels[index_of(m)];
    if !p.is_finished() || p.elapsed_us == 0 {
        return None;
    }
    let wall = p.elapsed_us as f64 / 1e6;
    let mut evidence = Evidence::times(m, vec![wall]);
    evidence.interference = p
        .witness
        .as_ref()
        .map(|w| w.interference)
        .unwrap_or_else(|| Interference::of(wall, p.others_busy().map(|o| o * wall), None));
    evidence.concurrency = p.witness.as_ref().map(|w| w.concurrency.clone());
    evidence.gil = app.settings.gil;
    evidence.waiting = match p.witness.as_ref().and_then(|w| w.share.as_ref()) {
        Some(share) => crate::experiment::verdict::waits(share),
        None => p.cpu_us.is_some_and(|cpu| (cpu as f64 / 1e6) < 0.5 * wall),
    };
    Some(ModelRuns {
        evidence,
        answer: p
            .answer
            .as_ref()
            .map(|a| (a.value.clone(), a.meaning.clone())),
        busy_s: p.busy_us.iter().map(|us| *us as f64 / 1e6).collect(),
    })
}

/// The measured answer of the step, once it is done.
pub fn verdict(app: &App) -> Option<Verdict> {
    if !step_done(app) {
        return None;
    }
    let step = app.lesson.as_ref()?.current();
    let runs: Vec<ModelRuns> = step
        .models
        .iter()
        .filter_map(|&m| model_runs(app, m))
        .collect();
    judge(step, &runs)
}

/// Keep what the current step left (its hands, guess and measurement) for the summary;
/// a step left without a new run keeps the measurement it had.
fn record_step(app: &mut App) {
    let measured = verdict(app);
    let Some(l) = &mut app.lesson else { return };
    let step = l.step;
    let Some(slot) = l.records.get_mut(step) else {
        return;
    };
    let verdict = measured.or_else(|| slot.as_ref().and_then(|r| r.verdict.clone()));
    *slot = Some(StepRecord {
        hands: l.hands.clone(),
        guess: l.guess,
        verdict,
    });
}

/// The summary's keys: `p` or Esc goes back to the last step; nothing runs.
fn on_summary_key(app: &mut App, k: KeyEvent) -> Option<Vec<Command>> {
    match k.code {
        KeyCode::Char('p') | KeyCode::PageUp | KeyCode::Esc => {
            if let Some(l) = &mut app.lesson {
                l.summary = false;
            }
            Some(Vec::new())
        }
        KeyCode::Char('n' | 'a' | 'v' | 'w' | '0'..='9') | KeyCode::PageDown | KeyCode::Enter => {
            app.notice = Some(
                "the lesson is over: s saves this summary, p goes back to the last step, q quits"
                    .into(),
            );
            Some(Vec::new())
        }
        _ => None,
    }
}

/// Counting hands (`v`): each key 1.. adds a hand to its answer, Backspace takes the
/// last one back, 0 clears them, ⏎ stops counting and runs the step, v or Esc stops.
fn on_counting_key(app: &mut App, k: KeyEvent) -> Option<Vec<Command>> {
    let l = app.lesson.as_mut()?;
    let n = l.current().options().len();
    match k.code {
        KeyCode::Char(c @ '1'..='9') => {
            let i = c as usize - '1' as usize;
            if i >= n {
                app.notice = Some(format!("the answers are 1 to {n}"));
            } else {
                l.hands.resize(n, 0);
                l.hands[i] = (l.hands[i] + 1).min(room::MAX_HANDS);
                l.last_hand = Some(i);
                app.notice = None;
            }
        }
        KeyCode::Backspace => {
            if let Some(i) = l.last_hand
                && let Some(h) = l.hands.get_mut(i)
            {
                *h = h.saturating_sub(1);
            }
        }
        KeyCode::Char('0') => {
            l.hands.iter_mut().for_each(|h| *h = 0);
            l.last_hand = None;
        }
        KeyCode::Char('v') | KeyCode::Esc => l.counting = false,
        KeyCode::Enter => {
            l.counting = false;
            return Some(run_step(app));
        }
        _ => return None,
    }
    Some(Vec::new())
}

/// The lesson's summary so far (the current step as it stands), for the end-of-lesson
/// screen and the JSON saved beside a screenshot.
pub fn summaries(app: &App) -> Vec<room::StepSummary> {
    let now = verdict(app);
    app.lesson
        .as_ref()
        .map(|l| l.summaries(now.as_ref()))
        .unwrap_or_default()
}

/// Lesson keys; `None` lets the normal keys handle it.
pub fn on_key(app: &mut App, k: KeyEvent) -> Option<Vec<Command>> {
    let l = app.lesson.as_ref()?;
    if l.summary {
        return on_summary_key(app, k);
    }
    if l.counting {
        return on_counting_key(app, k);
    }
    let last = l.lesson.steps.len() - 1;
    let step = l.step;

    let options = l.current().options();
    match k.code {
        KeyCode::Char('n') | KeyCode::PageDown => {
            if app.is_running() {
                app.notice = Some("a run is in progress: wait, or press c to cancel it".into());
            } else if step < last {
                record_step(app);
                if let Some(l) = &mut app.lesson {
                    l.step += 1;
                }
                enter_step(app);
            } else {
                // After the last step: the summary of the whole lesson.
                record_step(app);
                if let Some(l) = &mut app.lesson {
                    l.summary = true;
                }
                app.notice = None;
            }
            Some(Vec::new())
        }
        KeyCode::Char('p') | KeyCode::PageUp => {
            if !app.is_running() && step > 0 {
                record_step(app);
                if let Some(l) = &mut app.lesson {
                    l.step -= 1;
                }
                enter_step(app);
            }
            Some(Vec::new())
        }
        KeyCode::Char('v') => {
            if options.is_empty() {
                app.notice =
                    Some("this question is for discussion: no hands to count, ⏎ runs".into());
            } else if app.is_running() || step_done(app) {
                app.notice =
                    Some("count the hands before the run: n goes on, ⏎ runs the step again".into());
            } else if let Some(l) = &mut app.lesson {
                l.counting = true;
                l.hands.resize(options.len(), 0);
                app.notice = None;
            }
            Some(Vec::new())
        }
        KeyCode::Char(c @ '1'..='9') => {
            let i = c as usize - '1' as usize;
            if options.is_empty() {
                app.notice =
                    Some("this question is for discussion: no guess to record, ⏎ runs".into());
            } else if i >= options.len() {
                app.notice = Some(format!("the answers are 1 to {}", options.len()));
            } else if step_done(app) {
                app.notice = Some("already measured: n goes on, ⏎ runs the step again".into());
            } else if let Some(l) = &mut app.lesson {
                l.guess = Some(i);
                app.notice = None;
            }
            Some(Vec::new())
        }
        KeyCode::Char('w') if !app.is_running() => {
            if let Some(l) = &mut app.lesson {
                l.quiet = Some(QuietWait {
                    until: None,
                    quiet_since: None,
                    others: None,
                });
            }
            Some(Vec::new())
        }
        KeyCode::Esc if app.lesson.as_ref().is_some_and(|l| l.quiet.is_some()) => {
            if let Some(l) = &mut app.lesson {
                l.quiet = None;
            }
            app.info = Some("stopped waiting for a quiet moment".into());
            Some(Vec::new())
        }
        KeyCode::Enter | KeyCode::Char('a') => Some(run_step(app)),
        _ => None,
    }
}

/// Run the step's models (again), the kernel's view first when the step asks for it.
fn run_step(app: &mut App) -> Vec<Command> {
    if let Some(l) = &mut app.lesson {
        l.quiet = None;
    }
    let models = match &app.lesson {
        Some(l) => l.current().models.clone(),
        None => return Vec::new(),
    };
    let kernel = app.lesson.as_ref().is_some_and(|l| l.current().kernel);
    let mut cmds = Vec::new();
    // A step about what the scheduler sees turns the kernel's view on first.
    if kernel && !app.kernel.on && !app.replaying {
        cmds.push(Command::Kernel(app.kernel.toggle()));
    }
    cmds.extend(app.enqueue(&models));
    cmds
}

/// Is the lesson waiting for a quiet moment (the loop must tick)?
pub fn waiting_for_quiet(app: &App) -> bool {
    app.lesson.as_ref().is_some_and(|l| l.quiet.is_some())
}

/// A CPU sample while waiting for quiet: run the step once other programs have kept
/// under [`crate::experiment::verdict::OTHERS_CORES`] for [`QUIET_FOR`].
pub fn on_cpu(app: &mut App, s: &crate::observe::monitor::CpuSample) -> Vec<Command> {
    let now = app.now;
    let Some(q) = app.lesson.as_mut().and_then(|l| l.quiet.as_mut()) else {
        return Vec::new();
    };
    if q.until.is_none() {
        // The clock is not running yet (no tick since `w`): wait for it.
        return Vec::new();
    }
    let all: f32 = s.cores.iter().sum();
    let others = f64::from((all - s.tree_cpu).max(0.0)) / 100.0;
    q.others = Some(others);
    if others < crate::experiment::verdict::OTHERS_CORES {
        let since = *q.quiet_since.get_or_insert(now);
        if now.saturating_sub(since) >= QUIET_FOR {
            app.info = Some("the machine is quiet: running the step again".into());
            return run_step(app);
        }
    } else {
        q.quiet_since = None;
    }
    Vec::new()
}

/// Time passes while waiting for quiet: past the patience, run anyway and say so.
pub fn on_tick(app: &mut App) -> Vec<Command> {
    let now = app.now;
    if let Some(q) = app.lesson.as_mut().and_then(|l| l.quiet.as_mut())
        && q.until.is_none()
    {
        q.until = Some(now + QUIET_PATIENCE);
        q.quiet_since = None;
    }
    match app.lesson.as_ref().and_then(|l| l.quiet.as_ref()) {
        Some(q) if q.until.is_some_and(|u| now >= u) => {
            let cmds = run_step(app);
            app.notice = Some(format!(
                "other programs stayed busy for {} s: running anyway — the verdict will say if \
                 it cannot tell",
                QUIET_PATIENCE.as_secs()
            ));
            cmds
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Msg;
    use crate::app::fixtures::{ev, feed, key, started};
    use crate::exec::{Event, RunEnd, RunStart};
    use crate::ui::theme::Theme;
    use crate::workload::Answer;

    fn lesson() -> Lesson {
        crate::experiment::lesson::parse(
            r#"
title = "t"
summary = "s"
[[step]]
title = "one"
text = "sleep"
workload = "sleep"
workers = 4
size = 100
[[step]]
title = "two"
text = "primes without the GIL"
workload = "primes"
models = ["sequential", "threads"]
gil = false
predict = "which wins?"
"#,
            "t.toml",
        )
        .expect("valid")
    }

    fn app() -> App {
        let mut app = App::new(Settings::new("fib", 0, 2, true, 5.0), Theme::default());
        // Through the message the `lesson` command sends.
        assert!(app.update(Msg::Lesson(Box::new(lesson()))).is_empty());
        app
    }

    fn kernel_step(python: bool) -> App {
        let l = crate::experiment::lesson::parse(
            r#"
title = "t"
summary = "s"
[[step]]
title = "turns"
text = "real threads"
workload = "primes"
runtime = "cpython"
kernel = true
models = ["threads"]
"#,
            "k.toml",
        )
        .expect("valid");
        let mut s = Settings::new("fib", 0, 2, true, 5.0);
        if python {
            s.cpython = Ok(crate::app::CpythonAvail {
                label: "CPython 3.11.7 · GIL".into(),
                can_disable_gil: false,
                label_gil_off: None,
            });
        }
        let mut app = App::new(s, Theme::default());
        app.update(Msg::Lesson(Box::new(l)));
        app
    }

    #[test]
    fn a_kernel_step_on_cpython_runs_the_interpreter_with_the_kernel_view_on() {
        let mut app = kernel_step(true);
        assert_eq!(app.settings.runtime, crate::core::Runtime::Cpython);
        assert!(app.notice.is_none(), "{:?}", app.notice);
        let cmds = app.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )));
        assert_eq!(cmds.first(), Some(&Command::Kernel(true)));
        assert!(
            matches!(cmds.get(1), Some(Command::Start { .. })),
            "{cmds:?}"
        );
        assert!(app.kernel.on);
    }

    #[test]
    fn without_python_a_cpython_step_runs_the_simulation_and_says_so() {
        let app = kernel_step(false);
        assert_eq!(app.settings.runtime, crate::core::Runtime::Native);
        let notice = app.notice.clone().unwrap_or_default();
        assert!(notice.contains("running the simulation"), "{notice}");
    }

    #[test]
    fn steps_set_the_scene() {
        let mut app = app();
        assert_eq!(app.settings.workload().name(), "sleep");
        assert_eq!(app.settings.workers, 4);
        assert_eq!(app.settings.size, 100);
        feed(&mut app, vec![key('n')]);
        assert_eq!(app.lesson.as_ref().map(|l| l.step), Some(1));
        assert_eq!(app.settings.workload().name(), "primes");
        assert!(!app.settings.gil);
        // After the last step: the summary, where nothing runs; p goes back.
        feed(&mut app, vec![key('n')]);
        assert!(app.lesson.as_ref().is_some_and(|l| l.summary));
        assert!(feed(&mut app, vec![key('a')]).is_empty());
        assert!(
            app.notice
                .as_deref()
                .is_some_and(|n| n.contains("the lesson is over"))
        );
        feed(&mut app, vec![key('p')]);
        assert!(
            app.lesson
                .as_ref()
                .is_some_and(|l| !l.summary && l.step == 1)
        );
        feed(&mut app, vec![key('p')]);
        assert_eq!(app.settings.workload().name(), "sleep");
    }

    #[test]
    fn hands_are_counted_per_answer_and_kept_with_their_step() {
        let mut app = app();
        feed(&mut app, vec![key('n'), key('v')]);
        assert!(app.lesson.as_ref().is_some_and(|l| l.counting));
        feed(&mut app, vec![key('1'), key('2'), key('2'), key('3')]);
        let l = app.lesson.as_ref().expect("lesson");
        assert_eq!(l.hands, vec![1, 2], "3 is not an answer here");
        assert_eq!(l.guess_text().as_deref(), Some("threads"), "most hands");
        feed(&mut app, vec![key('0')]);
        assert_eq!(
            app.lesson.as_ref().map(|l| l.hands.clone()),
            Some(vec![0, 0])
        );
        feed(&mut app, vec![key('2'), key('v')]);
        // Away and back: the step keeps its hands.
        feed(&mut app, vec![key('p'), key('n')]);
        let l = app.lesson.as_ref().expect("lesson");
        assert!(!l.counting);
        assert_eq!(l.hands, vec![0, 1]);
        // The summary holds the room's guess of every step, run or not.
        let all = summaries(&app);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].guess.as_deref(), Some("threads"));
        assert_eq!(all[1].measured, None);
    }

    #[test]
    fn guess_run_and_reveal() {
        let mut app = app();
        feed(&mut app, vec![key('n'), key('3')]);
        assert!(
            app.notice.as_deref().is_some_and(|n| n.contains("1 to 2")),
            "step two offers two answers: {:?}",
            app.notice
        );
        feed(&mut app, vec![key('2')]);
        assert_eq!(
            app.lesson.as_ref().and_then(|l| l.guess_text()),
            Some("threads".to_string())
        );
        let cmds = feed(&mut app, vec![key('a')]);
        let id = started(&cmds).expect("step's first model starts");
        let finish = |us| {
            Event::RunFinished(RunEnd {
                answer: Some(Answer {
                    value: "1".into(),
                    meaning: "m".into(),
                }),
                elapsed_us: us,
                cpu_us: us,
                failed: 0,
                cancelled: false,
            })
        };
        let begin = |model| {
            Event::RunStarted(RunStart {
                workload: "primes".into(),
                model,
                workers: 2,
                tasks: 4,
                gil: false,
                switch_interval_ms: 5.0,
                size: 1000,
            })
        };
        let cmds = feed(
            &mut app,
            vec![
                ev(id, 0, begin(Model::Sequential)),
                ev(id, 10, finish(2_000_000)),
            ],
        );
        assert!(!step_done(&app));
        let id2 = started(&cmds).expect("then threads");
        feed(
            &mut app,
            vec![
                ev(id2, 0, begin(Model::Threads)),
                ev(id2, 20, finish(1_000_000)),
            ],
        );
        assert!(step_done(&app));
        assert_eq!(fastest(&app), Some((Model::Threads, 1_000_000)));
        let v = verdict(&app).expect("revealed");
        assert!(v.measured.starts_with("threads fastest"), "{v:?}");
        assert_eq!(v.right, Some(1));
        assert_eq!(v.text_disagrees, None);
    }

    #[test]
    fn w_waits_for_a_quiet_moment_then_runs_the_step() {
        use crate::app::fixtures::cpu;
        let w = || Msg::Key(KeyEvent::from(KeyCode::Char('w')));
        let mut app = app();
        assert!(app.update(w()).is_empty());
        assert!(waiting_for_quiet(&app) && app.wants_ticks());
        // The clock starts at the first tick; busy samples keep it waiting.
        assert!(app.update(Msg::Tick(Duration::from_secs(100))).is_empty());
        assert_eq!(
            app.lesson
                .as_ref()
                .and_then(|l| l.quiet.as_ref())
                .and_then(|q| q.until),
            Some(Duration::from_secs(160))
        );
        assert!(app.update(cpu(vec![90.0, 90.0], 0.0)).is_empty());
        // Quiet for 2 s: the step runs.
        assert!(app.update(cpu(vec![3.0, 2.0], 0.0)).is_empty());
        app.update(Msg::Tick(Duration::from_millis(101_000)));
        assert!(app.update(cpu(vec![3.0, 2.0], 0.0)).is_empty());
        app.update(Msg::Tick(Duration::from_millis(102_100)));
        let cmds = app.update(cpu(vec![3.0, 2.0], 0.0));
        assert!(
            cmds.iter().any(|c| matches!(c, Command::Start { .. })),
            "{cmds:?}"
        );
        assert!(!waiting_for_quiet(&app));
    }

    #[test]
    fn a_machine_that_stays_busy_runs_anyway_after_the_patience() {
        use crate::app::fixtures::cpu;
        let mut app = app();
        app.update(Msg::Key(KeyEvent::from(KeyCode::Char('w'))));
        app.update(Msg::Tick(Duration::from_secs(10)));
        app.update(cpu(vec![95.0, 95.0], 0.0));
        let cmds = app.update(Msg::Tick(Duration::from_secs(70)));
        assert!(cmds.iter().any(|c| matches!(c, Command::Start { .. })));
        assert!(
            app.notice
                .as_deref()
                .is_some_and(|n| n.contains("running anyway"))
        );
        // Esc stops waiting without running.
        let mut app = super::tests::app();
        app.update(Msg::Key(KeyEvent::from(KeyCode::Char('w'))));
        assert!(
            app.update(Msg::Key(KeyEvent::from(KeyCode::Esc)))
                .is_empty()
        );
        assert!(!waiting_for_quiet(&app));
    }
}
