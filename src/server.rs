//! The embedded httpbin-like HTTP/1.1 server (tiny_http) the I/O workloads talk to, so the
//! I/O lessons work with no internet: `/delay/{ms}`, `/bytes/{n}`, `/status/{code}`,
//! `/drip?bytes=N&duration_ms=D`.
//!
//! Delayed replies do not park a thread each: a timer thread keeps them in a heap and hands
//! each to a small responder pool when it falls due, so thousands can wait at once (tiny_http
//! itself keeps one thread per open connection). Bad or oversized requests get a 4xx.
//! Dropping the [`Server`] stops it and joins its threads.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// Longest `/delay` and `/drip` duration, in ms.
pub const MAX_DELAY_MS: u64 = 60_000;
/// Largest `/bytes` body (and `/delay?bytes=`).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Largest `/drip` body.
pub const MAX_DRIP_BYTES: u64 = 10 * 1024 * 1024;
/// Longest request target accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Most `/drip` responses streaming at once (each has its own thread); more get a 503.
pub const MAX_DRIPS: usize = 256;

/// Threads taking requests off tiny_http's queue.
const HANDLERS: usize = 4;
/// Threads writing delayed replies once due.
const RESPONDERS: usize = 4;
/// How often idle threads check the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// What a request's body is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Text(String),
    /// `n` bytes of the deterministic pattern ([`pattern_fill`]).
    Pattern(u64),
}

/// A reply: status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Body,
}

impl Reply {
    fn text(status: u16, s: impl Into<String>) -> Self {
        Reply {
            status,
            body: Body::Text(s.into()),
        }
    }
}

/// What to do with a request, decided from its method and target alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Now(Reply),
    After(Duration, Reply),
    Drip { bytes: u64, duration: Duration },
}

