//! The embedded server's HTTP/2 bounds (issue 28): a connection carries at most
//! `max_h2_streams` streams at once (the client is told in SETTINGS) and a header list of
//! at most `max_header_size` bytes.

use conlab::server::{Limits, MAX_H2_STREAMS, Server};
use hyper::body::Bytes;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An h2c (prior knowledge) connection to `srv`, its driver spawned.
async fn connect(srv: &Server) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(srv.addr())
        .await
        .expect("connects");
    let (sender, conn) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

/// GET `path` with `headers` on `sender`: the status, or the stream's error.
async fn get(
    sender: &h2::client::SendRequest<Bytes>,
    srv: &Server,
    path: &str,
    headers: &[(&str, String)],
) -> Result<u16, h2::Error> {
    let mut req = hyper::Request::get(srv.url(path));
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req.body(()).expect("request");
    let mut ready = sender.clone().ready().await?;
    let (resp, _) = ready.send_request(req, true)?;
    Ok(resp.await?.status().as_u16())
}

#[test]
fn a_connection_is_told_the_stream_cap() {
    let srv = Server::start_loopback().expect("starts");
    runtime().block_on(async {
        let sender = connect(&srv).await;
        // The server's SETTINGS arrive with the first exchange.
        assert_eq!(
            get(&sender, &srv, "/get", &[]).await.expect("answered"),
            200
        );
        assert_eq!(sender.current_max_send_streams(), MAX_H2_STREAMS as usize);
        const { assert!(MAX_H2_STREAMS <= 1000, "a connection's streams are few") };
    });
}

#[test]
fn the_stream_cap_is_the_servers_limit() {
    let limits = Limits {
        max_h2_streams: 2,
        ..Limits::default()
    };
    let srv = Server::start_with("127.0.0.1:0".parse().expect("addr"), limits).expect("starts");
    runtime().block_on(async {
        let sender = connect(&srv).await;
        assert_eq!(
            get(&sender, &srv, "/get", &[]).await.expect("answered"),
            200
        );
        assert_eq!(sender.current_max_send_streams(), 2);
    });
}

#[test]
fn a_header_list_over_the_cap_is_refused() {
    let srv = Server::start_loopback().expect("starts");
    let cap = Limits::default().max_header_size;
    runtime().block_on(async {
        let sender = connect(&srv).await;
        let big = "x".repeat(cap + 1);
        let got = get(&sender, &srv, "/get", &[("x-big", big)]).await;
        assert!(
            !matches!(got, Ok(200)),
            "a {} byte header list was served: {got:?}",
            cap + 1
        );
        // The connection still serves a sane request.
        let sender = connect(&srv).await;
        assert_eq!(
            get(&sender, &srv, "/get", &[]).await.expect("answered"),
            200
        );
    });
}

/// GET `path` over a fresh HTTP/1.1 connection: the status.
async fn get_h1(srv: &Server, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(srv.addr())
        .await
        .expect("connects");
    let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.expect("sent");
    let mut head = vec![0u8; 12];
    tcp.read_exact(&mut head).await.expect("a status line");
    String::from_utf8_lossy(&head[9..12])
        .parse()
        .expect("a status")
}

#[test]
fn requests_in_flight_are_capped_server_wide_across_http1_and_http2() {
    // One request at a time, server-wide: an HTTP/2 request waiting out a long delay holds
    // the only slot, so an HTTP/1 request (another connection, another protocol) gets 503
    // at once; when the waiting stream's connection goes, the slot is free again.
    let limits = Limits {
        max_in_flight: 1,
        ..Limits::default()
    };
    let srv = Server::start_with("127.0.0.1:0".parse().expect("addr"), limits).expect("starts");
    runtime().block_on(async {
        let holder = connect(&srv).await;
        let waiting = {
            let (holder, url) = (holder.clone(), srv.url("/delay-ms/60000"));
            tokio::spawn(async move {
                let req = hyper::Request::get(url).body(()).expect("request");
                let mut ready = holder.ready().await.expect("ready");
                let (resp, _) = ready.send_request(req, true).expect("sent");
                let _ = resp.await;
            })
        };
        // The delayed request reaches the server soon; until then /get may still pass.
        let mut refused = false;
        for _ in 0..500 {
            if get_h1(&srv, "/get").await == 503 {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(refused, "an HTTP/1 request was served beside the held slot");
        // The slot is freed with the stream's connection.
        waiting.abort();
        drop(holder);
        let mut served = false;
        for _ in 0..500 {
            if get_h1(&srv, "/get").await == 200 {
                served = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(served, "the slot was not given back");
    });
}
