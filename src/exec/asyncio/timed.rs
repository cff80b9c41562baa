//! A future's own CPU time: the loop thread's CPU time spent inside its polls. Tasks on one
//! loop interleave, so the thread's CPU time around a whole task would count the others.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Wraps a future; [`Timed::cpu`] is the CPU time spent polling it so far.
pub struct Timed<F> {
    inner: Pin<Box<F>>,
    cpu: Duration,
}

impl<F: Future> Timed<F> {
    pub fn new(f: F) -> Self {
        Timed {
            inner: Box::pin(f),
            cpu: Duration::ZERO,
        }
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, Duration);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let t0 = cpu_time::ThreadTime::try_now().ok();
        let out = self.inner.as_mut().poll(cx);
        if let Some(t0) = t0 {
            self.cpu += t0.elapsed();
        }
        match out {
            Poll::Ready(v) => Poll::Ready((v, self.cpu)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cpu_spent_in_polls() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (v, cpu) = rt.block_on(Timed::new(async {
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = x.wrapping_add(std::hint::black_box(i));
            }
            x
        }));
        assert!(v > 0);
        assert!(cpu > Duration::ZERO);
    }
}
