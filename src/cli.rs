//! The command line: clap derive for every subcommand, and the options shared by them.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::core::Runtime;
use crate::exec::{CancelToken, GilConfig, Model, RunSpec};
use crate::runtime::{RuntimeChoice, StartMethod};
pub use crate::server::httpbin::HttpbinMode;
use crate::workload::WorkloadArgs;

#[derive(Parser, Debug)]
#[command(
    name = "conlab",
    version,
    about = "A terminal concurrency lab: run one workload sequentially, on threads and on processes, and watch why.",
    long_about = "conlab runs CPU-bound, I/O-bound and tiny workloads under five execution models \
(sequential, a thread pool, a process pool, an asyncio event loop, subinterpreters) and measures them. Threads share a simulated \
CPython GIL (switch interval, released around I/O) so they behave as they do in Python; \
--gil off shows free-threaded behaviour.\n\nWith no subcommand it opens the dashboard, and takes the dashboard's options \
(`conlab --present`, `conlab --theme light`, `conlab --runtime cpython`).",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  conlab                                   open the dashboard\n  \
conlab run --workload primes --model processes --workers 2 --json\n  \
conlab compare --workload primes --workers 2 --gil on --format table\n  \
conlab compare --workload sleep --workers 4"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The dashboard's options, for `conlab` without a subcommand.
    #[command(flatten)]
    pub tui: TuiArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the interactive dashboard (the default).
    Tui(TuiArgs),
    /// Run one workload under one model and print a summary.
    #[command(
        after_help = "Examples:\n  conlab run --workload primes --size 2000000 --model processes --workers 2 --json\n  \
conlab run --workload sleep --model threads --workers 8 --gil on\n  \
conlab run --workload fib --model threads --workers 2 --gil off\n  \
conlab run --workload http --tasks 4 --delay-ms 1000 --workers 4 --model threads\n  \
conlab run --workload files --dir ~/notes --model processes"
    )]
    Run(RunArgs),
    /// Run several models one after another, repeat each, and compare them side by side.
    #[command(
        after_help = "Examples:\n  conlab compare --workload primes --workers 2 --gil on --format json\n  \
conlab compare --workload sleep --workers 4 --repeat 3\n  \
conlab compare --workload tiny --models threads,processes --format markdown"
    )]
    Compare(CompareArgs),
    /// Render the dashboard headlessly to SVG, plain text and ANSI (screenshots for docs).
    #[command(
        after_help = "Examples:\n  conlab shot --workload primes --gil on --frame 120x36\n  \
conlab shot --from demo.jsonl --theme light --name light\n  \
conlab shot --all                 regenerate every screenshot in screenshots/ (in a checkout)\n  \
conlab shot --all --rerecord      run the scenarios again first (new timings)"
    )]
    Shot(ShotArgs),
    /// Play a recording (made with --record) back in the dashboard.
    #[command(after_help = "Examples:\n  conlab replay demo.jsonl --speed 2\n  \
conlab replay assets/recordings/primes-gil-on.jsonl   (from a checkout of conlab)")]
    Replay(ReplayArgs),
    /// Step through a lesson in the dashboard (a teacher's live demo).
    #[command(after_help = "Examples:\n  conlab lesson --list\n  \
conlab lesson 02-computing-with-the-gil\n  \
conlab lesson my-lesson.toml\n\nKeys: n / p next / previous step, 1 2 3 … record the audience's guess (the answers each step offers), Enter runs the step.")]
    Lesson(LessonArgs),
    /// Run the embedded loopback HTTP test server alone (the I/O workloads start their own).
    #[command(after_help = "Endpoints (httpbin's, with its units):\n  \
/delay/SECONDS (fractions allowed, at most 60), /bytes/N[?seed=S], /status/CODES,\n  \
/drip?duration=S&numbytes=N&code=C&delay=S, /get, /headers, /ip, /user-agent, /uuid,\n  \
/redirect/N; and conlab's own /delay-ms/MS[?bytes=N]\n\nExamples:\n  \
conlab serve --port 8080\n  curl http://127.0.0.1:8080/delay/1")]
    Serve(ServeArgs),
    /// Run a short sample of a workload: is it mostly waiting or computing, and which model fits?
    #[command(after_help = "Examples:\n  conlab classify --workload primes\n  \
