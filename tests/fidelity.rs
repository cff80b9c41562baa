//! `conlab fidelity` end to end: its JSON rows and its errors. Skipped, with the reason
//! printed, when no python3 is found.

use std::path::Path;
use std::process::{Command, Output};

fn conlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(args)
        .output()
        .expect("conlab runs")
}

fn have_python() -> bool {
    match conlab::runtime::python::probe(Path::new(conlab::runtime::DEFAULT_PYTHON)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipped: {e}");
            false
        }
    }
}

#[test]
fn json_rows_compare_every_model_in_both_runtimes() {
    if !have_python() {
        return;
    }
    let out = conlab(&[
        "fidelity",
        "--workloads",
        "sleep,squares",
        "--size",
        "20",
        "--workers",
        "2",
        "--no-convoy",
        "--format",
        "json",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 8, "two workloads × four models");
    for row in rows {
        for key in [
            "workload",
            "model",
            "native_speedup",
            "cpython_speedup",
            "diff_pct",
            "within_10pct",
            "python",
            "capacity",
        ] {
            assert!(!row[key].is_null(), "{key} in {row}");
        }
        assert!(
            row["python"].as_str().expect("a label").contains("CPython"),
            "{row}"
        );
        // --size gives both runtimes the same work: the same answer.
        assert_eq!(row["native_answer"], row["cpython_answer"], "{row}");
        assert_eq!(row["answers_agree"], true, "{row}");
    }
    assert_eq!(rows[0]["model"], "sequential");
    assert_eq!(rows[0]["native_speedup"], 1.0);
    assert_eq!(rows[0]["within_10pct"], true);
    assert!(v["convoy"].is_null(), "--no-convoy");
}

#[test]
fn native_only_workloads_and_missing_pythons_exit_2() {
    let out = conlab(&["fidelity", "--workloads", "race"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--runtime native"), "{err}");

    let out = conlab(&["fidelity", "--workloads", "nope"]);
    assert_eq!(out.status.code(), Some(2));

    let out = conlab(&["fidelity", "--python", "/nonexistent/python3"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--python"), "{err}");
}
