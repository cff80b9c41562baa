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