conlab classify --workload sleep --json")]
    Classify(ClassifyArgs),
    /// Real CPython beside the simulation: each workload under every model in both
    /// runtimes, speed-ups compared against ±10%.
    #[command(
        after_help = "Examples:\n  conlab fidelity --workloads primes,naive-primes,squares --workers 2\n  \
conlab fidelity --workloads sleep --workers 4 --format json\n  \
conlab fidelity --python /usr/bin/python3.13 --repeat 3 --format markdown\n  \
conlab fidelity --python 3.13,3.13t --gil off --workloads primes,squares"
    )]
    Fidelity(FidelityArgs),
    /// Run a program (or attach to one) and show what the kernel saw each thread do.
    #[command(after_help = "Examples:\n  conlab watch -- python3 two_threads.py\n  \
conlab watch --headless --json -- python3 two_processes.py\n  \
conlab watch --pid 1234\n\nLanes: on a CPU, waiting for a core, blocked on a lock (a futex: \
CPython's GIL), on I/O, asleep — from /proc/PID/task/TID/{schedstat,wchan}.\n\
Keys: q quit (stops a program watch started), +/- zoom, ↑/↓ scroll.")]
    Watch(WatchArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell (or elvish).
    #[command(
        after_help = "Install (each shell reads its folder when it starts):\n  \
conlab completions bash > ~/.local/share/bash-completion/completions/conlab\n  \
conlab completions zsh > ~/.zfunc/_conlab      (with fpath+=~/.zfunc before compinit in ~/.zshrc)\n  \
conlab completions fish > ~/.config/fish/completions/conlab.fish\n  \
conlab completions powershell >> $PROFILE"
    )]
    Completions(CompletionsArgs),
    /// Print conlab's manual page (roff), or write one page per command into a folder.
    #[command(after_help = "Examples:\n  \
