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
//!
//! Within the budget, [`Admission`] keeps sockets that have not become WebSockets
//! ("unfinished": mid-handshake, plain HTTP, or silent) from crowding out the chats:
//! - each client address may hold at most `pending_per_ip` unfinished sockets, and all
//!   addresses together `pending_max`; beyond that new sockets get the 503 at once;
//! - visitor WebSockets may fill the budget only up to a reserve, which stays free for
//!   agents and for handshakes, so agents always get in;
//! - the HTTP server closes an unfinished socket that has not sent a complete request head
//!   within the header-read timeout (`server.rs`), idle keep-alive sockets included.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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

/// How the budget is shared out (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Unfinished sockets of one client address.
    pub pending_per_ip: usize,
    /// Unfinished sockets of all addresses together.
    pub pending_max: usize,
    /// Visitor WebSockets; the rest of the budget is for agents and handshakes.
    pub visitors_max: usize,
}

impl AdmissionLimits {
    /// The shares of `budget`: a twentieth (8 to 1,000) reserved beyond visitors, a quarter
    /// (8 to 5,000) for unfinished sockets, and of those at most `per_ip` (and at most a
    /// quarter) for one address.
    pub fn for_budget(budget: usize, per_ip: usize) -> Self {
        let reserve = (budget / 20).clamp(8, 1_000);
        let pending_max = (budget / 4).clamp(8, 5_000);
        AdmissionLimits {
            pending_per_ip: per_ip.min(pending_max / 4).max(2),
            pending_max,
            visitors_max: budget.saturating_sub(reserve).max(1),
        }
    }
}

/// Counts of sockets by what they have become; shared by the listener and every socket.
pub struct Admission {
    limits: AdmissionLimits,
    state: Mutex<AdmissionState>,
}

#[derive(Default)]
struct AdmissionState {
    pending: usize,
    pending_by_ip: HashMap<IpAddr, usize>,
    visitors: usize,
    /// Visitor upgrades refused because visitors hold their share.
    log: RateLimitedLog,
}

const PENDING: u8 = 0;
const VISITOR: u8 = 1;
const AGENT: u8 = 2;

/// What an upgrading socket becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    Visitor,
    Agent,
}

