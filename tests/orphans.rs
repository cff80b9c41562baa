//! No process conlab starts outlives it — not even when conlab is killed with SIGKILL and
//! no handler of its own runs. Each test marks one run of the real binary with a unique
//! environment variable (everything it starts inherits it), waits until the processes of
//! interest exist, SIGKILLs conlab, and polls /proc, with a deadline, until no live process
//! carries the mark. Whatever a failing test leaves is killed when it ends. (The dashboard's
//! case, in a pseudo-terminal, is in `tui_e2e.rs`.)

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The environment variable that marks a test's processes.
const MARK: &str = "CONLAB_ORPHAN_TEST";
/// How long the processes of interest may take to appear (a busy CI machine).
const APPEAR: Duration = Duration::from_secs(60);
/// How long the kernel (and the guard) may take to end them once conlab is gone.
const VANISH: Duration = Duration::from_secs(10);

fn conlab_exe() -> &'static str {
    env!("CARGO_BIN_EXE_conlab")
}

/// A value for [`MARK`] no other test (or run) uses.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Live processes (zombies aside) whose environment holds `MARK=value`: (pid, comm).
fn marked(value: &str) -> Vec<(u32, String)> {
    let needle = format!("{MARK}={value}");
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("?");
        if state == "Z" || state == "X" {
            continue;
        }
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        out.push((pid, comm.trim().to_string()));
    }
    out
}

/// How many of `ps` are called `comm`.
fn count(ps: &[(u32, String)], comm: &str) -> usize {
    ps.iter().filter(|(_, c)| c == comm).count()
}

/// How many of `ps` are Python interpreters (`python3`, `python3.13`…).
fn pythons(ps: &[(u32, String)]) -> usize {
    ps.iter().filter(|(_, c)| c.starts_with("python")).count()
}

/// A minute-long sleep in each of four tasks on two worker processes.
const SLEEPING_POOL: [&str; 10] = [
    "--workload",
    "sleep",
    "--model",
    "processes",
    "--workers",
    "2",
    "--tasks",
    "4",
    "--delay-ms",
    "60000",
];

