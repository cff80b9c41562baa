//! The fuzz targets' short run on stable: every committed seed (and every crash the fuzzer
//! once found, added there after its fix) in `fuzz/corpus/TARGET/` is fed through the same
//! function the cargo fuzz target calls (`fuzz/targets.rs`); each must return, not panic.
//! Longer, coverage-guided runs: `fuzz/run` (nightly, cargo-fuzz).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

#[test]
fn every_seed_of_every_fuzz_target_is_read_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, target) in targets::TARGETS {
        let dir = root.join(name);
        let mut fed = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            let data = std::fs::read(&path).expect("seed");
            target(&data);
            // The same input cut short, as a truncated file or a closed pipe gives it.
            target(&data[..data.len() / 2]);
            fed += 1;
        }
        assert!(fed > 0, "{name}: no seeds in {}", dir.display());
    }
}
