//! A CPython runner whose threads runs go under CPython's own GIL sampler (3.15+,
//! `python -m profiling.sampling run -a --gecko`), each in a fresh folder under /tmp
//! removed when the run ends; the run's events end with the `cpython gil` note
//! ([`super::cpython::GIL_NOTE`]). Other models, and interpreters without the sampler or
//! without a GIL, run as plain CPython runs. The dashboard's `G` picks it.

use super::CpythonRunner;
use crate::core::Model;
use crate::exec::{CancelToken, RunError, RunResult, RunSpec, Runner, Sink};

pub struct GilSampledRunner(pub CpythonRunner);

impl GilSampledRunner {
    /// Whether `spec`'s run goes under the sampler.
    pub fn samples(&self, spec: &RunSpec) -> bool {
        spec.model == Model::Threads && spec.gil.enabled && self.0.can_sample_gil()
    }
}

impl Runner for GilSampledRunner {
    fn run(&self, spec: &RunSpec, sink: &Sink, cancel: &CancelToken) -> RunResult {
        if !self.samples(spec) {
            return self.0.run(spec, sink, cancel);
        }
        // In /tmp itself, not $TMPDIR: a chroot's wrapper (scripts/pythons) binds /tmp only.
        let dir = tempfile::Builder::new()
            .prefix("conlab-gil-")
            .tempdir_in("/tmp")
            .map_err(|e| RunError::Plan(anyhow::anyhow!("a folder for the GIL profile: {e}")))?;
        self.0.sampling_gil(dir.path()).run(spec, sink, cancel)
    }
}
