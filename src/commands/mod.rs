//! One file per subcommand: parse-checked arguments in, an exit code out.

pub mod lesson;
pub mod replay;
pub mod shot;
pub mod tui;
