//! One file per subcommand: parse-checked arguments in, an exit code out; plus the command
//! error type ([`error`]) and Ctrl-C handling ([`ctrl_c`]). The layers below take small
//! option structs these build from the flags, and return plain errors.

pub mod classify;
pub mod compare;
pub mod completions;
pub mod confine;
pub mod crossover;
pub mod ctrl_c;
pub mod error;
pub mod exec;
pub mod fidelity;
pub mod guard;
pub mod lesson;
pub mod man;
pub mod rehearse;
pub mod replay;
pub mod run;
pub mod serve;
pub mod shot;
pub mod step;
pub mod tui;
pub mod version;
pub mod watch;
pub mod worker;