/// Byte `i` of the deterministic body pattern comes from word `i / 8` of a splitmix64
/// stream: cheap, reproducible, and not compressible.
fn pattern_word(k: u64) -> u64 {
    let mut z = k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fill `buf` with the pattern starting at byte `offset`.
pub fn pattern_fill(offset: u64, buf: &mut [u8]) {
    for (j, b) in buf.iter_mut().enumerate() {
        let i = offset + j as u64;
        *b = pattern_word(i / 8).to_le_bytes()[(i % 8) as usize];
    }
}

/// The first `n` bytes of the pattern (for tests and small bodies).
pub fn pattern(n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    pattern_fill(0, &mut v);
    v
}

/// Streams `len` bytes of the pattern without holding them in memory.
struct PatternReader {
    pos: u64,
    len: u64,
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        pattern_fill(self.pos, &mut buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// Streams the pattern in pieces spread evenly over a duration; ends early on stop.
struct DripReader {
    pos: u64,
    len: u64,
    start: Instant,
    duration: Duration,
    pieces: u64,
    stop: Arc<AtomicBool>,
}

impl Read for DripReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let piece_len = self.len.div_ceil(self.pieces);
        let piece = self.pos / piece_len;
        // Piece k is due at (k + 1) / pieces of the duration, so the last byte ends it.
        let due = self.start
            + self
                .duration
                .mul_f64((piece + 1) as f64 / self.pieces as f64);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("server stopping"));
            }
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(POLL));
        }
        let end_of_piece = ((piece + 1) * piece_len).min(self.len);
        let n = (end_of_piece - self.pos).min(buf.len() as u64) as usize;
        pattern_fill(self.pos, &mut buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

fn parse_num(what: &str, s: &str, max: u64) -> Result<u64, Reply> {
    let n: u64 = s
        .parse()
        .map_err(|_| Reply::text(400, format!("{what} must be a whole number, got `{s}`\n")))?;
    if n > max {
        return Err(Reply::text(
            400,
            format!("{what} {n} is over the cap of {max}\n"),
        ));
    }
    Ok(n)
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

const INDEX: &str = "conlab's loopback test server\n\
GET /delay/{ms}[?bytes=N]      reply after ms milliseconds\n\
GET /bytes/{n}                 n deterministic bytes\n\
GET /status/{code}             reply with that status (200..=599)\n\
GET /drip?bytes=N&duration_ms=D  N bytes spread over D ms\n";

/// Decide what a request gets. Pure, so every 4xx is unit-tested without a socket.
pub fn route(method: &str, target: &str) -> Route {
    match route_inner(method, target) {
        Ok(r) => r,
        Err(reply) => Route::Now(reply),
    }
}

fn route_inner(method: &str, target: &str) -> Result<Route, Reply> {
    if target.len() > MAX_URL_LEN {
        return Err(Reply::text(
            414,
            format!("request target longer than {MAX_URL_LEN} bytes\n"),
        ));
    }
    if method != "GET" && method != "HEAD" {
        return Err(Reply::text(405, "only GET and HEAD are served\n"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [""] => Ok(Route::Now(Reply::text(200, INDEX))),
        ["delay", ms] => {
            let ms = parse_num("delay ms", ms, MAX_DELAY_MS)?;
            let body = match query_param(query, "bytes") {
                Some(b) => Body::Pattern(parse_num("bytes", b, MAX_BYTES)?),
                None => Body::Text(format!("{{\"delay_ms\":{ms}}}\n")),
            };
            Ok(Route::After(
                Duration::from_millis(ms),
                Reply { status: 200, body },
            ))
        }
        ["bytes", n] => Ok(Route::Now(Reply {
            status: 200,
            body: Body::Pattern(parse_num("bytes", n, MAX_BYTES)?),
        })),
        ["status", code] => {
            let code = parse_num("status", code, 599)?;
            if code < 200 {
                return Err(Reply::text(400, "status must be in 200..=599\n"));
            }
            Ok(Route::Now(Reply::text(code as u16, format!("{code}\n"))))
        }
        ["drip"] => {
            let bytes = parse_num(
                "bytes",
                query_param(query, "bytes").unwrap_or("10"),
                MAX_DRIP_BYTES,
            )?;
            let ms = parse_num(
                "duration_ms",
                query_param(query, "duration_ms").unwrap_or("2000"),
                MAX_DELAY_MS,
            )?;
            Ok(Route::Drip {
                bytes,
                duration: Duration::from_millis(ms),
            })
        }
        _ => Err(Reply::text(404, format!("no such endpoint: {path}\n"))),
    }
}

fn respond(rq: tiny_http::Request, reply: Reply) {
    let status = tiny_http::StatusCode(reply.status);
    // A client that went away is not the server's problem.
    let _ = match reply.body {
        Body::Text(s) => rq.respond(tiny_http::Response::from_string(s).with_status_code(status)),
        Body::Pattern(n) => rq.respond(tiny_http::Response::new(
            status,
            Vec::new(),
            PatternReader { pos: 0, len: n },
            usize::try_from(n).ok(),
            None,
        )),
    };
}

/// A delayed reply waiting in the timer's heap; ordered by due time, then arrival.
struct Due {
    at: Instant,
    seq: u64,
    rq: tiny_http::Request,
    reply: Reply,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Holds delayed replies until due, then passes them to the responders.
fn timer_loop(rx: Receiver<Due>, ready: Sender<Due>, stop: Arc<AtomicBool>) {
    let mut heap: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
            if let Some(Reverse(d)) = heap.pop()
                && ready.send(d).is_err()
            {
                return;
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let wait = heap
            .peek()
            .map_or(POLL, |Reverse(d)| d.at.saturating_duration_since(now))
            .min(POLL);
        match rx.recv_timeout(wait) {
            Ok(d) => heap.push(Reverse(d)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

struct Shared {
    http: tiny_http::Server,
    stop: Arc<AtomicBool>,
    delayed: Sender<Due>,
    seq: AtomicUsize,
    drips: Mutex<Vec<JoinHandle<()>>>,
    active_drips: Arc<AtomicUsize>,
}

impl Shared {
    fn handle(&self, rq: tiny_http::Request) {
        let method = rq.method().as_str().to_string();
        match route(&method, rq.url()) {
            Route::Now(reply) => respond(rq, reply),
            Route::After(d, reply) => {
                let due = Due {
                    at: Instant::now() + d,
                    seq: self.seq.fetch_add(1, Ordering::Relaxed) as u64,
                    rq,
                    reply,
                };
                // Only fails while stopping; the request is then dropped (tiny_http sends 500).
                let _ = self.delayed.send(due);
            }
            Route::Drip { bytes, duration } => self.drip(rq, bytes, duration),
        }
    }

    fn drip(&self, rq: tiny_http::Request, bytes: u64, duration: Duration) {
        if self.active_drips.fetch_add(1, Ordering::AcqRel) >= MAX_DRIPS {
            self.active_drips.fetch_sub(1, Ordering::AcqRel);
            respond(
                rq,
                Reply::text(503, format!("more than {MAX_DRIPS} drips at once\n")),
            );
            return;
        }
        let reader = DripReader {
            pos: 0,
            len: bytes,
            start: Instant::now(),
            duration,
            pieces: bytes.clamp(1, 100),
            stop: self.stop.clone(),
        };
        let active = self.active_drips.clone();
        let spawned = std::thread::Builder::new()
            .name("conlab-http-drip".into())
            .spawn(move || {
                let _ = rq.respond(tiny_http::Response::new(
                    tiny_http::StatusCode(200),
                    Vec::new(),
                    reader,
                    usize::try_from(bytes).ok(),
                    None,
                ));
                active.fetch_sub(1, Ordering::AcqRel);
            });
        match spawned {
            Ok(h) => {
                let mut drips = self.drips.lock().unwrap_or_else(|e| e.into_inner());
                drips.retain(|h| !h.is_finished());
                drips.push(h);
            }
            // The request moved into the failed closure and was dropped: tiny_http sent 500.
            Err(_) => {
                self.active_drips.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

/// Connections the kernel queues before tiny_http accepts them. std's 128 is too few for
/// a thousand clients connecting at once: the overflow waits for a SYN retry (1 s, 3 s...).
const BACKLOG: i32 = 4096;

/// A listening socket on `addr` with [`BACKLOG`] and TCP_NODELAY, which accepted sockets
/// inherit on Linux: tiny_http writes a response through a 1 KiB buffer, so bigger
/// replies leave in several segments and, with Nagle on, the second waits for the
/// client's delayed ACK (~40 ms per request on a kept-alive connection).
#[cfg(target_os = "linux")]
fn listen(addr: SocketAddr) -> nix::Result<std::net::TcpListener> {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage, bind, setsockopt, socket,
        sockopt,
    };
    use std::os::fd::AsRawFd;
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    setsockopt(&fd, sockopt::TcpNoDelay, &true)?;
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    nix::sys::socket::listen(&fd, Backlog::new(BACKLOG)?)?;
    Ok(std::net::TcpListener::from(fd))
}

#[cfg(not(target_os = "linux"))]
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr)
}

/// A running embedded server; dropping it stops the server and joins its threads.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Start on 127.0.0.1, on a free port.
    pub fn start_loopback() -> anyhow::Result<Server> {
        Server::start(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
    }

    /// Start on `addr` (port 0: a free one).
    pub fn start(addr: SocketAddr) -> anyhow::Result<Server> {
        let listener = listen(addr)
            .map_err(|e| anyhow::anyhow!("could not start the HTTP server on {addr}: {e}"))?;
        let http = tiny_http::Server::from_listener(listener, None)
            .map_err(|e| anyhow::anyhow!("could not start the HTTP server on {addr}: {e}"))?;
        let addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| anyhow::anyhow!("the HTTP server has no IP address"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (delayed_tx, delayed_rx) = crossbeam_channel::unbounded::<Due>();
        let (ready_tx, ready_rx) = crossbeam_channel::unbounded::<Due>();
        let shared = Arc::new(Shared {
            http,
            stop: stop.clone(),
            delayed: delayed_tx,
            seq: AtomicUsize::new(0),
            drips: Mutex::new(Vec::new()),
            active_drips: Arc::new(AtomicUsize::new(0)),
        });
        let mut server = Server {
            addr,
            shared: shared.clone(),
            threads: Vec::new(),
        };
        // From here on, an early return drops `server`, which stops what was started.
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(f)
                .map_err(|e| anyhow::anyhow!("could not start an HTTP server thread: {e}"))
        };
        let st = stop.clone();
        server.threads.push(spawn(
            "conlab-http-timer".into(),
            Box::new(move || timer_loop(delayed_rx, ready_tx, st)),
        )?);
        for i in 0..RESPONDERS {
            let rx = ready_rx.clone();
            server.threads.push(spawn(
                format!("conlab-http-respond-{i}"),
                Box::new(move || {
                    for d in rx.iter() {
                        respond(d.rq, d.reply);
                    }
                }),
            )?);
        }
        for i in 0..HANDLERS {
            let sh = shared.clone();
            server.threads.push(spawn(
                format!("conlab-http-{i}"),
                Box::new(move || {
                    while !sh.stop.load(Ordering::Relaxed) {
                        match sh.http.recv_timeout(POLL) {
                            Ok(Some(rq)) => sh.handle(rq),
                            Ok(None) => {}
                            // An accept error: tiny_http's accept loop has ended.
                            Err(_) => break,
                        }
                    }
                }),
            )?);
        }
        Ok(server)
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
        self.shared.stop.store(true, Ordering::Relaxed);
        // Handlers and the timer notice the flag within POLL; the timer's exit closes the
        // responders' channel once they have written what was already due.
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
        let drips =
            std::mem::take(&mut *self.shared.drips.lock().unwrap_or_else(|e| e.into_inner()));
        for h in drips {
            let _ = h.join();
        }
        // Dropping the last `Shared` drops tiny_http's server, which ends its accept thread.
    }
}

/// `conlab serve`: run the server alone until Ctrl-C.
pub fn serve_command(args: &crate::cli::ServeArgs) -> Result<ExitCode, crate::headless::CliError> {
    use crate::headless::CliError;
    let addr = SocketAddr::new(args.bind, args.port);
    if !args.bind.is_loopback() {
        eprintln!(
            "conlab: warning: serving on {} — reachable from other machines, not just this one",
            args.bind
        );
    }
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    ctrlc::set_handler(move || {
        let _ = tx.try_send(());
    })
    .map_err(|e| CliError::Other(anyhow::anyhow!("could not catch Ctrl-C: {e}")))?;
    let server = Server::start(addr).map_err(|e| CliError::Usage(format!("{e:#}")))?;
    // Whoever reads our stdout may stop after the address line: a closed pipe must not
    // panic (println! would), the server keeps serving.
    let _ = writeln!(
        std::io::stdout().lock(),
        "conlab serve: listening on http://{addr}\n  try: curl http://{addr}/delay/1000\n  Ctrl-C stops it.",
        addr = server.addr()
    );
    let _ = rx.recv();
    let _ = writeln!(std::io::stderr(), "conlab serve: stopping");
    drop(server);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    fn status_of(r: &Route) -> u16 {
        match r {
            Route::Now(rep) | Route::After(_, rep) => rep.status,
            Route::Drip { .. } => 200,
        }
    }

    #[test]
    fn routes_endpoints() {
        assert_eq!(
            route("GET", "/delay/250"),
            Route::After(
                Duration::from_millis(250),
                Reply::text(200, "{\"delay_ms\":250}\n")
            )
        );
        assert_eq!(
            route("GET", "/delay/5?bytes=3"),
            Route::After(
                Duration::from_millis(5),
                Reply {
                    status: 200,
                    body: Body::Pattern(3)
                }
            )
        );
        assert_eq!(
            route("GET", "/bytes/10"),
            Route::Now(Reply {
                status: 200,
                body: Body::Pattern(10)
            })
        );
        assert_eq!(status_of(&route("GET", "/status/503")), 503);
        assert_eq!(
            route("GET", "/drip?bytes=5&duration_ms=100"),
            Route::Drip {
                bytes: 5,
                duration: Duration::from_millis(100)
            }
        );
        assert_eq!(status_of(&route("HEAD", "/")), 200);
    }

    #[test]
    fn bad_and_oversized_requests_get_4xx() {
        for (m, t, code) in [
            ("GET", "/delay/abc", 400),
            ("GET", "/delay/-1", 400),
            ("GET", "/delay/60001", 400),
            ("GET", "/delay/99999999999999999999999", 400),
            ("GET", "/bytes/67108865", 400),
            ("GET", "/bytes/", 400),
            ("GET", "/status/99", 400),
            ("GET", "/status/600", 400),
            ("GET", "/drip?bytes=99999999", 400),
            ("GET", "/drip?duration_ms=x", 400),
            ("GET", "/nope", 404),
            ("GET", "/delay/1/2", 404),
            ("POST", "/bytes/1", 405),
            ("GET", &format!("/bytes/{}", "1".repeat(3000)), 414),
        ] {
            assert_eq!(status_of(&route(m, t)), code, "{m} {t}");
        }
        match route("GET", "/bytes/67108865") {
            Route::Now(Reply {
                body: Body::Text(s),
                ..
            }) => assert!(s.contains("cap"), "{s}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pattern_is_deterministic_and_offsettable() {
        let all = pattern(100);
        let mut tail = vec![0; 37];
        pattern_fill(63, &mut tail);
        assert_eq!(&all[63..], &tail[..]);
        assert_ne!(all[..8], all[8..16]);
    }

    /// A raw exchange on one connection (Connection: close), returning the status line and
    /// body.
    fn raw(server: &Server, request: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(server.addr()).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(request.as_bytes()).expect("writes");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(out.len(), |p| p + 4);
        let head = String::from_utf8_lossy(&out[..split]).to_string();
        let status = head.lines().next().unwrap_or("").to_string();
        (status, out[split..].to_vec())
    }

    fn get(server: &Server, path: &str) -> (String, Vec<u8>) {
        raw(
            server,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    }

    #[test]
    fn serves_over_loopback() {
        let server = Server::start_loopback().expect("starts");
        assert!(server.addr().ip().is_loopback());
        let (st, body) = get(&server, "/bytes/1000");
        assert!(st.contains("200"), "{st}");
        assert_eq!(body, pattern(1000));
        let (st, _) = get(&server, "/status/500");
        assert!(st.contains("500"), "{st}");
        let (st, _) = get(&server, "/bytes/999999999999");
        assert!(st.contains("400"), "{st}");
        let t0 = Instant::now();
        let (st, body) = get(&server, "/delay/100");
        assert!(st.contains("200"), "{st}");
        assert!(t0.elapsed() >= Duration::from_millis(100));
        assert_eq!(body, b"{\"delay_ms\":100}\n");
        let (st, body) = get(&server, "/drip?bytes=50&duration_ms=100");
        assert!(st.contains("200"), "{st}");
        assert_eq!(body, pattern(50));
    }

    #[test]
    fn malformed_http_does_not_crash_it() {
        let server = Server::start_loopback().expect("starts");
        let (st, _) = raw(&server, "NONSENSE\r\n\r\n");
        assert!(st.is_empty() || st.contains(" 4"), "{st}");
        let (st, _) = raw(
            &server,
            &format!("GET /{} HTTP/1.1\r\n\r\n", "x".repeat(5000)),
        );
        assert!(st.is_empty() || st.contains(" 4"), "{st}");
        // Still serving.
        let (st, _) = get(&server, "/bytes/1");
        assert!(st.contains("200"), "{st}");
    }

    #[test]
    fn drop_stops_it_with_requests_pending() {
        let server = Server::start_loopback().expect("starts");
        let addr = server.addr();
        let mut s = TcpStream::connect(addr).expect("connects");
        s.write_all(b"GET /delay/60000 HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("writes");
        let mut d = TcpStream::connect(addr).expect("connects");
        d.write_all(b"GET /drip?bytes=10&duration_ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("writes");
        std::thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        drop(server);
        assert!(t0.elapsed() < Duration::from_secs(10), "drop hung");
    }
}
