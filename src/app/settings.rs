//! The settings the next run will use (shown in the header, changed with keys).

use crate::exec::{GilConfig, Model, RunSpec};
use crate::workload::{self, Workload, WorkloadArgs};

/// Most workers the keys allow.
pub const MAX_WORKERS: usize = 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Index into [`workload::all`].
    pub workload: usize,
    pub size: u64,
    pub workers: usize,
    /// Tasks the work is split into (0 = the workload's default).
    pub tasks: usize,
    pub gil: bool,
    pub switch_interval_ms: f64,
    /// A scene's variant (e.g. deadlock's `fixed`), set by lessons.
    pub variant: Option<String>,
}

impl Settings {
    /// Settings for `name` (falls back to the first workload), size 0 = its default.
    pub fn new(name: &str, size: u64, workers: usize, gil: bool, switch_interval_ms: f64) -> Self {
        let all = workload::all();
        let index = all.iter().position(|w| w.name() == name).unwrap_or(0);
        let mut s = Settings {
            workload: index,
            size,
            workers: workers.clamp(1, MAX_WORKERS),
            tasks: 0,
            gil,
            switch_interval_ms,
            variant: None,
        };
        if s.size == 0 {
            s.size = s.workload().default_size();
        }
        s
    }

    pub fn workload(&self) -> &'static dyn Workload {
        let all = workload::all();
        all[self.workload.min(all.len() - 1)]
    }

    /// The next (`+1`) or previous (`-1`) workload, at its default size.
    pub fn cycle_workload(&mut self, step: isize) {
        let n = workload::all().len() as isize;
        self.workload = ((self.workload as isize + step).rem_euclid(n)) as usize;
        self.variant = None;
        self.size = self.workload().default_size();
    }

    /// Halve (`false`) or double (`true`) the size within the workload's range.
    pub fn scale_size(&mut self, up: bool) -> bool {
        let r = self.workload().size_range();
        let next = if up {
            self.size.saturating_mul(2)
        } else {
            self.size / 2
        }
        .clamp(*r.start(), *r.end());
        let changed = next != self.size;
        self.size = next;
        changed
    }

    pub fn add_workers(&mut self, delta: isize) {
        self.workers = (self.workers as isize + delta).clamp(1, MAX_WORKERS as isize) as usize;
    }

    pub fn spec(&self, model: Model) -> RunSpec {
        RunSpec {
            workload: self.workload().name().to_string(),
            model,
            args: WorkloadArgs {
                size: self.size,
                tasks: self.tasks,
                workers: self.workers,
                variant: self.variant.clone(),
                ..WorkloadArgs::default()
            },
            gil: GilConfig {
                enabled: self.gil,
                switch_interval: std::time::Duration::from_secs_f64(
                    self.switch_interval_ms.max(0.05) / 1e3,
                ),
            },
            asyncio: Default::default(),
            worker_exe: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_stays_in_range() {
        let mut s = Settings::new("sleep", 0, 2, true, 5.0);
        assert_eq!(s.size, s.workload().default_size());
        for _ in 0..40 {
            s.scale_size(true);
        }
        assert_eq!(s.size, *s.workload().size_range().end());
        for _ in 0..80 {
            s.scale_size(false);
        }
        assert_eq!(s.size, *s.workload().size_range().start());
    }

    #[test]
    fn workloads_cycle_both_ways() {
        let mut s = Settings::new("primes", 0, 2, true, 5.0);
        s.cycle_workload(-1);
        assert_eq!(s.workload, workload::all().len() - 1);
        s.cycle_workload(1);
        assert_eq!(s.workload().name(), "primes");
        s.add_workers(-10);
        assert_eq!(s.workers, 1);
    }
}
