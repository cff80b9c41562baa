//! The loop's health: a timer every [`HEARTBEAT`] on the loop, and how late it fires. A
//! loop that is free wakes it within a fraction of a millisecond; a loop busy running a
//! CPU-bound task cannot, and the lag is as long as that task. Every beat goes into a
//! bounded histogram (max, p99 for the report); the events are coalesced.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::core::{Event, LoopStats};
use crate::exec::{Gil, Sink};

/// How often the heartbeat timer is set to fire.
pub const HEARTBEAT: Duration = Duration::from_millis(10);
/// At most one `LoopLag` event per this long (a late beat past it is sent at once).
const EMIT_EVERY: Duration = Duration::from_millis(100);

/// Lags in log-linear buckets (32 per power of two): bounded memory however long the run,
/// quantiles within about 3%.
#[derive(Clone, Debug, Default)]
pub struct LagHistogram {
    counts: Vec<u64>,
    n: u64,
    sum: u64,
    max: u64,
}

const SUB: u64 = 32;

fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros() as u64; // v in [2^exp, 2^(exp+1))
    let shift = exp - 5; // 32 sub-buckets
    let sub = (v >> shift) - SUB;
    ((exp - 4) * SUB + sub) as usize
}

fn bucket_top(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        return b;
    }
    let exp = b / SUB + 4;
    let sub = b % SUB;
    let shift = exp - 5;
    ((SUB + sub + 1) << shift) - 1
}

impl LagHistogram {
    pub fn record(&mut self, us: u64) {
        let b = bucket_of(us);
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.n += 1;
        self.sum += us;
        self.max = self.max.max(us);
    }

    pub fn count(&self) -> u64 {
        self.n
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> u64 {
        self.sum.checked_div(self.n).unwrap_or(0)
    }

    /// The smallest bucket top under which a fraction `q` of the values lie (capped at max).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let want = ((self.n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return bucket_top(b).min(self.max);
            }
        }
        self.max
    }
}

/// The heartbeat's shared state: what the loop's tasks update, what the beat reports.
pub struct Pulse {
    pub in_flight: Cell<u64>,
    pub peak_in_flight: Cell<u64>,
    hist: std::cell::RefCell<LagHistogram>,
    /// When the next beat is due (from [`Pulse::start`]; `None` before it).
    due: Cell<Option<tokio::time::Instant>>,
}

impl Pulse {
    pub fn new() -> Self {
        Pulse {
            in_flight: Cell::new(0),
            peak_in_flight: Cell::new(0),
            hist: Default::default(),
            due: Cell::new(None),
        }
    }

    /// The run starts: the first beat is due a period from now, whenever the heartbeat
    /// is first polled (a loop blocked from its first turn would otherwise never set it).
    pub fn start(&self) {
        self.due.set(Some(tokio::time::Instant::now() + HEARTBEAT));
    }

    /// The run ends: a beat overdue and not fired (the loop never got back to it) counts,
    /// its lag up to now a lower bound — not a run with no lag at all.
    pub fn finish(&self) {
        if let Some(due) = self.due.take() {
            let now = tokio::time::Instant::now();
            if now > due {
                self.hist
                    .borrow_mut()
                    .record(now.duration_since(due).as_micros() as u64);
            }
        }
    }

    pub fn enter(&self) {
        let n = self.in_flight.get() + 1;
        self.in_flight.set(n);
        self.peak_in_flight.set(self.peak_in_flight.get().max(n));
    }

    pub fn leave(&self) {
        self.in_flight.set(self.in_flight.get().saturating_sub(1));
    }

    pub fn stats(&self) -> LoopStats {
        let h = self.hist.borrow();
        LoopStats {
            beats: h.count(),
            max_lag_us: h.max(),
            p99_lag_us: h.quantile(0.99),
            mean_lag_us: h.mean(),
            peak_in_flight: self.peak_in_flight.get(),
        }
    }
}

/// Beat every [`HEARTBEAT`] until dropped: record each beat's lag, emit coalesced
/// `LoopLag` events on worker `worker`. With a `gil` (CPU offloaded to GIL threads), a
/// beat must take the GIL to run, as a Python callback must, and that wait is lag too.
pub async fn beat(pulse: &Pulse, sink: &Sink, worker: usize, gil: Option<&Gil>) {
    let mut due = pulse
        .due
        .get()
        .unwrap_or_else(|| tokio::time::Instant::now() + HEARTBEAT);
    let mut last_emit = Instant::now();
    let mut window_max = 0u64;
    loop {
        tokio::time::sleep_until(due).await;
        if let Some(g) = gil {
            drop(g.acquire());
        }
        let now = tokio::time::Instant::now();
        let lag = now.saturating_duration_since(due).as_micros() as u64;
        pulse.hist.borrow_mut().record(lag);
        window_max = window_max.max(lag);
        if last_emit.elapsed() >= EMIT_EVERY {
            sink.emit(Event::LoopLag {
                worker,
                lag_us: lag,
                max_us: window_max,
                in_flight: pulse.in_flight.get(),
            });
            last_emit = Instant::now();
            window_max = 0;
        }
        // The next beat is due a period after this one fired (asyncio's call_later from
        // the callback): a blocked loop shows one long lag, not a burst of catch-up beats.
        due = now + HEARTBEAT;
        pulse.due.set(Some(due));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_beat_the_loop_never_got_back_to_counts_at_the_end() {
        // Blocked from the first turn to the end: the heartbeat never fired.
        let p = Pulse::new();
        p.start();
        tokio::time::advance(Duration::from_millis(460)).await;
        p.finish();
        let s = p.stats();
        assert_eq!(s.beats, 1);
        assert_eq!(s.max_lag_us, 450_000, "at least the run less a period");
        // A loop that kept beating has nothing overdue at its end.
        let p = Pulse::new();
        p.start();
        p.finish();
        assert_eq!(p.stats().beats, 0);
    }

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            31,
            32,
            33,
            63,
            64,
            100,
            1000,
            12_345,
            1_000_000,
            u32::MAX as u64,
        ] {
            let b = bucket_of(v);
            assert!(b >= last, "{v}");
            last = b;
            assert!(
                bucket_top(b) >= v,
                "{v} above its bucket top {}",
                bucket_top(b)
            );
            // within ~3%
            assert!(
                bucket_top(b) as f64 <= v as f64 * 1.04 + 1.0,
                "{v}: {}",
                bucket_top(b)
            );
        }
    }

    #[test]
    fn quantiles_of_a_known_set() {
        let mut h = LagHistogram::default();
        for _ in 0..990 {
            h.record(100);
        }
        for _ in 0..10 {
            h.record(500_000);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.max(), 500_000);
        let p99 = h.quantile(0.99);
        assert!((100..=104).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), 500_000);
        assert_eq!(LagHistogram::default().quantile(0.99), 0);
    }
}
