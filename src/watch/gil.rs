//! CPython's own GIL measurement in `conlab watch`: when the program is a CPython 3.15+
//! interpreter running a script, `-c` or `-m`, it runs under the interpreter's sampling
//! profiler (`python -m profiling.sampling run -a --gecko`), whose profile says per thread
//! when it held the GIL, waited for it or had released it. The profile is written when the
//! program ends, into a temporary folder under /tmp (a chroot's wrapper binds /tmp) that is
//! removed with this module's [`GilSampler`].
//!
//! The sampler is a parent process: it starts the program with `sys.executable` and no
//! interpreter options, prints its own summary on stdout and always exits 0. So conlab
//! starts it through [`LAUNCH`] (its prints go to a file in the folder, not into the
//! program's output) and runs the program through a boot script
//! (`assets/python/watch_gil.py`) that gives it the `sys.argv` and `sys.path` it would have
//! had and writes its exit status for conlab to report. The interpreter options that have
//! an environment variable (`-u`, `-B`, `-O`) are passed as that variable; any other makes
//! watch run the program as given, without the sampler, and say why.

use std::path::Path;

use serde::Serialize;

use crate::runtime::gecko::{self, ThreadGil};

/// The boot script the sampler runs (in the program's process).
pub const BOOT: &str = include_str!("../../assets/python/watch_gil.py");
/// The boot's file name in the folder (it removes itself once loaded).
pub const BOOT_FILE: &str = "conlab_watch_boot.py";
/// Where the boot writes the program's exit status.
pub const STATUS_FILE: &str = "status";
/// Where the sampler's own prints go (its sample count, error rate, errors).
pub const SAMPLER_OUT: &str = "sampler.txt";
/// The oldest Python with the sampler (`profiling.sampling`, GIL markers in its Gecko output).
pub const SINCE: (u32, u32) = crate::runtime::cpython::SAMPLER_VERSION;
/// The most read of the sampler's prints.
const SAMPLER_OUT_MAX: u64 = 64 << 10;

/// Started as `python -I -c LAUNCH DIR MODE TARGET ARGS…`: the sampler, its prints into
/// DIR/sampler.txt (the program's stdout and stderr are the file descriptors, untouched).
pub const LAUNCH: &str = "import sys, runpy
d = sys.argv[1]
sys.stdout = sys.stderr = open(d + '/sampler.txt', 'w', buffering=1)
sys.argv = ['profiling.sampling', 'run', '-a', '--gecko', '-o', d + '/gil.json', d + '/conlab_watch_boot.py', d] + sys.argv[2:]
runpy.run_module('profiling.sampling', run_name='__main__', alter_sys=True)
";

/// What the interpreter is asked to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Script,
    /// `-c CODE`
    Code,
    /// `-m MODULE`
    Module,
}

impl Mode {
    fn flag(self) -> &'static str {
        match self {
            Mode::Script => "script",
            Mode::Code => "-c",
            Mode::Module => "-m",
        }
    }
}

/// A Python command line, read as the interpreter reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyCommand {
    pub interpreter: String,
    /// Interpreter options turned into their environment variables.
    pub env: Vec<(String, String)>,
    pub mode: Mode,
    /// The script's path, the code, or the module's name.
    pub target: String,
    pub args: Vec<String>,
}

/// Whether `exe` names a Python interpreter by its file name: `python`, `python3`,
/// `python3.15`, `python3.14t`.
pub fn looks_like_python(exe: &str) -> bool {
    let name = Path::new(exe)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let Some(rest) = name.strip_prefix("python") else {
        return false;
    };
    let rest = rest.strip_suffix('t').unwrap_or(rest);
    rest.is_empty() || {
        let mut parts = rest.split('.');
        parts.all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
            && rest.split('.').count() <= 2
    }
}

