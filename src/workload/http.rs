//! `http`: K GET requests, to the embedded loopback server (`/delay-ms/{ms}?bytes=N`) or to
//! real URLs (httpbin.org ones answered by the embedded server unless `--httpbin remote`);
//! the answer is the total bytes and a checksum of the bodies. Each request runs with the
//! simulated GIL released, so threads overlap their waits as in Python.

use std::io::Read;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64, thousands};
use crate::core::TaskError;
use crate::exec::{AsyncCtx, TaskCtx, TaskFuture};
use crate::server::{self, Server, httpbin};
use crate::sys::fds;

pub struct Http;

/// Default delay per request on the embedded server: the articles' 1-second endpoint.
pub const DEFAULT_DELAY_MS: u64 = 1000;
/// Default body size from the embedded server.
pub const DEFAULT_BYTES: u64 = 1024;
/// Timeout for a real URL.
const URL_TIMEOUT: Duration = Duration::from_secs(30);
/// Slack over the embedded server's delay before a request counts as timed out.
const SERVER_SLACK: Duration = Duration::from_secs(30);
/// Largest body read from a URL a user gave (fewer bytes when many workers share
/// [`BODY_BUDGET`]).
pub const MAX_BODY: u64 = 16 * 1024 * 1024;
/// The bodies every worker of a run may hold at once, together: each response's cap is
/// this shared out (`workers × cap` stays within it).
pub const BODY_BUDGET: u64 = 1024 * 1024 * 1024;
/// Hash this much between GIL hand-over points.
const HASH_CHUNK: usize = 64 * 1024;

/// Check a user-given URL up front, so a typo is a usage error and not N failed tasks.
pub fn check_url(url: &str) -> anyhow::Result<()> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| anyhow::anyhow!("invalid --url `{url}`: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => anyhow::bail!("invalid --url `{url}`: must start with http:// or https://"),
    }
    if uri.host().is_none_or(str::is_empty) {
        anyhow::bail!("invalid --url `{url}`: no host");
    }
    // `Uri::port` is `None` for a port that is not a u16: read it from the authority.
    let host_port = uri.authority().map_or("", |a| a.as_str());
    let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
    if let Some((_, port)) = host_port.rsplit_once(':')
        && !port.contains(']')
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        anyhow::bail!("invalid --url `{url}`: port `{port}` is not in 1..=65535");
    }
    Ok(())
}

/// Bodies held at once: one per worker (at most one per task).
fn holders(args: &WorkloadArgs) -> u64 {
    args.workers.min(args.tasks).max(1) as u64
}

/// The cap on each response from a user's URL: [`MAX_BODY`], or less when the run's
/// workers share [`BODY_BUDGET`] (4,096 workers: 256 KiB each).
pub fn url_body_cap(args: &WorkloadArgs) -> u64 {
    MAX_BODY.min(BODY_BUDGET / holders(args))
}

/// Refuse up front embedded-server bodies of `bytes` that, one per worker, would hold more
/// than [`BODY_BUDGET`] at once.
fn check_body_budget(args: &WorkloadArgs, bytes: u64) -> anyhow::Result<()> {
    let n = holders(args);
    if bytes.saturating_mul(n) > BODY_BUDGET {
        anyhow::bail!(
            "invalid --bytes: {n} workers × {} would hold more than the cap of {} of bodies \
             at once; lower --bytes or --workers",
            crate::core::fmt::cap_bytes(bytes),
            crate::core::fmt::cap_bytes(BODY_BUDGET)
        );
    }
    Ok(())
}

/// One fetch task per element (`{url, timeout_ms, close, max_body}`), and the embedded
/// server when one was started.
pub type Fetches = (Vec<Value>, Option<Server>);

/// The fetch task of an httpbin.org URL `shown` answered by the embedded server.
fn local_task(l: httpbin::LocalUrl, shown: &str, max_body: u64) -> Value {
    let headers: serde_json::Map<String, Value> = l
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
    // It may ask for the longest delay the server allows.
    let t = (Duration::from_millis(server::MAX_DELAY_MS) + SERVER_SLACK).as_millis() as u64;
    json!({ "url": l.url, "timeout_ms": t, "headers": headers, "shown": shown, "local": true,
            "max_body": max_body })
}

