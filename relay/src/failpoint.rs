//! Crash points for the crash tests: with `SWITCHBOARD_CRASH_AT=<name>` in its environment,
//! the relay aborts (like `kill -9`: no cleanup, nothing flushed) the first time it passes
//! the point of that name. Unset (always, outside those tests), a point costs one load of
//! a cached value.
//!
//! Points: `chat_ended` (an `ended` event is committed; nothing has reacted to it yet),
//! `ticket_created` (a chat's ticket is stored; its `ticket.created` webhook is not).

use std::sync::OnceLock;

/// The environment variable that names the point to crash at.
pub const ENV: &str = "SWITCHBOARD_CRASH_AT";

pub fn hit(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var(ENV).ok().filter(|v| !v.is_empty()));
    if at.as_deref() == Some(name) {
        eprintln!("crash point {name}: aborting");
        std::process::abort();
    }
}
