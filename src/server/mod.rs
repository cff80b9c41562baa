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

pub use limits::{
    Limits, MAX_BYTES, MAX_DELAY_MS, MAX_DRIP_BYTES, MAX_H2_STREAMS, MAX_IN_FLIGHT, MAX_URL_LEN,
};
pub use pattern::{pattern, pattern_fill, pattern_fill_seeded};
pub use route::{INDEX, Route, route};

/// Serve one connection whose client sends `request` (HTTP/1.1, or HTTP/2 when it opens
/// with the preface) and reads the answer: the first `max` bytes the server wrote back.
/// The real connection code over an in-memory pipe, on a paused clock (delays and
/// timeouts pass at once): what the fuzzer feeds raw bytes to.
pub fn exchange(request: &[u8], max: usize) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    else {
        return Vec::new();
    };
    let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000);
    let h2 = request.starts_with(conn::H2_PREFACE_START);
    rt.block_on(async move {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let limits = Arc::new(Limits::default().sane());
        let io = hyper_util::rt::TokioIo::new(server);
        let srv = tokio::spawn(async move {
            if h2 {
                conn::serve_io_h2(io, peer, limits).await;
            } else {
                conn::serve_io(io, peer, limits).await;
            }
        });
        // The pipe holds a request up to 1 MiB; a longer one is written while answered.
        let (mut rd, mut wr) = tokio::io::split(&mut client);
        let write = async {
            let _ = wr.write_all(request).await;
            let _ = wr.shutdown().await;
        };
        let read = async {
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            while got.len() < max {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n.min(max - got.len())]),
                }
            }
            got
        };
        let ((), got) = tokio::join!(write, read);
        drop(client);
        let _ = srv.await;
        got
    })
}

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
        // A count of its own: a clone of another server's limits shares no count.
        let limits = Arc::new(
            Limits {
                in_flight: limits::InFlight::default(),
                ..limits
            }
            .sane(),
        );
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
