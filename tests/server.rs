//! The embedded server from the outside: every route against real clients (ureq, and curl
//! where present) with httpbin's semantics, and hostile clients — a huge Content-Length, a
//! 100 MB header line, thousands of headers, half-sent requests, readers that never read —
//! each checked to leave the server answering everyone else with its memory bounded.
//! Loopback only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conlab::server::{Limits, Server, pattern};
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_conlab");
/// A generous bound for "answered promptly" while hostile clients hang on: on a loaded
/// 2-core machine a loopback reply takes milliseconds.
const PROMPTLY: Duration = Duration::from_secs(5);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// GET `url`: status, content type and body.
fn get(url: &str) -> (u16, String, Vec<u8>) {
    let mut resp = agent().get(url).call().expect("GET");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.body_mut().read_to_vec().expect("body");
    (resp.status().as_u16(), ct, body)
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("a JSON body")
}

#[test]
fn delay_waits_seconds_with_fractions_and_echoes_like_httpbin() {
    let srv = Server::start_loopback().expect("server");
    let t0 = Instant::now();
    let (st, ct, body) = get(&srv.url("/delay/0.25?x=1"));
    assert!(t0.elapsed() >= Duration::from_millis(250), "never early");
    assert_eq!(st, 200);
    assert_eq!(ct, "application/json");
    let v = json(&body);
    for key in ["args", "data", "files", "form", "headers", "origin", "url"] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    assert_eq!(v["args"]["x"], "1");
    assert_eq!(v["url"], srv.url("/delay/0.25?x=1"));
    let (st, _, _) = get(&srv.url("/delay/61"));
    assert_eq!(st, 400, "over the 60 s cap");
}

#[test]
fn delay_ms_is_conlabs_millisecond_route() {
    let srv = Server::start_loopback().expect("server");
    let t0 = Instant::now();
    let (st, _, body) = get(&srv.url("/delay-ms/100?bytes=10"));
    assert!(t0.elapsed() >= Duration::from_millis(100), "never early");
    assert_eq!((st, body), (200, pattern(10)));
}

#[test]
fn bytes_status_and_head() {
    let srv = Server::start_loopback().expect("server");
    let (st, ct, body) = get(&srv.url("/bytes/100000"));
    assert_eq!((st, ct.as_str()), (200, "application/octet-stream"));
    assert_eq!(body, pattern(100_000));
    let (_, _, a) = get(&srv.url("/bytes/64?seed=7"));
    let (_, _, b) = get(&srv.url("/bytes/64?seed=7"));
    assert_eq!(a, b, "a seed gives the same bytes again");
    assert_ne!(a, pattern(64));
    for code in [200, 204, 404, 418, 500, 503] {
        assert_eq!(get(&srv.url(&format!("/status/{code}"))).0, code);
    }
    let st = get(&srv.url("/status/500,503")).0;
    assert!(st == 500 || st == 503, "{st}");
    // A 302 leads, as on httpbin, through /redirect/1 to /get.
    let (st, _, body) = get(&srv.url("/status/302"));
    assert_eq!(st, 200);
    assert_eq!(json(&body)["url"], srv.url("/get"));
    let head = agent().head(srv.url("/bytes/100")).call().expect("HEAD");
    assert_eq!(head.headers()["content-length"], "100");
    assert_eq!(get(&srv.url("/nope")).0, 404);
    let post = agent().post(srv.url("/get")).send("x").expect("POST");
    assert_eq!(post.status().as_u16(), 405);
}

#[test]
fn drip_sends_numbytes_over_duration_after_delay() {
    let srv = Server::start_loopback().expect("server");
    let t0 = Instant::now();
    let (st, ct, body) = get(&srv.url("/drip?duration=0.2&numbytes=5&delay=0.1&code=201"));
    assert!(t0.elapsed() >= Duration::from_millis(300), "never early");
    assert_eq!((st, ct.as_str()), (201, "application/octet-stream"));
    assert_eq!(body, b"*****");
    let (st, _, body) = get(&srv.url("/drip?duration=0"));
    assert_eq!((st, body.len()), (200, 10), "httpbin's default numbytes");
    assert_eq!(get(&srv.url("/drip?numbytes=0")).0, 400);
}

#[test]
fn get_headers_ip_user_agent_and_uuid() {
    let srv = Server::start_loopback().expect("server");
    let mut resp = agent()
        .get(srv.url("/get?a=1&a=2&b=x+y"))
        .header("User-Agent", "conlab-test")
        .call()
        .expect("GET");
    let v = json(&resp.body_mut().read_to_vec().expect("body"));
    assert_eq!(v["args"], serde_json::json!({"a": ["1", "2"], "b": "x y"}));
    assert_eq!(v["headers"]["User-Agent"], "conlab-test");
    assert_eq!(v["headers"]["Host"], srv.addr().to_string());
    assert_eq!(v["origin"], "127.0.0.1");
    assert_eq!(v["url"], srv.url("/get?a=1&a=2&b=x+y"));
    assert_eq!(json(&get(&srv.url("/ip")).2)["origin"], "127.0.0.1");
    assert!(json(&get(&srv.url("/headers")).2)["headers"]["Host"].is_string());
    assert!(json(&get(&srv.url("/user-agent")).2)["user-agent"].is_string());
    let uuid = |_| {
        json(&get(&srv.url("/uuid")).2)["uuid"]
            .as_str()
            .expect("a string")
            .to_string()
    };
    let (a, b): (String, String) = (uuid(0), uuid(1));
    assert_ne!(a, b);
    let parts: Vec<&str> = a.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
    assert!(parts[2].starts_with('4'), "version 4: {a}");
}

