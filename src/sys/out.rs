//! Reports to standard output: a reader that went away (`conlab compare | head -3`) ends
//! the output quietly, where `println!` would panic on the broken pipe.

use std::io::Write;

/// Write `text` to stdout; a closed pipe (or any other write error) is ignored: the
/// report's reader is gone, and nothing else depends on the output.
pub fn write(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|()| o.flush());
}

/// `println!` that survives a closed pipe.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::sys::out::write(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that survives a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::sys::out::write(&format!($($arg)*))
    };
}
