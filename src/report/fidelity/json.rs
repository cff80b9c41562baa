//! The fidelity report as one JSON object: `rows` (each with workload, model,
//! native_speedup, cpython_speedup, diff_pct, within_10pct, python, capacity, …) and `convoy`.

use super::FidelityExporter;
use crate::experiment::fidelity::Fidelity;

pub struct Json;

impl FidelityExporter for Json {
    fn export(&self, f: &Fidelity) -> String {
        let mut s =
            serde_json::to_string_pretty(f).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::report;
    use super::*;

    #[test]
    fn rows_have_the_documented_keys() {
        let v: serde_json::Value = serde_json::from_str(&Json.export(&report())).expect("json");
        let row = &v["rows"][1];
        for key in [
            "workload",
            "model",
            "native_speedup",
            "cpython_speedup",
            "diff_pct",
            "within_10pct",
            "python",
            "capacity",
        ] {
            assert!(!row[key].is_null(), "missing {key}: {row}");
        }
        assert_eq!(row["model"], "threads");
        assert_eq!(v["convoy"]["switch_interval_ms"], 5.0);
    }
}