/// `curl -s -o - -w '\n%{http_code}' URL`, or `None` (with the reason printed) when there is
/// no curl here.
fn curl(url: &str) -> Option<(u16, Vec<u8>)> {
    let out = match Command::new("curl")
        .args(["-s", "-m", "30", "-o", "-", "-w", "\n%{http_code}", url])
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipping the curl checks: cannot run curl ({e})");
            return None;
        }
    };
    let split = out
        .stdout
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("curl printed the status");
    let code = String::from_utf8_lossy(&out.stdout[split + 1..])
        .trim()
        .parse();
    Some((code.expect("a status"), out.stdout[..split].to_vec()))
}

#[test]
fn curl_gets_httpbins_answers() {
    let srv = Server::start_loopback().expect("server");
    let Some((st, body)) = curl(&srv.url("/get?q=1")) else {
        return;
    };
    assert_eq!(st, 200);
    let v = json(&body);
    assert_eq!(v["args"]["q"], "1");
    assert!(
        v["headers"]["User-Agent"]
            .as_str()
            .unwrap_or("")
            .starts_with("curl/")
    );
    assert_eq!(curl(&srv.url("/status/418")).map(|r| r.0), Some(418));
    assert_eq!(curl(&srv.url("/bytes/5")).map(|r| r.1), Some(pattern(5)));
    let t0 = Instant::now();
    assert_eq!(curl(&srv.url("/delay/0.2")).map(|r| r.0), Some(200));
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        curl(&srv.url("/drip?duration=0.1&numbytes=3")).map(|r| r.1),
        Some(b"***".to_vec())
    );
    assert_eq!(curl(&srv.url("/uuid")).map(|r| r.0), Some(200));
}

/// `conlab serve` in a child process, killed when dropped: its memory can be read alone.
struct ServeChild {
    child: Child,
    addr: SocketAddr,
}

impl ServeChild {
    fn start() -> Self {
        let mut child = Command::new(EXE)
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawns");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads the address line");
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        ServeChild { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Resident memory in KiB.
    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }
}

/// Resident memory of process `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process is alive");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write `request` on a new connection and return the status line (empty if the server
/// closed it without one).
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The server answers a small request within [`PROMPTLY`].
fn answers_promptly(url: &str) {
    let t0 = Instant::now();
    let (st, _, _) = get(url);
    assert_eq!(st, 200);
    assert!(t0.elapsed() < PROMPTLY, "took {:?}", t0.elapsed());
}

#[test]
fn a_huge_content_length_gets_413_without_allocating() {
    let srv = ServeChild::start();
    let before = srv.rss_kib();
    for target in ["/delay/0", "/get", "/bytes/1"] {
        let req =
            format!("POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\nabc");
        let status = raw(srv.addr, req.as_bytes());
        assert!(status.contains(" 413 "), "{target}: {status:?}");
    }
    answers_promptly(&srv.url("/bytes/1"));
    let grew = srv.rss_kib().saturating_sub(before);
    assert!(grew < 50 * 1024, "RSS grew {grew} KiB");
}

#[test]
fn a_100_mb_header_line_is_cut_off_and_memory_stays_bounded() {
    let srv = ServeChild::start();
    let before = srv.rss_kib();
    let mut s = TcpStream::connect(srv.addr).expect("connects");
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(b"GET /get HTTP/1.1\r\nHost: x\r\nX-Big: ")
        .expect("writes");
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 100 * 1024 * 1024 {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(
        sent < 100 * 1024 * 1024,
        "the server read all 100 MB of one header line"
    );
    answers_promptly(&srv.url("/bytes/1"));
    let grew = srv.rss_kib().saturating_sub(before);
    assert!(grew < 50 * 1024, "RSS grew {grew} KiB");
}

#[test]
fn thousands_of_headers_get_431() {
    let srv = Server::start_loopback().expect("server");
    let mut req = String::from("GET /get HTTP/1.1\r\nHost: x\r\n");
    for i in 0..5000 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    let status = raw(srv.addr(), req.as_bytes());
    assert!(status.is_empty() || status.contains(" 431 "), "{status:?}");
    answers_promptly(&srv.url("/bytes/1"));
}

#[test]
fn half_sent_requests_are_closed_by_the_header_timeout() {
    // Two connection slots, both taken by half-sent requests: a third client is served
    // only once the header-read timeout closes them.
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 2,
        ..Limits::default()
    };
    let srv = Server::start_with("127.0.0.1:0".parse().expect("addr"), limits).expect("server");
    let mut halves: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(srv.addr()).expect("connects");
            s.write_all(b"GET /get HTTP/1.1\r\nHost:").expect("writes");
            s
        })
        .collect();
    let (st, _, _) = get(&srv.url("/bytes/1"));
    assert_eq!(st, 200);
    for s in &mut halves {
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        // Closed by the server: end of stream (perhaps after a 408), or a reset.
        let mut got = Vec::new();
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&got);
        assert!(!text.contains(" 200 "), "{text}");
    }
}

