//! Which workloads the CPython runtime runs, and its default sizes: CPython is roughly
//! 25–30× slower than the native kernels, so a sequential run at the native default would
//! take minutes; these make it take a few seconds too (measured on a 2-core VM, 3.11).

/// Workloads the driver implements (the other scenes stay native for now). `native`
/// calibrates its calls on the interpreter (~40 ms each), so its `--size` does not apply.
pub const SUPPORTED: &[&str] = &[
    "primes",
    "naive-primes",
    "squares",
    "fib",
    "sleep",
    "tiny",
    "http",
    "files",
    "pipeline",
    "native",
    "crossover",
];

pub fn supported(workload: &str) -> bool {
    SUPPORTED.contains(&workload)
}

/// The CPython default `--size` of a compute workload; `None` when the native default
/// already suits (waiting, tiny and I/O workloads take the same time in both).
pub fn default_size(workload: &str) -> Option<u64> {
    match workload {
        // 148,933 primes below 2,000,000: the articles' own figure; ~3 s on 3.11.
        "primes" => Some(2_000_000),
        "naive-primes" => Some(400_000),
        "squares" => Some(10_000_000),
        "fib" => Some(340_000),
        // Rounds of the LCG per item: ~12 ms of interpreted work on 3.14 (~80 ns a round
        // on a quiet 2-core VM), so 128 items outlast a pool's start-up.
        "crossover" => Some(150_000),
        _ => None,
    }
}

/// Why `workload` cannot run on CPython, naming the way out.
pub fn unsupported_message(workload: &str) -> String {
    format!(
        "`{workload}` runs only on the native runtime for now (use --runtime native); \
         --runtime cpython runs: {}",
        SUPPORTED.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_name_is_a_workload_and_defaults_fit_its_range() {
        for name in SUPPORTED {
            let w = crate::workload::find(name).expect("a workload");
            if let Some(size) = default_size(name) {
                assert!(w.size_range().contains(&size), "{name}");
                assert!(size < w.default_size(), "{name}: CPython is slower");
            }
        }
        assert!(!supported("race"));
        assert!(unsupported_message("race").contains("--runtime native"));
    }
}
