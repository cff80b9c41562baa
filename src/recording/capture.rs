//! What a command keeps of its runs besides the summary: the recording (`--record`) and
//! the trace (`--trace`, a [`TraceFile`]). [`Capture`] is the headless commands' pair: fed
//! every engine event with its run's number; while either file is kept, a CPU monitor
//! samples the machine (as the dashboard's does, every 250 ms) so the recording replays
//! with its CPU panel and the trace has CPU counters.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::Sender;

use crate::core::Stamped;
use crate::observe::monitor::CpuSample;
use crate::recording::record::Recorder;
use crate::recording::trace::{self, TraceWriter};

/// A trace being written to a file, finished once.
pub struct TraceFile {
    path: PathBuf,
    /// Taken out (`None`) once finished.
    writer: Option<TraceWriter<crate::sys::atomic_file::AtomicFile>>,
}

impl TraceFile {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let writer = trace::create(path).map_err(|e| anyhow::anyhow!("invalid --trace: {e:#}"))?;
        Ok(TraceFile {
            path: path.to_path_buf(),
            writer: Some(writer),
        })
    }

    /// An engine event of run number `run`, received at `t_us` since the command began.
    pub fn event(&mut self, run: u32, t_us: u64, ev: &Stamped) {
        if let Some(w) = &mut self.writer {
            w.event(run, t_us, ev);
        }
    }

    /// A CPU sample taken at `t_us` since the command began.
    pub fn cpu(&mut self, t_us: u64, s: &CpuSample) {
        if let Some(w) = &mut self.writer {
            w.cpu(t_us, s);
        }
    }

    /// Close the file; returns what it holds, for stderr (`None` if closed already).
    pub fn finish(&mut self) -> anyhow::Result<Option<String>> {
        let Some(w) = self.writer.take() else {
            return Ok(None);
        };
        let (f, s) = w
            .finish()
            .map_err(|e| anyhow::anyhow!("cannot write trace {}: {e}", self.path.display()))?;
        f.commit()
            .map_err(|e| anyhow::anyhow!("cannot write trace {}: {e}", self.path.display()))?;
        Ok(Some(trace_note(&self.path, s)))
    }
}

/// The files being written, shared with the monitor's forwarding thread.
struct Sinks {
    t0: Instant,
    recorder: Option<Recorder>,
    trace: Option<Mutex<TraceFile>>,
}

impl Sinks {
    fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }

    fn event(&self, run: u32, ev: &Stamped) {
        if let Some(r) = &self.recorder {
            r.event(run, ev);
        }
        if let Some(t) = &self.trace {
            let t_us = self.now_us();
            t.lock()
                .unwrap_or_else(|e| e.into_inner())
                .event(run, t_us, ev);
        }
    }

    fn cpu(&self, s: &CpuSample) {
        if let Some(r) = &self.recorder
            && let Ok(v) = serde_json::to_value(s)
        {
            r.cpu(v);
        }
        if let Some(t) = &self.trace {
            let t_us = self.now_us();
            t.lock().unwrap_or_else(|e| e.into_inner()).cpu(t_us, s);
        }
    }
}

/// The recording and/or trace of a headless command, with its CPU monitor.
pub struct Capture {
    sinks: Arc<Sinks>,
    /// Dropping it stops the forwarding thread (and so, at its next sample, the monitor).
    stop: Option<Sender<()>>,
    forwarder: Option<JoinHandle<()>>,
}

