//! Response bodies that stream without being held in memory: the byte pattern in 64 KiB
//! chunks made as the client takes them, and `/drip`'s bytes released on a timer. A slow
//! reader costs one chunk, never the whole body.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::pattern::pattern_fill_seeded;

/// Largest chunk handed to hyper at once.
const CHUNK: u64 = 64 * 1024;

/// A response body.
pub enum Payload {
    Empty,
    Full(Option<Bytes>),
    Pattern { seed: u64, pos: u64, len: u64 },
    Drip(Drip),
}

impl Payload {
    pub fn text(s: String) -> Self {
        Payload::Full(Some(Bytes::from(s)))
    }

    pub fn pattern(seed: u64, len: u64) -> Self {
        Payload::Pattern { seed, pos: 0, len }
    }

    fn remaining(&self) -> u64 {
        match self {
            Payload::Empty => 0,
            Payload::Full(b) => b.as_ref().map_or(0, |b| b.len() as u64),
            Payload::Pattern { pos, len, .. } => len - pos,
            Payload::Drip(d) => d.numbytes - d.sent,
        }
    }
}

/// `numbytes` bytes of `*`: byte `i` is due `(i + 1) / numbytes` of the way through
/// `duration`, so the last one ends it (httpbin sleeps `duration / numbytes` after each).
pub struct Drip {
    numbytes: u64,
    sent: u64,
    start: Instant,
    duration: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl Drip {
    pub fn new(numbytes: u64, duration: Duration) -> Self {
        let start = Instant::now();
        Drip {
            numbytes,
            sent: 0,
            start,
            duration,
            sleep: Box::pin(tokio::time::sleep_until(start)),
        }
    }

    /// Bytes due `elapsed` after the start.
    fn due(&self, elapsed: Duration) -> u64 {
        if elapsed >= self.duration {
            return self.numbytes;
        }
        let f = elapsed.as_secs_f64() / self.duration.as_secs_f64();
        ((f * self.numbytes as f64).floor() as u64).min(self.numbytes)
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let mut woke = false;
        loop {
            if self.sent >= self.numbytes {
                return Poll::Ready(None);
            }
            let mut due = self.due(self.start.elapsed());
            if woke {
                // The timer fired for the next byte: release it even if rounding disagrees.
                due = due.max(self.sent + 1);
            }
            if due > self.sent {
                let n = (due - self.sent).min(CHUNK);
                self.sent += n;
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'*'; n as usize])))));
            }
            let next = self
                .duration
                .mul_f64((self.sent + 1) as f64 / self.numbytes as f64);
            self.sleep.as_mut().reset(self.start + next);
            match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => woke = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Body for Payload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Payload::Empty => Poll::Ready(None),
            Payload::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Payload::Pattern { seed, pos, len } => {
                if pos >= len {
                    return Poll::Ready(None);
                }
                let n = (*len - *pos).min(CHUNK);
                let mut buf = vec![0; n as usize];
                pattern_fill_seeded(*seed, *pos, &mut buf);
                *pos += n;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
            }
            Payload::Drip(d) => d.poll_next(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
    }

    #[test]
    fn pattern_streams_in_chunks_and_adds_up() {
        rt().block_on(async {
            let mut p = Payload::pattern(0, 200_000);
            assert_eq!(p.size_hint().exact(), Some(200_000));
            let mut got = Vec::new();
            let mut frames = 0;
            while let Some(f) = p.frame().await {
                let data = f.expect("infallible").into_data().expect("data");
                assert!(data.len() as u64 <= CHUNK);
                got.extend_from_slice(&data);
                frames += 1;
            }
            assert_eq!(frames, 4);
            assert_eq!(got, super::super::pattern(200_000));
            assert!(p.is_end_stream());
        });
    }

    #[test]
    fn drip_spreads_its_bytes_over_the_duration() {
        rt().block_on(async {
            let t0 = Instant::now();
            let mut d = Payload::Drip(Drip::new(10, Duration::from_secs(2)));
            let mut at = Vec::new();
            while let Some(f) = d.frame().await {
                let data = f.expect("infallible").into_data().expect("data");
                assert_eq!(&data[..], b"*");
                at.push(t0.elapsed());
            }
            // Paused time: each byte arrives exactly on its 200 ms step.
            let want: Vec<Duration> = (1..=10).map(|i| Duration::from_millis(200 * i)).collect();
            assert_eq!(at, want);
        });
    }

    #[test]
    fn a_huge_fast_drip_comes_in_bounded_chunks() {
        rt().block_on(async {
            let body = Payload::Drip(Drip::new(1_000_000, Duration::from_millis(10)));
            let all = body.collect().await.expect("infallible").to_bytes();
            assert_eq!(all.len(), 1_000_000);
            assert!(all.iter().all(|&b| b == b'*'));
        });
    }
}
