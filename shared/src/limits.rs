//! Every limit the relay enforces, in one place, so the docs, the relay and the clients
//! agree. `docs/PROTOCOL.md` lists the same numbers.

/// Largest WebSocket frame (and message) the relay accepts, in bytes. Larger frames close
/// the connection with close code 1009 (message too big) before they are buffered.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Longest chat message body, in characters (Unicode scalar values).
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Longest display name, e-mail or customer number, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

/// Longest page URL a visitor may report, in characters.
pub const MAX_URL_CHARS: usize = 2000;

/// Frames a single connection may send per second on average, and the burst above that.
pub const FRAMES_PER_SECOND: u32 = 20;
pub const FRAME_BURST: u32 = 40;

/// Frames all sockets of one agent may send per second together (the burst is twice that);
/// one visitor's sockets together share [`FRAMES_PER_SECOND`] and [`FRAME_BURST`].
pub const AGENT_FRAMES_PER_SECOND: u32 = 40;

/// Frames all visitors of one site may send per second together, by default (the burst is
/// twice that); `--site-frames-per-second` changes it, 0 turns it off.
pub const SITE_FRAMES_PER_SECOND: u32 = 5_000;

/// Failed logins one account may have at once before it must wait, and how many seconds it
/// then waits per further attempt.
pub const LOGIN_FAILURES_PER_ACCOUNT: u32 = 5;
pub const LOGIN_ACCOUNT_RECOVERY_SECS: u64 = 60;

/// Failed logins one client address may have at once, and its wait per further attempt.
pub const LOGIN_FAILURES_PER_ADDRESS: u32 = 20;
pub const LOGIN_ADDRESS_RECOVERY_SECS: u64 = 6;

/// A connection that keeps exceeding the frame rate this many times is closed (1008).
pub const RATE_STRIKES_BEFORE_CLOSE: u32 = 20;

/// New WebSocket connections one IP address may open per minute, and the burst above that.
pub const CONNECTIONS_PER_IP_PER_MINUTE: u32 = 600;
pub const CONNECTION_BURST_PER_IP: u32 = 200;

/// Typing indicators are forwarded at most once per this many milliseconds per side
/// (a `typing: false` is always forwarded).
pub const TYPING_THROTTLE_MS: u64 = 2000;

/// A client must send `hello` within this many milliseconds of connecting.
pub const HELLO_TIMEOUT_MS: u64 = 10_000;

/// Most events sent in one replay burst before the relay yields to live traffic.
pub const REPLAY_PAGE: u32 = 500;

/// Longest ticket search text (`GET /api/v1/tickets?q=`), in characters. Longer searches are
/// refused (422) before they reach the database.
pub const MAX_SEARCH_CHARS: usize = 200;
