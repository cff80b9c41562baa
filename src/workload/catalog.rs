//! The list of every workload, in the order the dashboard cycles through them.

use super::Workload;

static CATALOG: &[&dyn Workload] = &[
    &super::primes::Primes,
    &super::naive_primes::NaivePrimes,
    &super::squares::Squares,
    &super::fib::Fib,
    &super::sleep::Sleep,
    &super::tiny::Tiny,
    &super::http::Http,
    &super::files::Files,
    &super::pipeline::Pipeline,
    &super::scenes::race::Race,
    &super::scenes::deadlock::Deadlock,
    &super::scenes::queue::Queue,
    &super::scenes::convoy::Convoy,
    &super::scenes::native::Native,
    &super::scenes::oversubscribe::Oversubscribe,
    &super::scenes::payload::Payload,
    &super::scenes::recycle::Recycle,
    &super::scenes::rate_limit::RateLimit,
    &super::scenes::crossover::Crossover,
];

/// Every workload.
pub fn all() -> &'static [&'static dyn Workload] {
    CATALOG
}

/// The workload called `name`, if any.
pub fn find(name: &str) -> Option<&'static dyn Workload> {
    CATALOG.iter().copied().find(|w| w.name() == name)
}

/// Every workload's name, for error messages and `--help`.
pub fn names() -> Vec<&'static str> {
    CATALOG.iter().map(|w| w.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        let names = names();
        for n in &names {
            assert_eq!(find(n).map(|w| w.name()), Some(*n));
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert!(find("nope").is_none());
    }
}
