//! Recordings: every engine event (and CPU sample) of a session with its timestamp, as
//! versioned JSON lines, so a run can be replayed or rendered again deterministically.
//!
//! Line 1 is a header `{"conlab_recording": VERSION, ...}`; every other line is one
//! [`Entry`]. Readers reject a newer version or a malformed line, naming the line number.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::core::lines::{Line, MAX_LINE, read_line_capped};
use crate::exec::{Event, RunEnd, RunStart, Stamped};
use crate::sys::atomic_file::AtomicFile;

/// The format version this build writes and the newest it reads.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub conlab_recording: u32,
    /// The conlab that wrote it.
    pub writer: String,
    /// Logical cores of the machine it was recorded on.
    pub cores: usize,
}

/// One recorded line after the header. `t_us` counts from the start of the recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// An engine event of run number `run` (0, 1, 2 … in the order runs started).
    Event { t_us: u64, run: u32, event: Stamped },
    /// A CPU sample from the monitor (its own versioned shape).
    Cpu {
        t_us: u64,
        sample: serde_json::Value,
    },
    /// `conlab watch --record`: what was watched; the kernel samples follow.
    Watch {
        t_us: u64,
        title: String,
        root: u32,
        sample_ms: u64,
    },
    /// One kernel sample of the watched tree.
    Kernel {
        t_us: u64,
        sample: crate::observe::KernelSample,
    },
}

impl Entry {
    pub fn t_us(&self) -> u64 {
        match self {
            Entry::Event { t_us, .. }
            | Entry::Cpu { t_us, .. }
            | Entry::Watch { t_us, .. }
            | Entry::Kernel { t_us, .. } => *t_us,
        }
    }
}

/// Writes a recording as things happen, under a temporary name renamed into place when it
/// is finished ([`Recorder::finish`], or dropped): a full disk leaves no truncated file,
/// and the first failed write is reported. Shareable between threads.
pub struct Recorder {
    t0: Instant,
    out: Mutex<Out>,
    path: PathBuf,
}

/// The file being written and the first write that failed.
struct Out {
    file: Option<AtomicFile>,
    error: Option<String>,
}

impl Recorder {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let mut out = AtomicFile::create(path)
            .map_err(|e| anyhow::anyhow!("cannot write recording {}: {e}", path.display()))?;
        let header = Header {
            conlab_recording: VERSION,
            writer: format!("conlab {}", env!("CARGO_PKG_VERSION")),
            cores: crate::core::default_workers(),
        };
        writeln!(out, "{}", serde_json::to_string(&header)?)?;
        Ok(Recorder {
            t0: Instant::now(),
            out: Mutex::new(Out {
                file: Some(out),
                error: None,
            }),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }

    /// Stamp and write under one lock, so lines are in time order whatever the thread.
    fn write(&self, entry: impl FnOnce(u64) -> Entry) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let Out { file, error } = &mut *out;
        let Some(f) = file.as_mut().filter(|_| error.is_none()) else {
            return;
        };
        if let Ok(line) = serde_json::to_string(&entry(self.now_us())) {
            // A full disk must not stop the run: it is said when the recording finishes.
            if let Err(e) = writeln!(f, "{line}") {
                *error = Some(e.to_string());
            }
        }
    }

    pub fn event(&self, run: u32, event: &Stamped) {
        self.write(|t_us| Entry::Event {
            t_us,
            run,
            event: event.clone(),
        });
    }

    pub fn cpu(&self, sample: serde_json::Value) {
        self.write(|t_us| Entry::Cpu { t_us, sample });
    }

    /// A watch recording's first entry: what is watched.
    pub fn watch(&self, title: &str, root: u32, sample_ms: u64) {
        self.write(|t_us| Entry::Watch {
            t_us,
            title: title.to_string(),
            root,
            sample_ms,
        });
    }

    pub fn kernel(&self, sample: &crate::observe::KernelSample) {
        self.write(|t_us| Entry::Kernel {
            t_us,
            sample: sample.clone(),
        });
    }

    /// Flush what was written so far; an error names the first write that failed.
    pub fn flush(&self) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = &out.error {
            return Err(std::io::Error::other(e.clone()));
        }
        match out.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    /// Put the recording in place (later entries are not written). After a failed write
    /// the file is removed instead, and the error says what was lost.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let Some(f) = out.file.take() else {
            return Ok(());
        };
        if let Some(e) = &out.error {
            drop(f);
            return Err(std::io::Error::other(format!(
                "{e} (the recording was not kept)"
            )));
        }
        f.commit()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// A recording read back: its header and entries in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    pub header: Header,
    pub entries: Vec<Entry>,
}

/// What was wrong with a recording, and where.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("cannot read recording {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Malformed {
        path: String,
        line: usize,
        message: String,
    },
}

