//! The classify job: sample a workload for a second on one thread, send the verdict back.

use std::time::Duration;

use crossbeam_channel::Sender;

use crate::app::Msg;
use crate::exec::{CancelToken, RunSpec};

/// Sample `spec` on a named thread; the one-line verdict arrives as [`Msg::Classified`].
pub fn spawn(spec: RunSpec, tx: &Sender<Msg>) {
    let verdict_tx = tx.clone();
    let gil = spec.gil.enabled;
    let spawned = std::thread::Builder::new()
        .name("conlab-classify".into())
        .spawn(move || {
            let result = crate::experiment::classify::sample_spec(
                spec,
                Duration::from_secs(1),
                &CancelToken::new(),
            )
            .map(|s| crate::experiment::classify::one_line(&s, gil))
            .map_err(|e| e.to_string());
            let _ = verdict_tx.send(Msg::Classified(result));
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Classified(Err(e.to_string())));
    }
}