/// One fetch task per URL given: httpbin.org ones pointed at a freshly started embedded
/// server (unless `--httpbin remote`), with their original host and scheme as headers; and
/// that server.
fn url_tasks(args: &WorkloadArgs) -> anyhow::Result<(Vec<Value>, Option<Server>)> {
    let srv = if !args.httpbin_remote && args.urls.iter().any(|u| httpbin::is_httpbin(u)) {
        Some(Server::start_loopback()?)
    } else {
        None
    };
    let base = srv.as_ref().map(|s| s.url(""));
    let timeout_ms = URL_TIMEOUT.as_millis() as u64;
    let max_body = url_body_cap(args);
    let tasks = args
        .urls
        .iter()
        .map(
            |u| match base.as_deref().and_then(|b| httpbin::local(u, b)) {
                Some(l) => local_task(l, u, max_body),
                None => json!({ "url": u, "timeout_ms": timeout_ms, "max_body": max_body }),
            },
        )
        .collect();
    Ok((tasks, srv))
}

/// Refuse up front a run whose connections at once would not fit the open-files limit:
/// one per worker (at most one per task), or what the model says it opens at once (one
/// when sequential, none counted for the native event loop, which keeps within the limit
/// itself); two each when the embedded server is the peer.
fn check_open_files(args: &WorkloadArgs, local_server: bool) -> anyhow::Result<()> {
    let at_once = args.at_once.unwrap_or(args.workers);
    let connections = at_once.min(args.workers).min(args.tasks) as u64;
    if connections == 0 {
        return Ok(());
    }
    fds::check(connections, if local_server { 2 } else { 1 }).map_err(|e| anyhow::anyhow!(e))
}

/// The fetch tasks for `args.tasks` tasks: the user's URLs in turn (httpbin.org ones served
/// by the embedded server unless `--httpbin remote`), or `/delay-ms/{delay}?bytes={bytes}`
/// on a freshly started embedded server (returned so the plan keeps it alive).
pub fn plan_fetches(
    args: &WorkloadArgs,
    default_delay_ms: u64,
    default_bytes: u64,
) -> anyhow::Result<Fetches> {
    if !args.urls.is_empty() {
        if args.delay_ms.is_some() || args.bytes.is_some() {
            anyhow::bail!(
                "--delay-ms and --bytes set the embedded server's replies; they do not apply with --url"
            );
        }
        for u in &args.urls {
            check_url(u)?;
        }
        let any_local = !args.httpbin_remote && args.urls.iter().any(|u| httpbin::is_httpbin(u));
        check_open_files(args, any_local)?;
        let (per_url, srv) = url_tasks(args)?;
        let fetches = (0..args.tasks)
            .map(|i| per_url[i % per_url.len()].clone())
            .collect();
        return Ok((fetches, srv));
    }
    let delay = args.delay_ms.unwrap_or(default_delay_ms);
    if delay > server::MAX_DELAY_MS {
        anyhow::bail!(
            "invalid --delay-ms: {delay} is over the cap of {} ms",
            server::MAX_DELAY_MS
        );
    }
    let bytes = args.bytes.unwrap_or(default_bytes);
    if bytes > server::MAX_BYTES {
        anyhow::bail!(
            "invalid --bytes: {bytes} is over the cap of {} bytes",
            server::MAX_BYTES
        );
    }
    check_body_budget(args, bytes)?;
    check_open_files(args, true)?;
    let srv = Server::start_loopback()?;
    let url = srv.url(&format!("/delay-ms/{delay}?bytes={bytes}"));
    let t = (Duration::from_millis(delay) + SERVER_SLACK).as_millis() as u64;
    // `close`: one connection per request, like Python's bare `requests.get` (no session):
    // the cost of connecting is part of each request, as in the articles.
    // `local`: the peer is the embedded server (the async client multiplexes its requests
    // over HTTP/2 there; see exec/asyncio/client.rs).
    // `max_body`: the size asked for, exactly.
    let task =
        json!({ "url": url, "timeout_ms": t, "close": true, "local": true, "max_body": bytes });
    Ok((vec![task; args.tasks], Some(srv)))
}

