//! Placeholder mount point; the widget UI is being written. Exists so the build pipeline can
//! be developed against a real Leptos crate.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement) {
    leptos::mount::mount_to(host, || view! { <p>"Switchboard"</p> }).forget();
}
