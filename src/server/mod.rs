//! The embedded loopback HTTP/1.1 server the I/O workloads talk to, so the I/O lessons work
//! with no internet: httpbin's routes and units (`/delay/{seconds}`, `/bytes/{n}`,
//! `/status/{codes}`, `/drip`, `/get`, `/uuid`, ...) and conlab's own `/delay-ms/{ms}`.
//!
//! hyper on a tokio runtime of its own, on its own named threads, so blocking callers are
//! unaffected: a delayed reply is a timer, not a thread, so ten thousand can wait at once.
//! Every cost a client can impose is bounded by [`Limits`] (head size and count, body size,
//! time to send a head, time to take a reply, connections at once). Dropping the [`Server`]
//! stops it and joins its threads.

mod body;
mod conn;
mod echo;
#[cfg(test)]
mod fuzz;
pub mod httpbin;
mod limits;
mod pattern;
mod query;
pub mod route;
mod service;
mod status;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

pub use limits::{Limits, MAX_BYTES, MAX_DELAY_MS, MAX_DRIP_BYTES, MAX_H2_STREAMS, MAX_URL_LEN};
pub use pattern::{pattern, pattern_fill, pattern_fill_seeded};
pub use route::{INDEX, Route, route};

/// Threads of the server's runtime (the accept loop has one more of its own).
const WORKER_THREADS: usize = 2;

/// A running embedded server; dropping it stops the server and joins its threads.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Start on 127.0.0.1, on a free port.
    pub fn start_loopback() -> anyhow::Result<Server> {
        Server::start(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
    }

    /// Start on `addr` (port 0: a free one) with the default [`Limits`].
    pub fn start(addr: SocketAddr) -> anyhow::Result<Server> {
        Server::start_with(addr, Limits::default())
    }

    /// Start on `addr` with `limits`.
    pub fn start_with(addr: SocketAddr, limits: Limits) -> anyhow::Result<Server> {
        let fail = |e: &dyn std::fmt::Display| {
            anyhow::anyhow!("could not start the HTTP server on {addr}: {e}")
        };
        let std_listener = conn::listen(addr).map_err(|e| fail(&e))?;
        let addr = std_listener.local_addr().map_err(|e| fail(&e))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("conlab-http-worker")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| fail(&e))?;
        let listener = {
            let _in_rt = rt.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(|e| fail(&e))?
        };
        let limits = Arc::new(limits.sane());
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("conlab-http".into())
            .spawn(move || {
                rt.block_on(conn::accept_loop(listener, limits, stop_rx));
                // Pending replies are dropped with their connections; nothing here blocks.
                rt.shutdown_timeout(Duration::from_secs(5));
            })
            .map_err(|e| fail(&e))?;
        Ok(Server {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn drop_stops_it_with_requests_pending_and_closes_their_connections() {
        let server = Server::start_loopback().expect("starts");
        let addr = server.addr();
        assert!(addr.ip().is_loopback());
        let mut pending: Vec<TcpStream> = [
            "GET /delay/60 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /drip?duration=60&numbytes=10 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /get HTTP/1.1\r\nHo",
        ]
        .iter()
        .map(|r| {
            let mut s = TcpStream::connect(addr).expect("connects");
            s.write_all(r.as_bytes()).expect("writes");
            s
        })
        .collect();
        drop(server);
        // Joined: the runtime is gone, so every connection it held is closed...
        for s in &mut pending {
            s.set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
            let mut out = Vec::new();
            let end = s.read_to_end(&mut out).map_err(|e| e.kind());
            assert!(
                matches!(end, Ok(_) | Err(std::io::ErrorKind::ConnectionReset)),
                "still open: {end:?}"
            );
        }
        // ...and nothing listens any more.
        assert!(TcpStream::connect(addr).is_err());
    }
}
