//! What an async task body may ask of the loop: timers, HTTP, file reads that don't block
//! the loop, progress, and running a piece of synchronous code on the loop (blocking it).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::client::{Fetched, HttpClient};
use crate::core::{Event, TaskError, TaskOutput};
use crate::exec::{CancelToken, Gil, Sink, TaskCtx};

/// An async task body: a future on the loop.
pub type TaskFuture<'a> = Pin<Box<dyn Future<Output = Result<TaskOutput, TaskError>> + 'a>>;

/// The loop's handle given to an async task body.
pub struct AsyncCtx<'a> {
    pub task: usize,
    pub worker: usize,
    cancel: &'a CancelToken,
    sink: &'a Sink,
    client: &'a HttpClient,
    /// A GIL that is never contended: the loop is one thread.
    gil: &'a Gil,
    last_progress: Option<Instant>,
}

impl<'a> AsyncCtx<'a> {
    pub(super) fn new(
        task: usize,
        worker: usize,
        cancel: &'a CancelToken,
        sink: &'a Sink,
        client: &'a HttpClient,
        gil: &'a Gil,
    ) -> Self {
        AsyncCtx {
            task,
            worker,
            cancel,
            sink,
            client,
            gil,
            last_progress: None,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// A timer on the loop (`await asyncio.sleep(d)`): the loop runs others meanwhile.
    pub async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    /// GET `url` on the loop's shared client (`await session.get(url)`); `local`: the
    /// embedded server; a body over `max_body` bytes fails the request, naming the cap.
    pub async fn get(
        &self,
        url: &str,
        timeout: Duration,
        headers: &[(String, String)],
        local: bool,
        max_body: u64,
    ) -> Result<Fetched, String> {
        self.client
            .get(url, timeout, headers, local, max_body)
            .await
    }

    /// Open a file without blocking the loop (tokio::fs: the open and each read run on
    /// tokio's blocking-thread pool, as aiofiles does in Python).
    pub async fn open(&self, path: &Path) -> std::io::Result<tokio::fs::File> {
        tokio::fs::File::open(path).await
    }

    /// Report `done` of `total` units; rate-limited.
    pub fn progress(&mut self, done: u64, total: u64) {
        if crate::exec::ctx::progress_due(&mut self.last_progress, done, total) {
            self.sink.emit(Event::Progress {
                task: self.task,
                worker: self.worker,
                done,
                total,
            });
        }
    }

    /// Run synchronous code on the loop, as a coroutine does between two awaits: nothing
    /// else on the loop runs until it returns (hashing a body, counting words).
    pub fn on_loop<T>(&mut self, f: impl FnOnce(&mut TaskCtx) -> T) -> T {
        let mut ctx = TaskCtx::new(self.task, self.worker, self.gil, self.cancel, self.sink);
        f(&mut ctx)
    }
}