/// A reader that remembers the last byte consumed: whether the last line read ended with
/// its newline, or was cut off (a recording whose writer was killed mid-line).
struct LastByte<R> {
    inner: R,
    last: Option<u8>,
}

impl<R: BufRead> std::io::Read for LastByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
        }
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LastByte<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The buffer is filled already: this reads nothing.
        if amt > 0
            && let Ok(b) = self.inner.fill_buf()
        {
            self.last = b.get(amt - 1).copied();
        }
        self.inner.consume(amt);
    }
}

/// Parse a recording from any reader; `name` is used in error messages. A last line cut
/// off before its newline (the writer was killed mid-line) is left out, the lines before
/// it kept; a malformed complete line is an error naming it.
pub fn parse(reader: impl BufRead, name: &str) -> Result<Recording, RecordingError> {
    let bad = |line: usize, message: String| RecordingError::Malformed {
        path: name.to_string(),
        line,
        message,
    };
    let mut reader = LastByte {
        inner: reader,
        last: None,
    };
    let next_line =
        |reader: &mut LastByte<_>, n: usize| -> Result<Option<String>, RecordingError> {
            match read_line_capped(reader, MAX_LINE) {
                Ok(Line::Text(t)) => Ok(Some(t)),
                Ok(Line::Eof) => Ok(None),
                Ok(Line::TooLong) => Err(bad(
                    n,
                    format!(
                        "line longer than {} MiB: not a conlab recording",
                        MAX_LINE >> 20
                    ),
                )),
                Ok(Line::NotText) => Err(bad(n, "not UTF-8 text".into())),
                Err(e) => Err(bad(n, e.to_string())),
            }
        };
    let header: Header = match next_line(&mut reader, 1)? {
        None => {
            return Err(bad(
                1,
                "empty file: expected a conlab recording header".into(),
            ));
        }
        Some(l) => {
            let v: serde_json::Value = serde_json::from_str(&l)
                .map_err(|e| bad(1, format!("not JSON ({e}); is this a conlab recording?")))?;
            let version = v
                .get("conlab_recording")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| {
                    bad(
                        1,
                        "no `conlab_recording` version: not a conlab recording".into(),
                    )
                })?;
            if version > u64::from(VERSION) {
                return Err(bad(
                    1,
                    format!(
                        "recording format version {version} is newer than this conlab reads ({VERSION}); upgrade conlab"
                    ),
                ));
            }
            serde_json::from_value(v).map_err(|e| bad(1, format!("bad header: {e}")))?
        }
    };
    let mut entries = Vec::new();
    let mut n = 1;
    while let Some(line) = {
        n += 1;
        next_line(&mut reader, n)?
    } {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = match serde_json::from_str(&line) {
            Ok(e) => e,
            // Cut off: nothing follows and no newline ended it.
            Err(_) if reader.last != Some(b'\n') => break,
            Err(e) => return Err(bad(n, e.to_string())),
        };
        check_entry(&entry).map_err(|e| bad(n, e))?;
        if entries
            .last()
            .is_some_and(|prev: &Entry| prev.t_us() > entry.t_us())
        {
            return Err(bad(n, "timestamps go backwards".into()));
        }
        entries.push(entry);
    }
    Ok(Recording { header, entries })
}

/// Longest recording replayed: a week. Later times are refused, so no arithmetic on them
/// can overflow (a `t_us` near `u64::MAX` once made the timeline spin).
pub const MAX_T_US: u64 = 7 * 24 * 3600 * 1_000_000;
/// Most workers and task indices a recorded event may name (the CLI allows 4096 workers
/// and 100,000 tasks; scenes run up to 4× the workers).
const MAX_INDEX: usize = 1_000_000;