impl Capture {
    /// Open what is asked for; `None` when neither is.
    pub fn open(record: Option<&Path>, trace_to: Option<&Path>) -> anyhow::Result<Option<Self>> {
        if record.is_none() && trace_to.is_none() {
            return Ok(None);
        }
        let recorder = record
            .map(Recorder::create)
            .transpose()
            .map_err(|e| anyhow::anyhow!("invalid --record: {e:#}"))?;
        let trace = trace_to.map(TraceFile::create).transpose()?.map(Mutex::new);
        let sinks = Arc::new(Sinks {
            t0: Instant::now(),
            recorder,
            trace,
        });
        let (tx, samples) = crossbeam_channel::unbounded::<CpuSample>();
        crate::observe::monitor::spawn(tx, |s| s)?;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let to = sinks.clone();
        let forwarder = std::thread::Builder::new()
            .name("conlab-capture".into())
            .spawn(move || {
                loop {
                    crossbeam_channel::select! {
                        recv(samples) -> s => match s {
                            Ok(s) => to.cpu(&s),
                            Err(_) => return,
                        },
                        recv(stopped) -> _ => return,
                    }
                }
            })?;
        Ok(Some(Capture {
            sinks,
            stop: Some(stop),
            forwarder: Some(forwarder),
        }))
    }

    /// An engine event of run number `run` (0, 1, … in the order runs started).
    pub fn event(&self, run: u32, ev: &Stamped) {
        self.sinks.event(run, ev);
    }

    /// Stop sampling, finish and flush the files; says on stderr what the trace holds.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.close()
    }

    fn close(&mut self) -> anyhow::Result<()> {
        drop(self.stop.take());
        let Some(f) = self.forwarder.take() else {
            return Ok(()); // closed already
        };
        let _ = f.join();
        if let Some(r) = &self.sinks.recorder {
            r.finish()
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", r.path().display()))?;
        }
        if let Some(t) = &self.sinks.trace
            && let Some(note) = t.lock().unwrap_or_else(|e| e.into_inner()).finish()?
        {
            eprintln!("{note}");
        }
        Ok(())
    }
}

/// A command that stops early (an error, Ctrl-C) still leaves complete files.
impl Drop for Capture {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            eprintln!("conlab: {e:#}");
        }
    }
}

/// What a written trace holds, for stderr.
pub fn trace_note(path: &Path, s: trace::TraceSummary) -> String {
    let mut note = format!(
        "conlab: trace of {} run{} written to {} ({} events; open it in ui.perfetto.dev or chrome://tracing)",
        s.runs,
        if s.runs == 1 { "" } else { "s" },
        path.display(),
        s.written
    );
    if s.dropped > 0 {
        note += &format!(
            "; {} later events left out (at most {} are kept)",
            s.dropped,
            trace::MAX_EVENTS
        );
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Event, Model, RunStart};

    #[test]
    fn keeps_events_and_cpu_samples_in_both_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (rec, tr) = (dir.path().join("r.jsonl"), dir.path().join("t.json"));
        let c = Capture::open(Some(&rec), Some(&tr))
            .expect("opens")
            .expect("asked for");
        c.event(
            0,
            &Stamped {
                at_us: 0,
                event: Event::RunStarted(RunStart {
                    workload: "sleep".into(),
                    model: Model::Threads,
                    workers: 1,
                    tasks: 1,
                    gil: true,
                    switch_interval_ms: 5.0,
                    size: 1,
                }),
            },
        );
        // The forwarder hands samples on as they come: feed one through the same path.
        c.sinks.cpu(&CpuSample {
            cores: vec![1.0],
            ..CpuSample::default()
        });
        c.finish().expect("finishes");
        let r = crate::recording::record::load(&rec).expect("recording");
        assert!(
            r.entries
                .iter()
                .any(|e| matches!(e, crate::recording::record::Entry::Cpu { .. }))
        );
        assert!(
            r.entries
                .iter()
                .any(|e| matches!(e, crate::recording::record::Entry::Event { .. }))
        );
        let t: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&tr).expect("trace")).expect("JSON");
        assert_eq!(t["otherData"]["runs"][0]["workload"], "sleep");
    }

    #[test]
    fn nothing_asked_nothing_opened() {
        assert!(Capture::open(None, None).expect("fine").is_none());
    }

    #[test]
    fn an_unwritable_trace_names_the_flag() {
        let err = Capture::open(None, Some(Path::new("/nonexistent/dir/t.json")))
            .err()
            .expect("fails");
        assert!(err.to_string().contains("--trace"), "{err}");
    }
}