conlab man | man -l -                           read it now\n  \
conlab man --out-dir ~/.local/share/man/man1    install conlab.1 and conlab-run.1, …\n  \
man conlab-run")]
    Man(ManArgs),
    /// Internal: a process-pool worker (tasks on stdin, events on stdout).
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// Internal: the guard that SIGKILLs the process groups conlab started once conlab is
    /// gone (orders on stdin; see `guard`).
    #[command(name = "__guard", hide = true)]
    Guard,
    /// Be the scheduler: step two threads' `counter += 1` bytecode by hand and see an update
    /// get lost (or not).
    #[command(
        after_help = "Examples:\n  conlab step race --schedule A,B          both load 0, one update is lost\n  \
conlab step race --schedule A,A,A,A,B    A stores first: nothing lost\n  \
conlab step race --schedule A,B,A --json\n\n\
Each letter runs that thread's next instruction (LOAD_GLOBAL, LOAD_CONST, BINARY_OP, \
STORE_GLOBAL, as CPython 3.12 runs `counter += 1`); when the schedule runs out A finishes, then B."
    )]
    Step(StepArgs),
    /// Internal: start a program tied to conlab's life (see `guard::tied`).
    #[command(name = "__exec", hide = true)]
    Exec(ExecArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// The workload and how to run it: shared by `run`, `compare` and the dashboard.
#[derive(Args, Debug, Clone)]
pub struct WorkloadOpts {
    /// Workload to run: primes, naive-primes, squares, fib, sleep, http, files, pipeline,
    /// tiny, or a lesson scene (race, deadlock, queue, convoy, native, oversubscribe,
    /// payload, recycle, rate-limit, crossover).
    #[arg(long, short = 'w', default_value = "primes")]
    pub workload: String,
    /// Workers (threads or processes); default: this machine's logical cores.
    #[arg(long, short = 'n')]
    pub workers: Option<usize>,
    /// Workload size: its meaning, default and range depend on the workload (each is
    /// listed under --help).
    #[arg(long, long_help = size_help(), value_parser = parse_size)]
    pub size: Option<u64>,
    /// Number of tasks the work is split into (leave it out for the workload's default).
    #[arg(long, value_parser = at_least_one::<usize>)]
    pub tasks: Option<usize>,
    /// The simulated GIL for threads (each worker process has its own).
    #[arg(long, value_enum, default_value = "on")]
    pub gil: OnOff,
    /// GIL switch interval in milliseconds (CPython's default is 5).
    #[arg(long, default_value_t = crate::core::DEFAULT_SWITCH_INTERVAL_MS)]
    pub switch_interval_ms: f64,
    /// HTTP workloads: the embedded server's delay per request, in ms.
    #[arg(long)]
    pub delay_ms: Option<u64>,
    /// HTTP workloads: the embedded server's response body size, in bytes (default 1024
    /// for http, 1 MiB for pipeline); crossover: bytes per item (one row of its grid).
    #[arg(long)]
    pub bytes: Option<u64>,
    /// HTTP workloads: fetch this URL instead of the embedded server (repeatable).
    #[arg(long = "url", value_name = "URL")]
    pub urls: Vec<String>,
    /// HTTP workloads: fetch the URLs listed in this file, one a line (# comments).
    #[arg(long, value_name = "FILE")]
    pub urls_file: Option<PathBuf>,
    /// HTTP workloads: httpbin.org URLs are answered by the embedded server (local: same
    /// path and query, offline) or sent out as written (remote).
    #[arg(long, value_enum, default_value = "local")]
    pub httpbin: HttpbinMode,
    /// files workload: count words in this folder instead of a generated sample corpus.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Items per task message (Python's `chunksize`), for workloads that batch (tiny).
    #[arg(long)]
    pub chunk: Option<usize>,
    /// A scene's variant (deadlock: fixed; payload: shm; ...).
    #[arg(long)]
    pub variant: Option<String>,
    /// Replace each worker process after K tasks (Python's max_tasks_per_child; recycle).
    #[arg(long, value_name = "K")]
    pub max_tasks_per_child: Option<usize>,
    /// primes: how the numbers are cut into tasks — `ranges` (the articles' equal ranges,
    /// one per worker: the upper one costs more), `work` (many equal-work chunks; the
    /// default) or `steal` (equal ranges on a work-stealing thread pool, rayon; threads
    /// model only).
    #[arg(long, value_enum, value_name = "ranges|work|steal")]
    pub split: Option<crate::exec::Split>,
    /// async: run CPU work (tasks without an async body) off the loop, on `--workers`
    /// threads (asyncio's to_thread) or processes (run_in_executor); none keeps it on the
    /// loop, which it blocks.
    #[arg(long, value_enum, default_value = "none")]
    pub offload: crate::exec::Offload,
    /// async: at most N tasks in flight at once (an asyncio.Semaphore); default: all
    /// (up to 100,000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_in_flight: Option<u64>,
}

impl WorkloadOpts {
    /// `--workers`, else what the CPU conlab is given allows (the quota rounded up, the
    /// affinity mask; `sys::cgroup`), not the cores it sees.
    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| crate::sys::cgroup::given().default_workers())
    }

    pub fn gil(&self) -> Result<GilConfig, String> {
        let switch_interval = GilConfig::interval_from_ms(self.switch_interval_ms)
            .map_err(|e| format!("invalid --switch-interval-ms: {e}"))?;
        Ok(GilConfig {
            enabled: self.gil == OnOff::On,
            switch_interval,
        })
    }

    /// The workload's arguments, without `--urls-file` (which [`WorkloadOpts::spec`] reads).
    pub fn workload_args(&self) -> WorkloadArgs {
        WorkloadArgs {
            size: self.size.unwrap_or(0),
            tasks: self.tasks.unwrap_or(0),
            workers: self.workers(),
            delay_ms: self.delay_ms,
            bytes: self.bytes,
            urls: self.urls.clone(),
            httpbin_remote: self.httpbin == HttpbinMode::Remote,
            dir: self.dir.clone(),
            chunk: self.chunk,
            variant: self.variant.clone(),
            max_tasks_per_child: self.max_tasks_per_child,
            split: self.split,
            at_once: None,
        }
    }

    /// `--url` plus the URLs of `--urls-file`, in order: the file read within its caps
    /// (`workload::url_list`), and given up at once when `cancel` is cancelled.
    pub fn urls(&self, cancel: &CancelToken) -> Result<Vec<String>, String> {
        let mut urls = self.urls.clone();
        if let Some(path) = &self.urls_file {
            urls.extend(crate::workload::url_list::read(path, cancel)?);
        }
        Ok(urls)
    }

    /// [`WorkloadOpts::spec_cancellable`] with a token nobody cancels (a Ctrl-C before
    /// conlab watches for signals ends it as the default action does).
    pub fn spec(&self, model: Model) -> Result<RunSpec, String> {
        self.spec_cancellable(model, &CancelToken::new())
    }

    /// The run these flags ask for; reading `--urls-file` stops when `cancel` is cancelled.
    pub fn spec_cancellable(&self, model: Model, cancel: &CancelToken) -> Result<RunSpec, String> {
        let mut args = self.workload_args();
        args.urls = self.urls(cancel)?;
        // Given URLs and no --tasks: fetch each once.
        if self.tasks.is_none() && !args.urls.is_empty() {
            args.tasks = args.urls.len();
        }
        Ok(RunSpec {
            workload: self.workload.clone(),
            model,
            args,
            gil: self.gil()?,
            asyncio: crate::exec::AsyncOpts {
                offload: self.offload,
                max_in_flight: self.max_in_flight.map(|n| n as usize),
            },
            worker_exe: None,
        })
    }
}

