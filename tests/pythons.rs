//! Real interpreters beyond python3: a free-threaded 3.13t and CPython 3.15's own GIL
//! sampler, from the cache `scripts/pythons` fills (`~/.cache/conlab-pythons/bin`, or
//! `$CONLAB_PYTHONS_DIR/bin`). Each test skips, printing why, when its interpreter is not
//! there; sizes are small so none takes long.

use std::path::PathBuf;
use std::process::{Command, Output};

fn conlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(args)
        .output()
        .expect("conlab runs")
}

/// The cached interpreter, or `None` with the reason printed.
fn cached(file: &str) -> Option<PathBuf> {
    let p = conlab::runtime::locate::cached(file);
    if p.is_none() {
        eprintln!("skipped: no {file} in scripts/pythons' cache (run scripts/pythons to make it)");
    }
    p
}

fn json(out: &Output) -> serde_json::Value {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn a_free_threaded_build_runs_without_its_gil_and_is_named_so() {
    let Some(py) = cached("python3.13t") else {
        return;
    };
    let py = py.to_string_lossy().to_string();
    let run = |gil: &str| {
        json(&conlab(&[
            "run",
            "--runtime",
            "cpython",
            "--python",
            &py,
            "--gil",
            gil,
            "--workload",
            "primes",
            "--model",
            "threads",
            "--workers",
            "2",
            "--size",
            "20000",
            "--json",
        ]))
    };
    let off = run("off");
    assert_eq!(off["gil"], false, "{off}");
    assert!(
        off["python"]
            .as_str()
            .is_some_and(|p| p.contains("free-threaded, GIL off")),
        "{off}"
    );
    let on = run("on");
    assert!(
        on["python"]
            .as_str()
            .is_some_and(|p| p.contains("free-threaded, GIL on")),
        "{on}"
    );
    // The same answer as the simulation's at the same size.
    let native = json(&conlab(&[
        "run",
        "--workload",
        "primes",
        "--model",
        "threads",
        "--workers",
        "2",
        "--size",
        "20000",
        "--json",
    ]));
    assert_eq!(off["answer"], native["answer"]);
    assert_eq!(on["answer"], native["answer"]);
}

#[test]
fn a_gil_build_refuses_gil_off_naming_itself_and_the_fix() {
    let probed = conlab::runtime::python::probe(std::path::Path::new("python3"));
    match probed {
        Ok(info) if !info.free_threaded_build => {}
        Ok(_) => {
            eprintln!("skipped: python3 here is free-threaded");
            return;
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    }
    let out = conlab(&[
        "run",
        "--runtime",
        "cpython",
        "--gil",
        "off",
        "--workload",
        "primes",
        "--size",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`python3` is CPython"), "{err}");
    assert!(err.contains("cannot run without its GIL"), "{err}");
    assert!(
        err.contains("uv python install") && err.contains("scripts/pythons"),
        "{err}"
    );
    let out = conlab(&["fidelity", "--gil", "off", "--workloads", "sleep"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("free-threaded"));
}

#[test]
fn cpython_315s_own_gil_shares_sit_beside_the_simulations() {
    let Some(py) = cached("python3.15") else {
        return;
    };
    let py = py.to_string_lossy().to_string();
    let v = json(&conlab(&[
        "fidelity",
        "--python",
        &py,
        "--workloads",
        "squares",
        "--size",
        "1000000",
        "--workers",
        "2",
        "--no-convoy",
        "--format",
        "json",
    ]));
    let g = &v["gil_shares"][0];
    assert!(
        g["python"].as_str().is_some_and(|p| p.contains("3.15")),
        "{v}"
    );
    let threads = g["cpython"].as_array().expect("CPython's threads");
    assert_eq!(threads.len(), 2, "two worker threads: {g}");
    for t in threads {
        let (h, w, r) = (
            t["held"].as_f64().expect("held"),
            t["waiting"].as_f64().expect("waiting"),
            t["released"].as_f64().expect("released"),
        );
        assert!(h > 0.0, "a worker held the GIL: {t}");
        assert!(h + w + r <= 1.0 + 1e-9, "shares of one life: {t}");
        assert!(t["turns"].as_u64().is_some_and(|n| n >= 1), "{t}");
    }
    assert_eq!(g["native"].as_array().map(Vec::len), Some(2), "{g}");
    assert!(g["cpython_wait_share"].is_f64() && g["native_wait_share"].is_f64());
}

/// The sampler's folders of conlab processes (`conlab-watch-gil-<pid>-…`) now in /tmp.
fn sampler_dirs() -> Vec<String> {
    std::fs::read_dir("/tmp")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(conlab::watch::gil::DIR_PREFIX))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn watch_runs_python_315_under_its_gil_sampler_and_keeps_the_programs_output_and_status() {
    let Some(py) = cached("python3.15") else {
        return;
    };
    let py = py.to_string_lossy().to_string();
    let before = sampler_dirs();
    // Two CPU-bound threads; the program's argv and stdout checked, its exit status 3.
    let code = "import sys, threading\n\
                def work():\n    x = 0\n    for i in range(300000): x += i\n\
                ts = [threading.Thread(target=work) for _ in range(2)]\n\
                [t.start() for t in ts]; [t.join() for t in ts]\n\
                print('argv', sys.argv[1:]); sys.exit(3)";
    let out = conlab(&["watch", "--json", "--", &py, "-c", code, "a b", "c"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the program's own status: {err}"
    );
    assert!(
        err.contains("argv ['a b', 'c']"),
        "its stdout (on stderr with --json): {err}"
    );
    assert!(
        err.contains("CPython's GIL sampler"),
        "the sampler is said to be on: {err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["exit_code"], 3, "{v}");
    let g = &v["cpython_gil"];
    assert!(
        g["python"].as_str().is_some_and(|p| p.contains("3.15")),
        "{g}"
    );
    let threads = g["threads"].as_array().expect("threads");
    let held = threads
        .iter()
        .filter(|t| !t["main"].as_bool().unwrap_or(true))
        .filter(|t| t["held_share"].as_f64().is_some_and(|h| h > 0.0))
        .count();
    assert_eq!(held, 2, "both workers held the GIL: {g}");
    // The sampler's thread ids are the kernel's: the program's main thread (alive all
    // along, unlike workers that may start and end between two samples) is a lane.
    let tids: Vec<u64> = v["threads"]
        .as_array()
        .expect("kernel threads")
        .iter()
        .filter_map(|t| t["tid"].as_u64())
        .collect();
    let main = threads
        .iter()
        .find(|t| t["main"].as_bool() == Some(true))
        .and_then(|t| t["tid"].as_u64())
        .expect("the main thread");
    assert!(
        tids.contains(&main),
        "tid {main} among the kernel's {tids:?}"
    );
    let after = sampler_dirs();
    assert!(
        after.iter().all(|d| before.contains(d)),
        "the sampler's folder is gone: {after:?}"
    );
    // Off: the program runs as given, and the summary says so.
    let out = conlab(&[
        "watch",
        "--json",
        "--no-gil-sampler",
        "--",
        &py,
        "-c",
        "pass",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["cpython_gil"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("off")),
        "{v}"
    );
}

#[test]
fn watch_says_an_older_python_has_no_gil_sampler() {
    let out = conlab(&["watch", "--json", "--", "python3", "-c", "pass"]);
    if out.status.code() != Some(0) {
        eprintln!("skipped: python3 did not run under watch here");
        return;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    match v["cpython_gil"]["note"].as_str() {
        Some(n) => assert!(n.contains("3.15+") || n.contains("sampler"), "{n}"),
        None => assert!(
            v["cpython_gil"]["threads"].is_array(),
            "a 3.15+ python3: {v}"
        ),
    }
}

#[test]
fn the_dashboards_sampled_runner_ends_a_threads_run_with_cpythons_gil() {
    let Some(py) = cached("python3.15") else {
        return;
    };
    let info = conlab::runtime::python::probe(&py).expect("probe");
    let runner = conlab::runtime::gil_sampled::GilSampledRunner(
        conlab::runtime::CpythonRunner::new(info, None),
    );
    let mut spec = conlab::exec::RunSpec::new("squares", conlab::exec::Model::Threads, 2);
    spec.args.size = 1_000_000;
    let notes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = notes.clone();
    let sink = conlab::exec::Sink::new(move |s| {
        if let conlab::core::Event::Note { key, value } = s.event
            && key == conlab::runtime::cpython::GIL_NOTE
        {
            kept.lock().expect("lock").push(value);
        }
    });
    let r = conlab::exec::Runner::run(&runner, &spec, &sink, &conlab::exec::CancelToken::new())
        .expect("runs");
    assert!(r.answer.is_some(), "the same answer as ever");
    let notes = notes.lock().expect("lock").clone();
    assert_eq!(notes.len(), 1, "one note at the end");
    let note: conlab::runtime::gecko::GilNote = serde_json::from_str(&notes[0]).expect("note");
    assert_eq!(note.error, None);
    assert_eq!(note.threads.len(), 2, "{note:?}");
    assert!(
        note.threads
            .iter()
            .all(|t| t.worker.is_some() && t.held > 0.0),
        "each on its lane, holding the GIL at times: {note:?}"
    );
}
