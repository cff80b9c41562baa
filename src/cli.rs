//! The command line: clap derive for every subcommand, and the options shared by them.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exec::{GilConfig, Model, RunSpec};
use crate::workload::WorkloadArgs;

#[derive(Parser, Debug)]
#[command(
    name = "conlab",
    version,
    about = "A terminal concurrency lab: run one workload sequentially, on threads and on processes, and watch why.",
    long_about = "conlab runs CPU-bound, I/O-bound and tiny workloads under three execution models \
(sequential, a thread pool, a process pool) and measures them. Threads share a simulated \
CPython GIL (switch interval, released around I/O) so they behave as they do in Python; \
--gil off shows free-threaded behaviour.\n\nWith no subcommand it opens the dashboard.",
    after_help = "Examples:\n  conlab                                   open the dashboard\n  \
conlab run --workload primes --model processes --workers 2 --json\n  \
conlab compare --workload primes --workers 2 --gil on --format table\n  \
conlab compare --workload sleep --workers 4"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the interactive dashboard (the default).
    Tui(TuiArgs),
    /// Run one workload under one model and print a summary.
    #[command(
        after_help = "Examples:\n  conlab run --workload primes --size 2000000 --model processes --workers 2 --json\n  \
conlab run --workload sleep --model threads --workers 8 --gil on\n  \
conlab run --workload fib --model threads --workers 2 --gil off"
    )]
    Run(RunArgs),
    /// Run several models one after another, repeat each, and compare them side by side.
    #[command(
        after_help = "Examples:\n  conlab compare --workload primes --workers 2 --gil on --format json\n  \
conlab compare --workload sleep --workers 4 --repeat 3\n  \
conlab compare --workload tiny --models threads,processes --format markdown"
    )]
    Compare(CompareArgs),
    /// Run a short sample of a workload: is it mostly waiting or computing, and which model fits?
    #[command(after_help = "Examples:\n  conlab classify --workload primes\n  \
conlab classify --workload sleep --json")]
    Classify(ClassifyArgs),
    /// Internal: a process-pool worker (tasks on stdin, events on stdout).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// The workload and how to run it: shared by `run`, `compare` and the dashboard.
#[derive(Args, Debug, Clone)]
pub struct WorkloadOpts {
    /// Workload to run (primes, naive-primes, squares, fib, sleep, tiny) or a lesson scene
    /// (race, deadlock, queue, convoy, oversubscribe, payload, recycle, rate-limit).
    #[arg(long, short = 'w', default_value = "primes")]
    pub workload: String,
    /// Workers (threads or processes); default: this machine's logical cores.
    #[arg(long, short = 'n')]
    pub workers: Option<usize>,
    /// Workload size (its meaning depends on the workload; see `conlab run --help`).
    #[arg(long)]
    pub size: Option<u64>,
    /// Number of tasks the work is split into.
    #[arg(long)]
    pub tasks: Option<usize>,
    /// The simulated GIL for threads (each worker process has its own).
    #[arg(long, value_enum, default_value = "on")]
    pub gil: OnOff,
    /// GIL switch interval in milliseconds (CPython's default is 5).
    #[arg(long, default_value_t = 5.0)]
    pub switch_interval_ms: f64,
    /// Items per task message (Python's `chunksize`), for workloads that batch (tiny).
    #[arg(long)]
    pub chunk: Option<usize>,
    /// A scene's variant (deadlock: fixed; payload: shm; ...).
    #[arg(long)]
    pub variant: Option<String>,
    /// Replace each worker process after K tasks (Python's max_tasks_per_child; recycle).
    #[arg(long, value_name = "K")]
    pub max_tasks_per_child: Option<usize>,
}

impl WorkloadOpts {
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(default_workers)
    }

    pub fn gil(&self) -> Result<GilConfig, String> {
        let ms = self.switch_interval_ms;
        if !(ms.is_finite() && (0.05..=1000.0).contains(&ms)) {
            return Err(format!(
                "invalid --switch-interval-ms: {ms} (allowed 0.05..=1000)"
            ));
        }
        Ok(GilConfig {
            enabled: self.gil == OnOff::On,
            switch_interval: Duration::from_secs_f64(ms / 1e3),
        })
    }

    pub fn workload_args(&self) -> WorkloadArgs {
        WorkloadArgs {
            size: self.size.unwrap_or(0),
            tasks: self.tasks.unwrap_or(0),
            workers: self.workers(),
            chunk: self.chunk,
            variant: self.variant.clone(),
            max_tasks_per_child: self.max_tasks_per_child,
            ..WorkloadArgs::default()
        }
    }

    pub fn spec(&self, model: Model) -> Result<RunSpec, String> {
        Ok(RunSpec {
            workload: self.workload.clone(),
            model,
            args: self.workload_args(),
            gil: self.gil()?,
            worker_exe: None,
        })
    }
}

/// This machine's logical cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[derive(Args, Debug)]
pub struct TuiArgs {
    #[command(flatten)]
    pub opts: WorkloadOpts,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub opts: WorkloadOpts,
    /// Execution model.
    #[arg(long, short = 'm', value_enum, default_value = "threads")]
    pub model: Model,
    /// Print one JSON object on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub opts: WorkloadOpts,
    /// Models to compare, in order (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sequential,threads,processes"
    )]
    pub models: Vec<Model>,
    /// Runs per model; the median is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub opts: WorkloadOpts,
    /// Stop the sample after this many milliseconds (what ran so far is measured).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub budget_ms: u64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[arg(long, value_enum, default_value = "on")]
    pub gil: OnOff,
    #[arg(long, default_value_t = 5000)]
    pub switch_interval_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn models_parse_as_a_list() {
        let cli = Cli::try_parse_from(["conlab", "compare", "--models", "threads,processes"])
            .expect("parses");
        match cli.command {
            Some(Command::Compare(c)) => {
                assert_eq!(c.models, vec![Model::Threads, Model::Processes])
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_switch_interval_is_named() {
        let cli =
            Cli::try_parse_from(["conlab", "run", "--switch-interval-ms", "0"]).expect("parses");
        let Some(Command::Run(r)) = cli.command else {
            panic!("run")
        };
        assert!(
            r.opts
                .gil()
                .expect_err("0 ms")
                .contains("--switch-interval-ms")
        );
    }
}
