//! Routing, pure: a request's method, path and query decide what it gets — httpbin's
//! routes and units (`/delay/{seconds}`, `/bytes/{n}`, `/status/{codes}`, `/drip`, `/get`,
//! `/uuid`, ...) plus conlab's own `/delay-ms/{ms}?bytes=N`. Every bad or oversized request
//! is a 4xx here, unit-tested and property-tested without a socket.

use std::time::Duration;

use super::limits::{MAX_BYTES, MAX_DELAY_MS, MAX_DRIP_BYTES, MAX_URL_LEN};
use super::query;
use super::status;

/// What a reply's body is.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Empty,
    Text {
        text: String,
        content_type: &'static str,
    },
    /// `len` bytes of the deterministic pattern of `seed` (see [`super::pattern`]).
    Pattern {
        seed: u64,
        len: u64,
    },
}

/// A finished reply: status, extra headers and body.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Reply {
    pub fn text(status: u16, s: impl Into<String>) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Text {
                text: s.into(),
                content_type: "text/plain; charset=utf-8",
            },
        }
    }

    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A part of the request that httpbin's echo routes reflect (their JSON keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Args,
    Data,
    Files,
    Form,
    Headers,
    Json,
    Method,
    Origin,
    Url,
    UserAgent,
}

impl Field {
    /// The JSON key httpbin uses.
    pub fn key(self) -> &'static str {
        match self {
            Field::Args => "args",
            Field::Data => "data",
            Field::Files => "files",
            Field::Form => "form",
            Field::Headers => "headers",
            Field::Json => "json",
            Field::Method => "method",
            Field::Origin => "origin",
            Field::Url => "url",
            Field::UserAgent => "user-agent",
        }
    }

    /// Does reflecting it need the request body?
    pub fn needs_body(self) -> bool {
        matches!(self, Field::Data | Field::Form | Field::Json | Field::Files)
    }
}

/// What to answer once the route's delay has passed.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Reply(Reply),
    /// httpbin's echo: a JSON object of these parts of the request.
    Echo(&'static [Field]),
    /// `{"uuid": "<a fresh UUID4>"}`.
    Uuid,
    /// One of these status codes, chosen at random by weight (httpbin's `/status/200:3,500`).
    Status(Vec<(u16, f64)>),
    /// `numbytes` bytes of `*` spread evenly over `duration`, under status `code`.
    Drip {
        numbytes: u64,
        duration: Duration,
        code: u16,
    },
}

impl Action {
    /// Does this action read the request body?
    pub fn needs_body(&self) -> bool {
        matches!(self, Action::Echo(fields) if fields.iter().any(|f| f.needs_body()))
    }
}

/// What a request gets: wait `delay`, then do `action`.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub delay: Duration,
    pub action: Action,
}

impl Route {
    fn now(action: Action) -> Self {
        Route {
            delay: Duration::ZERO,
            action,
        }
    }
}

impl From<Reply> for Route {
    fn from(r: Reply) -> Self {
        Route::now(Action::Reply(r))
    }
}

/// The routes, for `GET /` and `conlab serve --help`.
pub const INDEX: &str = "conlab's loopback test server (httpbin's routes and units)\n\
GET /delay/SECONDS             reply after SECONDS (fractions allowed: /delay/0.25; at most 60)\n\
GET /delay-ms/MS[?bytes=N]     conlab's own: reply after MS milliseconds, N pattern bytes\n\
GET /bytes/N[?seed=S]          N deterministic bytes (at most 64 MiB)\n\
GET /status/CODES              reply with that status; CODES may be 200,500 or 200:3,500:1\n\
GET /drip?duration=S&numbytes=N&code=C&delay=S   N bytes spread over S seconds\n\
GET /get  /headers  /ip  /user-agent  /uuid      httpbin's JSON echoes\n\
GET /redirect/N                302 N times, then /get\n";

/// Methods httpbin accepts on `/delay` and `/status`.
const ANY_METHOD: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "TRACE"];
/// Methods of every other route.
const GET_ONLY: &[&str] = &["GET", "HEAD"];

const GET_FIELDS: &[Field] = &[Field::Args, Field::Headers, Field::Origin, Field::Url];
const DELAY_FIELDS: &[Field] = &[
    Field::Args,
    Field::Data,
    Field::Files,
    Field::Form,
    Field::Headers,
    Field::Origin,
    Field::Url,
];

/// Decide what a request gets from its method, path and query (without the `?`).
pub fn route(method: &str, path: &str, query: &str) -> Route {
    match route_inner(method, path, query) {
        Ok(r) => r,
        Err(reply) => reply.into(),
    }
}

