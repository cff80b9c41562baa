//! The server's caps: what a route may ask for (delays, body sizes) and what a connection
//! may cost (header size and count, request body, time to send a head, time to take a reply,
//! connections at once). Every bound is configuration, so tests can shorten the timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Longest `/delay`, `/delay-ms` and `/drip` wait, in ms.
pub const MAX_DELAY_MS: u64 = 60_000;
/// Largest `/bytes` body (and `/delay-ms?bytes=`).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Largest `/drip` body; larger `numbytes` are clamped to it, as httpbin does.
pub const MAX_DRIP_BYTES: u64 = 10 * 1024 * 1024;
/// Concurrent HTTP/2 streams on one connection, by default.
pub const MAX_H2_STREAMS: u32 = 1000;
/// Longest request target (path and query) accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Requests being answered at once, server-wide, by default: HTTP/1 and HTTP/2
/// together (16,384 connections of 1,000 streams each would otherwise allow 16 million).
/// Above the most a conlab run asks for at once (the http workload's 10,000 tasks).
pub const MAX_IN_FLIGHT: usize = 20_000;

/// The server's live count of requests being answered (shared by its connections). Not
/// configuration: two `Limits` compare equal whatever their counts.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl PartialEq for InFlight {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for InFlight {}

/// One request counted in flight until dropped.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl InFlight {
    /// Count one more request, unless `most` are already in flight.
    pub fn enter(&self, most: usize) -> Option<Slot> {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < most).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.0.clone()))
    }

    /// Requests in flight now.
    pub fn now(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// How much a connection may cost. [`Limits::default`] is what `conlab` serves with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A request head (request line and headers) must arrive within this time, counted from
    /// when the server starts waiting for it; an idle kept-alive connection is closed after
    /// it too. Half-sent requests cannot hold a connection longer.
    pub header_read_timeout: Duration,
    /// A write that makes no progress for this long (a client that stopped reading) ends
    /// the connection.
    pub write_timeout: Duration,
    /// Largest request head in bytes (larger: 431 and close).
    pub max_header_size: usize,
    /// Most header fields in a request (more: 431 and close).
    pub max_headers: usize,
    /// A connection's read buffer never grows beyond this (hyper's minimum is 8192).
    pub max_buf_size: usize,
    /// A request body a route reads (`POST /delay/...`) must arrive within this time (408).
    pub body_read_timeout: Duration,
    /// Largest request body read; a larger `Content-Length` gets 413 before any of the body
    /// is read, and a longer chunked body is cut off at this size.
    pub max_body: u64,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams one connection may carry (SETTINGS_MAX_CONCURRENT_STREAMS;
    /// a client wanting more opens more connections, as the async model's does).
    pub max_h2_streams: u32,
    /// Response bytes an HTTP/2 stream may buffer for a client that does not read them.
    pub h2_send_buf: usize,
    /// Requests answered at once, server-wide (HTTP/1 and HTTP/2 together); more get 503
    /// at once, holding nothing.
    pub max_in_flight: usize,
    /// The count against `max_in_flight` (fresh for every server started).
    pub in_flight: InFlight,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_header_size: 16 * 1024,
            max_headers: 100,
            max_buf_size: 64 * 1024,
            body_read_timeout: Duration::from_secs(30),
            max_body: 1024 * 1024,
            max_connections: 16 * 1024,
            max_h2_streams: MAX_H2_STREAMS,
            h2_send_buf: 16 * 1024,
            max_in_flight: MAX_IN_FLIGHT,
            in_flight: InFlight::default(),
        }
    }
}

impl Limits {
    /// The limits with every floor enforced (hyper panics on a read buffer under 8 KiB).
    pub(crate) fn sane(mut self) -> Self {
        self.max_buf_size = self.max_buf_size.max(8192);
        self.max_header_size = self.max_header_size.clamp(1024, self.max_buf_size);
        self.max_headers = self.max_headers.max(1);
        self.max_connections = self.max_connections.max(1);
        self.max_h2_streams = self.max_h2_streams.max(1);
        self.h2_send_buf = self.h2_send_buf.max(1024);
        self.max_in_flight = self.max_in_flight.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_raises_floors_that_would_panic_hyper() {
        let l = Limits {
            max_buf_size: 10,
            max_header_size: 1_000_000,
            max_headers: 0,
            max_connections: 0,
            ..Limits::default()
        }
        .sane();
        assert_eq!(l.max_buf_size, 8192);
        assert_eq!(l.max_header_size, 8192);
        assert_eq!((l.max_headers, l.max_connections), (1, 1));
        assert_eq!(Limits::default().sane(), Limits::default());
    }
}
