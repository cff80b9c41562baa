//! `--format json`: an array with one object per model.

use super::Exporter;
use crate::experiment::comparison::Comparison;

pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn export(&self, c: &Comparison) -> String {
        let mut s = serde_json::to_string_pretty(&c.rows).unwrap_or_else(|e| format!("\"{e}\""));
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_object_per_model_with_the_documented_keys() {
        let out = JsonExporter.export(&super::super::fixture::comparison());
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        let rows = v.as_array().expect("an array");
        assert_eq!(rows.len(), 4);
        for key in [
            "workload",
            "size",
            "tasks",
            "model",
            "gil",
            "workers",
            "repeat",
            "elapsed_median_s",
            "elapsed_min_s",
            "elapsed_max_s",
            "speedup",
            "efficiency",
            "cpu_utilisation",
            "capacity",
            "of_capacity",
            "answer",
            "answers_agree",
            "busy_s",
            "imbalance",
            "split",
            "peak_rss_mb",
            "peak_threads",
            "loop_lag_max_ms",
            "loop_lag_p99_ms",
            "kernel",
            "cpus_seen",
            "cpus_affinity",
            "cpu_quota",
        ] {
            assert!(rows[0].get(key).is_some(), "missing {key}");
        }
        assert_eq!(rows[2]["model"], "processes");
        assert_eq!(rows[3]["model"], "async");
        assert_eq!(rows[3]["loop_lag_max_ms"], 101.0);
        let k = &rows[1]["kernel"];
        for key in [
            "on_cpu",
            "runnable",
            "lock",
            "io",
            "sleep",
            "threads_counted",
            "threads_seen",
            "thread_s",
            "sample_ms",
            "sampler_cpu",
        ] {
            assert!(k.get(key).is_some(), "missing kernel.{key}");
        }
        assert_eq!(k["lock"], 0.49);
        assert_eq!(k["threads_counted"], 2);
    }

    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!(JsonExporter.export(&super::super::fixture::comparison()));
    }

    #[test]
    fn without_the_kernel_it_is_null() {
        let out = JsonExporter.export(&super::super::fixture::without_kernel());
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        assert!(v[0]["kernel"].is_null());
    }
}