fn route_inner(method: &str, path: &str, query: &str) -> Result<Route, Reply> {
    if path.len() + query.len() > MAX_URL_LEN {
        return Err(Reply::text(
            414,
            format!("request target longer than {MAX_URL_LEN} bytes\n"),
        ));
    }
    let params = query::pairs(query);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (allowed, route) = match parts.as_slice() {
        [""] => (GET_ONLY, Ok(Reply::text(200, INDEX).into())),
        ["get"] => (GET_ONLY, Ok(Route::now(Action::Echo(GET_FIELDS)))),
        ["headers"] => (GET_ONLY, Ok(Route::now(Action::Echo(&[Field::Headers])))),
        ["ip"] => (GET_ONLY, Ok(Route::now(Action::Echo(&[Field::Origin])))),
        ["user-agent"] => (GET_ONLY, Ok(Route::now(Action::Echo(&[Field::UserAgent])))),
        ["uuid"] => (GET_ONLY, Ok(Route::now(Action::Uuid))),
        ["delay", s] => (
            ANY_METHOD,
            seconds("delay", s).map(|delay| Route {
                delay,
                action: Action::Echo(DELAY_FIELDS),
            }),
        ),
        ["delay-ms", ms] => (GET_ONLY, delay_ms(ms, &params)),
        ["bytes", n] => (GET_ONLY, bytes(n, &params)),
        ["status", codes] => (ANY_METHOD, status::parse_codes(codes).map(status_route)),
        ["drip"] => (GET_ONLY, drip(&params)),
        ["redirect" | "relative-redirect", n] => (GET_ONLY, redirect(n)),
        _ => return Err(Reply::text(404, format!("no such endpoint: {path}\n"))),
    };
    if !allowed.contains(&method) {
        return Err(
            Reply::text(405, format!("{method} is not served on {path}\n"))
                .with_header("allow", allowed.join(", ")),
        );
    }
    route
}

fn status_route(choices: Vec<(u16, f64)>) -> Route {
    match choices.as_slice() {
        [(code, _)] => status::reply(*code).into(),
        _ => Route::now(Action::Status(choices)),
    }
}

