//! One run's report: the human summary `run` prints, its `--json` object, and the
//! worker trouble worth telling on stderr as it happens.

use serde_json::json;

use crate::core::Event;
use crate::core::fmt::mb;
use crate::exec::RunReport;

/// A worker's trouble worth telling on stderr as it happens: it died (with how) or it is
/// stopped and not responding.
pub fn worker_trouble(ev: &Event) -> Option<String> {
    use crate::exec::processes::{NOT_RESPONDING, RESPONDING};
    match ev {
        Event::WorkerDied { reason, .. } => Some(reason.clone()),
        Event::Note { key, value } if key == NOT_RESPONDING || key == RESPONDING => {
            Some(value.clone())
        }
        _ => None,
    }
}

/// `one` or `many` by `n`.
pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Workers a run really used: a sequential run has one, whatever `--workers` said.
pub fn workers_used(r: &RunReport) -> usize {
    if r.model == crate::core::Model::Sequential {
        1
    } else {
        r.workers
    }
}

/// `run --json`: one object with the documented keys.
pub fn report_json(r: &RunReport) -> serde_json::Value {
    let mut v = json!({
        "workload": r.workload,
        "model": r.model,
        "workers": workers_used(r),
        "gil": r.gil,
        "size": r.size,
        "tasks": r.tasks,
        "answer": r.answer.as_ref().map(|a| a.value.clone()),
        "elapsed_s": r.elapsed.as_secs_f64(),
        "cpu_s": r.cpu.as_secs_f64(),
        "failed": r.failures.len(),
        "failures": r.failures.iter().map(|(t, e)| json!({"task": t, "error": e})).collect::<Vec<_>>(),
        "cancelled": r.cancelled,
    });
    // A scene's measured numbers, only when the workload has any.
    if let (Some(d), Some(obj)) = (&r.details, v.as_object_mut()) {
        obj.insert("details".into(), d.clone());
    }
    if let Some(obj) = v.as_object_mut() {
        if let Some(m) = &r.memory {
            obj.insert("peak_rss_mb".into(), json!(mb(m.peak_rss_bytes)));
            obj.insert("peak_threads".into(), json!(m.peak_threads));
            obj.insert("memory".into(), json!(m));
        }
        if let Some(l) = &r.loop_lag {
            obj.insert("loop_lag_max_ms".into(), json!(l.max_lag_us as f64 / 1e3));
            obj.insert("loop_lag_p99_ms".into(), json!(l.p99_lag_us as f64 / 1e3));
            obj.insert("loop_lag".into(), json!(l));
        }
        if let Some(c) = &r.crossing {
            obj.insert("crossing".into(), crossing_json(c));
        }
    }
    v
}

/// A pool's start-up and copying as `--json` and `compare`'s JSON write them: the measured
/// fields, the per-item means, and what was not measured said in words.
pub fn crossing_json(c: &crate::core::Crossing) -> serde_json::Value {
    let mut v = json!(c);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "startup_ms_per_worker".into(),
            json!(c.startup_us.map(|u| u as f64 / 1e3)),
        );
        o.insert(
            "transfer_us_per_item".into(),
            json!(c.transfer_per_item_us()),
        );
        o.insert("bytes_per_item".into(), json!(c.bytes_per_item()));
    }
    v
}

/// The human summary of one run.
pub fn summary(r: &RunReport) -> String {
    let who = if r.model == crate::core::Model::Sequential {
        "one thread".to_string()
    } else {
        let w = workers_used(r);
        format!("{w} {}", plural(w, "worker", "workers"))
    };
    let mut s = format!(
        "{} on {} ({who}, GIL {}): {} {}\n",
        r.workload,
        r.model,
        if r.gil { "on" } else { "off" },
        r.tasks,
        plural(r.tasks, "task", "tasks")
    );
    match &r.answer {
        Some(a) => s += &format!("  answer   {}  ({})\n", a.value, a.meaning),
        None if r.cancelled => s += "  answer   — (cancelled)\n",
        None => s += "  answer   — (tasks failed)\n",
    }
    s += &format!(
        "  elapsed  {:.3} s\n  cpu      {:.3} s  ({:.2} cores busy on average)\n",
        r.elapsed.as_secs_f64(),
        r.cpu.as_secs_f64(),
        r.cpu_utilisation()
    );
    if let Some(m) = &r.memory {
        s += &format!(
            "  memory   {:.1} MB peak RSS ({:.1} MB at start) · {} threads at most{}\n",
            mb(m.peak_rss_bytes),
            mb(m.start_rss_bytes),
            m.peak_threads,
            if m.peak_processes > 0 {
                format!(" · {} worker processes", m.peak_processes)
            } else {
                String::new()
            }
        );
    }
    if let Some(l) = &r.loop_lag {
        s += &format!(
            "  loop lag {:.1} ms max · {:.1} ms p99 · {:.2} ms mean over {} heartbeats · {} tasks in flight at most\n",
            l.max_lag_us as f64 / 1e3,
            l.p99_lag_us as f64 / 1e3,
            l.mean_lag_us as f64 / 1e3,
            l.beats,
            l.peak_in_flight
        );
    }
    if let Some(c) = &r.crossing {
        s += &format!("  crossing {} — {}\n", c.summary(), c.how);
        if let Some(n) = &c.startup_note {
            s += &format!("           start-up {n}\n");
        }
    }
    if let Some(serde_json::Value::Object(d)) = &r.details {
        s += "  details\n";
        for (k, v) in d {
            s += &details_line(k, v, 4);
        }
    }
    if !r.failures.is_empty() {
        let n = r.failures.len();
        s += &format!("  failed   {n} {}\n", plural(n, "task", "tasks"));
        for (t, e) in r.failures.iter().take(10) {
            s += &format!("    task {t}: {e}\n");
        }
    }
    s
}

/// One `details` entry for the human summary: scalars on one line, objects one level
/// deeper, long arrays shortened.
fn details_line(key: &str, v: &serde_json::Value, indent: usize) -> String {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if indent < 8 => {
            let mut s = format!("{pad}{key}\n");
            for (k, v) in m {
                s += &details_line(k, v, indent + 2);
            }
            s
        }
        Value::Array(a) if a.len() > 6 => format!("{pad}{key:<28} [{} entries]\n", a.len()),
        Value::String(t) => format!("{pad}{key:<28} {t}\n"),
        Value::Null => format!("{pad}{key:<28} n/a\n"),
        other => format!("{pad}{key:<28} {other}\n"),
    }
}
