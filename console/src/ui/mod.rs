//! The console's components. [`Root`] shows the login form or the workspace: a top bar
//! (presence, load, queue) above the chat panes, or the admin view.

mod admin;
mod chat;
mod chats;
mod convert;
mod login;
mod sites;
mod topbar;
mod transcript;

use crate::app::{use_app, App};
use crate::i18n::Texts;
use leptos::prelude::*;

/// The texts in the current language, reactive.
pub fn t() -> impl Fn() -> &'static Texts + Copy {
    let app = use_app();
    move || app.lang.get().t()
}

/// `HH:MM` of a relay timestamp, in the browser's time zone.
pub fn clock(at: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

#[component]
pub fn Root() -> impl IntoView {
    let app = App::new();
    provide_context(app);
    let _focus = window_event_listener(leptos::ev::focus, move |_| app.focused());
    let _keys = window_event_listener(leptos::ev::keydown, move |ev| chats::switch_chat(app, &ev));
    Effect::new(move |_| {
        crate::app::document()
            .document_element()
            .map(|e| e.set_attribute("lang", app.lang.get().code()));
    });
    view! {
        {move || match app.session.with(|s| s.is_some()) {
            false => login::LoginForm().into_any(),
            true => view! {
                <topbar::TopBar />
                <ErrorBanner />
                <TicketNotice />
                {move || match app.view.get() {
                    "admin" => admin::Admin().into_any(),
                    "tickets" => crate::tickets::Tickets().into_any(),
                    "reports" => crate::reports::Reports().into_any(),
                    _ => view! { <chats::Chats /> }.into_any(),
                }}
            }.into_any(),
        }}
    }
}

/// The last refusal from the relay, in the agent's language, until dismissed.
#[component]
fn ErrorBanner() -> impl IntoView {
    let app = use_app();
    let t = t();
    let text = move || {
        app.error.get().map(|code| match code.as_str() {
            "agent_full" => t().err_agent_full.to_owned(),
            "agent_unavailable" => t().err_agent_unavailable.to_owned(),
            other => format!("{}: {other}", t().err_generic),
        })
    };
    view! {
        <Show when=move || app.error.with(|e| e.is_some())>
            <div class="cs-error" role="alert" data-testid="cs-error" data-code=move || app.error.get()>
                <span>{text}</span>
                <button type="button" on:click=move |_| app.error.set(None)>"×"</button>
            </div>
        </Show>
    }
}

/// "Ticket #12 created" after a chat was converted, until dismissed.
#[component]
fn TicketNotice() -> impl IntoView {
    let app = use_app();
    let t = t();
    view! {
        {move || app.ticket_notice.get().map(|n| view! {
            <div class="cs-notice" role="status" data-testid="cs-ticket-notice" data-ticket-id=n>
                <span>{move || t().ticket_created} {format!(" #{n}")}</span>
                <button type="button" on:click=move |_| app.ticket_notice.set(None)>"×"</button>
            </div>
        })}
    }
}
