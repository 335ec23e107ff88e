//! The panel and its parts. Each component reads only the slice of the model it shows
//! (through a `Memo`), so a typing indicator does not redraw the message list.
//!
//! - [`Panel`]: the dialog; [`Header`]: team, status, end and close buttons.
//! - [`messages`]: the message list, its rows and the typing indicator.
//! - [`composer`]: the text box. [`forms`]: pre-chat and offline forms.
//! - [`after`]: rating and "new chat" once the chat has ended.
//! - [`tickets`]: "your requests", the team's replies and their rating.

mod after;
mod composer;
mod forms;
mod messages;
mod tickets;

use crate::app::{use_widget, Widget};
use crate::i18n::{self, t, T};
use crate::model::{Chat, ConnState, QueueInfo, Screen};
use leptos::prelude::*;

/// The root view handed to `mount_to`.
pub fn panel(w: Widget) -> impl IntoView {
    provide_context(w);
    view! { <Panel/> }
}

#[component]
fn Panel() -> impl IntoView {
    let w = use_widget();
    // Accent and corner are the loader's (see widget.css): it applies data-*, else the
    // site's settings from our `look` event.
    let open = Memo::new(move |_| w.chat.with(|c| c.open));
    let hidden = Memo::new(move |_| w.chat.with(Chat::hidden));
    let screen = Memo::new(move |_| w.chat.with(Chat::screen));
    // When what the panel shows changes while it is open (the first welcome turns
    // "connecting" into the pre-chat form), move focus to its first field.
    Effect::new(move |prev: Option<Screen>| {
        let now = screen.get();
        if prev.is_some_and(|p| p != now) && open.get_untracked() {
            w.ctl().focus_first_input();
        }
        now
    });
    let on_key = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.stop_propagation();
            w.ctl().close();
        }
    };
    view! {
        <div
            class="sb-panel"
            data-testid="sb-panel"
            role="dialog"
            aria-label=tr(T::PanelLabel)
            lang=move || w.lang.get().code()
            hidden=move || !open.get() || hidden.get()
            on:keydown=on_key
        >
            <Header/>
            <ConnNotice/>
            <tickets::Tickets/>
            <messages::MessageList/>
            <messages::TypingIndicator/>
            <ErrorNotice/>
            {move || match screen.get() {
                Screen::Connecting => ().into_any(),
                Screen::Prechat => view! { <forms::PrechatForm/> }.into_any(),
                Screen::Offline => view! { <forms::OfflineForm/> }.into_any(),
                Screen::OfflineDone => view! { <forms::OfflineDone/> }.into_any(),
                Screen::Chat => view! { <forms::QueueOffer/><composer::Composer/> }.into_any(),
                Screen::Ended => view! { <after::AfterChat/> }.into_any(),
            }}
        </div>
    }
}

/// What the line under the team name says.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Agent(String),
    Queue(QueueInfo),
    Online(u32),
}

impl Status {
    fn of(c: &Chat) -> Status {
        if let Some(name) = c.agent_name() {
            Status::Agent(name.to_string())
        } else if let Some(q) = c.queue_info() {
            Status::Queue(q)
        } else {
            Status::Online(c.agents_online)
        }
    }
}

#[component]
fn Header() -> impl IntoView {
    let w = use_widget();
    let team = Memo::new(move |_| w.chat.with(|c| c.site.name.clone()));
    let status = Memo::new(move |_| w.chat.with(Status::of));
    let can_end = Memo::new(move |_| w.chat.with(|c| c.conversation_open() && c.welcomed));
    let status_view = move || {
        let lang = w.lang.get();
        match status.get() {
            Status::Agent(name) => {
                view! { <span data-testid="sb-agent-name">{name}</span> }.into_any()
            }
            Status::Queue(q) => view! {
                <span data-testid="sb-queue">{i18n::queue(lang, q.position, q.wait_secs)}</span>
            }
            .into_any(),
            Status::Online(n) => i18n::agents_online(lang, n).into_any(),
        }
    };
    view! {
        <header class="sb-header" data-testid="sb-header">
            <div class="sb-title">
                <span class="sb-team" data-testid="sb-team">
                    {move || {
                        let name = team.get();
                        if name.is_empty() { t(w.lang.get(), T::PanelLabel).to_string() } else { name }
                    }}
                </span>
                <span
                    class="sb-status"
                    class:sb-online=move || status.with(|s| !matches!(s, Status::Online(0)))
                    data-testid="sb-status"
                >
                    {status_view}
                </span>
            </div>
            <Show when=move || can_end.get()>
                <button
                    type="button"
                    class="sb-end"
                    data-testid="sb-end"
                    on:click=move |_| w.ctl().end_chat()
                >
                    {tr(T::EndChat)}
                </button>
            </Show>
            <button
                type="button"
                class="sb-close"
                data-testid="sb-close"
                aria-label=tr(T::Close)
                title=tr(T::Close)
                on:click=move |_| w.ctl().close()
            >
                <span aria-hidden="true">"×"</span>
            </button>
        </header>
    }
}

/// "Connecting…" (then "not reachable, try again later") or "Reconnecting…" while the
/// socket is down.
#[component]
fn ConnNotice() -> impl IntoView {
    let w = use_widget();
    let conn = Memo::new(move |_| w.chat.with(|c| c.conn));
    let unreachable = Memo::new(move |_| w.chat.with(|c| c.unreachable));
    let text = move || {
        let key = match conn.get() {
            ConnState::Online => return None,
            ConnState::Connecting if unreachable.get() => T::Unreachable,
            ConnState::Connecting => T::Connecting,
            ConnState::Reconnecting => T::Reconnecting,
            ConnState::Failed => T::Unavailable,
        };
        Some(t(w.lang.get(), key))
    };
    view! {
        <Show when=move || conn.get() != ConnState::Online>
            <div class="sb-conn" data-testid="sb-conn" role="status">{text}</div>
        </Show>
    }
}

/// The last error the visitor can act on.
#[component]
fn ErrorNotice() -> impl IntoView {
    let w = use_widget();
    let code = Memo::new(move |_| w.chat.with(Chat::error_code));
    let text = move || code.get().and_then(|c| i18n::error(w.lang.get(), c));
    view! {
        <Show when=move || text().is_some()>
            <div class="sb-error" data-testid="sb-error" role="alert">{text}</div>
        </Show>
    }
}

/// A fixed text that follows the language. Every call returns the same closure type, so
/// the reactive-text view code is compiled once instead of once per place (WASM size).
pub fn tr(key: T) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let lang = use_widget().lang;
    move || t(lang.get(), key)
}