pub use crate::core::default_workers;

/// Run under a CPU limit conlab sets itself (a child cgroup): `run`, `compare`, `watch`
/// and the dashboard.
#[derive(Args, Debug, Clone, Default)]
pub struct LimitOpts {
    /// Run in a child cgroup with this CPU quota, in CPUs (0.5: half a core's time every
    /// 100 ms), as `docker run --cpus` would; needs root or a delegated cgroup v2 subtree.
    #[arg(long, value_name = "CPUS")]
    pub cpu_quota: Option<f64>,
    /// Run in a child cgroup limited to these cores (a CPU list: 0, 0-1), as `docker run
    /// --cpuset-cpus` would; needs root or a delegated cgroup v2 subtree.
    #[arg(long, value_name = "CPUS")]
    pub cpuset: Option<String>,
}
pub use crate::report::{FidelityFormat, Format};

/// Which runtime runs the tasks: shared by `run`, `compare`, `fidelity`, the dashboard
/// and `shot`.
#[derive(Args, Debug, Clone)]
pub struct RuntimeOpts {
    /// native: Rust kernels with a simulated GIL; cpython: a real Python interpreter
    /// running the same workloads (standard library only).
    #[arg(long, value_enum, default_value = "native")]
    pub runtime: Runtime,
    /// The interpreter for the CPython runtime (3.8 or newer): a path, or a version name
    /// found on PATH, in pyenv, uv or scripts/pythons' cache (`3.14t`, `3.13`).
    #[arg(long, value_name = "PATH|VERSION", default_value = crate::runtime::DEFAULT_PYTHON)]
    pub python: PathBuf,
    /// multiprocessing start method of CPython's process pool (default: the platform's).
    #[arg(long, value_enum)]
    pub start_method: Option<StartMethod>,
}

impl RuntimeOpts {
    pub fn choice(&self) -> Result<RuntimeChoice, String> {
        if self.start_method.is_some() && self.runtime == Runtime::Native {
            return Err("invalid --start-method: it applies to --runtime cpython \
                 (native worker processes are always started fresh)"
                .into());
        }
        Ok(RuntimeChoice {
            runtime: self.runtime,
            python: self.python.clone(),
            start_method: self.start_method,
        })
    }
}

/// A count of at least 1: `0` is refused rather than silently meaning "the default".
fn at_least_one<T: std::str::FromStr + PartialEq + From<u8>>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let v: T = s.trim().parse().map_err(|e| format!("{e}"))?;
    if v == T::from(0) {
        return Err("must be at least 1 (leave the flag out for the workload's default)".into());
    }
    Ok(v)
}

/// `--size`'s long help: every workload's size meaning, default and range, in one place.
pub fn size_help() -> String {
    let mut s =
        String::from("Workload size: its meaning, default and range depend on the workload.\n\n");
    for w in crate::workload::all() {
        let r = w.size_range();
        s += &format!(
            "  {:<14} {} (default {}, {}..={})\n",
            w.name(),
            w.size_meaning(),
            w.default_size(),
            r.start(),
            r.end()
        );
    }
    s
}

/// `--size N`: a workload's size. A frame size (`120x36`) gets pointed to `shot --frame`.
/// `--budget`: a percentage of one core, 0 to 100.
pub fn parse_budget(s: &str) -> Result<f64, String> {
    let p: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage (try 1 or 0.5)"))?;
    if !(0.0..=100.0).contains(&p) {
        return Err(format!(
            "{p} is out of range: a share of one core, 0 to 100 (0: no limit)"
        ));
    }
    Ok(p)
}

impl WatchArgs {
    /// The sampler's budget as a share of one core (`None`: no limit).
    pub fn share(&self) -> Option<f64> {
        (self.budget > 0.0).then_some(self.budget / 100.0)
    }
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    if let Some((w, h)) = s.split_once(['x', 'X'])
        && w.trim().parse::<u16>().is_ok()
        && h.trim().parse::<u16>().is_ok()
    {
        return Err(format!(
            "`{s}` looks like a frame size; --size is the workload's size (a number). \
             For the picture's size use `conlab shot --frame {s}`"
        ));
    }
    let n = s
        .trim()
        .replace(['_', ','], "")
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if n == 0 {
        return Err("must be at least 1 (leave the flag out for the workload's default)".into());
    }
    Ok(n)
}

