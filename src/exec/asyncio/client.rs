//! The async model's HTTP client: hyper's (hyper-util's pooled client over tokio's
//! sockets), the same hyper and tokio the embedded server runs on — one HTTP stack,
//! nothing hand-written. Plain `http://` only (no TLS in this client): an `https://` URL
//! fails its task saying so.
//!
//! Two ways on one loop. Requests to the embedded server go over HTTP/2 (h2c, prior
//! knowledge; the `h2` crate hyper itself runs on, over a tokio socket, because hyper's
//! client spawns a task of its own per request, 1.7 KB each in flight): every request is
//! its own stream, up to 1,000 (the server's cap) multiplexed on one connection, so 10,000
//! requests in flight hold 20 open files instead of 20,000 (a loopback connection costs
//! one on each side, in this one process, against a limit often of 20,000). Any other URL
//! gets HTTP/1.1, a connection per request in flight, at most as many at once as the
//! open-files limit leaves room for (more wait for a slot). Every body is read up to the
//! cap its task was given, and no further.

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Mutex, Semaphore};

/// Open files left for everything else when sizing the HTTP/1.1 pool.
const FD_HEADROOM: u64 = 256;

/// A fetched body and its status.
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Streams one HTTP/2 connection carries at once: the embedded server's cap. More
/// requests in flight to one host open more connections.
const STREAMS_PER_H2: usize = crate::server::MAX_H2_STREAMS as usize;

/// An HTTP/2 connection to a host:port, and its streams in flight.
struct H2Conn {
    authority: String,
    sender: h2::client::SendRequest<Bytes>,
    in_flight: Arc<AtomicUsize>,
}

/// A stream's place on its connection, given back when the request ends however it ends.
struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One client per loop: its connection pools are shared by every task on the loop.
pub struct HttpClient {
    h1: Client<HttpConnector, Empty<Bytes>>,
    /// HTTP/2 connections to the embedded server (host:port), opened on demand: one per
    /// [`STREAMS_PER_H2`] requests in flight.
    h2: Mutex<Vec<H2Conn>>,
    /// HTTP/1.1 requests in flight at once (each holds a connection: an open file).
    h1_slots: Semaphore,
}

fn connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.set_connect_timeout(Some(Duration::from_secs(10)));
    c.set_nodelay(true);
    c
}

/// HTTP/1.1 connections this process can hold at once beside what it has open.
fn h1_budget() -> usize {
    let soft = crate::sys::fds::raise_open_files_limit().map_or(1024, |(soft, _)| soft);
    soft.saturating_sub(FD_HEADROOM).clamp(16, 1 << 20) as usize
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    pub fn new() -> Self {
        HttpClient {
            h1: Client::builder(TokioExecutor::new()).build(connector()),
            h2: Mutex::new(Vec::new()),
            h1_slots: Semaphore::new(h1_budget()),
        }
    }

    /// GET `url` within `timeout` with `headers`; any status is returned, transport
    /// failures described. `local`: the peer is the embedded server (HTTP/2). A body over
    /// `max_body` bytes fails the request, naming the cap.
    pub async fn get(
        &self,
        url: &str,
        timeout: Duration,
        headers: &[(String, String)],
        local: bool,
        max_body: u64,
    ) -> Result<Fetched, String> {
        let max = usize::try_from(max_body).unwrap_or(usize::MAX);
        let uri: hyper::Uri = url.parse().map_err(|e| format!("GET {url}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "GET {url}: the async model's client speaks plain http:// only (no TLS); \
                 use --model threads for https"
            ));
        }
        let mut req = hyper::Request::get(uri).header(
            hyper::header::USER_AGENT,
            concat!("conlab/", env!("CARGO_PKG_VERSION")),
        );
        for (k, v) in headers {
            // HTTP/2 carries the host as :authority, not as a header.
            if local && k.eq_ignore_ascii_case("host") {
                continue;
            }
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Empty::new())
            .map_err(|e| format!("GET {url}: {e}"))?;
        let fetch = async {
            let _slot = if local {
                None
            } else {
                Some(self.h1_slots.acquire().await.map_err(|e| e.to_string())?)
            };
            // Boxed: a future's state is as large as its largest await point, for as
            // long as it lives. Connecting and the pooled client's request are kilobytes
            // each; inline they would be carried by every one of 10,000 requests waiting
            // on its response, boxed they cost only while they run.
            if local {
                return self.get_h2(url, req, max).await;
            }
            let resp = Box::pin(self.h1.request(req))
                .await
                .map_err(|e| describe(url, &e))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        over_cap(url, max_body)
                    } else {
                        format!("GET {url}: reading the body: {e}")
                    }
                })?
                .to_bytes();
            Ok(Fetched {
                status,
                body: body.to_vec(),
            })
        };
        match tokio::time::timeout(timeout, fetch).await {
            Ok(r) => r,
            Err(_) => Err(format!("GET {url}: timed out after {timeout:?}")),
        }
    }
}

