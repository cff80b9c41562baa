//! Requests over the wire, property-tested: thousands of generated requests — well-formed
//! ones checked against the pure router as an oracle, hostile and random ones checked to
//! get a well-formed answer or a closed connection — served by the real hyper connection
//! over an in-memory pipe, on a paused clock (delays and timeouts pass at once), so they
//! run in the normal test run. Plus the body caps, exactly.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::conn::serve_io;
use super::limits::{Limits, MAX_DELAY_MS};
use super::route::{Action, Route, route};

fn peer() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000)
}

/// Serve `request` on a fresh connection and return the response head ("" if the server
/// closed without one).
fn exchange(request: Vec<u8>, limits: Limits) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let srv = tokio::spawn(async move {
            serve_io(
                hyper_util::rt::TokioIo::new(server),
                peer(),
                std::sync::Arc::new(limits.sane()),
            )
            .await
        });
        // The pipe holds the whole request: this never waits on the server.
        let _ = client.write_all(&request).await;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        drop(client);
        let _ = srv.await;
        String::from_utf8_lossy(&head).into_owned()
    })
}

/// The status of a response head, if it has a well-formed status line.
fn status_of(head: &str) -> Option<u16> {
    let rest = head.strip_prefix("HTTP/1.1 ")?;
    rest.get(..3)?.parse().ok()
}

/// The statuses the router says a request may get.
fn expected(r: &Route) -> Vec<u16> {
    match &r.action {
        Action::Reply(rep) => vec![rep.status],
        Action::Drip { code, .. } => vec![*code],
        Action::Status(choices) => choices
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .map(|(c, _)| *c)
            .collect(),
        Action::Echo(_) | Action::Uuid => vec![200],
    }
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..3000).prop_map(|n| n.to_string()),
        (0.0f64..70.0).prop_map(|x| format!("{x:.3}")),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just(MAX_DELAY_MS.to_string()),
        Just((MAX_DELAY_MS + 1).to_string()),
        Just("67108865".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("inf".to_string()),
        Just("NaN".to_string()),
        Just("1e3".to_string()),
        Just(String::new()),
        "[a-z]{1,5}",
        (200u16..600, 0u8..5, 200u16..600).prop_map(|(a, w, b)| format!("{a}:{w},{b}")),
    ]
}

fn target() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "/delay/",
        "/delay-ms/",
        "/bytes/",
        "/status/",
        "/redirect/",
        "/relative-redirect/",
        "/drip",
        "/get",
        "/uuid",
        "/headers",
        "/ip",
        "/user-agent",
        "/",
        "/nope/",
    ]);
    let key = prop::sample::select(vec![
        "numbytes", "NumBytes", "duration", "delay", "code", "seed", "bytes", "show_env", "a",
    ]);
    let query = prop::collection::vec((key, number()), 0..4);
    (prefix, number(), prop::option::of("/[a-z0-9]{0,3}"), query).prop_map(|(p, n, extra, q)| {
        let mut t = p.to_string();
        if p.ends_with('/') && p.len() > 1 {
            t.push_str(&n);
        }
        if let Some(e) = extra {
            t.push_str(&e);
        }
        if !q.is_empty() {
            t.push('?');
            let pairs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
            t.push_str(&pairs.join("&"));
        }
        t
    })
}

/// A request as a client might send it (or a careless or hostile one).
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    target: String,
    extra_headers: usize,
    claimed_length: Option<u64>,
    body: Vec<u8>,
}

fn request() -> impl Strategy<Value = Req> {
    let method = prop::sample::select(vec![
        "GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "BREW",
    ]);
    let claim = prop_oneof![
        3 => Just(None),
        1 => (0u64..u64::MAX).prop_map(Some),
        1 => Just(Some(100_000_000_000)),
    ];
    (
        method,
        target(),
        prop_oneof![4 => 0usize..20, 1 => 90usize..120],
        claim,
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(method, target, extra_headers, claimed_length, body)| Req {
                method,
                target,
                extra_headers,
                claimed_length,
                body,
            },
        )
}

