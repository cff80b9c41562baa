//! `--format csv`: a header line, then one line per model, each naming its workload,
//! size and task count (so rows of several comparisons can be put in one file).

use super::Exporter;
use crate::experiment::comparison::Comparison;

pub struct CsvExporter;

const HEADER: &str = "workload,size,tasks,model,gil,workers,repeat,elapsed_median_s,elapsed_min_s,elapsed_max_s,speedup,efficiency,cpu_utilisation,capacity,of_capacity,answer,answers_agree,failed,busy_s,imbalance,peak_rss_mb,peak_threads,loop_lag_max_ms,loop_lag_p99_ms,kernel_on_cpu,kernel_runnable,kernel_lock,kernel_io,kernel_sleep,kernel_threads_counted,kernel_threads_seen,kernel_sample_ms,kernel_sampler_cpu,waiting,verdict,verdict_reason,runqueue_s,runqueue_share,others_cores,at_once,cpu_per_wall,cpus_seen,cpus_affinity,cpu_quota,throttled_s,throttled_periods,startup_ms_per_worker,transfer_us_per_item,bytes_per_item";

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.4}"))
}

/// The kernel's nine fields (empty where it was not seen), comma-separated.
fn kernel_fields(r: &crate::experiment::comparison::Row) -> String {
    match &r.kernel {
        Some(k) => format!(
            "{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{},{}",
            k.on_cpu,
            k.runnable,
            k.lock,
            k.io,
            k.sleep,
            k.threads_counted,
            k.threads_seen,
            opt(k.sample_ms),
            opt(k.sampler_cpu)
        ),
        None => ",".repeat(8),
    }
}

/// The verdict and interference fields: waiting, the state, its reason (quoted), the
/// run-queue wait, other programs' cores, the concurrency histogram (`n:count` joined by
/// `;`) and CPU-seconds per wall-second.
fn verdict_fields(r: &crate::experiment::comparison::Row) -> String {
    let i = r.interference.unwrap_or_default();
    let reason = r.verdict.reason().unwrap_or("").replace('"', "'");
    format!(
        "{},{},\"{}\",{},{},{},{},{}",
        r.waiting,
        r.verdict.name(),
        reason,
        opt(i.runqueue_s),
        opt(i.runqueue_share),
        opt(i.others_cores),
        r.concurrency.as_ref().map_or(String::new(), |c| c
            .at_once
            .iter()
            .enumerate()
            .filter(|(_, k)| **k > 0)
            .map(|(n, k)| format!("{n}:{k}"))
            .collect::<Vec<_>>()
            .join(";")),
        r.concurrency
            .as_ref()
            .map_or(String::new(), |c| format!("{:.3}", c.cpu_per_wall)),
    )
}

/// The CPU given and the quota's throttling: cores seen, affinity, quota, throttled
/// seconds and periods (empty where none).
fn cpus_fields(r: &crate::experiment::comparison::Row) -> String {
    let i = r.interference.unwrap_or_default();
    format!(
        "{},{},{},{},{}",
        r.cpus.cpus_seen,
        r.cpus
            .cpus_affinity
            .map_or(String::new(), |a| a.to_string()),
        opt(r.cpus.cpu_quota),
        opt(i.throttled_s),
        i.throttled_periods.map_or(String::new(), |n| n.to_string()),
    )
}

/// Start-up per worker (ms), copy per task (µs), bytes per task: empty where not measured.
fn crossing_fields(r: &crate::experiment::comparison::Row) -> String {
    let c = r.crossing.as_ref();
    format!(
        "{},{},{}",
        opt(c.and_then(|c| c.startup_us).map(|u| u as f64 / 1e3)),
        opt(c.and_then(|c| c.transfer_per_item_us())),
        opt(c.and_then(|c| c.bytes_per_item())),
    )
}

/// The last column under a CPU quota only (so files without one keep their layout): the
/// working threads' share of time the quota held them back ([`super::kernel_quota`]).
const QUOTA_HEADER: &str = ",kernel_throttled";

impl Exporter for CsvExporter {
    fn export(&self, c: &Comparison) -> String {
        let quota = super::kernel_quota(c);
        let mut s = format!("{HEADER}{}\n", if quota { QUOTA_HEADER } else { "" });
        for r in &c.rows {
            s += &format!(
                "{},{},{},{},{},{},{},{:.4},{:.4},{:.4},{},{},{:.3},{:.3},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                c.workload,
                c.size,
                c.tasks,
                r.model,
                r.gil,
                r.workers,
                r.repeat,
                r.elapsed_median_s,
                r.elapsed_min_s,
                r.elapsed_max_s,
                opt(r.speedup),
                opt(r.efficiency),
                r.cpu_utilisation,
                r.capacity,
                opt(r.of_capacity),
                r.answer.as_deref().unwrap_or(""),
                r.answers_agree,
                r.failed,
                // One value per worker, `;`-separated inside the field.
                r.busy_s
                    .iter()
                    .map(|b| format!("{b:.4}"))
                    .collect::<Vec<_>>()
                    .join(";"),
                opt(r.imbalance),
                opt(r.peak_rss_mb),
                r.peak_threads.map_or(String::new(), |t| t.to_string()),
                opt(r.loop_lag_max_ms),
                opt(r.loop_lag_p99_ms),
                kernel_fields(r),
                verdict_fields(r),
                cpus_fields(r),
                crossing_fields(r),
            );
            if quota {
                // Before the line's end.
                s.pop();
                s += &format!(",{}\n", opt(r.kernel.as_ref().and_then(|k| k.throttled)));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_has_every_column() {
        let out = CsvExporter.export(&super::super::fixture::comparison());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5);
        let cols = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        assert!(
            lines[3].starts_with("primes,20000000,16,processes,true,2,3,1.7000"),
            "{}",
            lines[3]
        );
        assert!(
            lines[3].ends_with(
                r#",1.0200;1.6150,1.2258,21.5000,10,,,0.9600,0.0300,0.0000,0.0050,0.0050,2,5,5.0400,0.0071,false,conclusive,"",0.1860,0.0300,0.0300,1:10;2:90,1.900,2,2,,,,4.2000,30.0000,100.0000"#
            ),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn without_the_kernel_its_fields_are_empty() {
        let out = CsvExporter.export(&super::super::fixture::without_kernel());
        let lines: Vec<&str> = out.lines().collect();
        let cols = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        assert!(
            lines[1].ends_with(r#",1270607,true,0,3.1000,,8.2500,2,,,,,,,,,,,,false,conclusive,"",0.0310,0.0100,0.0300,1:100,1.000,2,2,,,,,,"#),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn csv_snapshot() {
        insta::assert_snapshot!(CsvExporter.export(&super::super::fixture::comparison()));
    }
}