thread_local! {
    /// One agent per worker thread (and so per worker process), so its connections are
    /// reused from one request to the next; replaced after a cancel shut it down.
    static AGENT: std::cell::RefCell<Option<ureq::Agent>> = const { std::cell::RefCell::new(None) };
}

fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .user_agent(concat!("conlab/", env!("CARGO_PKG_VERSION")))
        // ureq's 128 KiB buffers, zeroed per connection, are most of the cost of 1000
        // threads each opening one (256 MB of fresh pages); 16/8 KiB still hold any
        // sane response head and a GET's request.
        .input_buffer_size(16 * 1024)
        .output_buffer_size(8 * 1024)
        .build()
        .into()
}

/// This thread's agent (a handle: clones share its connections).
fn agent() -> ureq::Agent {
    AGENT.with(|a| a.borrow_mut().get_or_insert_with(new_agent).clone())
}

/// Drop this thread's agent (after a cancel shut it down): the next fetch makes a new one.
fn forget_agent() {
    AGENT.with(|a| a.borrow_mut().take());
}

/// A fetched body and its status.
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

/// How to GET: the timeout, one connection per request or not, extra request headers,
/// and the cap on the body.
pub struct Get<'a> {
    pub timeout: Duration,
    pub close: bool,
    pub headers: &'a [(String, String)],
    /// Largest body read; a longer one fails the request, naming the cap.
    pub max_body: u64,
}

/// The error of a body over `max_body`.
pub fn over_cap(url: &str, max_body: u64) -> String {
    format!(
        "GET {url}: the body is over the cap of {} a response",
        crate::core::fmt::cap_bytes(max_body)
    )
}

