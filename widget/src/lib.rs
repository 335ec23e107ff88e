//! # Switchboard visitor widget
//!
//! The chat panel a website's visitors see. The plain-JS loader (`widget.js`) draws the
//! launcher button, loads this WebAssembly module on intent and calls [`mount`] with an
//! empty element inside its shadow root; everything inside the panel is ours.
//!
//! ## Layout
//! - [`config`]: the loader's config JSON (site, relay URL, language, accent, position).
//! - [`client`]: the browser side of the protocol: reconnecting socket, outbox, storage.
//!   Knows nothing of the UI, so the agent console can share it.
//! - [`model`]: the chat as a plain struct; applies frames and actions, unit-tested.
//! - [`app`]: the controller gluing socket, storage, model and the loader's `emit`.
//! - [`ui`]: the Leptos components, named after what the visitor sees.
//! - [`i18n`]: every text in German and English; [`linkify`]: links in message text.

pub mod app;
pub mod client;
pub mod config;
pub mod i18n;
pub mod json;
pub mod linkify;
pub mod model;
pub mod ui;

use app::Ctl;
use config::Config;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// What the loader holds after [`mount`]: the panel's remote control.
#[wasm_bindgen]
pub struct WidgetHandle {
    ctl: Option<Rc<Ctl>>,
}

/// Mounts the panel into `host` and connects to the relay. A bad `config` logs an error
/// and returns an inert handle rather than throwing into the host page.
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, config: String, emit: js_sys::Function) -> WidgetHandle {
    let config = match Config::parse(&config) {
        Ok(c) => c,
        Err(e) => {
            web_sys::console::error_1(&format!("switchboard: bad config: {e}").into());
            return WidgetHandle { ctl: None };
        }
    };
    let Some(url) = config.ws_url() else {
        web_sys::console::error_1(&"switchboard: config.relay must be an http(s) URL".into());
        return WidgetHandle { ctl: None };
    };
    let open = config.open;
    let ctl = Ctl::new(host.clone(), config, emit);
    let widget = ctl.widget();
    leptos::mount::mount_to(host, move || ui::panel(widget)).forget();
    ctl.start(url);
    ctl.emit("ready", &JsValue::UNDEFINED);
    if open {
        ctl.emit("open", &JsValue::UNDEFINED);
        ctl.focus_first_input();
    }
    WidgetHandle { ctl: Some(ctl) }
}

#[wasm_bindgen]
impl WidgetHandle {
    pub fn open(&self) {
        if let Some(c) = &self.ctl {
            c.open();
        }
    }

    pub fn close(&self) {
        if let Some(c) = &self.ctl {
            c.close();
        }
    }

    pub fn toggle(&self) {
        if let Some(c) = &self.ctl {
            c.toggle();
        }
    }

    pub fn identify(&self, json: String) {
        if let Some(c) = &self.ctl {
            c.identify(&json);
        }
    }

    pub fn set_locale(&self, locale: String) {
        if let Some(c) = &self.ctl {
            c.set_locale(&locale);
        }
    }

    pub fn reset(&self) {
        if let Some(c) = &self.ctl {
            c.reset();
        }
    }
}
