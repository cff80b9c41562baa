//! CPython's own GIL measurement: the Gecko profile that `python3.15 -m profiling.sampling
//! run -a --gecko` writes carries, per thread, markers for the intervals it sampled the
//! thread holding the GIL ("Has GIL"), without it ("No GIL") and, within those, waiting
//! for it ("Waiting for GIL"), and on or off a CPU. This sums them per thread.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most of a profile read (a few seconds of two threads is well under 1 MiB).
pub const MAX_BYTES: u64 = 64 << 20;
/// The most threads kept from one profile.
const MAX_THREADS: usize = 1024;

/// One thread's GIL, as CPython's sampler saw it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ThreadGil {
    pub tid: u64,
    pub main: bool,
    /// Sampled life: "Has GIL" plus "No GIL" (they partition it).
    pub span_ms: f64,
    pub held_ms: f64,
    /// Part of "No GIL": asking for it.
    pub waiting_ms: f64,
    pub no_gil_ms: f64,
    pub on_cpu_ms: f64,
    /// "Has GIL" intervals: the turns it took.
    pub turns: u64,
}

impl ThreadGil {
    fn share(&self, ms: f64) -> f64 {
        if self.span_ms > 0.0 {
            (ms / self.span_ms).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
    pub fn held_share(&self) -> f64 {
        self.share(self.held_ms)
    }
    pub fn waiting_share(&self) -> f64 {
        self.share(self.waiting_ms)
    }
    /// Neither holding nor asking: sleeping, blocked on I/O, or finished its part.
    pub fn released_share(&self) -> f64 {
        self.share((self.no_gil_ms - self.waiting_ms).max(0.0))
    }
}

/// The marker's kind, spaces and case aside: "hasgil", "waitingforgil", "nogil", "oncpu".
fn kind(data: &Value, names: Option<&Value>, strings: &[Value]) -> Option<String> {
    let raw = match data.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => {
            let i = names?.as_u64()? as usize;
            strings.get(i)?.as_str()?.to_string()
        }
    };
    Some(
        raw.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase(),
    )
}

/// Every thread's GIL from a profile's text.
pub fn parse(text: &str) -> Result<Vec<ThreadGil>, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("not a Gecko profile (JSON: {e})"))?;
    let strings = v["shared"]["stringArray"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let threads = v["threads"]
        .as_array()
        .ok_or("not a Gecko profile: no threads")?;
    let mut out = Vec::new();
    for t in threads.iter().take(MAX_THREADS) {
        let m = &t["markers"];
        let data = m["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let names = m["name"].as_array();
        let starts = m["startTime"].as_array();
        let ends = m["endTime"].as_array();
        let mut g = ThreadGil {
            tid: t["tid"].as_u64().unwrap_or(0),
            main: t["isMainThread"].as_bool().unwrap_or(false),
            ..ThreadGil::default()
        };
        for (i, d) in data.iter().enumerate() {
            let ms = d["duration"].as_f64().or_else(|| {
                let s = starts?.get(i)?.as_f64()?;
                let e = ends?.get(i)?.as_f64()?;
                Some(e - s)
            });
            let Some(ms) = ms.filter(|x| x.is_finite() && *x >= 0.0) else {
                continue;
            };
            match kind(d, names.and_then(|n| n.get(i)), &strings).as_deref() {
                Some("hasgil") => {
                    g.held_ms += ms;
                    g.turns += 1;
                }
                Some("nogil") => g.no_gil_ms += ms,
                Some("waitingforgil") => g.waiting_ms += ms,
                Some("oncpu") => g.on_cpu_ms += ms,
                _ => {}
            }
        }
        g.span_ms = g.held_ms + g.no_gil_ms;
        out.push(g);
    }
    Ok(out)
}

/// [`parse`] a profile file, reading at most [`MAX_BYTES`].
pub fn read(path: &Path) -> Result<Vec<ThreadGil>, String> {
    let f = std::fs::File::open(path).map_err(|e| {
        format!(
            "CPython's sampler wrote no profile at {}: {e}",
            path.display()
        )
    })?;
    let mut text = String::new();
    f.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(format!(
            "{} is over {} MiB: not read",
            path.display(),
            MAX_BYTES >> 20
        ));
    }
    parse(&text)
}

/// One worker thread's GIL as shares of its sampled life, and its lane in the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotedThread {
    pub tid: u64,
    /// The run's worker lane this thread was (from the driver's task events).
    pub worker: Option<usize>,
    pub held: f64,
    pub waiting: f64,
    pub released: f64,
    pub turns: u64,
}

/// What a run under CPython's sampler ends with (the `cpython gil` note): its worker
/// threads' GIL, or why there is none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GilNote {
    pub threads: Vec<NotedThread>,
    pub error: Option<String>,
}

impl GilNote {
    /// From the profile at `path`, each worker thread placed on its lane by `worker_of`.
    pub fn read(path: &Path, worker_of: impl Fn(u64) -> Option<usize>) -> GilNote {
        match read(path) {
            Ok(all) => Self::of(&all, worker_of),
            Err(e) => GilNote {
                threads: Vec::new(),
                error: Some(e),
            },
        }
    }

