//! The runtimes a run can use: conlab's native engine or a real CPython interpreter.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who runs the tasks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    /// Rust kernels with a simulated GIL (needs nothing else).
    #[default]
    Native,
    /// A real CPython interpreter (`--python`, default `python3` on PATH).
    Cpython,
}

impl Runtime {
    pub const ALL: [Runtime; 2] = [Runtime::Native, Runtime::Cpython];

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Native => "native",
            Runtime::Cpython => "cpython",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for r in Runtime::ALL {
            let s = serde_json::to_string(&r).expect("serialises");
            assert_eq!(s, format!("\"{}\"", r.name()));
            assert_eq!(serde_json::from_str::<Runtime>(&s).expect("parses"), r);
        }
        assert_eq!(Runtime::default(), Runtime::Native);
    }
}
