//! `--format csv`: a header line, then one line per model.

use super::Exporter;
use super::comparison::Comparison;

pub struct CsvExporter;

const HEADER: &str = "model,gil,workers,repeat,elapsed_median_s,elapsed_min_s,elapsed_max_s,speedup,efficiency,cpu_utilisation,capacity,of_capacity,answer,answers_agree,failed,busy_s,imbalance,peak_rss_mb,peak_threads,loop_lag_max_ms,loop_lag_p99_ms";

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.4}"))
}

impl Exporter for CsvExporter {
    fn export(&self, c: &Comparison) -> String {
        let mut s = format!("{HEADER}\n");
        for r in &c.rows {
            s += &format!(
                "{},{},{},{},{:.4},{:.4},{:.4},{},{},{:.3},{:.3},{},{},{},{},{},{},{},{},{},{}\n",
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
            );
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
        assert!(lines[3].starts_with("processes,true,2,3,1.7000"));
        assert!(
            lines[3].ends_with(",1.0200;1.6150,1.2258,21.5000,10,,"),
            "{}",
            lines[3]
        );
    }
}
