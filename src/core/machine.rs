//! What the machine offers: its logical cores, the default width of every pool.

/// This machine's logical cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