/// A whole number no larger than `max`.
fn whole(what: &str, s: &str, max: u64) -> Result<u64, Reply> {
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

/// A number of seconds (fractions allowed), at most [`MAX_DELAY_MS`].
fn seconds(what: &str, s: &str) -> Result<Duration, Reply> {
    let secs: f64 = s
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| {
            Reply::text(
                400,
                format!("{what} must be a number of seconds (0 or more), got `{s}`\n"),
            )
        })?;
    let cap = MAX_DELAY_MS as f64 / 1e3;
    if secs > cap {
        return Err(Reply::text(
            400,
            format!("{what} {secs} s is over the cap of {cap} s\n"),
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn delay_ms(ms: &str, params: &[(String, String)]) -> Result<Route, Reply> {
    let ms = whole("delay ms", ms, MAX_DELAY_MS)?;
    let body = match query::param(params, "bytes") {
        Some(b) => Body::Pattern {
            seed: 0,
            len: whole("bytes", b, MAX_BYTES)?,
        },
        None => Body::Text {
            text: format!("{{\"delay_ms\":{ms}}}\n"),
            content_type: "application/json",
        },
    };
    Ok(Route {
        delay: Duration::from_millis(ms),
        action: Action::Reply(Reply {
            status: 200,
            headers: Vec::new(),
            body,
        }),
    })
}

fn bytes(n: &str, params: &[(String, String)]) -> Result<Route, Reply> {
    let len = whole("bytes", n, MAX_BYTES)?;
    let seed = match query::param(params, "seed") {
        // httpbin seeds Python's random with any integer; negative seeds name their own
        // stream here too.
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| Reply::text(400, format!("seed must be an integer, got `{s}`\n")))?
            as u64,
        None => 0,
    };
    Ok(Reply {
        status: 200,
        headers: Vec::new(),
        body: Body::Pattern { seed, len },
    }
    .into())
}

fn drip(params: &[(String, String)]) -> Result<Route, Reply> {
    let duration = seconds("duration", query::param(params, "duration").unwrap_or("2"))?;
    let delay = seconds("delay", query::param(params, "delay").unwrap_or("0"))?;
    let n = query::param(params, "numbytes").unwrap_or("10");
    let numbytes: i64 = n
        .parse()
        .map_err(|_| Reply::text(400, format!("numbytes must be an integer, got `{n}`\n")))?;
    if numbytes <= 0 {
        return Err(Reply::text(400, "number of bytes must be positive"));
    }
    let code = query::param(params, "code").unwrap_or("200");
    let code = status::parse_code(code)?;
    Ok(Route {
        delay,
        action: Action::Drip {
            numbytes: (numbytes as u64).min(MAX_DRIP_BYTES),
            duration,
            code,
        },
    })
}

fn redirect(n: &str) -> Result<Route, Reply> {
    let n = whole("redirects", n, 1000)?;
    let to = match n {
        0 => return Err(Reply::text(400, "redirects must be 1 or more\n")),
        1 => "/get".to_string(),
        n => format!("/relative-redirect/{}", n - 1),
    };
    Ok(Reply::empty(302).with_header("location", to).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str) -> Route {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        route("GET", path, query)
    }

    /// The status a route answers with (drips: their code; choices: the first).
    fn status_of(r: &Route) -> u16 {
        match &r.action {
            Action::Reply(rep) => rep.status,
            Action::Drip { code, .. } => *code,
            Action::Status(c) => c[0].0,
            Action::Echo(_) | Action::Uuid => 200,
        }
    }

    #[test]
    fn delay_is_in_seconds_with_fractions() {
        let r = get("/delay/1");
        assert_eq!(r.delay, Duration::from_secs(1));
        assert_eq!(r.action, Action::Echo(DELAY_FIELDS));
        assert_eq!(get("/delay/0.25").delay, Duration::from_millis(250));
        assert_eq!(get("/delay/60").delay, Duration::from_secs(60));
        assert_eq!(route("POST", "/delay/0", "").delay, Duration::ZERO);
        assert!(route("POST", "/delay/0", "").action.needs_body());
        assert!(!get("/get").action.needs_body());
    }

    #[test]
    fn conlab_delay_is_in_milliseconds() {
        let r = get("/delay-ms/250");
        assert_eq!(r.delay, Duration::from_millis(250));
        assert_eq!(
            r.action,
            Action::Reply(Reply {
                status: 200,
                headers: vec![],
                body: Body::Text {
                    text: "{\"delay_ms\":250}\n".into(),
                    content_type: "application/json"
                }
            })
        );
        let r = get("/delay-ms/5?bytes=3");
        assert_eq!(r.delay, Duration::from_millis(5));
        assert_eq!(
            r.action,
            Action::Reply(Reply {
                status: 200,
                headers: vec![],
                body: Body::Pattern { seed: 0, len: 3 }
            })
        );
    }

    #[test]
    fn bytes_status_drip_and_redirect() {
        assert_eq!(
            get("/bytes/10?seed=-1").action,
            Action::Reply(Reply {
                status: 200,
                headers: vec![],
                body: Body::Pattern {
                    seed: u64::MAX,
                    len: 10
                }
            })
        );
        assert_eq!(status_of(&get("/status/503")), 503);
        assert_eq!(
            get("/status/200:3,500").action,
            Action::Status(vec![(200, 3.0), (500, 1.0)])
        );
        assert_eq!(
            get("/drip"),
            Route {
                delay: Duration::ZERO,
                action: Action::Drip {
                    numbytes: 10,
                    duration: Duration::from_secs(2),
                    code: 200
                }
            }
        );
        assert_eq!(
            get("/drip?duration=0.5&numbytes=99999999999&code=201&delay=1"),
            Route {
                delay: Duration::from_secs(1),
                action: Action::Drip {
                    numbytes: MAX_DRIP_BYTES,
                    duration: Duration::from_millis(500),
                    code: 201
                }
            }
        );
        assert_eq!(
            get("/redirect/3").action,
            Action::Reply(Reply::empty(302).with_header("location", "/relative-redirect/2"))
        );
        assert_eq!(
            get("/redirect/1").action,
            Action::Reply(Reply::empty(302).with_header("location", "/get"))
        );
        assert_eq!(status_of(&route("HEAD", "/", "")), 200);
        assert_eq!(get("/uuid").action, Action::Uuid);
    }

    #[test]
    fn bad_and_oversized_requests_get_4xx() {
        for (m, t, code) in [
            ("GET", "/delay/abc", 400),
            ("GET", "/delay/-1", 400),
            ("GET", "/delay/NaN", 400),
            ("GET", "/delay/inf", 400),
            ("GET", "/delay/60.001", 400),
            ("GET", "/delay-ms/60001", 400),
            ("GET", "/delay-ms/1.5", 400),
            ("GET", "/delay-ms/99999999999999999999999", 400),
            ("GET", "/delay-ms/5?bytes=67108865", 400),
            ("GET", "/bytes/67108865", 400),
            ("GET", "/bytes/", 400),
            ("GET", "/bytes/1?seed=x", 400),
            ("GET", "/status/99", 400),
            ("GET", "/status/600", 400),
            ("GET", "/status/x", 400),
            ("GET", "/status/200:-1", 400),
            ("GET", "/drip?numbytes=0", 400),
            ("GET", "/drip?numbytes=x", 400),
            ("GET", "/drip?duration=x", 400),
            ("GET", "/drip?delay=61", 400),
            ("GET", "/drip?code=1000", 400),
            ("GET", "/redirect/0", 400),
            ("GET", "/nope", 404),
            ("GET", "/delay/1/2", 404),
            ("POST", "/bytes/1", 405),
            ("POST", "/get", 405),
            ("BREW", "/status/200", 405),
            ("GET", &format!("/bytes/{}", "1".repeat(3000)), 414),
        ] {
            assert_eq!(status_of(&get_with(m, t)), code, "{m} {t}");
        }
        match get("/bytes/67108865").action {
            Action::Reply(Reply {
                body: Body::Text { text, .. },
                ..
            }) => assert!(text.contains("cap"), "{text}"),
            other => panic!("{other:?}"),
        }
        match route("POST", "/get", "").action {
            Action::Reply(r) => assert_eq!(r.headers, vec![("allow", "GET, HEAD".into())]),
            other => panic!("{other:?}"),
        }
    }

    fn get_with(method: &str, target: &str) -> Route {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        route(method, path, query)
    }
}
