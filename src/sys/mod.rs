//! OS plumbing shared by the layers above: the guard that outlives nothing, signals, the
//! open-files limit, parsing `/proc` text, taking and giving back the terminal, stdout,
//! the CPU a cgroup gives conlab.

pub mod atomic_file;
pub mod cgroup;
pub mod cpu;
pub mod fds;
pub mod guard;
pub mod out;
pub mod proc;
pub mod signals;
pub mod terminal;