    pub fn of(all: &[ThreadGil], worker_of: impl Fn(u64) -> Option<usize>) -> GilNote {
        let mut threads: Vec<NotedThread> = workers(all)
            .iter()
            .map(|t| NotedThread {
                tid: t.tid,
                worker: worker_of(t.tid),
                held: t.held_share(),
                waiting: t.waiting_share(),
                released: t.released_share(),
                turns: t.turns,
            })
            .collect();
        threads.sort_by_key(|t| (t.worker.unwrap_or(usize::MAX), t.tid));
        GilNote {
            error: threads
                .is_empty()
                .then(|| "the profile shows no worker thread holding the GIL".into()),
            threads,
        }
    }
}

/// The workers among a profile's threads: not the main thread, and holding the GIL at
/// some point (the driver's own helper threads only wait on pipes).
pub fn workers(threads: &[ThreadGil]) -> Vec<ThreadGil> {
    let mut w: Vec<ThreadGil> = threads
        .iter()
        .filter(|t| !t.main && t.held_ms > 0.0)
        .cloned()
        .collect();
    w.sort_by_key(|t| t.tid);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped as CPython 3.15.2's sampler writes it: `type` in each marker's data, the
    /// names in the shared string table; "Waiting for GIL" lies within "No GIL".
    const PROFILE: &str = r#"{
      "meta": {"interval": 1.0},
      "shared": {"stringArray": ["On CPU", "Has GIL", "No GIL", "Waiting for GIL", "Off CPU"]},
      "threads": [
        {"tid": 10, "isMainThread": true, "markers": {
          "data": [{"type": "NoGIL", "duration": 100.0}, {"type": "WaitingforGIL", "duration": 2.0}],
          "name": [2, 3], "startTime": [0, 0], "endTime": [100, 2], "length": 2}},
        {"tid": 12, "isMainThread": false, "markers": {
          "data": [{"type": "HasGIL", "duration": 30.0}, {"type": "OnCPU", "duration": 30.0},
                   {"type": "NoGIL", "duration": 20.0}, {"type": "WaitingforGIL", "duration": 15.0},
                   {"type": "HasGIL", "duration": 30.0}, {"type": "NoGIL", "duration": 20.0}],
          "name": [1, 0, 2, 3, 1, 2], "length": 6}},
        {"tid": 11, "isMainThread": false, "markers": {
          "data": [{"duration": 50.0}, {"duration": 50.0}, {"duration": 40.0}],
          "name": [1, 2, 3], "length": 3}}
      ]
    }"#;

    #[test]
    fn shares_per_thread_from_the_markers() {
        let all = parse(PROFILE).expect("parses");
        assert_eq!(all.len(), 3);
        let w = workers(&all);
        assert_eq!(w.iter().map(|t| t.tid).collect::<Vec<_>>(), vec![11, 12]);
        let t12 = &w[1];
        assert_eq!(
            (t12.held_ms, t12.no_gil_ms, t12.waiting_ms),
            (60.0, 40.0, 15.0)
        );
        assert_eq!(t12.turns, 2);
        assert!((t12.held_share() - 0.6).abs() < 1e-9);
        assert!((t12.waiting_share() - 0.15).abs() < 1e-9);
        assert!((t12.released_share() - 0.25).abs() < 1e-9);
        // Names from the string table when a marker's data has no type.
        let t11 = &w[0];
        assert_eq!(
            (t11.held_ms, t11.waiting_ms, t11.span_ms),
            (50.0, 40.0, 100.0)
        );
    }

    #[test]
    fn the_note_places_each_worker_thread_on_its_lane() {
        let all = parse(PROFILE).expect("parses");
        let note = GilNote::of(&all, |tid| (tid == 12).then_some(0));
        assert_eq!(note.error, None);
        assert_eq!(
            note.threads
                .iter()
                .map(|t| (t.tid, t.worker))
                .collect::<Vec<_>>(),
            vec![(12, Some(0)), (11, None)],
            "lanes first, the main thread left out"
        );
        assert!((note.threads[0].waiting - 0.15).abs() < 1e-9);
        let none = GilNote::of(&[], |_| None);
        assert!(none.error.is_some());
        let missing = GilNote::read(Path::new("/nonexistent/g.json"), |_| None);
        assert!(missing.error.is_some_and(|e| e.contains("no profile")));
    }

    #[test]
    fn what_is_not_a_profile_is_an_error_not_a_panic() {
        assert!(parse("").is_err());
        assert!(parse("[1,2]").is_err());
        assert!(
            parse(r#"{"threads": [{"markers": {"data": [{"type": "HasGIL", "duration": -1}]}}]}"#)
                .is_ok_and(|t| t[0].held_ms == 0.0)
        );
        assert_eq!(parse(r#"{"threads": [{}]}"#).map(|t| t.len()), Ok(1));
        assert!(read(Path::new("/nonexistent/conlab-gecko.json")).is_err());
    }
}
