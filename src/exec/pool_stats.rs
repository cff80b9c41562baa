//! What a pool measured about itself: start-up, serialisation, bytes through the pipes,
//! recycling. The scenes that teach what processes cost report these figures.

use std::time::Duration;

use serde_json::{Value, json};

use crate::core::{Crossing, ms};

/// Measured costs of one pool run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolStats {
    /// Processes (or threads) started: the first ones and every replacement.
    pub spawns: usize,
    /// Replacements started because a child reached its task limit.
    pub recycled: usize,
    /// Per spawn: from `spawn()` to the worker's hello (it is up and listening).
    pub startup: Vec<Duration>,
    /// From the first spawn until every first-generation worker was ready.
    pub startup_wall: Duration,
    /// Time retiring children (closing stdin, reaping) when recycling.
    pub retire: Duration,
    /// Parent-side serialisation of task messages (`serde_json::to_string`).
    pub serialise: Duration,
    /// Writing the messages into the children's stdin pipes.
    pub write: Duration,
    /// Bytes written to the children (task messages, newline included).
    pub bytes_sent: u64,
    /// Bytes read back from them (events and results).
    pub bytes_received: u64,
    /// Σ per task: from starting to serialise its message to reading its result.
    pub roundtrip: Duration,
    /// Σ per task: the task's own wall time, as the worker measured it.
    pub compute: Duration,
    /// Tasks done.
    pub tasks: usize,
}

impl PoolStats {
    /// Everything a task cost besides computing: Σ(round trip − compute) − serialise.
    /// That is the pipe transfer both ways plus the child's parsing and reply.
    pub fn transfer(&self) -> Duration {
        self.roundtrip
            .saturating_sub(self.compute)
            .saturating_sub(self.serialise)
    }

    /// The same costs as a [`Crossing`], to show beside threads and interpreters.
    pub fn crossing(&self) -> Crossing {
        let startup: Duration = self.startup.iter().sum();
        Crossing {
            workers: self.spawns,
            startup_us: (!self.startup.is_empty())
                .then(|| (startup / self.startup.len() as u32).as_micros() as u64),
            startup_note: None,
            items: self.tasks as u64,
            bytes: Some(self.bytes_sent + self.bytes_received),
            transfer_us: Some((self.serialise + self.transfer()).as_micros() as u64),
            how: "JSON lines through pipes, both ways".into(),
        }
    }

    pub fn to_json(&self) -> Value {
        let startup_total: Duration = self.startup.iter().sum();
        json!({
            "spawns": self.spawns,
            "recycled": self.recycled,
            "startup_ms_total": ms(startup_total),
            "startup_ms_mean": if self.startup.is_empty() { 0.0 } else {
                ms(startup_total / self.startup.len() as u32)
            },
            "startup_wall_ms": ms(self.startup_wall),
            "retire_ms": ms(self.retire),
            "serialise_ms": ms(self.serialise),
            "write_ms": ms(self.write),
            "transfer_ms": ms(self.transfer()),
            "compute_ms": ms(self.compute),
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "tasks": self.tasks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_is_roundtrip_minus_compute_and_serialisation() {
        let s = PoolStats {
            roundtrip: Duration::from_millis(10),
            compute: Duration::from_millis(6),
            serialise: Duration::from_millis(1),
            ..Default::default()
        };
        assert_eq!(s.transfer(), Duration::from_millis(3));
        let j = s.to_json();
        assert_eq!(j["transfer_ms"], 3.0);
        assert_eq!(j["startup_ms_mean"], 0.0);
    }
}
