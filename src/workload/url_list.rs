//! `--urls-file`: a list of URLs read with caps on its size, its line count and each
//! line's length, so `/dev/zero`, an endless pipe or a 200 MB file is refused quickly with
//! an error naming the cap, and a cancel (Ctrl-C) ends the read even while it is blocked
//! (a FIFO nobody writes): the read runs on its own thread, the caller waits for it or for
//! the cancel, whichever comes first.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::exec::CancelToken;

/// Largest `--urls-file` read, in bytes.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most lines read (comments and blank lines included).
pub const MAX_LINES: usize = 100_000;
/// Longest line, in bytes (a URL longer than this is refused by most servers anyway).
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Most URLs listed: the http workload's task cap (more could never be fetched).
pub const MAX_URLS: usize = 10_000;

/// The URLs listed in `path` (one a line, `#` comments and blank lines skipped), or why
/// not, naming `--urls-file` and the cap it broke. Returns at once when `cancel` is
/// cancelled, whatever the read is doing.
pub fn read(path: &Path, cancel: &CancelToken) -> Result<Vec<String>, String> {
    let (tx, rx) = crossbeam_channel::bounded::<Result<Vec<String>, String>>(1);
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
    let _hook = cancel.on_cancel(move || {
        let _ = stop_tx.try_send(());
    });
    let owned = path.to_path_buf();
    let flag = cancel.clone();
    std::thread::Builder::new()
        .name("conlab-urls-file".into())
        .spawn(move || {
            let got = std::fs::File::open(&owned)
                .map_err(|e| format!("cannot read {}: {e}", owned.display()))
                .and_then(|f| read_from(f, &flag));
            let _ = tx.send(got);
        })
        .map_err(|e| format!("invalid --urls-file: cannot start its reader: {e}"))?;
    let shown = path.display();
    crossbeam_channel::select! {
        recv(rx) -> got => match got {
            Ok(Ok(urls)) if urls.is_empty() => {
                Err(format!("invalid --urls-file: {shown} lists no URLs"))
            }
            Ok(Ok(urls)) => Ok(urls),
            Ok(Err(e)) => Err(format!("invalid --urls-file: {shown}: {e}")),
            Err(_) => Err(format!("invalid --urls-file: {shown}: its reader stopped")),
        },
        // A blocked read (a FIFO with no writer) is left behind: conlab is exiting.
        recv(stop_rx) -> _ => Err(format!("cancelled while reading --urls-file {shown}")),
    }
}

