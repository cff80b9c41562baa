//! The crossover grid end to end: `conlab run --workload crossover` runs every cell under
//! threads, processes and interpreters, with the same answer in each, on the native
//! runtime and on a real CPython 3.14 (skipped, saying why, when scripts/pythons' cache
//! has none). Sizes are small so each takes seconds.

use std::process::{Command, Output};

fn conlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(args)
        .output()
        .expect("conlab runs")
}

fn json(out: &Output) -> serde_json::Value {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Every cell has the three pools, each with a time, their answers agree, and the cell
/// names a fastest pool with its margin (conclusive or not, never a bare time).
fn every_cell_is_complete(g: &serde_json::Value, cells: usize) {
    let got = g["cells"].as_array().expect("cells");
    assert_eq!(got.len(), cells, "{g}");
    for c in got {
        let models: Vec<&str> = c["times"]
            .as_array()
            .expect("times")
            .iter()
            .map(|t| {
                assert!(t["elapsed_s"].as_f64().is_some(), "{c}");
                t["model"].as_str().expect("a model")
            })
            .collect();
        assert_eq!(models, ["threads", "processes", "interpreters"], "{c}");
        assert_eq!(c["answers_agree"], true, "{c}");
        let state = c["winner"]["state"].as_str().expect("a judged winner");
        assert!(state == "conclusive" || state == "inconclusive", "{c}");
        if state == "inconclusive" {
            assert!(c["winner"]["reason"].as_str().is_some(), "{c}");
        }
        assert!(c["margin"].as_f64().is_some_and(|m| m >= 1.0), "{c}");
        assert!(c["interpreters_vs_processes"]["value"].is_string(), "{c}");
    }
}

#[test]
fn a_native_column_of_the_grid() {
    let g = json(&conlab(&[
        "run",
        "--workload",
        "crossover",
        "--tasks",
        "4",
        "--size",
        "2000",
        "--workers",
        "2",
        "--json",
    ]));
    every_cell_is_complete(&g, 3);
    assert_eq!(g["workload"], "crossover");
    assert_eq!(g["rounds"], 2000);
    // Item sizes differ, so the answers do.
    let answers: Vec<&str> = g["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c["answer"].as_str().expect("an answer"))
        .collect();
    assert_ne!(answers[0], answers[1]);
    // The pools' own costs: processes' start-up measured; interpreters' copies
    // measured, their start-up not simulated (null, and said below).
    let c = &g["cells"][2]["times"];
    assert!(c[1]["startup_ms"].as_f64().is_some(), "{g}");
    assert!(c[2]["copy_us_per_item"].as_f64().is_some(), "{g}");
    assert!(c[2]["startup_ms"].is_null(), "{g}");
    // What is simulated is said.
    assert!(
        g["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("start-up is NOT simulated")),
        "{g}"
    );
}

#[test]
fn the_map_says_what_is_simulated_and_bad_input_is_refused() {
    let out = conlab(&[
        "run",
        "--workload",
        "crossover",
        "--tasks",
        "2",
        "--bytes",
        "100",
        "--size",
        "100",
        "--workers",
        "2",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("2 items"), "{text}");
    assert!(text.contains("interpreters beat processes:"), "{text}");
    assert!(text.contains("start-up is NOT simulated"), "{text}");
    for bad in [
        &["--bytes", "0"][..],
        &["--bytes", "20000000"],
        &["--bytes", "10000000", "--tasks", "100"],
    ] {
        let mut a = vec!["run", "--workload", "crossover"];
        a.extend_from_slice(bad);
        let out = conlab(&a);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--bytes"),
            "{bad:?}"
        );
    }
}

#[test]
fn a_cpython_314_cell_uses_the_real_pools() {
    let Some(py) = conlab::runtime::locate::cached("python3.14") else {
        eprintln!("skipped: no python3.14 in scripts/pythons' cache (run scripts/pythons)");
        return;
    };
    let py = py.to_string_lossy().to_string();
    let args = [
        "--workload",
        "crossover",
        "--tasks",
        "4",
        "--bytes",
        "1000",
        "--size",
        "500",
        "--workers",
        "2",
        "--json",
    ];
    let mut a = vec!["run", "--runtime", "cpython", "--python", &py];
    a.extend_from_slice(&args);
    let g = json(&conlab(&a));
    every_cell_is_complete(&g, 1);
    assert!(
        g["runtime"].as_str().is_some_and(|r| r.contains("3.14")),
        "{g}"
    );
    assert!(
        g["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("InterpreterPoolExecutor")),
        "{g}"
    );
    // Start-up and copying measured by the real pools.
    let interp = &g["cells"][0]["times"][2];
    assert!(interp["startup_ms"].as_f64().is_some(), "{g}");
    assert!(interp["copy_us_per_item"].as_f64().is_some(), "{g}");
    // The same answer as the simulation's at the same sizes.
    let mut a = vec!["run"];
    a.extend_from_slice(&args);
    let native = json(&conlab(&a));
    assert_eq!(g["cells"][0]["answer"], native["cells"][0]["answer"]);
}
