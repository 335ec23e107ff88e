//! The browser side of the protocol: nothing here knows about the widget's UI.
//!
//! - [`socket`]: one WebSocket that reconnects with backoff and pings while open; it lives
//!   in the `switchboard-client` crate, shared with the agent console.
//! - [`decode`]: relay frames for a visitor, without serde's tagged-enum machinery.
//! - [`encode`]: the frames the widget sends, without serde.
//! - [`outbox`]: messages not yet confirmed by `sent`, serialisable for `localStorage`.
//! - [`store`]: per-site `localStorage` keys that fall back to memory (private mode).

pub mod decode;
pub mod encode;
pub mod outbox;
pub use switchboard_client::socket;
pub mod store;

/// A fresh message id: 128 random bits as 32 hex digits. `Math.random` is not a CSPRNG, but
/// the id only has to be unique per conversation and side, not secret.
pub fn new_client_id() -> switchboard_shared::ClientMsgId {
    let mut s = String::with_capacity(34);
    s.push_str("w-");
    for _ in 0..4 {
        let part = (js_sys::Math::random() * 4_294_967_296.0) as u32;
        s.push_str(&format!("{part:08x}"));
    }
    // 34 printable ASCII characters always pass the id rules; the fallback is unreachable.
    switchboard_shared::ClientMsgId::try_from(s)
        .unwrap_or_else(|_| unreachable!("hex ids are valid client ids"))
}
