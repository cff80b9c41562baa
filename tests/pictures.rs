//! The real binary's traces, recordings and moving screenshots: `run --trace` opens as a
//! Chrome trace with a track per thread holding tasks and GIL waits; `run --record` keeps
//! CPU samples; `shot --animate`/`--cast` and `replay --trace` from a recording.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_conlab");

fn conlab(args: &[&str]) -> std::process::Output {
    let out = Command::new(EXE)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("conlab runs");
    assert!(
        out.status.success(),
        "conlab {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn load_trace(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("trace written")).expect("valid JSON")
}

#[test]
fn run_trace_has_thread_tracks_with_tasks_and_gil_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t.json");
    let out = conlab(&[
        "run",
        "--workload",
        "primes",
        "--size",
        "4000000",
        "--model",
        "threads",
        "--workers",
        "2",
        "--gil",
        "on",
        "--trace",
        path(&t),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("trace of 1 run written"));
    let v = load_trace(&t);
    let events = v["traceEvents"].as_array().expect("traceEvents");
    for e in events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(["M", "X", "C", "i"].contains(&ph), "{e}");
        assert!(e["pid"].is_u64() && e["name"].is_string(), "{e}");
        if ph == "X" {
            assert!(
                e["ts"].is_u64() && e["dur"].is_u64() && e["tid"].is_u64(),
                "{e}"
            );
        }
    }
    let threads: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .filter(|e| {
            e["args"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("(thread)"))
        })
        .collect();
    assert_eq!(threads.len(), 2, "one track per worker thread");
    for th in &threads {
        let on_track = |prefix: &str| {
            events
                .iter()
                .filter(|e| e["ph"] == "X" && e["tid"] == th["tid"] && e["pid"] == th["pid"])
                .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
                .count()
        };
        assert!(on_track("task ") > 0, "task spans on {th}");
        assert!(on_track("GIL wait") > 0, "GIL-wait spans on {th}");
    }
    assert_eq!(v["otherData"]["runs"][0]["model"], "threads");
    assert_eq!(v["otherData"]["runs"][0]["gil"], true);
}

#[test]
fn run_record_keeps_cpu_samples_and_replays_into_a_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("r.jsonl");
    // Four 300 ms waits on one worker: long enough for the 250 ms monitor to sample.
    conlab(&[
        "run",
        "--workload",
        "sleep",
        "--size",
        "300",
        "--tasks",
        "4",
        "--model",
        "threads",
        "--workers",
        "1",
        "--record",
        path(&rec),
    ]);
    let text = std::fs::read_to_string(&rec).expect("recording");
    assert!(
        text.lines().any(|l| l.contains(r#""kind":"cpu""#)),
        "CPU samples in the recording"
    );
    let trace = dir.path().join("t.json");
    // Without a terminal, replay --trace writes the trace and exits.
    conlab(&["replay", path(&rec), "--trace", path(&trace)]);
    let v = load_trace(&trace);
    let events = v["traceEvents"].as_array().expect("traceEvents");
    assert!(events.iter().any(|e| e["name"] == "I/O wait"));
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "C" && e["name"] == "CPU %")
    );
}

#[test]
fn shot_animates_and_casts_a_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/recordings/io-gil-on.jsonl");
    let (svg, cast) = (dir.path().join("a.svg"), dir.path().join("a.cast"));
    let out = conlab(&[
        "shot",
        "--from",
        path(&rec),
        "--frame",
        "100x30",
        "--fps",
        "4",
        "--speed",
        "2",
        "--loop",
        "2",
        "--animate",
        path(&svg),
        "--cast",
        path(&cast),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("a.svg") && stdout.contains("a.cast"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&svg).expect("svg");
    roxmltree::Document::parse(&text).expect("valid XML");
    assert!(text.contains("animation-iteration-count:2"));
    let layers = text.matches(r#"<g class="f""#).count();
    // ~8 s of recording at twice the speed and 4 fps: about 16 frames and the final one.
    assert!((10..=20).contains(&layers), "{layers} layers");
    let lines: Vec<Value> = std::fs::read_to_string(&cast)
        .expect("cast")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        (lines[0]["version"].as_u64(), lines[0]["width"].as_u64()),
        (Some(2), Some(100))
    );
    assert!(lines[1..].iter().all(|l| l[1] == "o"));
    // Bad motion flags are named.
    let bad = Command::new(EXE)
        .args([
            "shot",
            "--from",
            path(&rec),
            "--animate",
            path(&svg),
            "--fps",
            "0",
        ])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fps"));
}