/// Poll until `f` gives a value, or panic naming `what` after `deadline`.
fn wait_for<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let t = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(state) if t.elapsed() >= deadline => {
                panic!("timed out after {deadline:?} waiting for {what}: {state}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// One marked conlab. Dropping it kills whatever still carries its mark.
struct Marked {
    mark: String,
    child: Option<Child>,
}

impl Marked {
    /// Start conlab with `args` (no terminal; stdout as given, stderr piped when asked).
    fn start(name: &str, args: &[&str], stdout: Stdio) -> Marked {
        Marked::start_with(name, args, stdout, Stdio::null())
    }

    fn start_with(name: &str, args: &[&str], stdout: Stdio, stderr: Stdio) -> Marked {
        let mark = unique(name);
        let child = Command::new(conlab_exe())
            .args(args)
            .env(MARK, &mark)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn conlab");
        Marked {
            mark,
            child: Some(child),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Wait until the marked processes satisfy `ready`; they are returned.
    fn wait_until(
        &self,
        what: &str,
        ready: impl Fn(&[(u32, String)]) -> bool,
    ) -> Vec<(u32, String)> {
        wait_for(what, APPEAR, || {
            let ps = marked(&self.mark);
            if ready(&ps) {
                Ok(ps)
            } else {
                Err(format!("{ps:?}"))
            }
        })
    }

    /// SIGKILL conlab (no handler of its runs), reap it, and check that every process it
    /// started is gone within [`VANISH`].
    fn sigkill_and_expect_nothing_left(&mut self) {
        let mut child = self.child.take().expect("started");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("SIGKILL conlab");
        let status = child.wait().expect("reap conlab");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "conlab died of the SIGKILL, not of something else first"
        );
        wait_for("every process conlab started to be gone", VANISH, || {
            let left = marked(&self.mark);
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("left behind: {left:?}"))
            }
        });
    }
}

impl Drop for Marked {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for (pid, _) in marked(&self.mark) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

// ------------------------------------------------------------------------ conlab watch

#[test]
fn a_watched_program_and_its_background_job_die_with_conlab() {
    let mut run = Marked::start(
        "watch-sh",
        &[
            "watch",
            "--headless",
            "--",
            "sh",
            "-c",
            "sleep 300 & sleep 301",
        ],
        Stdio::null(),
    );
    // The shell, both sleeps (one a background job, a grandchild of conlab) and the guard.
    let ps = run.wait_until("the shell's two sleeps", |ps| {
        count(ps, "sleep") == 2 && count(ps, "sh") == 1
    });
    assert_eq!(count(&ps, "conlab-guard"), 1, "{ps:?}");
    run.sigkill_and_expect_nothing_left();
}

#[test]
fn a_watched_programs_python_workers_die_with_conlab() {
    let py = match common::python3() {
        Ok(p) => p,
        Err(why) => return println!("skipped: {why}"),
    };
    // A forkserver and its two workers: none is conlab's child, none has a parent-death
    // signal; only their process group ties them to the program.
    let script = "import multiprocessing as mp, sys, time\n\
if __name__ == '__main__':\n    \
ctx = mp.get_context('forkserver')\n    \
ps = [ctx.Process(target=time.sleep, args=(300,)) for _ in range(2)]\n    \
[p.start() for p in ps]\n    \
print('started', flush=True)\n    \
[p.join() for p in ps]\n";
    let mut run = Marked::start(
        "watch-py",
        &["watch", "--headless", "--", &py, "-c", script],
        Stdio::piped(),
    );
    let out = run
        .child
        .as_mut()
        .and_then(|c| c.stdout.take())
        .expect("stdout");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("a line");
    assert_eq!(line.trim(), "started", "the script's workers started");
    let ps = run.wait_until("the script and two workers", |ps| pythons(ps) >= 3);
    assert_eq!(count(&ps, "conlab-guard"), 1, "{ps:?}");
    run.sigkill_and_expect_nothing_left();
}

#[test]
fn the_launcher_is_never_seen_as_the_watched_program() {
    // The program starts through `conlab __exec`; from its first sample on, watch must see
    // the program: no process or thread of conlab's in the recording, the JSON or the tree.
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("watch.jsonl");
    let rec_s = rec.to_str().expect("utf-8 path");
    for _ in 0..5 {
        let out = Command::new(conlab_exe())
            .args(["watch", "--headless", "--json", "--record", rec_s, "--"])
            .args(["sh", "-c", "sleep 0.05; exit 3"])
            .stderr(Stdio::null())
            .output()
            .expect("conlab runs");
        assert_eq!(out.status.code(), Some(3), "the exit code passes through");
        let text = std::fs::read_to_string(&rec).expect("recording");
        assert!(text.contains("\"process_born\""), "{text}");
        for line in text.lines() {
            assert!(
                !line.contains("__exec") && !line.contains("\"name\":\"conlab"),
                "conlab's launcher or guard in the recording: {line}"
            );
        }
        let json = String::from_utf8_lossy(&out.stdout);
        assert!(
            json.contains("\"cmd\":\"sh -c sleep 0.05; exit 3\""),
            "{json}"
        );
        assert!(!json.contains("conlab"), "{json}");
    }
}

#[test]
fn an_attached_program_is_never_killed() {
    let mut target = Command::new("sleep")
        .arg("300")
        .stdin(Stdio::null())
        .spawn()
        .expect("sleep");
    let pid = target.id().to_string();
    let mut run = Marked::start_with(
        "attach",
        &["watch", "--headless", "--pid", &pid],
        Stdio::null(),
        Stdio::piped(),
    );
    // It says so on stderr once it has sampled the target: past any spawn it would make.
    let err = run
        .child
        .as_mut()
        .and_then(|c| c.stderr.take())
        .expect("stderr");
    let mut line = String::new();
    BufReader::new(err).read_line(&mut line).expect("a line");
    assert!(line.contains(&format!("pid {pid}")), "{line}");
    let ps = marked(&run.mark);
    assert_eq!(count(&ps, "conlab"), 1, "{ps:?}");
    assert_eq!(
        count(&ps, "conlab-guard"),
        0,
        "no guard for a program we did not start"
    );
    run.sigkill_and_expect_nothing_left();
    assert!(
        target.try_wait().expect("try_wait").is_none(),
        "the attached program lives on"
    );
    let _ = target.kill();
    let _ = target.wait();
}

// --------------------------------------------------------------- the native process pool

#[test]
fn the_process_pools_workers_die_with_conlab() {
    let args: Vec<&str> = ["run"].into_iter().chain(SLEEPING_POOL).collect();
    let mut run = Marked::start("run-processes", &args, Stdio::null());
    // conlab and its two workers (`conlab worker`).
    run.wait_until("two worker processes", |ps| count(ps, "conlab") == 3);
    run.sigkill_and_expect_nothing_left();
}

#[test]
fn the_async_loops_offload_workers_die_with_conlab() {
    let mut run = Marked::start(
        "async-offload",
        &[
            "run",
            "--workload",
            "primes",
            "--size",
            "2000000000",
            "--model",
            "async",
            "--offload",
            "processes",
            "--workers",
            "2",
        ],
        Stdio::null(),
    );
    run.wait_until("two offload workers", |ps| count(ps, "conlab") == 3);
    run.sigkill_and_expect_nothing_left();
}

// ---------------------------------------------------------------------- the CPython runtime

/// A CPython process pool (`start_method`), its workers in a minute-long sleep; SIGKILL
/// conlab. At least `python_processes` interpreters (the driver, the workers and what the
/// start method adds: a resource tracker, a forkserver) are running before.
fn cpython_pool_dies_with_conlab(start_method: &str, python_processes: usize) {
    let py = match common::python3() {
        Ok(p) => p,
        Err(why) => return println!("skipped: {why}"),
    };
    let mut args = vec![
        "run",
        "--runtime",
        "cpython",
        "--python",
        &py,
        "--start-method",
        start_method,
    ];
    args.extend(SLEEPING_POOL);
    let mut run = Marked::start(&format!("cpython-{start_method}"), &args, Stdio::null());
    // Every interpreter started, and two of them (the workers) asleep in their tasks.
    let ps = run.wait_until("the interpreter's pool, its workers in their tasks", |ps| {
        pythons(ps) >= python_processes
            && ps
                .iter()
                .filter(|(p, c)| c.starts_with("python") && asleep(*p))
                .count()
                >= 2
    });
    assert_eq!(count(&ps, "conlab-guard"), 1, "{ps:?}");
    // The driver kills its own group when its stdin closes — if it gets to run before
    // its parent-death signal kills it, which is a race (and a driver holding the GIL in a
    // long native call cannot). Hold its stdin open, so it never sees the end: then only
    // the guard stands between conlab's death and a forkserver left running.
    let conlab = run.pid();
    let drivers: Vec<u32> = ps
        .iter()
        .filter(|(p, c)| c.starts_with("python") && parent_of(*p) == Some(conlab))
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(drivers.len(), 1, "one driver, conlab's child: {ps:?}");
    let held = hold_pipe(conlab, drivers[0], 0);
    run.sigkill_and_expect_nothing_left();
    drop(held);
}

/// Open for writing, through /proc, the pipe that is fd `fd` of `reader`, as `writer` (who
/// holds its other end) has it: while it is open, `reader` never reads end-of-file.
fn hold_pipe(writer: u32, reader: u32, fd: u32) -> std::fs::File {
    let pipe = std::fs::read_link(format!("/proc/{reader}/fd/{fd}")).expect("reader's fd");
    let theirs = std::fs::read_dir(format!("/proc/{writer}/fd"))
        .expect("writer's fds")
        .flatten()
        .find(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == pipe))
        .unwrap_or_else(|| panic!("{writer} holds {pipe:?}"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(theirs.path())
        .expect("open the pipe through /proc")
}

/// Whether process `pid` is in a sleep (`time.sleep`), as conlab's kernel view reads it:
/// from `wchan` where the kernel shows it, else from the system call it is blocked in.
fn asleep(pid: u32) -> bool {
    use conlab::observe::thread_state::{Wait, wait_from_syscall, wait_from_wchan};
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let wait = wait_from_wchan(&wchan).or_else(|| {
        let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
        conlab::sys::proc::parse_syscall(&s).map(wait_from_syscall)
    });
    wait == Some(Wait::Sleep)
}

/// The parent of `pid`, from its `stat`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_cpython_fork_pool_dies_with_conlab() {
    cpython_pool_dies_with_conlab("fork", 3);
}

#[test]
fn a_cpython_spawn_pool_dies_with_conlab() {
    cpython_pool_dies_with_conlab("spawn", 4);
}

#[test]
fn a_cpython_forkserver_pool_dies_with_conlab() {
    // The forkserver has no tie to conlab or the driver but the guard (its workers die
    // with it); Python 3.14 makes it the default on Linux.
    cpython_pool_dies_with_conlab("forkserver", 5);
}

// ---------------------------------------------------------------------------- the guard

/// A `sleep` in a process group of its own.
fn sleeper() -> Child {
    use std::os::unix::process::CommandExt;
    Command::new("sleep")
        .arg("300")
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("sleep")
}

#[test]
fn the_guard_stops_what_it_looks_after_when_its_pipe_closes_and_spares_what_it_forgot() {
    let mut kept = sleeper();
    let mut forgotten = sleeper();
    let mut guard = Command::new(conlab_exe())
        .arg("__guard")
        .stdin(Stdio::piped())
        .spawn()
        .expect("guard");
    let mut pipe = guard.stdin.take().expect("stdin");
    writeln!(
        pipe,
        "kill {}\nkill {}\nforget {}\nkill 1\nkill 0\nnonsense",
        kept.id(),
        forgotten.id(),
        forgotten.id()
    )
    .expect("orders");
    pipe.flush().expect("flush");
    // Neither a Ctrl-C, a hang-up nor a SIGTERM ends it: only conlab's going does (once
    // it has said it catches them: SigCgt, bits SIGHUP-1, SIGINT-1, SIGTERM-1).
    let caught = |pid: u32| -> Result<(), String> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let mask = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .unwrap_or(0);
        let want = (1 << 0) | (1 << 1) | (1 << 14);
        if mask & want == want {
            Ok(())
        } else {
            Err(format!("SigCgt {mask:#x}"))
        }
    };
    wait_for("the guard to catch INT, HUP and TERM", APPEAR, || {
        caught(guard.id())
    });
    let g = Pid::from_raw(guard.id() as i32);
    for sig in [Signal::SIGINT, Signal::SIGHUP, Signal::SIGTERM] {
        kill(g, sig).expect("signal the guard");
    }
    drop(pipe);
    let status = guard.wait().expect("guard exits");
    assert!(status.success(), "{status:?}");
    // Asked politely first (a sleep ends on SIGTERM); what ignores it gets SIGKILL (the
    // guard's own unit test).
    let st = kept.wait().expect("reaped");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&st),
        Some(15),
        "{st:?}"
    );
    assert!(
        forgotten.try_wait().expect("try_wait").is_none(),
        "a forgotten group is left alone"
    );
    let _ = forgotten.kill();
    let _ = forgotten.wait();
}