#[derive(Args, Debug)]
pub struct TuiArgs {
    #[command(flatten)]
    pub opts: WorkloadOpts,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
    #[command(flatten)]
    pub limits: LimitOpts,
    /// Colour theme (`NO_COLOR` turns colours off in any theme).
    #[arg(long, value_enum, default_value = "dark")]
    pub theme: crate::ui::theme::ThemeName,
    /// Threads runs on CPython 3.15+ go under its own GIL sampler (python -m
    /// profiling.sampling; it costs CPU): per worker thread, GIL held / waiting / released
    /// when the run ends (`G` toggles it).
    #[arg(long)]
    pub gil_sampler: bool,
    /// Save every engine event and CPU sample to FILE (JSON lines) for `conlab replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Write the session's runs as a Chrome trace-event file (JSON) for ui.perfetto.dev or
    /// chrome://tracing: a track per worker with its tasks, GIL waits and I/O waits, CPU
    /// counters, the settings as metadata. Written as the runs
    /// happen and closed on quit: one file for every run of the session.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Presenter mode, for a projector: elapsed times and speed-ups in large digits,
    /// every model's timeline on one time axis, the explanation framed (key `P` toggles).
    #[arg(long)]
    pub present: bool,
}

#[derive(Args, Debug)]
pub struct StepArgs {
    /// The scene to step: `race`.
    pub scene: String,
    /// Who runs next, one letter an instruction: A or B, e.g. `A,B,A`.
    #[arg(long, default_value = "")]
    pub schedule: String,
    /// Print one JSON object: the steps, the final `counter` and the `expected` value.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A recording made with --record.
    pub file: PathBuf,
    /// Playback speed (2 = twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Colour theme.
    #[arg(long, value_enum, default_value = "dark")]
    pub theme: crate::ui::theme::ThemeName,
    /// Write the recording as a Chrome trace-event file (JSON) for ui.perfetto.dev or
    /// chrome://tracing: a track per worker with its tasks, GIL waits and I/O waits, CPU
    /// counters, the settings as metadata. Written from the whole recording before
    /// playing it (without a terminal, only the trace is written).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Presenter mode, for a projector: elapsed times and speed-ups in large digits,
    /// every model's timeline on one time axis, the explanation framed (key `P` toggles).
    #[arg(long)]
    pub present: bool,
}

#[derive(Args, Debug)]
pub struct LessonArgs {
    /// A lesson file, or the name of a shipped lesson (see --list).
    pub lesson: Option<String>,
    #[command(flatten)]
    pub limits: LimitOpts,
    /// List the shipped lessons.
    #[arg(long)]
    pub list: bool,
    /// Workers for steps that don't set them (default: logical cores).
    #[arg(long, short = 'n')]
    pub workers: Option<usize>,
    /// Colour theme.
    #[arg(long, value_enum, default_value = "dark")]
    pub theme: crate::ui::theme::ThemeName,
    /// Presenter mode, for a projector: elapsed times and speed-ups in large digits,
    /// every model's timeline on one time axis, the explanation framed (key `P` toggles).
    #[arg(long)]
    pub present: bool,
    /// No dashboard: run every step as the dashboard would, judge it as the reveal would,
    /// and print per step the question, the expected and the measured answer and the
    /// verdict (right, wrong, inconclusive with the reason). Exit 1 if any is wrong.
    #[arg(long)]
    pub auto: bool,
    /// With --auto: every shipped lesson, one after another.
    #[arg(long, requires = "auto", conflicts_with = "lesson")]
    pub all: bool,
    /// With --auto: print a JSON array, one object per step.
    #[arg(long, requires = "auto")]
    pub json: bool,
    /// With --auto: runs of each model per step, interleaved across models.
    #[arg(long, requires = "auto", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
}

