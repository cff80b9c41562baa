//! Reports to standard output, every write checked: a reader that went away (`conlab
//! compare | head -3`) ends the output quietly, where `println!` would panic on the broken
//! pipe; any other failure (a full disk, `/dev/full`) is remembered, and
//! `main` turns it into an error and a non-zero exit ([`finish`]) — a result is never lost
//! silently. (A stdout closed by the shell, `>&-`, cannot be told from `>/dev/null`: Rust
//! opens `/dev/null` on a closed standard descriptor before `main` runs.)

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Something was written through [`write`].
static WROTE: AtomicBool = AtomicBool::new(false);
/// The first write to stdout that failed (other than a reader that went away).
static LOST: Mutex<Option<String>> = Mutex::new(None);

fn note(why: String) {
    let mut lost = LOST.lock().unwrap_or_else(|e| e.into_inner());
    lost.get_or_insert(why);
}

/// Remember how writing `result` to stdout failed, if it did: a broken pipe is the
/// reader's choice and is not a failure.
pub fn check(result: std::io::Result<()>) {
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => note(e.to_string()),
    }
}

/// Write `text` to stdout and flush; a failure is remembered for [`finish`].
pub fn write(text: &str) {
    WROTE.store(true, Ordering::SeqCst);
    let mut o = std::io::stdout().lock();
    check(o.write_all(text.as_bytes()).and_then(|()| o.flush()));
}

/// Flush stdout and say whether everything written to it arrived: `Err` names the
/// first failure (the output is lost or cut short).
pub fn finish() -> Result<(), String> {
    if WROTE.load(Ordering::SeqCst) {
        check(std::io::stdout().lock().flush());
    }
    match LOST.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        None => Ok(()),
        Some(why) => Err(format!(
            "cannot write to standard output ({why}): the output is lost or incomplete"
        )),
    }
}

/// [`finish`] after a write made outside [`write`] (clap's `--help`), checked with
/// [`check`].
pub fn finish_after_print() -> Result<(), String> {
    WROTE.store(true, Ordering::SeqCst);
    finish()
}

/// `println!` that survives a closed pipe and remembers any other failure.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::sys::out::write(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that survives a closed pipe and remembers any other failure.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::sys::out::write(&format!($($arg)*))
    };
}
