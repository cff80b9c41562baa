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
    assert_eq!(models, ["sequential", "threads", "processes"]);
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
        ("csv", "model,gil,workers"),
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
