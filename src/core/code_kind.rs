//! The three kinds of work a thread does under the GIL: interpreted bytecode, native code
//! that releases the GIL, and native code that holds it without ever checking.

use serde::{Deserialize, Serialize};

/// How a piece of work treats the GIL — what the `native` scene's `--variant` picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// Python bytecode: holds the GIL and checks for a drop request every few
    /// instructions (`tick()`), so a waiting thread gets in within a switch interval.
    Interpreted,
    /// Native code that releases the GIL while it runs (hashlib over 2 KiB, zlib, NumPy).
    Releasing,
    /// Native code that holds the GIL and never checks: no forced switch until it returns.
    Holding,
}

impl CodeKind {
    pub const ALL: [CodeKind; 3] = [
        CodeKind::Interpreted,
        CodeKind::Releasing,
        CodeKind::Holding,
    ];

    /// The `--variant` name.
    pub fn name(self) -> &'static str {
        match self {
            CodeKind::Interpreted => "interpreted",
            CodeKind::Releasing => "releasing",
            CodeKind::Holding => "holding",
        }
    }

    pub fn from_name(s: &str) -> Option<CodeKind> {
        CodeKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// What it means, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            CodeKind::Interpreted => "interpreted: holds the GIL, hands it over when asked",
            CodeKind::Releasing => "native, GIL released while it runs",
            CodeKind::Holding => "native, holding the GIL without ever checking",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in CodeKind::ALL {
            assert_eq!(CodeKind::from_name(k.name()), Some(k));
        }
        assert_eq!(CodeKind::from_name("nope"), None);
    }
}
