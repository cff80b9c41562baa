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
