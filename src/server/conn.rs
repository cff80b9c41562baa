//! Connections: the listening socket (a deep accept queue, TCP_NODELAY), the accept loop
//! (at most `max_connections` at once, a pause on accept errors such as EMFILE) and one
//! hyper connection per client, HTTP/1.1 or — when the client opens with HTTP/2's preface
//! (h2c, prior knowledge: the async model's client) — HTTP/2 with its requests as
//! concurrent streams; configured from [`Limits`]: header size and count, read buffer,
//! header-read timeout, and a write timeout for clients that stop reading.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio_io_timeout::TimeoutStream;

use super::limits::Limits;
use super::service::handle;

/// Connections the kernel queues before they are accepted. std's 128 is too few for a
/// thousand clients connecting at once: the overflow waits for a SYN retry (1 s, 3 s...).
const BACKLOG: i32 = 4096;

/// Pause after a failed accept (out of file descriptors, say) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// A listening socket on `addr` with [`BACKLOG`] and TCP_NODELAY (inherited by accepted
/// sockets on Linux: small replies leave at once instead of waiting for a delayed ACK).
#[cfg(target_os = "linux")]
pub fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
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
    let fd = socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    setsockopt(&fd, sockopt::TcpNoDelay, &true)?;
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    nix::sys::socket::listen(&fd, Backlog::new(BACKLOG)?)?;
    Ok(std::net::TcpListener::from(fd))
}

#[cfg(not(target_os = "linux"))]
pub fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// hyper's HTTP/1.1 connection settings from `limits`.
pub fn http1_builder(limits: &Limits) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_buf_size)
        .max_header_size(limits.max_header_size)
        .max_headers(limits.max_headers)
        .keep_alive(true);
    b
}

/// Serve one accepted connection until it ends (or the runtime stops).
pub async fn serve_connection(tcp: tokio::net::TcpStream, peer: SocketAddr, limits: Arc<Limits>) {
    let _ = tcp.set_nodelay(true);
    let h2 = opens_with_h2(&tcp, &limits).await;
    let mut io = TimeoutStream::new(tcp);
    io.set_write_timeout(Some(limits.write_timeout));
    let io = TokioIo::new(Box::pin(io));
    if h2 {
        serve_io_h2(io, peer, limits).await;
    } else {
        serve_io(io, peer, limits).await;
    }
}

/// HTTP/2's connection preface starts so; no HTTP/1.1 request does (`PRI` is no method).
pub const H2_PREFACE_START: &[u8] = b"PRI * HTTP/2.0";

/// hyper's HTTP/2 connection settings from `limits`: concurrent streams, the header list
/// cap, and what each stream may buffer for a client that does not read; a client that
/// opens and resets streams in a loop is cut off by hyper's own reset caps.
pub fn http2_builder(limits: &Limits) -> http2::Builder<TokioExecutor> {
    let mut b = http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_h2_streams)
        .max_header_list_size(limits.max_header_size as u32)
        .max_send_buf_size(limits.h2_send_buf)
        .max_pending_accept_reset_streams(Some(20))
        .max_local_error_reset_streams(Some(1024));
    b
}

/// Does the client open with HTTP/2's preface? Peeks (reads nothing) until the first bytes
/// arrive or the head's read timeout passes (then HTTP/1.1's own timeout answers).
async fn opens_with_h2(tcp: &tokio::net::TcpStream, limits: &Limits) -> bool {
    let mut buf = [0u8; H2_PREFACE_START.len()];
    let deadline = tokio::time::Instant::now() + limits.header_read_timeout;
    loop {
        let n = match tokio::time::timeout_at(deadline, tcp.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return false,
        };
        if n == 0 || !H2_PREFACE_START.starts_with(&buf[..n]) {
            return false;
        }
        if n == buf.len() {
            return true;
        }
        // A prefix of the preface so far: wait for more of it.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Serve HTTP/1.1 on any byte stream (a socket, or an in-memory pipe in tests) until the
/// client is done. A client that hangs up, times out or sends garbage ends only its own
/// connection.
pub async fn serve_io<I>(io: I, peer: SocketAddr, limits: Arc<Limits>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let builder = http1_builder(&limits);
    let svc = service_fn(move |req| handle(req, peer, limits.clone()));
    let _ = builder.serve_connection(io, svc).await;
}

/// Serve HTTP/2 on a byte stream whose client sent the preface.
pub async fn serve_io_h2<I>(io: I, peer: SocketAddr, limits: Arc<Limits>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let builder = http2_builder(&limits);
    let svc = service_fn(move |req| handle(req, peer, limits.clone()));
    let _ = builder.serve_connection(io, svc).await;
}

/// Accept connections until `stop` fires (or its sender is dropped).
pub async fn accept_loop(
    listener: TcpListener,
    limits: Arc<Limits>,
    mut stop: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            _ = &mut stop => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = &mut stop => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((tcp, peer)) => {
                let limits = limits.clone();
                tokio::spawn(async move {
                    serve_connection(tcp, peer, limits).await;
                    drop(permit);
                });
            }
            Err(_) => {
                drop(permit);
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
}
