//! The settings the next run will use (shown in the header, changed with keys).

use crate::core::Runtime;
use crate::exec::{GilConfig, Model, RunSpec};
use crate::runtime::sizes;
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
    /// Who runs the next run: the native engine or CPython (`r`).
    pub runtime: Runtime,
    /// The CPython interpreter `r` switches to, or why there is none.
    pub cpython: Result<CpythonAvail, String>,
    /// The command line's other workload flags (`--delay-ms`, `--url`, `--dir`, `--bytes`,
    /// `--chunk`, `--max-tasks-per-child`, `--httpbin`, ...), exactly as `conlab run`
    /// parses them; size, tasks, workers and variant here are unused (they are the fields
    /// above). Each run gets those the workload reads ([`WorkloadArgs::only_options_of`]).
    pub flags: WorkloadArgs,
    /// `--offload`, `--max-in-flight`: how the async model runs.
    pub asyncio: crate::exec::AsyncOpts,
    /// CPython's own GIL sampler for threads runs (`G`, `--gil-sampler`): `None` when the
    /// interpreter has none (older than 3.15, or no CPython), else whether it is on.
    pub gil_sampler: Option<bool>,
}

/// A probed interpreter, as the dashboard shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct CpythonAvail {
    /// E.g. "CPython 3.11.7 · GIL".
    pub label: String,
    /// A free-threaded build: `g` may turn its GIL off.
    pub can_disable_gil: bool,
    /// A free-threaded build's name with its GIL off ("CPython 3.13.5 free-threaded,
    /// GIL off"); `label` is then its name with the GIL on.
    pub label_gil_off: Option<String>,
}

