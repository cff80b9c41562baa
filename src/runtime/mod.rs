//! Runtimes: what performs a run behind the [`crate::exec::Runner`] seam. The native one
//! looks the workload up in the catalog and hands it to the engine; nothing above this
//! module knows which runtime ran.

mod native;

pub use native::{NativeRunner, run};
