//! The one line of explanation, derived from the measurements (speed-up, cores busy,
//! GIL, workload kind): every sentence is chosen by the numbers, and quotes them.

use super::{App, RunState};
use crate::exec::Model;
use crate::workload::WorkKind;

/// Speed-ups below this count as "no faster".
const NO_GAIN: f64 = 1.3;

/// The explanation for the panel that matters now, or `None` before any run; a run the
/// CPU quota throttled says so first (its own kind of waiting).
pub fn explain(app: &App) -> Option<String> {
    let line = explain_measured(app)?;
    let i = if app.panels[app.selected].config.is_some() && !app.panels[app.selected].is_active() {
        app.selected
    } else {
        app.last_finished?
    };
    let p = &app.panels[i];
    let throttled = p
        .witness
        .as_ref()
        .and_then(|w| w.interference.throttled_s)
        .filter(|&t| t >= 0.005 && p.is_finished());
    Some(match throttled {
        Some(t) => format!(
            "{} throttled {t:.2} s: ready to run, but the quota said no · {line}",
            p.model
        ),
        None => line,
    })
}

/// The explanation from the measurements alone.
fn explain_measured(app: &App) -> Option<String> {
    if app.answers_agree() == Some(false) {
        let list: Vec<String> = app
            .panels
            .iter()
            .filter(|p| p.is_finished())
            .filter_map(|p| {
                p.answer
                    .as_ref()
                    .map(|a| format!("{} {}", p.model, a.value))
            })
            .collect();
        return Some(format!(
            "answers differ ({}): a model is wrong",
            list.join(", ")
        ));
    }
    let i = if app.panels[app.selected].config.is_some() && !app.panels[app.selected].is_active() {
        app.selected
    } else {
        app.last_finished?
    };
    let p = &app.panels[i];
    let cfg = p.config.as_ref()?;
    let e = p.elapsed_s();
    match &p.state {
        RunState::Cancelled => return Some(format!("{} cancelled after {e:.2} s", p.model)),
        RunState::Failed(why) => return Some(format!("{} failed: {why}", p.model)),
        RunState::Finished => {}
        _ => return None,
    }
    let u = p.utilisation().unwrap_or(0.0);
    let kind = app.settings.workload().kind();
    let cores = app.cpu.cores();
    let busy = |u: f64| {
        if (u - 1.0).abs() < 0.05 {
            format!("{u:.1} core busy")
        } else if u < 0.1 {
            format!("{u:.2} cores busy")
        } else {
            format!("{u:.1} cores busy")
        }
    };
    if p.model == Model::Sequential {
        let others = app.panels[1..].iter().any(|q| q.is_finished()) || app.is_running();
        return Some(if others {
            format!(
                "sequential {e:.2} s on {}: the baseline the others are measured against",
                busy(u)
            )
        } else {
            format!(
                "sequential {e:.2} s on {}: the baseline — press a to compare the models",
                busy(u)
            )
        });
    }
    // Other programs competing for the cores: named whenever they held back this run.
    let contended = p.others_busy().filter(|&o| {
        cores > 0
            && o >= 0.5
            && u < (cfg.workers.min(cores) as f64) * 0.75
            && p.model != Model::Sequential
    });
    let Some(s) = app.speedup(i) else {
        // A scene's lesson is in its answer, and a lesson step may not run sequential:
        // asking for a baseline there would send the audience the wrong way.
        let no_baseline = app.settings.workload().answer_is_measured()
            || !app
                .settings
                .workload()
                .models()
                .contains(&Model::Sequential)
            || app
                .lesson
                .as_ref()
                .is_some_and(|l| !l.current().models.contains(&Model::Sequential));
        if no_baseline {
            let answer = p
                .answer
                .as_ref()
                .map(|a| format!(": {} {}", a.value, a.meaning))
                .unwrap_or_default();
            return Some(format!("{} {e:.2} s with {}{answer}", p.model, busy(u)));
        }
        return Some(format!(
            "{} {e:.2} s with {}: run sequential too for a speed-up",
            p.model,
            busy(u)
        ));
    };
    let w = cfg.workers;
    let m = p.model;
    let mut line = match m {
        Model::Threads if cfg.gil && kind == WorkKind::Cpu && u < 1.3 => {
            format!(
                "threads {s:.2}×: the GIL let one thread run at a time ({})",
                busy(u)
            )
        }
        Model::Threads | Model::Processes if s >= NO_GAIN && u < 0.5 * s => format!(
            "{m} {s:.2}×: waits overlap — {} workers wait at once{} ({})",
            w,
            if m == Model::Threads && cfg.gil {
                ", the GIL is released while waiting"
            } else {
                ""
            },
            busy(u)
        ),
        Model::Threads if !cfg.gil && s >= NO_GAIN => {
            format!(
                "threads {s:.2}×: GIL off, threads compute in parallel ({})",
                busy(u)
            )
        }
        Model::Processes if s >= NO_GAIN => {
            format!(
                "processes {s:.2}×: one interpreter (and GIL) per process ({})",
                busy(u)
            )
        }
        Model::Processes if s < 1.0 && contended.is_none() => format!(
            "processes {s:.2}×: start-up + serialisation cost more than they saved ({})",
            busy(u)
        ),
        Model::Threads if s < 1.0 && kind == WorkKind::Overhead => format!(
            "threads {s:.2}×: tasks too small, dispatch costs more than they do ({})",
            busy(u)
        ),
        _ if contended.is_some() => format!("{m} {s:.2}×: only {}", busy(u)),
        _ => format!("{m} {s:.2}× on {w} workers ({})", busy(u)),
    };
    if let Some(o) = contended {
        line += &format!("; other programs held {o:.1} of {cores} cores");
    }
    if let Some(o) = app.panels[0].others_busy()
        && o >= 0.5
        && kind == WorkKind::Cpu
    {
        line += &format!("; the baseline shared the CPU with {o:.1} busy cores");
    }
    // The verdict: a speed-up the measurement cannot support is said to be one.
    let evidence = |m| super::lesson_mode::model_runs(app, m).map(|r| r.evidence);
    let (own, base) = (evidence(m), evidence(Model::Sequential));
    let doubt = own
        .as_ref()
        .and_then(|e| e.disturbance())
        .or_else(|| base.as_ref().and_then(|e| e.disturbance()));
    if let Some(d) = doubt {
        let gil_bound = own
            .as_ref()
            .is_some_and(|e| m == Model::Threads && e.gil && e.one_at_a_time());
        return Some(if gil_bound && s >= 1.1 {
            format!(
                "threads {s:.2}× is no real speed-up: never more than one thread on a CPU at \
                 once — {d}"
            )
        } else {
            format!("{m} {s:.2}× — inconclusive: {d}; run again when the machine is quiet")
        });
    }
    if s >= NO_GAIN && u >= NO_GAIN {
        let eff = s / w as f64;
        if cores > 0 && w > cores && eff < 0.75 {
            line += &format!(
                "; {w} workers on {cores} cores: {:.0}% efficiency",
                eff * 100.0
            );
        } else if eff < 0.75 {
            line += &format!("; {:.0}% efficiency", eff * 100.0);
        }
    }
    Some(line)
}
