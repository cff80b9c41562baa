//! The async model's HTTP client: hyper's (hyper-util's pooled client over tokio's
//! sockets), the same hyper and tokio the embedded server runs on — one HTTP stack, no
//! second one, nothing hand-written. Plain `http://` only (no TLS in this client): an
//! `https://` URL fails its task saying so.

use std::error::Error as _;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest body read from any URL (as the blocking client's).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// A fetched body and its status.
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One client per loop: its connection pool is shared by every task on the loop.
pub struct HttpClient {
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl HttpClient {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        connector.set_nodelay(true);
        HttpClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// GET `url` within `timeout`; any status is returned, transport failures described.
    pub async fn get(&self, url: &str, timeout: Duration, close: bool) -> Result<Fetched, String> {
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
        if close {
            req = req.header(hyper::header::CONNECTION, "close");
        }
        let req = req
            .body(Empty::new())
            .map_err(|e| format!("GET {url}: {e}"))?;
        let fetch = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| describe(url, &e))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("GET {url}: reading the body: {e}"))?
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
