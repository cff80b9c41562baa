//! The I/O workloads end to end: same answers in every model (worker processes included),
//! failures counted with their reasons, bad input rejected up front, `conlab serve`.
//! Loopback only: nothing here leaves the machine.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use conlab::exec::{CancelToken, Model, RunReport, RunSpec, Sink};
use conlab::server::Server;

const EXE: &str = env!("CARGO_BIN_EXE_conlab");

fn spec(workload: &str, model: Model, workers: usize) -> RunSpec {
    let mut s = RunSpec::new(workload, model, workers);
    s.worker_exe = Some(EXE.into());
    s
}

fn run(spec: &RunSpec) -> RunReport {
    conlab::runtime::run(spec, &Sink::null(), &CancelToken::new()).expect("the run starts")
}

/// Run `spec` under every model and check they agree; returns the answer.
fn same_answer_everywhere(mut s: RunSpec) -> String {
    let mut answers = Vec::new();
    for model in Model::ALL {
        s.model = model;
        let r = run(&s);
        assert!(r.failures.is_empty(), "{model}: {:?}", r.failures);
        let a = r.answer.unwrap_or_else(|| panic!("{model}: no answer"));
        answers.push((model, a.value));
    }
    for (m, a) in &answers {
        assert_eq!(a, &answers[0].1, "{m} disagrees with sequential");
    }
    answers.swap_remove(0).1
}

/// A loopback port nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    l.local_addr().expect("addr").port()
}

#[test]
fn http_same_answer_in_every_model() {
    let mut s = spec("http", Model::Sequential, 3);
    s.args.tasks = 6;
    s.args.delay_ms = Some(20);
    s.args.bytes = Some(3000);
    let a = same_answer_everywhere(s);
    assert!(a.starts_with("18,000 bytes"), "{a}");
}

#[test]
fn files_same_answer_in_every_model() {
    let mut s = spec("files", Model::Sequential, 2);
    s.args.size = 6;
    s.args.tasks = 4;
    same_answer_everywhere(s);
}

#[test]
fn files_counts_a_given_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.txt"), "one two three\nfour\n").expect("writes");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/b.txt"), "five  six").expect("writes");
    let mut s = spec("files", Model::Sequential, 2);
    s.args.dir = Some(dir.path().to_path_buf());
    s.args.tasks = 2;
    assert_eq!(same_answer_everywhere(s), "6");
}

#[test]
fn pipeline_same_answer_in_every_model() {
    let mut s = spec("pipeline", Model::Sequential, 2);
    s.args.tasks = 4;
    s.args.size = 3;
    s.args.delay_ms = Some(10);
    s.args.bytes = Some(10_000);
    let a = same_answer_everywhere(s);
    assert!(a.starts_with("40,000 bytes"), "{a}");
}

#[test]
fn failed_requests_are_counted_with_reasons_and_others_finish() {
    let srv = Server::start_loopback().expect("server");
    for model in Model::ALL {
        let mut s = spec("http", model, 2);
        s.args.urls = vec![
            srv.url("/bytes/10"),
            srv.url("/status/500"),
            format!("http://127.0.0.1:{}/", closed_port()),
            // The kernel rejects a TCP connect to broadcast (ENETUNREACH): no packet sent.
            "http://255.255.255.255:9/".into(),
            srv.url("/bytes/20"),
        ];
        s.args.tasks = 5;
        let r = run(&s);
        assert!(!r.cancelled, "{model}");
        assert_eq!(r.answer, None, "{model}");
        let failed: Vec<usize> = r.failures.iter().map(|(t, _)| *t).collect();
        assert_eq!(failed, vec![1, 2, 3], "{model}: {:?}", r.failures);
        assert!(r.failures[0].1.contains("500"), "{:?}", r.failures[0]);
        assert!(
            r.failures[1].1.to_lowercase().contains("refused"),
            "{:?}",
            r.failures[1]
        );
    }
}

#[test]
fn pipeline_reports_a_failed_download() {
    let srv = Server::start_loopback().expect("server");
    let mut s = spec("pipeline", Model::Processes, 2);
    s.args.urls = vec![srv.url("/bytes/100"), srv.url("/status/503")];
    s.args.tasks = 2;
    s.args.size = 1;
    let r = run(&s);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert_eq!(r.failures[0].0, 1);
    assert!(r.failures[0].1.contains("503"), "{:?}", r.failures);
}

fn conlab(args: &[&str]) -> std::process::Output {
    Command::new(EXE).args(args).output().expect("conlab runs")
}

