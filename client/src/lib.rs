//! # Switchboard browser client
//!
//! The browser side of the protocol that the visitor widget and the agent console share.
//! It knows no UI and no frame types, so it costs the widget nothing it did not have.
//!
//! ## Layout
//! - [`socket`]: one WebSocket that reconnects with backoff and jitter and pings while open.
//!
//! The widget's outbox and storage stay in `widget/src/client/` for now: they serialise
//! with the widget's hand-written JSON (its size budget), which the console does not need.

pub mod socket;