#[test]
fn half_sent_requests_do_not_hold_up_others() {
    let srv = Server::start_loopback().expect("server");
    let _halves: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(srv.addr()).expect("connects");
            s.write_all(b"GET /delay/1 HTTP/1.1\r\nHo").expect("writes");
            s
        })
        .collect();
    for _ in 0..20 {
        answers_promptly(&srv.url("/bytes/10"));
    }
}

/// Ask for `/bytes/{n}` and never read.
fn slow_reader(addr: SocketAddr, n: u64) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.write_all(
        format!("GET /bytes/{n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("writes");
    s
}

#[test]
fn readers_that_never_read_do_not_stall_others() {
    let srv = Server::start_loopback().expect("server");
    let _stuck: Vec<TcpStream> = (0..8).map(|_| slow_reader(srv.addr(), 8_000_000)).collect();
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let url = srv.url(&format!("/delay-ms/{}", i % 3));
            std::thread::spawn(move || answers_promptly(&url))
        })
        .collect();
    for t in threads {
        t.join().expect("answered");
    }
}

const BIG: u64 = 60_000_000;

#[test]
fn the_write_timeout_frees_connections_held_by_readers_that_never_read() {
    // Four slots, all held by readers that never read: a fifth client is served only once
    // the write timeout has closed some of them.
    let limits = Limits {
        write_timeout: Duration::from_millis(300),
        max_connections: 4,
        ..Limits::default()
    };
    let srv = Server::start_with("127.0.0.1:0".parse().expect("addr"), limits).expect("server");
    // 60 MB: far more than the kernel's socket buffers hold, so the server's writes block.
    let mut stuck: Vec<TcpStream> = (0..4).map(|_| slow_reader(srv.addr(), BIG)).collect();
    let (st, _, body) = get(&srv.url("/bytes/10"));
    assert_eq!((st, body), (200, pattern(10)));
    // The reader whose connection was closed to free that slot finds its reply cut short
    // when it comes back (which one it was is the scheduler's choice).
    let mut got = Vec::new();
    for s in &mut stuck {
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut n = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        got.push(n);
    }
    assert!(
        got.iter().any(|&n| n < BIG as usize),
        "every reply whole: {got:?}"
    );
}

/// 10,000 concurrent delayed requests to a `conlab serve` child from one tokio client:
/// every one answered 200, and `/get` answered promptly in the middle of the crowd.
/// Needs about 10,000 open files in each process. Run it with
/// `cargo test --release --test server -- --ignored --nocapture`.
#[test]
#[ignore = "10,000 connections: a capacity check, run on demand"]
fn ten_thousand_concurrent_delayed_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const N: usize = 10_000;
    let (soft, hard) = conlab::sys::fds::raise_open_files_limit().expect("getrlimit");
    assert!(
        soft >= 10_500,
        "open-files limit {soft} (hard {hard}) is too low for {N} connections"
    );
    let srv = ServeChild::start();
    let addr = srv.addr;
    let pid = srv.child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let t0 = Instant::now();
    let (ok, elapsed, probe) = rt.block_on(async move {
        let mut tasks = Vec::with_capacity(N);
        for _ in 0..N {
            tasks.push(tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
                s.write_all(b"GET /delay/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .await
                    .ok()?;
                let mut out = Vec::new();
                s.read_to_end(&mut out).await.ok()?;
                Some(out.starts_with(b"HTTP/1.1 200 "))
            }));
        }
        // In the middle of the crowd, one more request is answered promptly.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let p0 = Instant::now();
        let probe = tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
            s.write_all(b"GET /get HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .ok()?;
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.ok()?;
            Some(out.starts_with(b"HTTP/1.1 200 "))
        })
        .await
        .ok()
        .flatten();
        let probe = (probe, p0.elapsed(), rss_kib(pid));
        let mut ok = 0;
        for t in tasks {
            if let Ok(Some(true)) = t.await {
                ok += 1;
            }
        }
        (ok, t0.elapsed(), probe)
    });
    println!(
        "{ok} of {N} concurrent /delay/1 answered 200 in {:.3} s; /get in the crowd: {:?} in {:.1} ms; \
         server RSS in the crowd {} MiB, after {} MiB",
        elapsed.as_secs_f64(),
        probe.0,
        probe.1.as_secs_f64() * 1e3,
        probe.2 / 1024,
        srv.rss_kib() / 1024
    );
    assert_eq!(ok, N);
    assert_eq!(probe.0, Some(true));
}
