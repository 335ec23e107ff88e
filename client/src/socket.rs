//! One WebSocket that stays connected: it reconnects after every close or error with
//! exponential backoff and jitter, and pings while open so idle proxies keep it. It knows
//! nothing about the protocol beyond the ping text; the owner says what to send on open and
//! what to do with each text frame.
//!
//! Every browser socket gets a generation number. Callbacks of an older socket (a close
//! event arriving after we already replaced it) compare their generation and do nothing,
//! so exactly one socket is ever live and exactly one reconnect is ever scheduled.

use leptos::prelude::{
    set_interval_with_handle, set_timeout_with_handle, IntervalHandle, TimeoutHandle,
};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// First retry delay; doubled per failed attempt up to [`BACKOFF_MAX_MS`].
pub const BACKOFF_BASE_MS: u32 = 500;
pub const BACKOFF_MAX_MS: u32 = 15_000;
pub const PING_EVERY: Duration = Duration::from_secs(25);

/// Close codes after which retrying cannot help (see `protocol::close`): a refused origin or
/// abuse (1008), a revoked agent session (4003).
const NO_RETRY: [u16; 2] = [1008, 4003];

/// Delay before reconnect attempt `attempt` (0-based): the capped exponential base, of which
/// a random half is taken off so that many widgets cut by one relay restart do not all
/// return in the same instant. `random` is in `[0, 1)`.
pub fn backoff_ms(attempt: u32, random: f64) -> u32 {
    let base = BACKOFF_BASE_MS
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_MAX_MS);
    let jitter = (f64::from(base / 2) * random.clamp(0.0, 1.0)) as u32;
    base - base / 2 + jitter
}

pub struct Handlers {
    /// The socket opened: send the hello.
    pub on_open: Box<dyn Fn()>,
    pub on_text: Box<dyn Fn(String)>,
    /// The socket closed (with this close code); a reconnect is already scheduled unless the
    /// code forbids it or [`Socket::stop`] was called.
    pub on_down: Box<dyn Fn(u16)>,
}

#[derive(Clone)]
pub struct Socket(Rc<Shared>);

struct Shared {
    url: String,
    ping: String,
    handlers: Handlers,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    ws: Option<WebSocket>,
    generation: u32,
    attempt: u32,
    stopped: bool,
    ping: Option<IntervalHandle>,
    retry: Option<TimeoutHandle>,
    /// The JS callbacks of the live socket.
    callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
    /// Callbacks of detached sockets. A teardown often runs inside one of them (a close
    /// event, a frame that asks for a restart); dropping a closure while it runs throws, so
    /// they are dropped only once a new socket has opened.
    retired: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Socket {
    pub fn new(url: String, ping: String, handlers: Handlers) -> Self {
        Socket(Rc::new(Shared {
            url,
            ping,
            handlers,
            state: RefCell::new(State::default()),
        }))
    }

    pub fn start(&self) {
        self.0.state.borrow_mut().stopped = false;
        self.connect();
    }

    /// Sends a text frame if the socket is open; false when it is not (the caller keeps
    /// whatever must survive, e.g. in the outbox).
    pub fn send(&self, text: &str) -> bool {
        let state = self.0.state.borrow();
        match &state.ws {
            Some(ws) if ws.ready_state() == WebSocket::OPEN => ws.send_with_str(text).is_ok(),
            _ => false,
        }
    }

    /// Closes the socket and does not reconnect.
    pub fn stop(&self) {
        let mut state = self.0.state.borrow_mut();
        state.stopped = true;
        Self::teardown(&mut state);
    }

    /// Drops the current socket and connects again at once, e.g. to resume from scratch.
    pub fn restart(&self) {
        {
            let mut state = self.0.state.borrow_mut();
            state.stopped = false;
            state.attempt = 0;
            Self::teardown(&mut state);
        }
        self.connect();
    }

    fn teardown(state: &mut State) {
        state.generation = state.generation.wrapping_add(1);
        if let Some(t) = state.retry.take() {
            t.clear();
        }
        if let Some(p) = state.ping.take() {
            p.clear();
        }
        if let Some(ws) = state.ws.take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            ws.set_onerror(None);
            let _ = ws.close();
        }
        let old = std::mem::take(&mut state.callbacks);
        state.retired.extend(old);
    }

    fn connect(&self) {
        let generation = {
            let mut state = self.0.state.borrow_mut();
            if state.stopped {
                return;
            }
            Self::teardown(&mut state);
            state.generation
        };
        let ws = match WebSocket::new(&self.0.url) {
            Ok(ws) => ws,
            Err(_) => {
                self.schedule_retry();
                return;
            }
        };
        let weak = Rc::downgrade(&self.0);
        let on_open = callback(&weak, generation, |s, _| s.opened());
        let on_message = callback(&weak, generation, |s, e| {
            if let Some(text) = e.unchecked_into::<MessageEvent>().data().as_string() {
                (s.0.handlers.on_text)(text);
            }
        });
        let on_close = callback(&weak, generation, |s, e| {
            s.closed(e.unchecked_into::<CloseEvent>().code());
        });
        // A failed socket always fires `close` after `error`; reconnecting happens there.
        let on_error = Closure::<dyn FnMut(JsValue)>::new(|_| {});
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut state = self.0.state.borrow_mut();
        state.ws = Some(ws);
        state.callbacks = vec![on_open, on_message, on_close, on_error];
    }

    fn opened(&self) {
        {
            let mut state = self.0.state.borrow_mut();
            state.attempt = 0;
            state.retired.clear();
            let weak = Rc::downgrade(&self.0);
            state.ping = set_interval_with_handle(
                move || {
                    if let Some(s) = weak.upgrade() {
                        Socket(s.clone()).send(&s.ping);
                    }
                },
                PING_EVERY,
            )
            .ok();
        }
        (self.0.handlers.on_open)();
    }

    fn closed(&self, code: u16) {
        let retry = {
            let mut state = self.0.state.borrow_mut();
            Self::teardown(&mut state);
            !state.stopped && !NO_RETRY.contains(&code)
        };
        (self.0.handlers.on_down)(code);
        if retry {
            self.schedule_retry();
        }
    }

    fn schedule_retry(&self) {
        let mut state = self.0.state.borrow_mut();
        if state.stopped {
            return;
        }
        let delay = backoff_ms(state.attempt, js_sys::Math::random());
        state.attempt = state.attempt.saturating_add(1);
        let weak = Rc::downgrade(&self.0);
        state.retry = set_timeout_with_handle(
            move || {
                if let Some(s) = weak.upgrade() {
                    Socket(s).connect();
                }
            },
            Duration::from_millis(u64::from(delay)),
        )
        .ok();
    }
}

/// A JS callback that runs `f` only while its socket is still the live one.
fn callback(
    weak: &Weak<Shared>,
    generation: u32,
    f: impl Fn(&Socket, JsValue) + 'static,
) -> Closure<dyn FnMut(JsValue)> {
    let weak = weak.clone();
    Closure::new(move |e: JsValue| {
        let Some(shared) = weak.upgrade() else { return };
        if shared.state.borrow().generation != generation {
            return;
        }
        f(&Socket(shared), e);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_to_fifteen() {
        let upper: Vec<u32> = (0..8).map(|a| backoff_ms(a, 0.999_999)).collect();
        assert_eq!(
            upper,
            vec![499, 999, 1999, 3999, 7999, 14_999, 14_999, 14_999]
        );
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(100, 0.0), 7500);
        assert_eq!(backoff_ms(u32::MAX, 1.0), BACKOFF_MAX_MS);
    }
}