impl Req {
    fn bytes(&self) -> Vec<u8> {
        let mut s = format!(
            "{} {} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n",
            self.method, self.target
        );
        for i in 0..self.extra_headers {
            s.push_str(&format!("X-H{i}: v\r\n"));
        }
        match self.claimed_length {
            Some(n) => s.push_str(&format!("Content-Length: {n}\r\n\r\n")),
            None => s.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len())),
        }
        let mut b = s.into_bytes();
        if self.claimed_length.is_none() {
            b.extend_from_slice(&self.body);
        }
        b
    }

    /// Headers hyper counts: Host, Connection, Content-Length and the extras.
    fn header_count(&self) -> usize {
        3 + self.extra_headers
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// The pure router never panics and keeps every cap, whatever the request.
    #[test]
    fn router_keeps_its_caps(method in "[A-Z]{0,8}", path in "/[ -~]{0,40}", query in "[ -~]{0,40}") {
        let r = route(&method, &path, &query);
        prop_assert!(r.delay.as_millis() <= u128::from(MAX_DELAY_MS));
        for s in expected(&r) {
            prop_assert!((200..=599).contains(&s), "{s}");
        }
        if let Action::Drip { numbytes, duration, .. } = r.action {
            prop_assert!((1..=super::MAX_DRIP_BYTES).contains(&numbytes));
            prop_assert!(duration.as_millis() <= u128::from(MAX_DELAY_MS));
        }
        if let Action::Reply(super::route::Reply { body: super::route::Body::Pattern { len, .. }, .. }) = r.action {
            prop_assert!(len <= super::MAX_BYTES);
        }
    }

    /// Well-formed requests get exactly what the router decides; a claimed body over the
    /// cap gets 413 and too many headers 431, before any route runs.
    #[test]
    fn served_status_matches_the_router(req in request()) {
        let limits = Limits::default();
        let head = exchange(req.bytes(), limits.clone());
        let got = status_of(&head);
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let want = if req.header_count() > limits.max_headers {
            vec![431]
        } else if req.claimed_length.is_some_and(|n| n > limits.max_body) {
            vec![413]
        } else {
            expected(&route(req.method, path, query))
        };
        prop_assert!(got.is_some_and(|s| want.contains(&s)), "{req:?}: want {want:?}, got {head:?}");
    }

    /// Random bytes, alone or after a request line: a well-formed answer or a closed
    /// connection, never a hang (the paused clock runs the header timeout out) or a panic.
    #[test]
    fn garbage_gets_an_answer_or_a_close(
        prefix in prop::sample::select(vec!["", "GET / HTTP/1.1\r\n", "GET /get HTTP/1.1\r\nHost: x\r\n"]),
        junk in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut req = prefix.as_bytes().to_vec();
        req.extend_from_slice(&junk);
        let head = exchange(req, Limits::default());
        prop_assert!(head.is_empty() || status_of(&head).is_some_and(|s| (200..=599).contains(&s)), "{head:?}");
    }
}

#[test]
fn a_claimed_body_that_never_comes_gets_408() {
    let head = exchange(
        b"POST /delay/0 HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc".to_vec(),
        Limits::default(),
    );
    assert_eq!(status_of(&head), Some(408), "{head}");
}

#[test]
fn a_chunked_body_over_the_cap_gets_413() {
    let limits = Limits {
        max_body: 1000,
        ..Limits::default()
    };
    let mut req =
        b"POST /delay/0 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(format!("{:x}\r\n{}\r\n", 600, "x".repeat(600)).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(status_of(&exchange(req, limits.clone())), Some(413));
    // Under the cap, the body is echoed.
    let req = b"POST /delay/0 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello".to_vec();
    assert_eq!(status_of(&exchange(req, limits)), Some(200));
}