/// Check an entry's numbers against what a run can produce: times within [`MAX_T_US`],
/// worker and task indices within bounds, a run's settings within the CLI's ranges.
pub fn check_entry(entry: &Entry) -> Result<(), String> {
    let time = |what: &str, t: u64| {
        if t > MAX_T_US {
            Err(format!(
                "{what} {t} µs is past the longest recording replayed ({MAX_T_US} µs, a week)"
            ))
        } else {
            Ok(())
        }
    };
    let index = |what: &str, i: usize| {
        if i >= MAX_INDEX {
            Err(format!(
                "{what} {i} is out of range (allowed 0..{MAX_INDEX})"
            ))
        } else {
            Ok(())
        }
    };
    time("t_us", entry.t_us())?;
    let event = match entry {
        Entry::Event { event, .. } => event,
        Entry::Cpu { .. } => return Ok(()),
        Entry::Watch { sample_ms, .. } => {
            return match sample_ms {
                1..=10_000 => Ok(()),
                n => Err(format!(
                    "sample_ms {n} is out of range (allowed 1..=10000, as --sample-ms)"
                )),
            };
        }
        Entry::Kernel { sample, .. } => {
            time("at_ns / 1000", sample.at_ns / 1000)?;
            time("interval_ns / 1000", sample.interval_ns / 1000)?;
            return Ok(());
        }
    };
    time("at_us", event.at_us)?;
    match &event.event {
        Event::RunStarted(RunStart {
            workers,
            tasks,
            switch_interval_ms,
            ..
        }) => {
            if !(1..=crate::workload::MAX_ASYNC_WORKERS).contains(workers) {
                return Err(format!(
                    "workers {workers} is out of range (allowed 1..={})",
                    crate::workload::MAX_ASYNC_WORKERS
                ));
            }
            index("tasks", *tasks)?;
            crate::core::GilConfig::interval_from_ms(*switch_interval_ms)
                .map(|_| ())
                .map_err(|e| format!("switch_interval_ms: {e}"))
        }
        Event::WorkerStarted { worker, .. } | Event::WorkerDied { worker, .. } => {
            index("worker", *worker)
        }
        Event::TaskStarted { task, worker, .. } | Event::Progress { task, worker, .. } => {
            index("task", *task)?;
            index("worker", *worker)
        }
        Event::SpanStarted {
            worker, start_us, ..
        } => {
            index("worker", *worker)?;
            time("start_us", *start_us)
        }
        Event::Span {
            worker,
            start_us,
            end_us,
            ..
        } => {
            index("worker", *worker)?;
            time("start_us", *start_us)?;
            time("end_us", *end_us)
        }
        Event::TaskFinished {
            task,
            worker,
            wall_us,
            cpu_us,
            ..
        } => {
            index("task", *task)?;
            index("worker", *worker)?;
            time("wall_us", *wall_us)?;
            time("cpu_us", *cpu_us)
        }
        Event::RunFinished(RunEnd {
            elapsed_us, cpu_us, ..
        }) => {
            time("elapsed_us", *elapsed_us)?;
            time("cpu_us", *cpu_us)
        }
        Event::Note { .. } | Event::Measured { .. } => Ok(()),
        Event::LoopLag { worker, .. } => index("worker", *worker),
    }
}

/// Read a recording file.
pub fn load(path: &Path) -> Result<Recording, RecordingError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| RecordingError::Io {
        path: name.clone(),
        source,
    })?;
    parse(BufReader::new(file), &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(at_us: u64) -> Stamped {
        Stamped {
            at_us,
            event: Event::WorkerStarted { worker: 1, pid: 42 },
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        {
            let r = Recorder::create(&path).expect("create");
            r.event(0, &stamped(5));
            r.cpu(serde_json::json!({"cores": [12.5, 80.0]}));
            r.event(1, &stamped(7));
        }
        let rec = load(&path).expect("loads");
        assert_eq!(rec.header.conlab_recording, VERSION);
        assert_eq!(rec.entries.len(), 3);
        assert!(
            matches!(&rec.entries[2], Entry::Event { run: 1, event, .. } if *event == stamped(7))
        );
    }

    #[test]
    fn malformed_line_is_named() {
        let text = format!(
            "{}\n{}\nnot json at all\n",
            r#"{"conlab_recording":1,"writer":"t","cores":2}"#,
            r#"{"kind":"cpu","t_us":1,"sample":{}}"#
        );
        let err = parse(text.as_bytes(), "x.jsonl").expect_err("malformed");
        assert!(err.to_string().starts_with("x.jsonl: line 3:"), "{err}");
    }

    #[test]
    fn a_last_line_cut_off_is_left_out_and_the_rest_kept() {
        let good = format!(
            "{}\n{}\n",
            r#"{"conlab_recording":1,"writer":"t","cores":2}"#,
            r#"{"kind":"cpu","t_us":1,"sample":{}}"#
        );
        let cut = format!("{good}{{\"kind\":\"cpu\",\"t_u");
        let rec = parse(cut.as_bytes(), "x.jsonl").expect("the good lines");
        assert_eq!(rec.entries.len(), 1);
        // The same line complete but malformed is still an error.
        let bad = format!("{good}{{\"kind\":\"cpu\",\"t_u\n");
        let err = parse(bad.as_bytes(), "x.jsonl").expect_err("malformed");
        assert!(err.to_string().starts_with("x.jsonl: line 3:"), "{err}");
    }

    #[test]
    fn newer_version_is_refused_clearly() {
        let err = parse(r#"{"conlab_recording":99}"#.as_bytes(), "new.jsonl").expect_err("newer");
        let msg = err.to_string();
        assert!(msg.contains("line 1") && msg.contains("newer"), "{msg}");
    }

    #[test]
    fn not_a_recording() {
        let err = parse("hello\n".as_bytes(), "a.txt").expect_err("not one");
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = parse("".as_bytes(), "e").expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
