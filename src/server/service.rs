//! The hyper service: one request in, one response out. Refuses a claimed body over the cap
//! before reading a byte of it, reads a body only for the routes that reflect it (and then
//! no more than the cap), waits the route's delay on a timer (no thread per wait), and
//! builds the reply with a streaming body.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::body::Body;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::body::{Drip, Payload};
use super::echo::{RequestInfo, echo};
use super::limits::Limits;
use super::route::{self, Action, Reply};
use super::status;

/// What a request is answered with.
pub type Answer = Response<Payload>;

/// The `Content-Length` a request claims, if it is a number.
fn claimed_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A response, or a plain 500 if `build` was refused (it never is for our own replies).
fn finish(build: hyper::http::response::Builder, body: Payload) -> Answer {
    build.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Payload::text("could not build the reply\n".into()));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

fn from_reply(r: Reply) -> Answer {
    let mut b = Response::builder().status(r.status);
    for (name, value) in r.headers {
        b = b.header(name, value);
    }
    let body = match r.body {
        route::Body::Empty => Payload::Empty,
        route::Body::Text { text, content_type } => {
            b = b.header(CONTENT_TYPE, content_type);
            Payload::text(text)
        }
        route::Body::Pattern { seed, len } => {
            b = b.header(CONTENT_TYPE, "application/octet-stream");
            Payload::pattern(seed, len)
        }
    };
    finish(b, body)
}

fn json(text: String) -> Answer {
    finish(
        Response::builder()
            .status(200)
            .header(CONTENT_TYPE, "application/json"),
        Payload::text(text),
    )
}

/// `reply`, and the connection is closed rather than drained.
fn closing(reply: Reply) -> Answer {
    let mut r = from_reply(reply);
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// What the echo routes reflect of `req`, its body read if `with_body` (at most
/// `limits.max_body` bytes within `limits.body_read_timeout`, or the refusal to send).
async fn request_info<B>(
    req: Request<B>,
    peer: SocketAddr,
    limits: &Limits,
    with_body: bool,
) -> Result<RequestInfo, Answer>
where
    B: Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    let body = if with_body {
        let max = limits.max_body;
        let read = Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX)).collect();
        match tokio::time::timeout(limits.body_read_timeout, read).await {
            Ok(Ok(c)) => c.to_bytes().to_vec(),
            Ok(Err(_)) => {
                return Err(closing(Reply::text(
                    413,
                    format!("the request body is over the cap of {max} bytes (or broke off)\n"),
                )));
            }
            Err(_) => {
                return Err(closing(Reply::text(
                    408,
                    format!(
                        "the request body did not arrive within {:?}\n",
                        limits.body_read_timeout
                    ),
                )));
            }
        }
    } else {
        Vec::new()
    };
    Ok(RequestInfo {
        method: parts.method.as_str().to_string(),
        target: parts.uri.path_and_query().map_or_else(
            || parts.uri.path().to_string(),
            |pq| pq.as_str().to_string(),
        ),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        peer: peer.ip().to_string(),
        body,
    })
}

/// Answer one request from `peer`; no request body larger than `limits.max_body`, or slower
/// than `limits.body_read_timeout`, is read.
pub async fn handle<B>(
    req: Request<B>,
    peer: SocketAddr,
    limits: Arc<Limits>,
) -> Result<Answer, Infallible>
where
    B: Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    // Counted until the reply is made (its delay included): past the server-wide cap a
    // request is answered at once and holds nothing.
    let Some(_slot) = limits.in_flight.enter(limits.max_in_flight) else {
        return Ok(from_reply(Reply::text(
            503,
            format!(
                "the server is answering {} requests at once, its cap; try again\n",
                limits.max_in_flight
            ),
        )));
    };
    let max_body = limits.max_body;
    if let Some(n) = claimed_length(req.headers())
        && n > max_body
    {
        return Ok(closing(Reply::text(
            413,
            format!("a request body of {n} bytes is over the cap of {max_body} bytes\n"),
        )));
    }
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let route = route::route(req.method().as_str(), &path, &query);
    let info = match route.action {
        Action::Echo(_) => {
            // Boxed: its body-reading state would otherwise be carried by every request
            // waiting out its delay (10,000 of them at once under the async model).
            match Box::pin(request_info(req, peer, &limits, route.action.needs_body())).await {
                Ok(info) => info,
                Err(refused) => return Ok(refused),
            }
        }
        _ => {
            // Not kept across the delay: 10,000 requests waiting at once (the async
            // model's fan-out) would hold 10,000 request heads.
            drop(req);
            RequestInfo::default()
        }
    };
    // Any other body is left unread: hyper drains a small one or closes the connection.
    if !route.delay.is_zero() {
        tokio::time::sleep(route.delay).await;
    }
    Ok(match route.action {
        Action::Reply(r) => from_reply(r),
        Action::Echo(fields) => json(echo(fields, &info)),
        Action::Uuid => json(format!(
            "{{\n  \"uuid\": \"{}\"\n}}\n",
            uuid::Uuid::new_v4().hyphenated()
        )),
        Action::Status(choices) => {
            from_reply(status::reply(status::choose(&choices, fastrand::f64())))
        }
        Action::Drip {
            numbytes,
            duration,
            code,
        } => finish(
            Response::builder()
                .status(code)
                .header(CONTENT_TYPE, "application/octet-stream"),
            Payload::Drip(Drip::new(numbytes, duration)),
        ),
    })
}