/// The header's name for the native runtime.
pub const NATIVE_LABEL: &str = "native · simulated GIL";

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
            runtime: Runtime::Native,
            cpython: Err("no Python was looked for (start the dashboard with conlab tui)".into()),
            flags: WorkloadArgs::default(),
            asyncio: crate::exec::AsyncOpts::default(),
            gil_sampler: None,
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

    /// The next (`+1`) or previous (`-1`) workload (one the runtime runs), at its default
    /// size for the runtime.
    pub fn cycle_workload(&mut self, step: isize) {
        let n = workload::all().len() as isize;
        for _ in 0..n {
            self.workload = ((self.workload as isize + step).rem_euclid(n)) as usize;
            if self.runtime == Runtime::Native || sizes::supported(self.workload().name()) {
                break;
            }
        }
        self.variant = None;
        self.size = crate::runtime::default_size(self.runtime, self.workload());
    }

    /// Whether the next threads run goes under CPython's GIL sampler.
    pub fn samples_gil(&self) -> bool {
        self.runtime == Runtime::Cpython && self.gil && self.gil_sampler == Some(true)
    }

    /// `G`: CPython's GIL sampler on or off; says what happened, or why it cannot.
    pub fn toggle_gil_sampler(&mut self) -> Result<String, String> {
        let Some(on) = self.gil_sampler else {
            return Err(match &self.cpython {
                Ok(c) => format!(
                    "CPython's own GIL sampler needs Python 3.15+ (python -m profiling.sampling); \
                     this is {}: start with --runtime cpython --python 3.15",
                    c.label
                ),
                Err(_) => "CPython's own GIL sampler needs a CPython 3.15+: start with \
                           --runtime cpython --python 3.15"
                    .into(),
            });
        };
        self.gil_sampler = Some(!on);
        Ok(if on {
            "CPython's GIL sampler: off".into()
        } else if self.runtime != Runtime::Cpython {
            "CPython's GIL sampler: on for CPython's threads runs (r switches to CPython)".into()
        } else {
            "CPython's GIL sampler: on for threads runs (it costs CPU and about half a second \
             to start); its per-thread GIL shows under the timeline when the run ends"
                .into()
        })
    }

    /// The header's name of the runtime, e.g. "CPython 3.11.7 · GIL".
    pub fn runtime_label(&self) -> String {
        match (self.runtime, &self.cpython) {
            (Runtime::Cpython, Ok(c)) => match (&c.label_gil_off, self.gil) {
                (Some(off), false) => off.clone(),
                _ => c.label.clone(),
            },
            (Runtime::Cpython, Err(_)) => "CPython".into(),
            (Runtime::Native, _) => NATIVE_LABEL.into(),
        }
    }

    /// `r`: switch between the native runtime and CPython; the size follows the runtime's
    /// default when it was at the old one. Says what happened, or why it cannot.
    pub fn switch_runtime(&mut self) -> Result<String, String> {
        let w = self.workload();
        let next = match self.runtime {
            Runtime::Native => {
                let c = self
                    .cpython
                    .as_ref()
                    .map_err(|why| format!("cannot switch to CPython: {why}"))?;
                if !sizes::supported(w.name()) {
                    return Err(format!(
                        "`{}` runs only on the native runtime for now: pick a workload with w first",
                        w.name()
                    ));
                }
                if !self.gil && !c.can_disable_gil {
                    return Err(format!(
                        "{} has the GIL: turn it back on with g, or start conlab with a \
                         free-threaded --python (uv python install 3.14t, pyenv install \
                         3.14t, or conlab's scripts/pythons for 3.13t)",
                        c.label
                    ));
                }
                Runtime::Cpython
            }
            Runtime::Cpython => Runtime::Native,
        };
        if self.size == crate::runtime::default_size(self.runtime, w) {
            self.size = crate::runtime::default_size(next, w);
        }
        self.runtime = next;
        Ok(format!("runtime: {}", self.runtime_label()))
    }

    /// `g`: may the GIL be turned off in this runtime?
    pub fn can_toggle_gil(&self) -> Result<(), String> {
        match (self.runtime, &self.cpython) {
            (Runtime::Cpython, Ok(c)) if self.gil && !c.can_disable_gil => Err(format!(
                "{} always has its GIL (a free-threaded build, 3.13t+, can turn it off)",
                c.label
            )),
            _ => Ok(()),
        }
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

    /// The flags the next run gets besides size, workers, tasks and GIL, for the header:
    /// those the workload reads, with their values.
    pub fn shown_flags(&self) -> Vec<(&'static str, String)> {
        let mut shown = self.run_args().given_flags();
        if let Some(v) = &self.variant {
            shown.push(("--variant", v.clone()));
        }
        if self.asyncio.offload != crate::exec::Offload::None {
            shown.push(("--offload", self.asyncio.offload.name().to_string()));
        }
        if let Some(n) = self.asyncio.max_in_flight {
            shown.push(("--max-in-flight", n.to_string()));
        }
        shown
    }

    /// The workload's arguments for the next run.
    fn run_args(&self) -> WorkloadArgs {
        let w = self.workload();
        let mut args = WorkloadArgs {
            size: self.size,
            tasks: self.tasks,
            workers: self.workers,
            variant: self.variant.clone(),
            ..self.flags.clone()
        }
        .only_options_of(w);
        // A flag that is the workload's size (http's --delay-ms with the embedded server)
        // follows the size keys.
        if w.size_given(&args).is_some_and(|given| given != args.size) {
            args.delay_ms = Some(args.size);
        }
        args
    }

    pub fn spec(&self, model: Model) -> RunSpec {
        RunSpec {
            workload: self.workload().name().to_string(),
            model,
            args: self.run_args(),
            gil: GilConfig {
                enabled: self.gil,
                switch_interval: std::time::Duration::from_secs_f64(
                    self.switch_interval_ms.max(0.05) / 1e3,
                ),
            },
            asyncio: self.asyncio,
            worker_exe: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_async_flags_reach_the_run_and_the_header() {
        let mut s = Settings::new("primes", 0, 2, true, 5.0);
        assert_eq!(
            s.spec(Model::Async).asyncio,
            crate::exec::AsyncOpts::default()
        );
        assert!(s.shown_flags().iter().all(|(f, _)| *f != "--offload"));
        s.asyncio = crate::exec::AsyncOpts {
            offload: crate::exec::Offload::Processes,
            max_in_flight: Some(8),
        };
        assert_eq!(s.spec(Model::Async).asyncio, s.asyncio);
        let shown = s.shown_flags();
        assert!(
            shown.contains(&("--offload", "processes".to_string())),
            "{shown:?}"
        );
        assert!(
            shown.contains(&("--max-in-flight", "8".to_string())),
            "{shown:?}"
        );
    }

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

    fn with_python(mut s: Settings) -> Settings {
        s.cpython = Ok(CpythonAvail {
            label: "CPython 3.11.7 · GIL".into(),
            can_disable_gil: false,
            label_gil_off: None,
        });
        s
    }

    #[test]
    fn a_free_threaded_build_is_named_with_the_gil_as_set() {
        let mut s = Settings::new("primes", 0, 2, true, 5.0);
        s.cpython = Ok(CpythonAvail {
            label: "CPython 3.13.5 free-threaded, GIL on".into(),
            can_disable_gil: true,
            label_gil_off: Some("CPython 3.13.5 free-threaded, GIL off".into()),
        });
        s.switch_runtime().expect("to CPython");
        assert_eq!(s.runtime_label(), "CPython 3.13.5 free-threaded, GIL on");
        assert!(s.can_toggle_gil().is_ok());
        s.gil = false;
        assert_eq!(s.runtime_label(), "CPython 3.13.5 free-threaded, GIL off");
    }

    #[test]
    fn r_switches_runtime_and_the_default_size_follows() {
        let mut s = with_python(Settings::new("primes", 0, 2, true, 5.0));
        assert_eq!(s.runtime_label(), NATIVE_LABEL);
        let said = s.switch_runtime().expect("switches");
        assert_eq!(said, "runtime: CPython 3.11.7 · GIL");
        assert_eq!(s.size, 2_000_000, "CPython's default");
        assert!(s.can_toggle_gil().is_err(), "a GIL build keeps its GIL");
        // A size the user chose stays.
        s.size = 123;
        s.switch_runtime().expect("back");
        assert_eq!((s.runtime, s.size), (Runtime::Native, 123));
    }

    #[test]
    fn r_explains_why_it_cannot_switch() {
        let mut s = Settings::new("primes", 0, 2, true, 5.0);
        s.cpython = Err("no Python found: `python3` could not be started".into());
        let why = s.switch_runtime().expect_err("no python");
        assert!(why.contains("no Python found"), "{why}");
        assert_eq!(s.runtime, Runtime::Native);
        let mut s = with_python(Settings::new("race", 0, 2, true, 5.0));
        assert!(s.switch_runtime().expect_err("a scene").contains("native"));
        let mut s = with_python(Settings::new("primes", 0, 2, false, 5.0));
        assert!(s.switch_runtime().expect_err("GIL off").contains("GIL"));
    }

    #[test]
    fn on_cpython_w_skips_native_only_workloads() {
        let mut s = with_python(Settings::new("files", 0, 2, true, 5.0));
        s.switch_runtime().expect("switches");
        for _ in 0..30 {
            s.cycle_workload(1);
            assert!(
                sizes::supported(s.workload().name()),
                "{}",
                s.workload().name()
            );
        }
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
