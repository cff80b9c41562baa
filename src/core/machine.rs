//! What the machine offers: its logical cores, the default width of every pool.

/// This machine's logical cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    #[test]
    fn at_least_one_core() {
        assert!(super::default_workers() >= 1);
    }
}
