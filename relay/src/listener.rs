//! The accept loop's guard against running out of file descriptors.
//!
//! Every socket is a file descriptor, and a process may hold only `RLIMIT_NOFILE` of them
//! (20,000 hard on our machines). axum's own loop, on `EMFILE`, logs at error level and
//! sleeps one second; meanwhile the kernel keeps completing handshakes into the backlog, so
//! new clients hang instead of being told to go elsewhere, and the database may find no fd
//! for its WAL or a new pool connection. So the relay gates connections itself:
//!
//! - **a connection budget**: the soft limit minus what the process already holds at start
//!   (database, pools, log) minus a reserve ([`RESERVE_FDS`]). Each accepted socket holds a
//!   permit until it closes (the permit lives in the socket's IO type, which hyper keeps
//!   inside an upgraded WebSocket too);
//! - **a clean refusal** beyond the budget: a short `503 Service Unavailable` with
//!   `Retry-After`, written at once, then the socket is drained and closed by a small task
//!   that uses the reserve (at most [`MAX_REFUSING`] at once; beyond that the socket is
//!   closed right after the 503), and a warning
//!   logged at most once per [`LOG_EVERY`] with the count since the last one;
//! - **`EMFILE` anyway** (fds taken by something else): a spare fd kept open on `/dev/null`
//!   is released, the waiting connection is accepted and closed at once (the client sees a
//!   close, not a hang), the spare is reopened, and the loop pauses briefly instead of
//!   spinning.
//!
//! Held connections are never touched: refusing happens before any HTTP is read.

use axum::serve::Listener;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// File descriptors kept free beyond those open at start: SQLite may open journal/WAL/shm
/// files and new pool connections, refusals need a socket each, logs may reopen.
pub const RESERVE_FDS: usize = 64;
/// Sockets being refused at once (each holds an fd for up to [`REFUSE_TIMEOUT`]).
pub const MAX_REFUSING: usize = 32;
/// How long a refused client gets to read its 503 before the socket is closed.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(2);
/// At most one warning per this interval about refused connections or accept errors.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// Pause after an accept error other than a dropped handshake.
const ERROR_PAUSE: Duration = Duration::from_millis(50);

const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
Content-Type: text/plain\r\nContent-Length: 31\r\nConnection: close\r\n\r\n\
relay at capacity; retry later\n";

/// How many connections this process can hold: the soft open-file limit minus the fds open
/// now minus [`RESERVE_FDS`]. `None` when the limit cannot be read (no gate then).
pub fn connection_budget() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and has no other effect.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let soft = usize::try_from(lim.rlim_cur).ok()?;
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(32);
    Some(soft.saturating_sub(open + RESERVE_FDS).max(1))
}

/// A TCP listener that admits at most `budget` connections at a time (see module docs).
pub struct GatedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    budget: usize,
    spare: Option<File>,
    log: RateLimitedLog,
}

impl GatedListener {
    pub fn new(inner: TcpListener, budget: usize) -> Self {
        tracing::info!(budget, "connection budget (open-file limit minus reserve)");
        Self {
            inner,
            permits: Arc::new(Semaphore::new(budget)),
            refusing: Arc::new(Semaphore::new(MAX_REFUSING)),
            budget,
            spare: File::open("/dev/null").ok(),
            log: RateLimitedLog::default(),
        }
    }

    fn refuse(&mut self, stream: TcpStream, addr: SocketAddr) {
        if let Some(n) = self.log.note() {
            tracing::warn!(
                budget = self.budget,
                refused = n,
                last_peer = %addr,
                "at the connection limit: refusing new connections with 503"
            );
        }
        // A fresh socket's send buffer is empty, so the whole answer fits at once.
        let written = stream.try_write(REFUSAL).is_ok_and(|n| n == REFUSAL.len());
        let Ok(slot) = self.refusing.clone().try_acquire_owned() else {
            return; // dropping closes the socket at once (after the 503, if it was written)
        };
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tokio::time::timeout(REFUSE_TIMEOUT, finish_refusal(stream, written)).await;
        });
    }

    /// `EMFILE`/`ENFILE`: free the spare fd, accept and close one waiting connection so it
    /// is not left hanging, take the spare back.
    async fn shed_one(&mut self) {
        self.spare = None;
        if let Ok(Ok((stream, _))) =
            tokio::time::timeout(Duration::from_millis(1), self.inner.accept()).await
        {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        self.spare = File::open("/dev/null").ok();
    }
}

/// Writes the 503 (unless already written), then reads and discards what the client sent
/// until it closes, so the close is orderly and the client reads the response, not a reset.
async fn finish_refusal(mut stream: TcpStream, written: bool) {
    if !written && stream.write_all(REFUSAL).await.is_err() {
        return;
    }
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 512];
    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
}

fn out_of_fds(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

impl Listener for GatedListener {
    type Io = GatedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => match self.permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let _ = stream.set_nodelay(true);
                        return (
                            GatedStream {
                                inner: stream,
                                _permit: permit,
                            },
                            addr,
                        );
                    }
                    Err(_) => self.refuse(stream, addr),
                },
                Err(e) if out_of_fds(&e) => {
                    if let Some(n) = self.log.note() {
                        tracing::error!(error = %e, errors = n, "accept: out of file descriptors; shedding");
                    }
                    self.shed_one().await;
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
                Err(e) => match e.kind() {
                    // The peer gave up during the handshake: nothing to do.
                    io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionRefused => {}
                    _ => {
                        if let Some(n) = self.log.note() {
                            tracing::error!(error = %e, errors = n, "accept error");
                        }
                        tokio::time::sleep(ERROR_PAUSE).await;
                    }
                },
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An admitted socket; its permit returns to the budget when the socket is dropped.
pub struct GatedStream {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for GatedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Counts events and says when to log: the first one, then at most once per [`LOG_EVERY`]
/// with how many happened since.
#[derive(Default)]
struct RateLimitedLog {
    last: Option<Instant>,
    pending: u64,
}

impl RateLimitedLog {
    fn note(&mut self) -> Option<u64> {
        self.pending += 1;
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < LOG_EVERY) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_speaks_once_per_interval_and_counts_what_it_skipped() {
        let mut log = RateLimitedLog::default();
        assert_eq!(log.note(), Some(1));
        assert_eq!(log.note(), None);
        assert_eq!(log.note(), None);
        log.last = log.last.map(|t| t - LOG_EVERY);
        assert_eq!(log.note(), Some(3));
    }

    #[tokio::test]
    async fn beyond_the_budget_clients_read_a_503_and_held_sockets_stay() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let mut gated = GatedListener::new(tcp, 2);
        let a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(addr).await.unwrap();
        let (held_a, _) = gated.accept().await;
        let (_held_b, _) = gated.accept().await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let accept_more = tokio::time::timeout(Duration::from_millis(300), gated.accept());
        let reply = async {
            let mut text = String::new();
            c.read_to_string(&mut text).await.map(|_| text)
        };
        let (more, text) = tokio::join!(accept_more, reply);
        assert!(more.is_err(), "the third connection must not be admitted");
        assert!(text.unwrap().starts_with("HTTP/1.1 503"));
        // Closing a held socket frees its slot.
        drop(held_a);
        drop(a);
        let _d = TcpStream::connect(addr).await.unwrap();
        let admitted = tokio::time::timeout(Duration::from_secs(2), gated.accept()).await;
        assert!(admitted.is_ok(), "a freed slot admits the next connection");
        drop(b);
    }
}
