//! The program's output while the dashboard owns the screen: its stdout and its stderr,
//! each read on a named thread into an unnamed temporary file (gone with conlab), capped
//! at [`KEPT_CAP`] — past that the rest is read, counted and dropped, so the program never
//! blocks on a full pipe — and shown on conlab's own stdout and stderr once the terminal
//! is given back, each followed by a note when it was cut.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

/// Most bytes kept of each stream (stdout, stderr).
pub const KEPT_CAP: u64 = 16 << 20;
/// How long the streams may take to end once the dashboard is gone (a process the
/// program left behind, outside its group, may hold the pipe open).
const DRAIN: Duration = Duration::from_secs(2);

/// One stream being kept: the reader thread sends its file and the byte count at the end.
struct Stream {
    name: &'static str,
    done: Receiver<std::io::Result<(File, u64)>>,
}

/// The program's two streams being kept.
pub struct Kept {
    streams: Vec<Stream>,
    cap: u64,
}

impl Kept {
    /// Keep `stdout` and `stderr` (the program's pipes), at most `cap` bytes of each.
    pub fn start(
        stdout: Option<impl Read + Send + 'static>,
        stderr: Option<impl Read + Send + 'static>,
        cap: u64,
    ) -> std::io::Result<Kept> {
        let mut streams = Vec::new();
        if let Some(r) = stdout {
            streams.push(keep("stdout", r, cap)?);
        }
        if let Some(r) = stderr {
            streams.push(keep("stderr", r, cap)?);
        }
        Ok(Kept { streams, cap })
    }

    /// Write what was kept: stdout's to `out`, stderr's to `err`, each followed (on
    /// `err`) by a note when it was cut short or could not be kept. Waits at most
    /// [`DRAIN`] for streams still open. A failed write to `out` or `err` is returned.
    pub fn show(self, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<()> {
        let until = Instant::now() + DRAIN;
        for s in self.streams {
            let to: &mut dyn Write = if s.name == "stdout" {
                &mut *out
            } else {
                &mut *err
            };
            let note = match s.done.recv_deadline(until) {
                Ok(Ok((mut file, total))) => {
                    file.rewind()?;
                    std::io::copy(&mut file, to)?;
                    to.flush()?;
                    (total > self.cap).then(|| {
                        format!(
                            "conlab: the program wrote {} on {}; the first {} are above, the rest was dropped",
                            mib(total),
                            s.name,
                            mib(self.cap)
                        )
                    })
                }
                Ok(Err(e)) => Some(format!(
                    "conlab: the program's {} could not be kept: {e}",
                    s.name
                )),
                Err(_) => Some(format!(
                    "conlab: the program's {} was still open {} s after it ended (a process it left behind?): not shown",
                    s.name,
                    DRAIN.as_secs()
                )),
            };
            if let Some(n) = note {
                writeln!(err, "{n}")?;
            }
        }
        Ok(())
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

/// Read `r` to its end on a thread named `conlab-kept-NAME`, keeping the first `cap` bytes.
fn keep(
    name: &'static str,
    mut r: impl Read + Send + 'static,
    cap: u64,
) -> std::io::Result<Stream> {
    let (tx, done) = crossbeam_channel::bounded(1);
    let mut file = tempfile::tempfile()?;
    std::thread::Builder::new()
        .name(format!("conlab-kept-{name}"))
        .spawn(move || {
            let mut buf = vec![0u8; 64 << 10];
            let mut total = 0u64;
            let mut failed = None;
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let room = cap.saturating_sub(total).min(n as u64) as usize;
                if room > 0
                    && failed.is_none()
                    && let Err(e) = file.write_all(&buf[..room])
                {
                    // A full disk: keep reading (the program must not block), say so.
                    failed = Some(e);
                }
                total += n as u64;
            }
            let _ = tx.send(match failed {
                Some(e) => Err(e),
                None => Ok((file, total)),
            });
        })?;
    Ok(Stream { name, done })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn sh(script: &str) -> std::process::Child {
        Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh")
    }

    #[test]
    fn stdout_and_stderr_are_kept_apart_and_shown_after() {
        let mut c = sh("echo to out; echo to err >&2; echo more out");
        let kept = Kept::start(c.stdout.take(), c.stderr.take(), KEPT_CAP).expect("kept");
        c.wait().expect("exits");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        kept.show(&mut out, &mut err).expect("shown");
        assert_eq!(String::from_utf8_lossy(&out), "to out\nmore out\n");
        assert_eq!(String::from_utf8_lossy(&err), "to err\n");
    }

    #[test]
    fn past_the_cap_the_rest_is_read_dropped_and_said() {
        // 100,000 bytes against a cap of 1,000: the program is not blocked by the pipe.
        let mut c = sh("head -c 100000 /dev/zero | tr '\\0' x");
        let kept = Kept::start(c.stdout.take(), c.stderr.take(), 1000).expect("kept");
        assert!(c.wait().expect("exits").success());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        kept.show(&mut out, &mut err).expect("shown");
        assert_eq!(out.len(), 1000);
        let err = String::from_utf8_lossy(&err);
        assert!(
            err.contains("wrote 0.1 MiB on stdout") && err.contains("the rest was dropped"),
            "{err}"
        );
    }

    #[test]
    fn a_failed_write_is_returned() {
        let mut c = sh("echo hello");
        let kept = Kept::start(c.stdout.take(), c.stderr.take(), KEPT_CAP).expect("kept");
        c.wait().expect("exits");
        let mut full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut err = Vec::new();
        assert!(kept.show(&mut full, &mut err).is_err());
    }
}