impl TuiArgs {
    /// The dashboard's options when none are given (`conlab` alone).
    pub fn defaults() -> Self {
        use clap::FromArgMatches;
        let m =
            <TuiArgs as Args>::augment_args(clap::Command::new("tui")).get_matches_from(["tui"]);
        TuiArgs::from_arg_matches(&m).unwrap_or_else(|e| e.exit())
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub opts: WorkloadOpts,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
    #[command(flatten)]
    pub limits: LimitOpts,
    /// Execution model.
    #[arg(long, short = 'm', value_enum, default_value = "threads")]
    pub model: Model,
    /// Print one JSON object on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Save every engine event and CPU sample (a monitor samples every 250 ms meanwhile) to
    /// FILE (JSON lines) for `conlab replay` and `conlab shot --from`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Write the run as a Chrome trace-event file (JSON) for ui.perfetto.dev or
    /// chrome://tracing: a track per worker with its tasks, GIL waits and I/O waits, CPU
    /// counters, the settings as metadata.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub opts: WorkloadOpts,
    #[command(flatten)]
    pub runtime: RuntimeOpts,
    #[command(flatten)]
    pub limits: LimitOpts,
    /// Models to compare, in order (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sequential,threads,processes,async"
    )]
    pub models: Vec<Model>,
    /// Runs per model; the median is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Sample conlab's own threads from /proc every 5 ms while each model runs and report
    /// the share of the working threads' time on a CPU, runnable, and blocked on a lock,
    /// on I/O or asleep (off: no sampler runs beside the models).
    #[arg(long, value_enum, default_value = "on")]
    pub kernel: OnOff,
    /// Save every engine event of every run and the CPU samples (a monitor samples every
    /// 250 ms meanwhile) to FILE (JSON lines) for `conlab replay` and `conlab shot --from`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Write the runs, one after another, as a Chrome trace-event file (JSON) for ui.perfetto.dev or
    /// chrome://tracing: a track per worker with its tasks, GIL waits and I/O waits, CPU
    /// counters, the settings as metadata.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ShotArgs {
    /// The picture's size in terminal cells, WIDTHxHEIGHT.
    #[arg(long, default_value = "120x36", value_name = "WxH")]
    pub frame: String,
    /// Render from a recording instead of running a scenario.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Folder to write NAME.svg, NAME.txt and NAME.ans into.
    #[arg(long, default_value = "screenshots")]
    pub out: PathBuf,
    /// File name without extension (default: from the scenario).
    #[arg(long)]
    pub name: Option<String>,
    /// Colour theme of the picture.
    #[arg(long, value_enum, default_value = "dark")]
    pub theme: crate::ui::theme::ThemeName,
    /// Show the help overlay.
    #[arg(long)]
    pub help_overlay: bool,
    /// Presenter mode: large digits and the timelines on one axis (try --frame 100x30).
    #[arg(long)]
    pub present: bool,
    /// Scenario: the workload to run.
    #[arg(long, short = 'w', default_value = "primes")]
    pub workload: String,
    /// Scenario: the models to run, one after another.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sequential,threads,processes"
    )]
    pub models: Vec<Model>,
    /// Scenario: workers (default: logical cores).
    #[arg(long, short = 'n')]
    pub workers: Option<usize>,
    /// Scenario: the workload's size, as for `run` (its meaning per workload: `conlab run
    /// --help`). The picture's size is --frame.
    #[arg(long, alias = "work-size", value_parser = parse_size)]
    pub size: Option<u64>,
    /// Scenario: tasks.
    #[arg(long, value_parser = at_least_one::<usize>)]
    pub tasks: Option<usize>,
    /// Scenario: the simulated GIL.
    #[arg(long, value_enum, default_value = "on")]
    pub gil: OnOff,
    /// Scenario: who runs it (`--runtime cpython --python PATH` for real Python).
    #[command(flatten)]
    pub runtime: RuntimeOpts,
    /// Scenario: also keep its recording in FILE.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Write an animated SVG of the run as it unfolded to FILE (instead of the stills).
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    pub animate: Option<PathBuf>,
    /// Write the same frames as an asciicast v2 to FILE, for asciinema players (instead of
    /// the stills).
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    pub cast: Option<PathBuf>,
    /// With --cast: write asciicast v3 (asciinema 3's default format) instead of v2.
    #[arg(long, requires = "cast")]
    pub cast_v3: bool,
    /// --animate/--cast: frames per second of the picture (0.5..=60; default: the
    /// dashboard's own 10).
    #[arg(long, default_value_t = 10.0)]
    pub fps: f64,
    /// --animate/--cast: play the recording this many times as fast (0.05..=100).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// --animate: how many times the animation plays: `infinite` or a count (it then
    /// stops on the last frame).
    #[arg(long = "loop", value_name = "N|infinite", default_value = "infinite")]
    pub loops: crate::frame::animate::Loop,
    /// Regenerate every committed screenshot (stills and animations) from the recordings.
    #[arg(long)]
    pub all: bool,
    /// With --all: run the scenarios again and overwrite the recordings first.
    #[arg(long, requires = "all")]
    pub rerecord: bool,
    /// With --all: where the recordings live.
    #[arg(long, default_value = "assets/recordings")]
    pub recordings: PathBuf,
}

