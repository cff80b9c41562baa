//! The CPU a run was given, as `run` reports it: the cores seen, the affinity mask, the
//! quota and cpuset, why the workers are as many as they are, and the time the quota
//! throttled the run — ready to run, but the quota said no.

use serde_json::{Value, json};

use crate::core::CpusGiven;
use crate::sys::cgroup::Throttle;

/// Why a run has `workers` workers: `--workers` said so, or the CPU given decided.
pub fn workers_why(given: &CpusGiven, asked: Option<usize>) -> String {
    match asked {
        Some(n) => format!(
            "{n} {}: --workers {n}",
            if n == 1 { "worker" } else { "workers" }
        ),
        None => given.workers_why(),
    }
}

/// Throttling as JSON: periods, throttled periods, seconds.
pub fn throttle_json(t: &Throttle) -> Value {
    json!({
        "periods": t.periods,
        "throttled_periods": t.throttled_periods,
        "throttled_s": t.throttled_us as f64 / 1e6,
    })
}

/// Add the CPU given, the workers' reason and the throttling to `run --json`'s object
/// (`cpu_quota` and `throttled` are null without a quota).
pub fn add_json(v: &mut Value, given: &CpusGiven, why: &str, throttled: Option<&Throttle>) {
    if let Some(obj) = v.as_object_mut() {
        obj.insert("cpus_seen".into(), json!(given.cpus_seen));
        obj.insert("cpus_affinity".into(), json!(given.cpus_affinity));
        obj.insert("cpu_quota".into(), json!(given.cpu_quota));
        obj.insert("cpuset".into(), json!(given.cpuset));
        obj.insert("workers_why".into(), json!(why));
        obj.insert("throttled".into(), json!(throttled.map(throttle_json)));
    }
}

/// The throttling in words: "0.84 s in 17 of 21 periods — ready, but the quota said no".
pub fn throttle_text(t: &Throttle) -> String {
    format!(
        "{:.2} s in {} of {} periods — ready to run, but the quota said no",
        t.throttled_us as f64 / 1e6,
        t.throttled_periods,
        t.periods
    )
}

/// The summary's lines: the CPU given (only under a limit), why this many workers, and
/// the throttling (only under a quota).
pub fn text(given: &CpusGiven, why: &str, throttled: Option<&Throttle>) -> String {
    let mut s = String::new();
    if given.limited() {
        s += &format!("  cpus     {} · {why}\n", given.describe());
    }
    // A run too short to span a period has nothing to say.
    if let Some(t) = throttled.filter(|t| given.cpu_quota.is_some() && t.periods > 0) {
        s += &format!("  throttled {}\n", throttle_text(t));
    }
    s
}

/// A comparison's CPU given and each model's throttling, under a limit (else nothing):
/// "CPU given: 2 cores seen · quota 0.5 CPU" and "throttled — ready to run, but the
/// quota said no: processes 1.23 s in 17 of 21 periods · …".
pub fn comparison_lines(c: &crate::experiment::comparison::Comparison) -> String {
    let Some(given) = c.rows.first().map(|r| &r.cpus).filter(|g| g.limited()) else {
        return String::new();
    };
    let mut s = format!("CPU given: {}", given.describe());
    if let Some(q) = given.quota_ceiling() {
        s += &format!(" (speed-ups judged against {q:.2}×: the quota, not the cores seen)");
    }
    s.push('\n');
    let throttled: Vec<String> = c
        .rows
        .iter()
        .filter_map(|r| {
            let i = r.interference.as_ref()?;
            Some(format!(
                "{} {:.2} s in {} of {} periods",
                r.model,
                i.throttled_s?,
                i.throttled_periods.unwrap_or(0),
                i.periods.unwrap_or(0)
            ))
        })
        .collect();
    if !throttled.is_empty() {
        s += &format!(
            "throttled — ready to run, but the quota said no: {}\n",
            throttled.join(" · ")
        );
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota() -> CpusGiven {
        CpusGiven {
            cpus_seen: 2,
            cpus_affinity: Some(2),
            cpu_quota: Some(0.5),
            ..Default::default()
        }
    }

    #[test]
    fn json_carries_the_given_cpu_and_nulls_without_a_quota() {
        let mut v = json!({});
        add_json(
            &mut v,
            &CpusGiven::seen(4),
            "4 workers: one per core, 4 cores seen",
            None,
        );
        assert_eq!(v["cpus_seen"], 4);
        assert!(v["cpu_quota"].is_null() && v["throttled"].is_null());
        let t = Throttle {
            periods: 20,
            throttled_periods: 17,
            throttled_us: 840_000,
        };
        let g = quota();
        add_json(&mut v, &g, &workers_why(&g, None), Some(&t));
        assert_eq!(v["cpu_quota"], 0.5);
        assert_eq!(v["throttled"]["throttled_s"], 0.84);
        assert!(
            v["workers_why"]
                .as_str()
                .is_some_and(|w| w.contains("quota"))
        );
    }

    #[test]
    fn the_summary_says_only_what_applies() {
        assert_eq!(text(&CpusGiven::seen(4), "x", None), "");
        let t = Throttle {
            periods: 21,
            throttled_periods: 17,
            throttled_us: 840_000,
        };
        let s = text(&quota(), "1 worker: the CPU quota is 0.5 CPU", Some(&t));
        assert!(s.contains("2 cores seen · quota 0.5 CPU · 1 worker"), "{s}");
        assert!(s.contains("0.84 s in 17 of 21 periods"), "{s}");
        assert_eq!(workers_why(&quota(), Some(3)), "3 workers: --workers 3");
    }
}