/// The URLs of `source` within the caps; stops between lines once `cancel` is cancelled.
pub fn read_from(source: impl Read, cancel: &CancelToken) -> Result<Vec<String>, String> {
    // One byte over the cap tells a file at the cap from one over it.
    let mut r = BufReader::new(source.take(MAX_FILE_BYTES + 1));
    let mut urls = Vec::new();
    let mut line = Vec::new();
    let mut read_bytes = 0u64;
    for n in 1.. {
        if cancel.is_cancelled() {
            return Err("cancelled".into());
        }
        line.clear();
        // One byte over the line cap tells a line at the cap from a longer one.
        let got = (&mut r)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("line {n}: {e}"))?;
        if got == 0 {
            break;
        }
        read_bytes += got as u64;
        if read_bytes > MAX_FILE_BYTES {
            return Err(format!(
                "over the cap of {} bytes (a URL list is at most {} URLs of at most {} bytes)",
                MAX_FILE_BYTES, MAX_URLS, MAX_LINE_BYTES
            ));
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        if body.len() > MAX_LINE_BYTES {
            return Err(format!(
                "line {n} is over the cap of {MAX_LINE_BYTES} bytes a line (is it a list of URLs?)"
            ));
        }
        if n > MAX_LINES {
            return Err(format!("over the cap of {MAX_LINES} lines"));
        }
        let text = std::str::from_utf8(body).map_err(|_| format!("line {n} is not UTF-8 text"))?;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if urls.len() == MAX_URLS {
            return Err(format!(
                "over the cap of {MAX_URLS} URLs (the http workload's most tasks)"
            ));
        }
        urls.push(text.to_string());
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless source repeating `unit`.
    struct Cycle {
        unit: &'static [u8],
        at: usize,
    }

    impl Read for Cycle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            for b in buf.iter_mut() {
                *b = self.unit[self.at % self.unit.len()];
                self.at += 1;
            }
            Ok(buf.len())
        }
    }

    fn endless(unit: &'static [u8]) -> Cycle {
        Cycle { unit, at: 0 }
    }

    #[test]
    fn a_list_is_read_without_comments_and_blanks() {
        let text = b"# mine\nhttp://a/\n\n  http://b/x  \r\n#http://c/\n";
        let urls = read_from(&text[..], &CancelToken::new()).expect("reads");
        assert_eq!(urls, ["http://a/", "http://b/x"]);
    }

    #[test]
    fn an_endless_line_is_refused_naming_the_line_cap() {
        // /dev/zero: no newline, ever.
        let err = read_from(std::io::repeat(0), &CancelToken::new()).expect_err("refused");
        assert!(
            err.contains(&format!("cap of {MAX_LINE_BYTES} bytes a line")),
            "{err}"
        );
    }

    #[test]
    fn endless_urls_are_refused_naming_the_url_cap() {
        // `yes http://x/`.
        let err = read_from(endless(b"http://x/\n"), &CancelToken::new()).expect_err("refused");
        assert!(err.contains(&format!("cap of {MAX_URLS} URLs")), "{err}");
    }

    #[test]
    fn endless_blank_lines_are_refused_naming_the_line_count_cap() {
        let err = read_from(endless(b"\n"), &CancelToken::new()).expect_err("refused");
        assert!(err.contains(&format!("cap of {MAX_LINES} lines")), "{err}");
    }

    #[test]
    fn endless_long_comments_are_refused_naming_the_size_cap() {
        const LONG: &[u8] = &[b'#'; 8000];
        let unit: &'static [u8] = Box::leak([LONG, b"\n"].concat().into_boxed_slice());
        let err = read_from(endless(unit), &CancelToken::new()).expect_err("refused");
        assert!(
            err.contains(&format!("cap of {MAX_FILE_BYTES} bytes")),
            "{err}"
        );
    }

    #[test]
    fn a_line_at_the_cap_is_read_and_one_over_is_not() {
        let at = format!("http://h/{}\n", "a".repeat(MAX_LINE_BYTES - 9));
        assert_eq!(
            read_from(at.as_bytes(), &CancelToken::new())
                .expect("at cap")
                .len(),
            1
        );
        let over = format!("http://h/{}\n", "a".repeat(MAX_LINE_BYTES - 8));
        assert!(read_from(over.as_bytes(), &CancelToken::new()).is_err());
    }

    #[test]
    fn a_cancel_stops_the_read() {
        let cancel = CancelToken::new();
        cancel.cancel();
        let err = read_from(endless(b"http://x/\n"), &cancel).expect_err("cancelled");
        assert_eq!(err, "cancelled");
    }

    #[test]
    fn a_cancel_ends_a_read_blocked_on_a_fifo() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("urls");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        let cancel = CancelToken::new();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (path, c) = (fifo.clone(), cancel.clone());
        let reader = std::thread::spawn(move || tx.send(read(&path, &c)));
        // Opening the FIFO's write end waits for the reader to open its read end: then
        // the reader is blocked on a read that no byte will ever end.
        let writer = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .expect("opens");
        cancel.cancel();
        let got = rx.recv().expect("answered");
        let err = got.expect_err("cancelled");
        assert!(err.contains("cancelled while reading --urls-file"), "{err}");
        reader.join().expect("joins").expect("sent");
        drop(writer);
    }

    #[test]
    fn dev_zero_is_refused() {
        let err = read(Path::new("/dev/zero"), &CancelToken::new()).expect_err("refused");
        assert!(err.starts_with("invalid --urls-file: /dev/zero: "), "{err}");
        assert!(err.contains("bytes a line"), "{err}");
    }
}
