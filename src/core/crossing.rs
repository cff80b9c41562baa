//! What a pool paid to start its workers and to move each task's arguments and result
//! across to them: measured per run, so `interpreters` can be shown beside `processes`
//! (start-up + copying) and `threads` (shared memory, nothing copied).

use serde::{Deserialize, Serialize};

/// `Note` key: a [`Crossing`] as JSON text (the dashboard and recordings read it).
pub const CROSSING_NOTE: &str = "crossing";

/// A pool's measured costs of starting workers and of copying tasks across to them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    /// Workers started (threads, processes or interpreters).
    pub workers: usize,
    /// Mean start-up per worker, µs, as measured; `None` when not measured or not
    /// simulated (`startup_note` says which).
    #[serde(default)]
    pub startup_us: Option<u64>,
    /// Why `startup_us` is what it is, when that needs saying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_note: Option<String>,
    /// Tasks whose arguments and results crossed.
    pub items: u64,
    /// Bytes copied both ways (arguments and results); 0 for shared memory, `None` when
    /// not measured.
    #[serde(default)]
    pub bytes: Option<u64>,
    /// Σ over items of the copying both ways (serialise and deserialise, and for
    /// processes the pipe); `None` when not measured.
    #[serde(default)]
    pub transfer_us: Option<u64>,
    /// How the copying was done (e.g. "serde_json both ways", "pickle both ways").
    pub how: String,
}

impl Crossing {
    /// Mean copying cost per item, µs (`None` when not measured or nothing crossed).
    pub fn transfer_per_item_us(&self) -> Option<f64> {
        match self.transfer_us {
            Some(t) if self.items > 0 => Some(t as f64 / self.items as f64),
            _ => None,
        }
    }

    /// Mean bytes copied per item (`None` when not measured or no item crossed).
    pub fn bytes_per_item(&self) -> Option<f64> {
        match self.bytes {
            Some(b) if self.items > 0 => Some(b as f64 / self.items as f64),
            _ => None,
        }
    }

    /// One line for a summary or a note: "start-up 12.3 ms/worker · copy 4.1 µs/item (96 B)".
    pub fn summary(&self) -> String {
        let start = match self.startup_us {
            Some(us) => format!("start-up {:.1} ms/worker", us as f64 / 1e3),
            None if self
                .startup_note
                .as_deref()
                .is_some_and(|n| n.starts_with("not simulated")) =>
            {
                "start-up not simulated".to_string()
            }
            None => "start-up not measured".to_string(),
        };
        let copy = match (self.transfer_per_item_us(), self.bytes_per_item()) {
            (_, Some(0.0)) => "nothing copied".to_string(),
            (Some(us), Some(b)) => format!("copy {us:.1} µs/item ({b:.0} B)"),
            (Some(us), None) => format!("copy {us:.1} µs/item"),
            (None, _) => "copy not measured".to_string(),
        };
        format!("{start} · {copy}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_item_figures_divide_by_items_and_say_what_is_missing() {
        let c = Crossing {
            workers: 2,
            startup_us: Some(12_300),
            items: 4,
            bytes: Some(400),
            transfer_us: Some(20),
            how: "pickle both ways".into(),
            ..Default::default()
        };
        assert_eq!(c.transfer_per_item_us(), Some(5.0));
        assert_eq!(c.bytes_per_item(), Some(100.0));
        assert_eq!(
            c.summary(),
            "start-up 12.3 ms/worker · copy 5.0 µs/item (100 B)"
        );
        let none = Crossing {
            items: 4,
            ..Default::default()
        };
        assert_eq!(none.summary(), "start-up not measured · copy not measured");
        let back: Crossing =
            serde_json::from_str(&serde_json::to_string(&c).expect("writes")).expect("reads");
        assert_eq!(back, c);
    }
}