#[test]
fn cli_run_counts_failures_and_exits_1() {
    let srv = Server::start_loopback().expect("server");
    let ok = srv.url("/bytes/5");
    let bad = srv.url("/status/500");
    let out = conlab(&[
        "run",
        "--workload",
        "http",
        "--model",
        "threads",
        "--workers",
        "2",
        "--url",
        &ok,
        "--url",
        &bad,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["tasks"], 2);
    assert_eq!(v["failed"], 1);
    assert!(
        v["failures"][0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("500")
    );
}

#[test]
fn cli_http_default_server_works() {
    let out = conlab(&[
        "run",
        "--workload",
        "http",
        "--model",
        "threads",
        "--workers",
        "4",
        "--tasks",
        "4",
        "--delay-ms",
        "50",
        "--bytes",
        "100",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        v["answer"].as_str().unwrap_or("").starts_with("400 bytes"),
        "{v}"
    );
}

#[test]
fn cli_rejects_bad_input_up_front() {
    for (args, needle) in [
        (vec!["--workload", "http", "--url", "not a url"], "--url"),
        (vec!["--workload", "http", "--url", "ftp://x/"], "--url"),
        (
            vec!["--workload", "http", "--urls-file", "/nonexistent/u"],
            "--urls-file",
        ),
        (
            vec!["--workload", "http", "--bytes", "999999999999"],
            "--bytes",
        ),
        (
            vec!["--workload", "http", "--delay-ms", "99999999"],
            "--delay-ms",
        ),
        (
            vec!["--workload", "files", "--dir", "/nonexistent/conlab"],
            "--dir",
        ),
    ] {
        let mut a = vec!["run"];
        a.extend(args.iter());
        let out = conlab(&a);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn serve_prints_its_address_serves_and_stops_on_ctrl_c() {
    let mut child = Command::new(EXE)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("reads a line");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    let body = ureq::get(&format!("{url}/bytes/7"))
        .call()
        .expect("GET")
        .body_mut()
        .read_to_vec()
        .expect("body");
    assert_eq!(body, conlab::server::pattern(7));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signals");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            assert!(status.success(), "{status}");
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `run --json` of `args`: exit code and the JSON object.
fn run_json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut a = vec!["run", "--json"];
    a.extend_from_slice(args);
    let out = conlab(&a);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?}: no JSON; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

#[test]
fn the_articles_httpbin_urls_run_offline_with_their_timings() {
    // The articles' example, shortened: four GETs of httpbin.org's /delay, answered by the
    // embedded server (this machine needs no internet). Sequential waits them one after
    // another; threads at once.
    let url = "https://httpbin.org/delay/0.3";
    let common = [
        "--workload",
        "http",
        "--url",
        url,
        "--tasks",
        "4",
        "--workers",
        "4",
    ];
    let mut seq = common.to_vec();
    seq.extend(["--model", "sequential"]);
    let mut thr = common.to_vec();
    thr.extend(["--model", "threads"]);
    let (code_s, s) = run_json(&seq);
    let (code_t, t) = run_json(&thr);
    assert_eq!((code_s, code_t), (Some(0), Some(0)), "{s}\n{t}");
    assert_eq!((&s["failed"], &t["failed"]), (&0.into(), &0.into()));
    assert_eq!(s["answer"], t["answer"], "the same bodies in both models");
    let (es, et) = (
        s["elapsed_s"].as_f64().expect("elapsed"),
        t["elapsed_s"].as_f64().expect("elapsed"),
    );
    assert!(es >= 1.2, "four 0.3 s delays one after another: {es}");
    assert!(et < es, "threads overlap the waits: {et} vs {es}");
}

#[test]
fn a_failing_httpbin_url_is_named_as_given() {
    let (code, v) = run_json(&[
        "--workload",
        "http",
        "--url",
        "https://httpbin.org/status/503",
        "--model",
        "sequential",
    ]);
    assert_eq!(code, Some(1), "{v}");
    let err = v["failures"][0]["error"].as_str().unwrap_or("");
    assert!(err.contains("https://httpbin.org/status/503"), "{err}");
    assert!(err.contains("503"), "{err}");
}

#[test]
fn the_open_files_limit_is_raised_or_the_run_refused_up_front() {
    // Soft limit 256 with a higher hard limit: conlab raises it and 300 connections
    // (600 open files with the embedded server) run.
    let sh = |script: &str| {
        Command::new("sh")
            .args(["-c", script, "sh", EXE])
            .output()
            .expect("sh runs")
    };
    let hard = conlab::sys::fds::raise_open_files_limit().map_or(0, |l| l.1);
    if hard >= 1024 {
        let out = sh(
            "ulimit -Sn 256 && exec \"$1\" run --workload http --tasks 300 --workers 300 --delay-ms 10 --model threads --json",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("skipping the raise check: hard open-files limit {hard}");
    }
    // Hard limit 256 too: refused before starting, with the numbers.
    let out = sh(
        "ulimit -n 256 && exec \"$1\" run --workload http --tasks 300 --workers 300 --delay-ms 10 --model threads",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("open-files limit"), "{err}");
    assert!(err.contains("the limit is 256"), "{err}");
    assert!(err.contains("300 at once"), "{err}");
}

#[test]
fn serve_help_lists_the_routes_intact() {
    let out = conlab(&["serve", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for route in [
        "/delay/SECONDS",
        "/bytes/N",
        "/status/CODES",
        "/drip?duration=",
        "/get",
        "/uuid",
        "/delay-ms/MS",
    ] {
        assert!(help.contains(route), "{route} missing:\n{help}");
    }
    assert!(
        !help.lines().any(|l| l.trim_start().starts_with(',')),
        "a route broken across lines:\n{help}"
    );
}