#[derive(Args, Debug)]
pub struct FidelityArgs {
    /// Workloads to compare (comma-separated; those the CPython runtime runs).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "primes,naive-primes,squares,sleep,pipeline,native"
    )]
    pub workloads: Vec<String>,
    /// Workers for threads and processes (default: logical cores).
    #[arg(long, short = 'n')]
    pub workers: Option<usize>,
    /// Runs per model and runtime; the median is compared.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
    /// One size for both runtimes (default: each runtime's own default).
    #[arg(long)]
    pub size: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FidelityFormat,
    /// The interpreters to compare against (3.8 or newer), in one table: a path or a
    /// version name found on PATH, in pyenv, uv or scripts/pythons' cache (`3.13t`);
    /// repeat the flag or separate with commas. The first is the single-thread tax's
    /// reference; a 3.15+ also measures its own GIL (profiling.sampling).
    #[arg(
        long,
        value_name = "PATH|VERSION",
        value_delimiter = ',',
        default_value = crate::runtime::DEFAULT_PYTHON
    )]
    pub python: Vec<PathBuf>,
    /// The simulation's GIL, and free-threaded interpreters' (off needs one: 3.13t+);
    /// a GIL build beside it keeps its GIL and is named so.
    #[arg(long, value_enum, default_value = "on")]
    pub gil: OnOff,
    /// multiprocessing start method of CPython's process pool (default: the platform's).
    #[arg(long, value_enum)]
    pub start_method: Option<StartMethod>,
    /// Skip the convoy-effect measurement.
    #[arg(long)]
    pub no_convoy: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port to listen on (0: a free one, printed at start).
    #[arg(long, short = 'p', default_value_t = 0)]
    pub port: u16,
    /// Address to bind; anything but loopback is reachable from other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
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
pub struct WatchArgs {
    /// Attach to this running process (and its descendants) instead of starting one.
    #[arg(long, conflicts_with = "command")]
    pub pid: Option<u32>,
    /// Sample every this many milliseconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub sample_ms: u64,
    /// Most of one core the sampler may use, in percent: reading a large, busy tree every
    /// --sample-ms would cost more, so it samples less often (and says so). 0: no limit.
    #[arg(long, value_name = "PCT", default_value_t = 1.0, value_parser = parse_budget)]
    pub budget: f64,
    /// No screen: wait for the program and print a summary of every thread at the end.
    #[arg(long)]
    pub headless: bool,
    /// With --headless (implied): print the summary as one JSON object, alone on stdout
    /// (the program's own stdout goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Colour theme.
    #[arg(long, value_enum, default_value = "dark")]
    pub theme: crate::ui::theme::ThemeName,
    /// Save every kernel sample (and CPU sample) to FILE (JSON lines) for `conlab replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// Where `s` saves screenshots.
    #[arg(long, value_name = "DIR", default_value = "screenshots")]
    pub shots: std::path::PathBuf,
    /// --cpu-quota / --cpuset: the program runs in conlab's child cgroup (not with --pid).
    #[command(flatten)]
    pub limits: LimitOpts,
    /// Do not run a CPython 3.15+ program under its own GIL sampler (python -m
    /// profiling.sampling, which costs CPU; its per-thread GIL shares come at the end).
    #[arg(long)]
    pub no_gil_sampler: bool,
    /// The program to run and its arguments (after `--`); a version name first
    /// (`3.15 two.py`) runs that Python, found as --python finds it.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write conlab.1 and one page per command (conlab-run.1, …) into DIR instead of
    /// printing conlab.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// conlab's pid: the program is not started if conlab is already gone.
    #[arg(long)]
    pub parent: u32,
    /// The program and its arguments (after `--`).
    #[arg(last = true, value_name = "CMD", required = true)]
    pub command: Vec<String>,
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
    fn size_means_the_workload_and_a_frame_size_is_pointed_to_frame() {
        let e = Cli::try_parse_from(["conlab", "shot", "--size", "120x36"]).expect_err("WxH");
        assert!(e.to_string().contains("--frame 120x36"), "{e}");
        let cli = Cli::try_parse_from(["conlab", "shot", "--size", "2000000", "--frame", "80x24"])
            .expect("parses");
        let Some(Command::Shot(s)) = cli.command else {
            panic!("shot")
        };
        assert_eq!((s.size, s.frame.as_str()), (Some(2_000_000), "80x24"));
        let help = size_help();
        for w in crate::workload::all() {
            assert!(help.contains(w.name()), "{help}");
        }
    }