/// One admitted socket's place in the counts: unfinished until it upgrades; released when
/// the socket closes. Handlers find it in the request's extensions.
pub struct Place {
    admission: Arc<Admission>,
    ip: IpAddr,
    kind: AtomicU8,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Arc<Self> {
        tracing::info!(?limits, "connection shares");
        Arc::new(Admission {
            limits,
            state: Mutex::new(AdmissionState::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, AdmissionState> {
        // Every critical section leaves the counts consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new socket from `ip`, unless its address or all addresses together
    /// hold as many unfinished sockets as they may.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Arc<Place>> {
        let mut s = self.lock();
        if s.pending >= self.limits.pending_max {
            return None;
        }
        let mine = s.pending_by_ip.entry(ip).or_insert(0);
        if *mine >= self.limits.pending_per_ip {
            return None;
        }
        *mine += 1;
        s.pending += 1;
        drop(s);
        Some(Arc::new(Place {
            admission: self.clone(),
            ip,
            kind: AtomicU8::new(PENDING),
        }))
    }

    fn unpend(s: &mut AdmissionState, ip: IpAddr) {
        s.pending = s.pending.saturating_sub(1);
        if let Some(n) = s.pending_by_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.pending_by_ip.remove(&ip);
            }
        }
    }
}

impl Place {
    /// The socket is becoming a WebSocket. False when it is a visitor's and visitors hold
    /// their whole share (the caller answers 503); agents always get in.
    pub fn upgrade(&self, to: Upgrade) -> bool {
        let admission = &self.admission;
        let mut s = admission.lock();
        if self.kind.load(Ordering::Relaxed) != PENDING {
            return true; // one upgrade per socket; hyper allows no second
        }
        if to == Upgrade::Visitor && s.visitors >= admission.limits.visitors_max {
            if let Some(refused) = s.log.note() {
                tracing::warn!(
                    visitors = s.visitors,
                    refused,
                    "visitors hold their whole share of connections: refusing visitor \
                     WebSockets with 503 (the rest is kept for agents)"
                );
            }
            return false;
        }
        Admission::unpend(&mut s, self.ip);
        let kind = match to {
            Upgrade::Visitor => {
                s.visitors += 1;
                VISITOR
            }
            Upgrade::Agent => AGENT,
        };
        self.kind.store(kind, Ordering::Relaxed);
        true
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut s = self.admission.lock();
        match self.kind.load(Ordering::Relaxed) {
            PENDING => Admission::unpend(&mut s, self.ip),
            VISITOR => s.visitors = s.visitors.saturating_sub(1),
            _ => {}
        }
    }
}

/// A TCP listener that admits at most `budget` connections at a time (see module docs).
pub struct GatedListener {
    inner: TcpListener,
    admission: Arc<Admission>,
    permits: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    budget: usize,
    spare: Option<File>,
    log: RateLimitedLog,
}

impl GatedListener {
    pub fn new(inner: TcpListener, budget: usize, pending_per_ip: usize) -> Self {
        tracing::info!(budget, "connection budget (open-file limit minus reserve)");
        Self {
            inner,
            admission: Admission::new(AdmissionLimits::for_budget(budget, pending_per_ip)),
            permits: Arc::new(Semaphore::new(budget)),
            refusing: Arc::new(Semaphore::new(MAX_REFUSING)),
            budget,
            spare: File::open("/dev/null").ok(),
            log: RateLimitedLog::default(),
        }
    }

    fn refuse(&mut self, stream: TcpStream, addr: SocketAddr, why: &'static str) {
        if let Some(n) = self.log.note() {
            tracing::warn!(
                budget = self.budget,
                refused = n,
                last_peer = %addr,
                "{why}: refusing new connections with 503"
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

impl GatedListener {
    /// The next admitted socket; refusals and accept errors are handled inside.
    pub async fn accept(&mut self) -> (GatedStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                        self.refuse(stream, addr, "at the connection limit");
                        continue;
                    };
                    let Some(place) = self.admission.admit(addr.ip()) else {
                        drop(permit);
                        self.refuse(stream, addr, "too many unfinished connections");
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    return (
                        GatedStream {
                            inner: stream,
                            place,
                            _permit: permit,
                        },
                        addr,
                    );
                }
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

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An admitted socket; its permit returns to the budget and its place to the shares when
/// the socket is dropped.
pub struct GatedStream {
    inner: TcpStream,
    place: Arc<Place>,
    _permit: OwnedSemaphorePermit,
}

impl GatedStream {
    /// This socket's place in the shares (the HTTP server hands it to handlers).
    pub fn place(&self) -> Arc<Place> {
        self.place.clone()
    }
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

    #[test]
    fn one_address_holds_only_its_share_of_unfinished_sockets_and_visitors_leave_a_reserve() {
        let admission = Admission::new(AdmissionLimits {
            pending_per_ip: 2,
            pending_max: 3,
            visitors_max: 1,
        });
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let c: IpAddr = [10, 0, 0, 3].into();
        let a1 = admission.admit(a).unwrap();
        let a2 = admission.admit(a).unwrap();
        assert!(admission.admit(a).is_none(), "a's share is full");
        let b1 = admission.admit(b).unwrap();
        assert!(
            admission.admit(c).is_none(),
            "all unfinished places are taken"
        );
        // An upgrade frees the unfinished place; visitors stop at their share, agents don't.
        assert!(a1.upgrade(Upgrade::Visitor));
        assert!(
            !a2.upgrade(Upgrade::Visitor),
            "visitors hold their whole share"
        );
        assert!(a2.upgrade(Upgrade::Agent));
        assert!(admission.admit(c).is_some());
        drop(a1);
        assert!(
            b1.upgrade(Upgrade::Visitor),
            "a closed visitor frees its place"
        );
        let s = admission.lock();
        assert_eq!((s.pending, s.visitors), (0, 1));
        assert!(s.pending_by_ip.is_empty());
    }

    #[tokio::test]
    async fn beyond_the_budget_clients_read_a_503_and_held_sockets_stay() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let mut gated = GatedListener::new(tcp, 2, 64);
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