/// Read `argv` (interpreter first) as CPython reads its command line; why it cannot run
/// under the sampler otherwise (an interactive session, stdin, an option the sampler
/// would drop).
pub fn parse(argv: &[String]) -> Result<PyCommand, String> {
    let (exe, rest) = argv.split_first().ok_or("no program")?;
    let mut env = Vec::new();
    let mut optimize = 0;
    let mut i = 0;
    let done = |mode, target: String, args: &[String], env: Vec<_>, optimize: usize| {
        let mut env: Vec<(String, String)> = env;
        if optimize > 0 {
            env.push(("PYTHONOPTIMIZE".into(), optimize.min(2).to_string()));
        }
        Ok(PyCommand {
            interpreter: exe.clone(),
            env,
            mode,
            target,
            args: args.to_vec(),
        })
    };
    while let Some(a) = rest.get(i) {
        i += 1;
        if a == "--" {
            return match rest.get(i) {
                Some(s) if s != "-" => done(Mode::Script, s.clone(), &rest[i + 1..], env, optimize),
                _ => Err("the program would be read from stdin".into()),
            };
        }
        if a == "-" {
            return Err("the program would be read from stdin".into());
        }
        if a.starts_with("--") {
            return Err(format!("{a} runs no program"));
        }
        let Some(flags) = a.strip_prefix('-') else {
            return done(Mode::Script, a.clone(), &rest[i..], env, optimize);
        };
        for (k, c) in flags.char_indices() {
            match c {
                'c' | 'm' => {
                    let attached = &flags[k + c.len_utf8()..];
                    let (target, from) = if attached.is_empty() {
                        match rest.get(i) {
                            Some(t) => (t.clone(), i + 1),
                            None => return Err(format!("-{c} without its argument")),
                        }
                    } else {
                        (attached.to_string(), i)
                    };
                    let mode = if c == 'c' { Mode::Code } else { Mode::Module };
                    return done(mode, target, &rest[from..], env, optimize);
                }
                'u' => env.push(("PYTHONUNBUFFERED".into(), "1".into())),
                'B' => env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into())),
                'O' => optimize += 1,
                'i' => return Err("-i is an interactive session".into()),
                'h' | '?' | 'V' => return Err(format!("-{c} runs no program")),
                _ => {
                    return Err(format!(
                        "CPython's sampler starts the program without interpreter options, \
                         so -{c} would be lost"
                    ));
                }
            }
        }
    }
    Err("no script, -c or -m: an interactive session".into())
}

/// The command that runs `cmd` under the sampler, its files in `dir`.
pub fn wrapped(cmd: &PyCommand, dir: &Path) -> Vec<String> {
    let mut v = vec![
        cmd.interpreter.clone(),
        "-I".into(),
        "-c".into(),
        LAUNCH.into(),
        dir.display().to_string(),
        cmd.mode.flag().into(),
        cmd.target.clone(),
    ];
    v.extend(cmd.args.iter().cloned());
    v
}

/// What watch will start, and what it says about CPython's GIL sampler.
pub struct Plan {
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub sampler: Option<GilSampler>,
    /// One line for the screen and the summary when the sampler is not used (and why).
    pub note: Option<String>,
}

impl Plan {
    fn plain(command: Vec<String>, note: Option<String>) -> Plan {
        Plan {
            command,
            env: Vec::new(),
            sampler: None,
            note,
        }
    }
}

/// Decide for `command`: a version name first (`3.15`, as `--python` takes it) becomes its
/// interpreter's path; a CPython 3.15+ with its GIL running a script, `-c` or `-m` is run
/// under the sampler unless `enabled` is false. Errors: a version name that is not found.
pub fn plan(command: &[String], enabled: bool) -> Result<Plan, String> {
    let mut command = command.to_vec();
    let Some(exe) = command.first().cloned() else {
        return Ok(Plan::plain(command, None));
    };
    if crate::runtime::locate::Wanted::parse(&exe).is_some() && !on_path(&exe) {
        let p = crate::runtime::locate::resolve(
            Path::new(&exe),
            &crate::runtime::locate::Places::from_env(),
        )?;
        command[0] = p.display().to_string();
    } else if !looks_like_python(&exe) {
        return Ok(Plan::plain(command, None));
    }
    if !enabled {
        return Ok(Plan::plain(
            command,
            Some("CPython's GIL sampler: off (--no-gil-sampler)".into()),
        ));
    }
    let info = match crate::runtime::python::probe_within(
        Path::new(&command[0]),
        std::time::Duration::from_secs(10),
    ) {
        Ok(i) => i,
        Err(_) => return Ok(Plan::plain(command, None)),
    };
    let label = info.label();
    if info.implementation != "CPython" || (info.version.0, info.version.1) < SINCE {
        return Ok(Plan::plain(
            command,
            Some(format!(
                "CPython's own GIL sampler needs CPython {}.{}+ (this is {label})",
                SINCE.0, SINCE.1
            )),
        ));
    }
    if !info.gil {
        return Ok(Plan::plain(
            command,
            Some(format!(
                "CPython's GIL sampler: not used ({label}: no GIL to sample)"
            )),
        ));
    }
    let py = match parse(&command) {
        Ok(p) => p,
        Err(why) => {
            return Ok(Plan::plain(
                command,
                Some(format!("CPython's GIL sampler: not used: {why}")),
            ));
        }
    };
    let sampler = GilSampler::new(label).map_err(|e| format!("a folder for the profile: {e}"))?;
    Ok(Plan {
        command: wrapped(&py, sampler.dir()),
        env: py.env.clone(),
        sampler: Some(sampler),
        note: None,
    })
}

