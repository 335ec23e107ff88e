//! # Switchboard agent console
//!
//! The page agents work in, served by the relay at `/console`: log in, set presence, see
//! the queue and their load, and work several chats side by side.
//!
//! ## Layout
//! - the reconnecting WebSocket comes from `switchboard-client`, shared with the widget.
//! - [`model`]: the console as plain structs; folds server frames, unit-tested.
//! - [`api`]: the REST calls (login, agents, details, notes, canned responses).
//! - [`app`]: the controller gluing socket, outbox, model and REST.
//! - [`ui`]: the Leptos components, named after what the agent sees.
//! - [`i18n`]: every text in German and English.
//! - [`tickets`]: the ticket list and a ticket's detail (issue 5), with their own texts.
//! - [`reports`]: the admins' KPI dashboard (issue 5), with their own texts.
//! - [`useragent`]: "Chrome 156 on Linux" from a visitor's User-Agent.
//! - [`linkify`]: web links in message text; the widget's own module, compiled here too.

pub mod api;
pub mod app;
pub mod i18n;
// One tokenizer for links in both browser parts: the widget's file (plain `std`, no crate
// paths), compiled into the console as well. If it moves to `switchboard-client`, this
// becomes a `use`.
#[path = "../../widget/src/linkify.rs"]
pub mod linkify;
pub mod model;
pub mod reports;
pub mod tickets;
pub mod ui;
pub mod useragent;

use wasm_bindgen::prelude::*;

/// Mounts the console into `<body>`; index.html calls it after loading the module.
#[wasm_bindgen]
pub fn start() {
    leptos::mount::mount_to_body(ui::Root);
}
