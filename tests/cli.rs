//! The command line as a user meets it: exit codes, error messages, JSON keys.

use std::process::{Command, Output};

fn conlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(args)
        .output()
        .expect("conlab runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_arguments_exit_2_naming_what_was_wrong() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--workload", "nope"], "unknown workload `nope`"),
        (&["run", "--model", "fibers"], "fibers"),
        (&["run", "--workers", "0"], "--workers"),
        (
            &["run", "--workload", "primes", "--size", "99999999999999"],
            "--size",
        ),
        (&["run", "--workload", "fib", "--tasks", "5000"], "--tasks"),
        (
            &["run", "--switch-interval-ms", "0"],
            "--switch-interval-ms",
        ),
        (&["compare", "--workload", "nope"], "unknown workload"),
        (&["compare", "--repeat", "0"], "--repeat"),
        (&["compare", "--workers", "0"], "--workers"),
        (&["run", "--gil", "maybe"], "--gil"),
    ];
    for (args, needle) in cases {
        let out = conlab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
}

#[test]
fn run_json_has_the_documented_keys() {
    let out = conlab(&[
        "run",
        "--workload",
        "primes",
        "--size",
        "2000000",
        "--model",
        "processes",
        "--workers",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "workload",
        "model",
        "workers",
        "gil",
        "tasks",
        "answer",
        "elapsed_s",
        "cpu_s",
        "failed",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["answer"], "148933");
    assert_eq!(v["model"], "processes");
    assert_eq!(v["failed"], 0);
}

#[test]
fn compare_json_has_one_row_per_model_and_answers_agree() {
    let out = conlab(&[
        "compare",
        "--workload",
        "primes",
        "--size",
        "500000",
        "--workers",
        "2",
        "--repeat",
        "2",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    let models: Vec<&str> = rows.iter().filter_map(|r| r["model"].as_str()).collect();
    assert_eq!(models, ["sequential", "threads", "processes", "async"]);
    for r in &rows {
        assert_eq!(r["answer"], "41538");
        assert_eq!(r["answers_agree"], true);
        assert_eq!(r["repeat"], 2);
        assert!(r["capacity"].as_f64().is_some_and(|c| c > 0.0));
    }
}

#[test]
fn compare_formats_render() {
    for (format, needle) in [
        ("table", "speed-up"),
        ("csv", "workload,size,tasks,model,gil,workers"),
        ("markdown", "| model |"),
    ] {
        let out = conlab(&[
            "compare",
            "--workload",
            "tiny",
            "--tasks",
            "20",
            "--workers",
            "2",
            "--format",
            format,
        ]);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(needle), "{format}: {text}");
        assert!(text.contains("processes"), "{format}: {text}");
    }
}

#[test]
fn help_shows_examples() {
    let out = conlab(&["run", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("conlab run --workload"),
        "{text}"
    );
}

/// What an installed binary sees: no checkout around it.
#[test]
fn lessons_are_found_outside_a_checkout_and_shot_all_says_it_needs_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_conlab"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("conlab runs")
    };
    let o = run(&["lesson", "--list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = String::from_utf8_lossy(&o.stdout);
    // One line per lesson file in the checkout: every one is embedded in the binary.
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/lessons"))
        .expect("assets/lessons")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert_eq!(list.lines().count(), shipped, "{list}");
    assert!(!list.contains("INVALID"), "{list}");
    let o = run(&["lesson", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("conlab lesson --list"),
        "{}",
        stderr(&o)
    );
    let o = run(&["shot", "--all"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("checkout"), "{}", stderr(&o));
}

#[test]
fn a_cancelled_run_reports_a_cancel_not_failures() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args([
            "run",
            "-w",
            "sleep",
            "--size",
            "2000",
            "--tasks",
            "4",
            "-m",
            "processes",
            "-n",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("conlab runs");
    // Wait for the run to be under way (its workers started), then Ctrl-C it like a
    // terminal would: SIGINT to the parent and to its workers.
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let started = std::time::Instant::now();
    loop {
        // Worker processes are children of whichever thread started them.
        let kids: String = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.flatten()
                    .map(|t| std::fs::read_to_string(t.path().join("children")).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        if kids.split_whitespace().count() >= 2 || started.elapsed().as_secs() > 20 {
            for k in kids.split_whitespace() {
                if let Ok(k) = k.parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(k),
                        nix::sys::signal::Signal::SIGINT,
                    );
                }
            }
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signal");
    let status = child.wait().expect("exits");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("reads");
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(out.contains("cancelled after"), "{out}");
    assert!(!out.contains("failed"), "{out}");
}

#[test]
fn a_sequential_run_says_one_thread_and_one_task() {
    let o = conlab(&[
        "run",
        "-w",
        "sleep",
        "--size",
        "1",
        "--tasks",
        "1",
        "-m",
        "sequential",
        "-n",
        "2",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.contains("(one thread, GIL on): 1 task\n"), "{out}");
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `conlab lesson --list | head -1`: the pipe closes before conlab has written it all.
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(["lesson", "--list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("conlab starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("conlab exits");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn completions_bash_is_a_script_naming_the_subcommands() {
    let out = conlab(&["completions", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(
        script.contains("complete -F _conlab"),
        "not a bash completion script"
    );
    for sub in [
        "tui",
        "run",
        "compare",
        "shot",
        "replay",
        "lesson",
        "serve",
        "classify",
        "fidelity",
        "watch",
        "completions",
        "man",
    ] {
        assert!(script.contains(&format!(" {sub} ")), "{sub} is not offered");
    }
    assert!(
        !script.contains("__guard"),
        "an internal command is offered"
    );
    for shell in ["zsh", "fish", "powershell"] {
        let out = conlab(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("lesson"),
            "{shell}"
        );
    }
    let out = conlab(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is bad input");
}

#[test]
fn man_prints_a_roff_page_and_writes_one_per_command() {
    let out = conlab(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH conlab 1"), "no roff title: {page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}");
    }
    assert!(page.contains("conlab\\-lesson"), "lesson is not listed");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = conlab(&["man", "--out-dir", dir.path().to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in [
        "conlab.1",
        "conlab-run.1",
        "conlab-lesson.1",
        "conlab-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(name)).expect(name);
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{name}");
    }
    assert!(
        !dir.path().join("conlab-__guard.1").exists(),
        "an internal command got a page"
    );
}

#[test]
fn version_names_the_gil_default_and_the_python() {
    let out = conlab(&["--version"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(format!("conlab {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert!(text.contains("switch interval 5 ms"), "{text}");
    assert!(text.contains("python:"), "{text}");
    assert!(text.contains("--python"), "{text}");
    let short = conlab(&["-V"]);
    assert_eq!(short.stdout, out.stdout, "-V and --version agree");
}

#[test]
fn step_race_loses_an_update_only_when_the_schedule_does() {
    let run = |schedule: &str| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_conlab"))
            .args(["step", "race", "--schedule", schedule, "--json"])
            .output()
            .expect("conlab runs");
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).expect("one JSON object")
    };
    let lost = run("A,B,A");
    assert_eq!(
        (lost["counter"].as_i64(), lost["expected"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(lost["steps"].as_array().map(Vec::len), Some(8));
    let kept = run("A,A,A,A,B");
    assert_eq!(kept["counter"].as_i64(), Some(2));
    assert_eq!(kept["lost_updates"].as_i64(), Some(0));
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(["step", "race", "--schedule", "A,C"])
        .output()
        .expect("conlab runs");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
}