impl HttpClient {
    /// One GET as a stream of the HTTP/2 connection to its host.
    async fn get_h2(
        &self,
        url: &str,
        req: hyper::Request<Empty<Bytes>>,
        max: usize,
    ) -> Result<Fetched, String> {
        let fail = |e: &dyn std::fmt::Display| format!("GET {url}: {e}");
        let (sender, slot) = Box::pin(self.h2_sender(url, &req)).await?;
        let (parts, _) = req.into_parts();
        let mut ready = match sender.ready().await {
            Ok(r) => r,
            Err(e) => {
                // The connection is gone: the next request opens a new one.
                self.h2
                    .lock()
                    .await
                    .retain(|c| !Arc::ptr_eq(&c.in_flight, &slot.0));
                return Err(fail(&e));
            }
        };
        let (response, _) = ready
            .send_request(hyper::Request::from_parts(parts, ()), true)
            .map_err(|e| fail(&e))?;
        let resp = response.await.map_err(|e| fail(&e))?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut got = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| format!("GET {url}: reading the body: {e}"))?;
            if got.len() + chunk.len() > max {
                return Err(over_cap(url, max as u64));
            }
            got.extend_from_slice(&chunk);
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        Ok(Fetched { status, body: got })
    }

    /// An HTTP/2 connection to `req`'s host:port with room for one more stream, and that
    /// stream's slot: one already open, or a new one (its driver spawned on the loop).
    async fn h2_sender(
        &self,
        url: &str,
        req: &hyper::Request<Empty<Bytes>>,
    ) -> Result<(h2::client::SendRequest<Bytes>, StreamSlot), String> {
        let Some(authority) = req.uri().authority().map(|a| a.to_string()) else {
            return Err(format!("GET {url}: no host"));
        };
        let mut open = self.h2.lock().await;
        let take = |c: &H2Conn| {
            c.in_flight.fetch_add(1, Ordering::SeqCst);
            (c.sender.clone(), StreamSlot(c.in_flight.clone()))
        };
        if let Some(c) = open.iter().find(|c| {
            c.authority == authority && c.in_flight.load(Ordering::SeqCst) < STREAMS_PER_H2
        }) {
            return Ok(take(c));
        }
        let fail = |e: &dyn std::fmt::Display| format!("GET {url}: {e}");
        let tcp = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| fail(&e))?;
        let _ = tcp.set_nodelay(true);
        // Windows wide enough that a connection's small replies never wait for a
        // WINDOW_UPDATE.
        let (sender, conn) = h2::client::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(1 << 30)
            .handshake::<_, Bytes>(tcp)
            .await
            .map_err(|e| fail(&e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let c = H2Conn {
            authority,
            sender,
            in_flight: Arc::new(AtomicUsize::new(0)),
        };
        let got = take(&c);
        open.push(c);
        Ok(got)
    }
}

/// A body over `max` bytes, said as the blocking client says it.
fn over_cap(url: &str, max: u64) -> String {
    format!(
        "GET {url}: the body is over the cap of {} a response",
        crate::core::fmt::cap_bytes(max)
    )
}

/// The error and its causes, e.g. "client error (Connect): tcp connect error: Connection
/// refused (os error 111)".
fn describe(url: &str, e: &hyper_util::client::legacy::Error) -> String {
    let mut msg = format!("GET {url}: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        msg.push_str(&format!(": {c}"));
        cause = c.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_streams_than_one_connection_carries_open_more_connections() {
        let srv = crate::server::Server::start_loopback().expect("starts");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = std::rc::Rc::new(HttpClient::new());
        let url = srv.url("/delay-ms/60000");
        let n = STREAMS_PER_H2 * 2 + 1;
        rt.block_on(async {
            let local = tokio::task::LocalSet::new();
            local
                .run_until(async {
                    for _ in 0..n {
                        let (c, u) = (client.clone(), url.clone());
                        tokio::task::spawn_local(async move {
                            let _ = c.get(&u, Duration::from_secs(90), &[], true, 1024).await;
                        });
                    }
                    // Every request has taken its stream's slot: count the connections.
                    loop {
                        let open = client.h2.lock().await;
                        let held: usize = open
                            .iter()
                            .map(|c| c.in_flight.load(Ordering::SeqCst))
                            .sum();
                        if held == n {
                            assert_eq!(open.len(), 3, "{n} streams");
                            assert!(
                                open.iter()
                                    .all(|c| c.in_flight.load(Ordering::SeqCst) <= STREAMS_PER_H2)
                            );
                            break;
                        }
                        drop(open);
                        tokio::task::yield_now().await;
                    }
                })
                .await;
        });
    }
}