/// GET `url` (blocking; call it inside `ctx.without_gil`). Any status is returned;
/// transport failures and a body over the cap are described for a person.
pub fn fetch_with(url: &str, get: &Get) -> Result<Fetched, String> {
    let Get {
        timeout,
        close,
        headers,
        max_body,
    } = *get;
    let describe = |e: ureq::Error| match e {
        ureq::Error::Timeout(t) => format!("GET {url}: timed out ({t}) after {timeout:?}"),
        ureq::Error::HostNotFound => format!("GET {url}: host not found"),
        ureq::Error::Io(e) => format!("GET {url}: {e}"),
        other => format!("GET {url}: {other}"),
    };
    {
        let agent = agent();
        let mut req = agent.get(url);
        if close {
            req = req.header("Connection", "close");
        }
        for (k, v) in headers {
            req = req.header(k, v);
        }
        // Per-phase timeouts, not a global one: with a global timeout ureq resolves every
        // host (IP literals too) on a new thread, one more thread spawn per request. DNS
        // then relies on the system resolver's own timeouts.
        let mut resp = req
            .config()
            .timeout_send_request(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .build()
            .call()
            .map_err(describe)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        // One byte over the cap tells a body at the cap from a longer one.
        resp.body_mut()
            .with_config()
            .limit(u64::MAX)
            .reader()
            .take(max_body.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| format!("GET {url}: reading the body: {e}"))?;
        if body.len() as u64 > max_body {
            return Err(over_cap(url, max_body));
        }
        Ok(Fetched { status, body })
    }
}

/// [`fetch`] inside a task: without the GIL, and interrupted at once when the run is
/// cancelled (the hook shuts this thread's agent down, which fails the request in flight:
/// cancel must not wait out the server's delay).
pub fn fetch_in(ctx: &mut TaskCtx, url: &str, get: &Get) -> Result<Fetched, TaskError> {
    let this = agent();
    let interrupt = ctx.on_cancel(move || this.shutdown());
    let got = ctx.without_gil(|| fetch_with(url, get));
    drop(interrupt);
    if ctx.is_cancelled() {
        forget_agent();
        return Err(TaskError::Cancelled);
    }
    got.map_err(TaskError::failed)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// sha256 of `data`, handing the GIL over between chunks.
pub fn sha256_ticking(data: &[u8], ctx: &mut TaskCtx) -> Result<[u8; 32], TaskError> {
    let mut h = Sha256::new();
    for chunk in data.chunks(HASH_CHUNK) {
        ctx.tick()?;
        h.update(chunk);
    }
    Ok(h.finalize().into())
}

/// A task's `max_body`, or [`MAX_BODY`] for a task planned without one.
fn task_max_body(task: &Value) -> u64 {
    task.get("max_body")
        .and_then(Value::as_u64)
        .unwrap_or(MAX_BODY)
}

/// Run one fetch task `{url, timeout_ms, close?, headers?, shown?, max_body?}`: GET
/// without the GIL, fail on non-2xx. `shown` is the URL the user gave, named in failures instead of `url`.
pub fn fetch_task(task: &Value, ctx: &mut TaskCtx) -> Result<Fetched, TaskError> {
    let spec = FetchSpec::read(task)?;
    let close = task.get("close").and_then(Value::as_bool).unwrap_or(false);
    ctx.tick()?;
    ctx.progress(0, 1);
    let get = Get {
        timeout: spec.timeout,
        close,
        headers: &spec.headers,
        max_body: spec.max_body,
    };
    let got = fetch_in(ctx, &spec.url, &get).map_err(|e| match e {
        TaskError::Failed(m) => TaskError::failed(spec.name(m)),
        other => other,
    })?;
    spec.check_status(got.status)?;
    Ok(got)
}

/// A fetch task read before its future starts, so a request in flight keeps these few
/// fields and not the task's JSON.
pub struct FetchSpec {
    url: String,
    timeout: Duration,
    headers: Vec<(String, String)>,
    /// The embedded server is the peer.
    local: bool,
    /// The URL the user gave, named in failures instead of `url`.
    shown: Option<String>,
    /// Largest body read.
    max_body: u64,
}

impl FetchSpec {
    pub fn read(task: &Value) -> Result<Self, TaskError> {
        let url = task
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| TaskError::failed("malformed task: no string field `url`"))?;
        Ok(FetchSpec {
            url: url.to_string(),
            timeout: Duration::from_millis(task_u64(task, "timeout_ms")?),
            headers: task
                .get("headers")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            local: task.get("local").and_then(Value::as_bool).unwrap_or(false),
            shown: task
                .get("shown")
                .and_then(Value::as_str)
                .map(str::to_string),
            max_body: task_max_body(task),
        })
    }

    /// Fail on a status other than 2xx.
    fn check_status(&self, status: u16) -> Result<(), TaskError> {
        if (200..300).contains(&status) {
            return Ok(());
        }
        let e = format!("GET {}: HTTP status {status}", self.url);
        Err(TaskError::failed(self.name(e)))
    }

    fn name(&self, e: String) -> String {
        match &self.shown {
            Some(shown) => e.replacen(
                &self.url,
                &format!("{shown} (answered by the embedded server)"),
                1,
            ),
            None => e,
        }
    }
}

/// [`fetch_task`] on the async model's loop: the GET awaited on the loop's one client.
pub async fn fetch_task_async(spec: &FetchSpec, ctx: &AsyncCtx<'_>) -> Result<Fetched, TaskError> {
    let got = ctx
        .http()
        .get(
            &spec.url,
            spec.timeout,
            &spec.headers,
            spec.local,
            spec.max_body,
        )
        .await
        .map_err(|e| TaskError::failed(spec.name(e)))?;
    spec.check_status(got.status)?;
    Ok(Fetched {
        status: got.status,
        body: got.body,
    })
}

/// Total bytes and one checksum over per-task digests (hex strings in `extra.sha256`),
/// in task order.
pub fn fold_digests(outputs: &[TaskOutput]) -> (u128, String) {
    let mut h = Sha256::new();
    for o in outputs {
        h.update(o.extra.get("sha256").and_then(Value::as_str).unwrap_or(""));
    }
    let total = outputs.iter().map(|o| o.value).sum();
    (total, hex(&h.finalize())[..16].to_string())
}

impl Workload for Http {
    fn options(&self) -> &'static [&'static str] {
        &["--delay-ms", "--bytes", "--url"]
    }
    fn size_given(&self, args: &WorkloadArgs) -> Option<u64> {
        // With the embedded server, --delay-ms is the size (what --json reports).
        args.delay_ms.filter(|_| args.urls.is_empty())
    }
    fn name(&self) -> &'static str {
        "http"
    }
    fn summary(&self) -> &'static str {
        "GET requests to a 1-second endpoint (embedded loopback server, or --url): I/O-bound"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Io
    }
    fn size_meaning(&self) -> &'static str {
        "the embedded server waits D ms per request (same as --delay-ms)"
    }
    fn default_size(&self) -> u64 {
        DEFAULT_DELAY_MS
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=server::MAX_DELAY_MS
    }
    fn default_tasks(&self, workers: usize) -> usize {
        workers.max(4)
    }
    fn max_tasks(&self) -> usize {
        10_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let mut a = args.clone();
        a.delay_ms = a.delay_ms.or(Some(args.size));
        if !args.urls.is_empty() {
            a.delay_ms = args.delay_ms;
        }
        let (tasks, srv) = plan_fetches(&a, DEFAULT_DELAY_MS, DEFAULT_BYTES)?;
        // The embedded server's tasks are all alike: made on demand, not 10,000 copies.
        let mut plan = match tasks.first() {
            Some(t) if args.urls.is_empty() => {
                let t = t.clone();
                Plan::made(tasks.len(), move |_| t.clone())
            }
            _ => Plan::new(tasks),
        };
        if let Some(s) = srv {
            plan.keep_alive.push(Box::new(s));
        }
        Ok(plan)
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let got = fetch_task(task, ctx)?;
        let digest = sha256_ticking(&got.body, ctx)?;
        ctx.progress(1, 1);
        Ok(TaskOutput {
            value: got.body.len() as u128,
            extra: json!({ "status": got.status, "sha256": hex(&digest) }),
        })
    }
    fn run_task_async<'a>(&'a self, task: Value, mut ctx: AsyncCtx<'a>) -> Option<TaskFuture<'a>> {
        let spec = FetchSpec::read(&task);
        drop(task);
        Some(Box::pin(async move {
            let spec = spec?;
            ctx.progress(0, 1);
            let got = fetch_task_async(&spec, &ctx).await?;
            // Hashing the body is CPU work: it runs on the loop, between two awaits.
            let digest = ctx.on_loop(|c| sha256_ticking(&got.body, c))?;
            ctx.progress(1, 1);
            Ok(TaskOutput {
                value: got.body.len() as u128,
                extra: json!({ "status": got.status, "sha256": hex(&digest) }),
            })
        }))
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let (total, sum) = fold_digests(outputs);
        let mut statuses = std::collections::BTreeMap::<u64, usize>::new();
        for o in outputs {
            let s = o.extra.get("status").and_then(Value::as_u64).unwrap_or(0);
            *statuses.entry(s).or_default() += 1;
        }
        let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{n}× {s}")).collect();
        Answer {
            value: format!("{} bytes, checksum {sum}", thousands(total)),
            meaning: format!(
                "bytes fetched by {} GETs (status {}); checksum: sha256 over each body's sha256",
                outputs.len(),
                statuses.join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{CancelToken, Gil, GilConfig, Sink};

    fn run(task: Value) -> Result<TaskOutput, TaskError> {
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let sink = Sink::null();
        let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
        Http.run_task(&task, &mut ctx)
    }

    fn task(url: &str, timeout_ms: u64) -> Value {
        json!({ "url": url, "timeout_ms": timeout_ms })
    }

    #[test]
    fn fetches_the_embedded_server() {
        let srv = Server::start_loopback().expect("starts");
        let out = run(task(&srv.url("/bytes/3000"), 5000)).expect("fetches");
        assert_eq!(out.value, 3000);
        let want = hex(&Sha256::digest(server::pattern(3000)));
        assert_eq!(out.extra["sha256"], want);
        assert_eq!(out.extra["status"], 200);
    }

    #[test]
    fn a_body_over_the_cap_fails_the_task_naming_the_cap() {
        let srv = Server::start_loopback().expect("starts");
        let mut t = task(&srv.url("/bytes/3000"), 5000);
        t["max_body"] = json!(3000);
        assert_eq!(run(t.clone()).expect("at the cap").value, 3000);
        t["max_body"] = json!(2999);
        let err = run(t).expect_err("over the cap").to_string();
        assert!(
            err.contains("over the cap of 2999 bytes a response"),
            "{err}"
        );
    }

    #[test]
    fn the_async_client_caps_a_body_too() {
        let srv = Server::start_loopback().expect("starts");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = crate::exec::asyncio::HttpClient::new();
        let url = srv.url("/bytes/3000");
        for local in [false, true] {
            let got = rt.block_on(client.get(&url, Duration::from_secs(5), &[], local, 2048));
            let err = got.err().expect("over the cap");
            assert!(
                err.contains("over the cap of 2 KiB a response"),
                "{local}: {err}"
            );
        }
    }

    #[test]
    fn workers_share_one_budget_for_bodies() {
        let mut args = WorkloadArgs {
            tasks: 10_000,
            workers: 4096,
            urls: vec!["http://127.0.0.1:1/".into()],
            ..Default::default()
        };
        assert_eq!(url_body_cap(&args), 256 * 1024);
        assert!(url_body_cap(&args) * 4096 <= BODY_BUDGET);
        args.workers = 4;
        assert_eq!(url_body_cap(&args), MAX_BODY);
        let plan = Http.plan(&args).expect("planned");
        assert_eq!(plan.tasks[0]["max_body"], MAX_BODY);

        let big = WorkloadArgs {
            tasks: 64,
            workers: 64,
            bytes: Some(server::MAX_BYTES),
            ..Default::default()
        };
        let err = Http.plan(&big).err().expect("refused").to_string();
        assert!(
            err.contains("--bytes") && err.contains("cap of 1 GiB"),
            "{err}"
        );
    }

    #[test]
    fn a_500_fails_the_task_with_its_status() {
        let srv = Server::start_loopback().expect("starts");
        let err = run(task(&srv.url("/status/500"), 5000)).expect_err("500");
        assert!(err.to_string().contains("500"), "{err}");
    }

    #[test]
    fn a_timeout_fails_the_task() {
        let srv = Server::start_loopback().expect("starts");
        let err = run(task(&srv.url("/delay-ms/3000"), 200)).expect_err("timeout");
        assert!(err.to_string().contains("timed out"), "{err}");
    }

    #[test]
    fn a_refused_connection_fails_the_task() {
        // A port that was free a moment ago: nothing listens there now.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
            l.local_addr().expect("addr").port()
        };
        let err = run(task(&format!("http://127.0.0.1:{port}/"), 5000)).expect_err("refused");
        assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    }

    #[test]
    fn an_unreachable_address_fails_fast() {
        // The kernel refuses a TCP connect to the broadcast address (ENETUNREACH) before
        // any packet leaves the machine.
        let t0 = std::time::Instant::now();
        let err = run(task("http://255.255.255.255:9/", 5000)).expect_err("unreachable");
        assert!(!err.to_string().is_empty());
        assert!(t0.elapsed() < Duration::from_secs(5), "{err}");
    }

    #[test]
    fn bad_urls_are_rejected_up_front() {
        for bad in [
            "nope",
            "ftp://x/",
            "http://",
            "http://exa mple/",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:0/",
            "http://[::1]:70000/",
            "http://h:0/",
        ] {
            let args = WorkloadArgs {
                tasks: 1,
                workers: 1,
                urls: vec![bad.into()],
                ..Default::default()
            };
            let err = Http.plan(&args).err().expect("rejected");
            assert!(err.to_string().contains("--url"), "{bad}: {err}");
        }
        let ok = WorkloadArgs {
            tasks: 4,
            workers: 1,
            urls: vec![
                "http://127.0.0.1:1/a".into(),
                "https://h/b".into(),
                "http://[::1]/c".into(),
            ],
            ..Default::default()
        };
        let plan = Http.plan(&ok).expect("planned");
        assert_eq!(plan.tasks.len(), 4);
        assert_eq!(plan.tasks[3]["url"], "http://127.0.0.1:1/a");
    }

    #[test]
    fn httpbin_urls_are_answered_locally_unless_remote() {
        let mut args = WorkloadArgs {
            tasks: 3,
            workers: 1,
            urls: vec![
                "https://httpbin.org/delay/1?x=2".into(),
                "http://127.0.0.1:1/a".into(),
            ],
            ..Default::default()
        };
        let plan = Http.plan(&args).expect("planned");
        assert_eq!(plan.keep_alive.len(), 1, "the embedded server runs");
        let url = plan.tasks[0]["url"].as_str().expect("url");
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(url.ends_with("/delay/1?x=2"), "{url}");
        assert_eq!(plan.tasks[0]["headers"]["host"], "httpbin.org");
        assert_eq!(plan.tasks[0]["shown"], "https://httpbin.org/delay/1?x=2");
        assert_eq!(plan.tasks[1]["url"], "http://127.0.0.1:1/a");
        assert_eq!(plan.tasks[2]["url"], url);

        args.httpbin_remote = true;
        let plan = Http.plan(&args).expect("planned");
        assert!(plan.keep_alive.is_empty(), "no server for remote");
        assert_eq!(plan.tasks[0]["url"], "https://httpbin.org/delay/1?x=2");
    }

    #[test]
    fn a_local_httpbin_url_is_fetched_with_httpbins_answer() {
        let args = WorkloadArgs {
            tasks: 1,
            workers: 1,
            urls: vec!["https://httpbin.org/get?a=1".into()],
            ..Default::default()
        };
        let plan = Http.plan(&args).expect("planned");
        let gil = Gil::new(GilConfig::default());
        let (cancel, sink) = (CancelToken::new(), Sink::null());
        let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
        let got = fetch_task(&plan.tasks[0], &mut ctx).expect("fetched");
        let v: Value = serde_json::from_slice(&got.body).expect("JSON");
        assert_eq!(v["url"], "https://httpbin.org/get?a=1");
        assert_eq!(v["args"]["a"], "1");
        assert_eq!(v["headers"]["Host"], "httpbin.org");
    }

    #[test]
    fn more_connections_than_open_files_are_refused_up_front() {
        let (soft, _) = crate::sys::fds::raise_open_files_limit().expect("getrlimit");
        let n = usize::try_from(soft / 2 + 100).expect("fits");
        let args = WorkloadArgs {
            tasks: n,
            workers: n,
            ..Default::default()
        };
        let err = Http.plan(&args).err().expect("refused").to_string();
        assert!(err.contains("open-files limit"), "{err}");
        assert!(err.contains(&format!("the limit is {soft}")), "{err}");
    }

    #[test]
    fn sequential_and_the_event_loop_are_not_refused_for_workers_they_do_not_connect() {
        // Under `ulimit -n 1024`, 1,000 workers were refused for sequential and async runs
        // that open one connection at a time, or keep within the limit themselves.
        use crate::core::Model;
        let (soft, _) = crate::sys::fds::raise_open_files_limit().expect("getrlimit");
        let n = usize::try_from(soft / 2 + 100).expect("fits");
        for model in [Model::Sequential, Model::Async] {
            let args = WorkloadArgs {
                tasks: n,
                workers: n,
                at_once: WorkloadArgs::at_once_for(model),
                ..Default::default()
            };
            assert!(Http.plan(&args).is_ok(), "{model} refused");
        }
        let threads = WorkloadArgs {
            tasks: n,
            workers: n,
            at_once: WorkloadArgs::at_once_for(Model::Threads),
            ..Default::default()
        };
        assert!(Http.plan(&threads).is_err(), "threads open one per worker");
    }

    #[test]
    fn oversized_server_options_are_rejected() {
        let args = WorkloadArgs {
            tasks: 1,
            workers: 1,
            size: 10,
            bytes: Some(server::MAX_BYTES + 1),
            ..Default::default()
        };
        let err = Http.plan(&args).err().expect("rejected");
        assert!(err.to_string().contains("--bytes"), "{err}");
    }
}