    #[test]
    fn the_dashboards_options_work_without_tui() {
        for args in [
            vec!["conlab", "--present"],
            vec!["conlab", "--theme", "light"],
            vec!["conlab", "--runtime", "cpython"],
        ] {
            let cli = Cli::try_parse_from(&args).expect("the dashboard's options");
            assert!(cli.command.is_none(), "{args:?}");
        }
        let cli = Cli::try_parse_from(["conlab", "--present"]).expect("parses");
        assert!(cli.tui.present);
        let cli = Cli::try_parse_from(["conlab", "tui", "--present"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Tui(t)) if t.present));
    }

    #[test]
    fn help_names_four_models_and_every_workload() {
        use clap::CommandFactory;
        let mut c = Cli::command();
        let help = c.render_long_help().to_string();
        assert!(help.contains("five execution models"), "{help}");
        let run = c.find_subcommand_mut("run").expect("run");
        let help = run.render_long_help().to_string();
        let list = help
            .split("--workload")
            .nth(1)
            .and_then(|h| h.split("--workers").next())
            .unwrap_or_default();
        for w in crate::workload::all() {
            assert!(list.contains(w.name()), "{} not in {list}", w.name());
        }
    }

    #[test]
    fn budget_is_a_percentage_of_a_core() {
        assert_eq!(parse_budget("1"), Ok(1.0));
        assert_eq!(parse_budget("0.5%"), Ok(0.5));
        assert_eq!(parse_budget("0"), Ok(0.0));
        assert!(
            parse_budget("101")
                .expect_err("refused")
                .contains("0 to 100")
        );
        assert!(
            parse_budget("-1")
                .expect_err("refused")
                .contains("out of range")
        );
        assert!(
            parse_budget("lots")
                .expect_err("refused")
                .contains("not a percentage")
        );
        let cli = Cli::try_parse_from(["conlab", "watch", "--budget", "0", "--", "true"])
            .expect("parses");
        let Some(Command::Watch(w)) = cli.command else {
            panic!("watch")
        };
        assert_eq!(w.share(), None);
    }

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
    fn io_flags_map_into_workload_args() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("urls.txt");
        std::fs::write(
            &file,
            "# a comment\nhttp://127.0.0.1:1/a\n\n  http://127.0.0.1:1/b  \n",
        )
        .expect("writes");
        let cli = Cli::try_parse_from([
            "conlab",
            "run",
            "--workload",
            "http",
            "--delay-ms",
            "10",
            "--bytes",
            "20",
            "--url",
            "http://127.0.0.1:1/x",
            "--urls-file",
            file.to_str().expect("utf-8 path"),
            "--dir",
            "/tmp",
        ])
        .expect("parses");
        let Some(Command::Run(r)) = cli.command else {
            panic!("run")
        };
        let spec = r.opts.spec(Model::Threads).expect("spec");
        assert_eq!(spec.args.delay_ms, Some(10));
        assert_eq!(spec.args.bytes, Some(20));
        assert_eq!(
            spec.args.urls,
            vec![
                "http://127.0.0.1:1/x",
                "http://127.0.0.1:1/a",
                "http://127.0.0.1:1/b"
            ]
        );
        assert_eq!(spec.args.tasks, 3, "one task per URL by default");
        assert_eq!(spec.args.dir, Some(PathBuf::from("/tmp")));
    }

    #[test]
    fn missing_urls_file_is_named() {
        let cli = Cli::try_parse_from(["conlab", "run", "--urls-file", "/nonexistent/urls"])
            .expect("parses");
        let Some(Command::Run(r)) = cli.command else {
            panic!("run")
        };
        assert!(
            r.opts
                .spec(Model::Threads)
                .expect_err("no file")
                .contains("--urls-file")
        );
    }

    #[test]
    fn serve_defaults_to_loopback() {
        let cli = Cli::try_parse_from(["conlab", "serve"]).expect("parses");
        let Some(Command::Serve(s)) = cli.command else {
            panic!("serve")
        };
        assert!(s.bind.is_loopback());
        assert_eq!(s.port, 0);
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