/// Whether `exe` is a command on PATH (a version name is looked up only when it is not).
fn on_path(exe: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(exe).is_file()))
}

/// The sampler's folder (removed when this is dropped, whatever happened) and what it
/// learned once the program ended.
pub struct GilSampler {
    dir: tempfile::TempDir,
    /// "CPython 3.15.2 · GIL".
    pub python: String,
}

/// The prefix of the sampler's folders in /tmp: `conlab-watch-gil-<conlab's pid>-…`.
pub const DIR_PREFIX: &str = "conlab-watch-gil-";

impl GilSampler {
    /// A fresh folder in /tmp with the boot script in it.
    pub fn new(python: String) -> std::io::Result<GilSampler> {
        Self::new_in(Path::new("/tmp"), python)
    }

    pub fn new_in(parent: &Path, python: String) -> std::io::Result<GilSampler> {
        sweep(parent);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(parent)?;
        std::fs::write(dir.path().join(BOOT_FILE), BOOT)?;
        Ok(GilSampler { dir, python })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The program's exit status as its boot saw it (the sampler always exits 0); `None`
    /// when it never got that far or was killed.
    pub fn exit_status(&self) -> Option<u8> {
        let s = std::fs::read_to_string(self.dir().join(STATUS_FILE)).ok()?;
        s.trim().parse::<u8>().ok()
    }

    /// Read the profile and the sampler's own summary (after the program ended).
    pub fn report(&self) -> GilReport {
        let out = read_capped(&self.dir().join(SAMPLER_OUT));
        let threads = gecko::read(&self.dir().join("gil.json")).map_err(|e| {
            match out.as_deref().and_then(last_line) {
                Some(l) => format!("{e} (the sampler said: {l})"),
                None => e,
            }
        });
        GilReport {
            python: self.python.clone(),
            threads: threads
                .map(|t| t.into_iter().filter(|t| t.span_ms > 0.0).collect())
                .map_err(|e| e.to_string()),
            samples: out.as_deref().and_then(samples_line),
        }
    }
}

/// Remove the folders of conlabs that are gone (one killed with SIGKILL could not).
fn sweep(parent: &Path) {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for e in rd.flatten().take(10_000) {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn read_capped(p: &Path) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(p).ok()?;
    let mut s = String::new();
    f.take(SAMPLER_OUT_MAX).read_to_string(&mut s).ok()?;
    Some(s)
}

fn last_line(s: &str) -> Option<String> {
    s.lines()
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\r'))
        .rfind(|l| !l.is_empty())
        .map(|l| crate::core::fmt::fit(l, 160))
}

/// "1569 samples in 1.57 s, 4.9% failed" from the sampler's prints ("Captured 1569
/// samples in 1.57 seconds", "Error rate: 4.91").
pub fn samples_line(out: &str) -> Option<String> {
    let captured = out.lines().find_map(|l| {
        let r = l.trim().strip_prefix("Captured ")?;
        let (n, r) = r.split_once(" sample")?;
        let secs = r.split_once(" in ")?.1.split_whitespace().next()?;
        Some(format!("{} samples in {secs} s", n.replace([',', '_'], "")))
    })?;
    let err = out.lines().find_map(|l| {
        let r = l.trim().strip_prefix("Error rate:")?.trim();
        r.trim_end_matches('%').parse::<f64>().ok()
    });
    Some(match err {
        Some(e) => format!("{captured}, {e:.1}% of reads failed"),
        None => captured,
    })
}

/// What CPython's sampler reported, per thread of the program.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GilReport {
    pub python: String,
    /// The program's threads (native ids, as the kernel's lanes have them), or why none.
    pub threads: Result<Vec<ThreadGil>, String>,
    /// The sampler's own count ("1569 samples in 1.57 s, 4.9% of reads failed").
    pub samples: Option<String>,
}

impl GilReport {
    /// As JSON for `watch --json`: per thread its shares, or the error.
    pub fn to_json(&self) -> serde_json::Value {
        let threads = match &self.threads {
            Ok(t) => serde_json::Value::Array(
                t.iter()
                    .map(|t| {
                        serde_json::json!({
                            "tid": t.tid,
                            "main": t.main,
                            "held_share": t.held_share(),
                            "waiting_share": t.waiting_share(),
                            "released_share": t.released_share(),
                            "turns": t.turns,
                            "sampled_ms": t.span_ms,
                        })
                    })
                    .collect(),
            ),
            Err(_) => serde_json::Value::Null,
        };
        serde_json::json!({
            "python": self.python,
            "sampler": "python -m profiling.sampling run -a --gecko",
            "samples": self.samples,
            "threads": threads,
            "error": self.threads.as_ref().err(),
        })
    }
}

/// A thread's shares in words: "held 47% · waiting 37% · released 17% · 177 turns".
pub fn shares_text(t: &ThreadGil) -> String {
    format!(
        "held {:>3.0}% · waiting {:>3.0}% · released {:>3.0}% · {} turn{}",
        t.held_share() * 100.0,
        t.waiting_share() * 100.0,
        t.released_share() * 100.0,
        t.turns,
        if t.turns == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn python_names_are_recognised() {
        for y in [
            "python",
            "python3",
            "python3.15",
            "/usr/bin/python3.15",
            "python3.14t",
            "/x/python3t",
        ] {
            assert!(looks_like_python(y), "{y}");
        }
        for n in [
            "sh",
            "pythonista",
            "python3.15-config",
            "ipython",
            "python3..1",
            "3.15",
            "",
        ] {
            assert!(!looks_like_python(n), "{n}");
        }
    }

    #[test]
    fn scripts_code_and_modules_are_read_as_python_reads_them() {
        let p = parse(&argv(&["python3.15", "two.py", "-c", "x"])).expect("script");
        assert_eq!((p.mode, p.target.as_str()), (Mode::Script, "two.py"));
        assert_eq!(p.args, argv(&["-c", "x"]), "the script's own arguments");
        let p = parse(&argv(&["python3.15", "-c", "print(1)", "a"])).expect("code");
        assert_eq!(
            (p.mode, p.target.as_str(), p.args.clone()),
            (Mode::Code, "print(1)", argv(&["a"]))
        );
        let p = parse(&argv(&["python3.15", "-uOO", "-mhttp.server", "8000"])).expect("module");
        assert_eq!((p.mode, p.target.as_str()), (Mode::Module, "http.server"));
        assert_eq!(p.args, argv(&["8000"]));
        assert_eq!(
            p.env,
            vec![
                ("PYTHONUNBUFFERED".to_string(), "1".to_string()),
                ("PYTHONOPTIMIZE".to_string(), "2".to_string())
            ]
        );
        let p = parse(&argv(&["python3", "-B", "--", "-odd.py"])).expect("after --");
        assert_eq!((p.mode, p.target.as_str()), (Mode::Script, "-odd.py"));
        let p = parse(&argv(&["python3", "-uc", "pass"])).expect("-c attached to flags");
        assert_eq!((p.mode, p.target.as_str()), (Mode::Code, "pass"));
    }

    #[test]
    fn what_the_sampler_cannot_run_is_said() {
        for (a, why) in [
            (&["python3.15"][..], "interactive"),
            (&["python3.15", "-i", "x.py"], "interactive"),
            (&["python3.15", "-"], "stdin"),
            (&["python3.15", "--version"], "runs no program"),
            (&["python3.15", "-V"], "runs no program"),
            (&["python3.15", "-X", "dev", "x.py"], "-X would be lost"),
            (&["python3.15", "-I", "x.py"], "-I would be lost"),
            (&["python3.15", "-c"], "without its argument"),
        ] {
            let e = parse(&argv(a)).expect_err("not wrapped");
            assert!(e.contains(why), "{a:?}: {e}");
        }
    }

    #[test]
    fn the_wrapped_command_keeps_the_program_and_its_arguments() {
        let p =
            parse(&argv(&["/opt/py/python3.15", "-u", "two.py", "a b", "--x"])).expect("script");
        let w = wrapped(&p, Path::new("/tmp/conlab-watch-gil-1-x"));
        assert_eq!(w[0], "/opt/py/python3.15");
        assert_eq!(&w[1..3], &argv(&["-I", "-c"])[..]);
        assert!(w[3].contains("profiling.sampling") && w[3].contains("'--gecko'"));
        assert_eq!(
            &w[4..],
            &argv(&[
                "/tmp/conlab-watch-gil-1-x",
                "script",
                "two.py",
                "a b",
                "--x"
            ])[..]
        );
        let c = parse(&argv(&[
            "python3.15",
            "-c",
            "import sys; print(sys.argv)",
            "z",
        ]))
        .expect("c");
        assert_eq!(
            &wrapped(&c, Path::new("/d"))[5..],
            &argv(&["-c", "import sys; print(sys.argv)", "z"])[..]
        );
    }

    #[test]
    fn other_programs_are_left_alone_and_version_names_must_exist() {
        let p = plan(&argv(&["sh", "-c", "true"]), true).expect("plan");
        assert_eq!(p.command, argv(&["sh", "-c", "true"]));
        assert!(p.sampler.is_none() && p.note.is_none());
        let p = plan(&argv(&["python3", "x.py"]), false).expect("off");
        assert_eq!(p.command, argv(&["python3", "x.py"]));
        assert!(p.note.is_some_and(|n| n.contains("--no-gil-sampler")));
        assert!(plan(&argv(&["9.99", "x.py"]), true).is_err_and(|e| e.contains("no Python 9.99")));
    }

    #[test]
    fn the_folder_is_removed_with_the_sampler_and_leftovers_of_dead_conlabs_too() {
        let parent = tempfile::tempdir().expect("parent");
        // A folder of a conlab that is gone (no such pid), and one of another program.
        let stale = parent.path().join(format!("{DIR_PREFIX}4194304999-abc"));
        let other = parent.path().join("someone-else");
        std::fs::create_dir(&stale).expect("stale");
        std::fs::create_dir(&other).expect("other");
        let s = GilSampler::new_in(parent.path(), "CPython 3.15.2 · GIL".into()).expect("sampler");
        let dir = s.dir().to_path_buf();
        assert!(dir.join(BOOT_FILE).is_file(), "the boot is written");
        assert!(!stale.exists(), "a dead conlab's folder is swept");
        assert!(other.exists(), "nobody else's is touched");
        assert_eq!(s.exit_status(), None);
        std::fs::write(dir.join(STATUS_FILE), "3\n").expect("status");
        assert_eq!(s.exit_status(), Some(3));
        let r = s.report();
        assert!(r.threads.is_err(), "no profile written");
        drop(s);
        assert!(!dir.exists(), "removed with the sampler");
    }

    #[test]
    fn the_samplers_count_is_read_from_its_prints() {
        let out = "Captured 1,569 samples in 1.57 seconds\nSample rate: 1000.00 samples/sec\nError rate: 4.91\nGecko profile written to /tmp/x\n";
        assert_eq!(
            samples_line(out).as_deref(),
            Some("1569 samples in 1.57 s, 4.9% of reads failed")
        );
        assert_eq!(samples_line("nothing"), None);
        assert_eq!(last_line("a\n\rb  \n\n").as_deref(), Some("b"));
    }
}
