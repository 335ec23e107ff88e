//! One chat pane: the visitor in the header, details and internal notes, the transcript,
//! the typing marker and the composer; transfer, convert and end (undoable for a few
//! seconds).

use super::{clock, t};
use crate::api::{self, AgentRow, Earlier, Note};
use crate::app::{now, use_app};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard_shared::{ConversationId, Presence};

/// `typing: true` at most this often (the relay throttles to the same rate).
const TYPING_EVERY_MS: i64 = 2_000;

#[component]
pub fn ChatPane(id: ConversationId) -> impl IntoView {
    let app = use_app();
    let t = t();
    let ended = move || app.console.with(|c| c.chat(id).is_some_and(|c| c.ended));
    let unread = move || app.console.with(|c| c.chat(id).map_or(0, |c| c.unread));
    let visitor = move |f: fn(&switchboard_shared::VisitorInfo) -> Option<String>| {
        app.console
            .with(|c| c.chat(id).and_then(|c| f(&c.view.visitor)))
    };
    let name = move || visitor(|v| v.name.clone()).unwrap_or_else(|| t().anonymous.to_owned());
    let show_transfer = RwSignal::new(false);
    let show_convert = RwSignal::new(false);
    let ending = move || app.ending.with(|e| e.contains_key(&id));
    view! {
        <section class="cs-chat" data-testid="cs-chat" data-conversation-id=id.0
            id=format!("cs-pane-{}", id.0)
            class:cs-active=move || app.active.get() == Some(id)
            class:cs-shown=move || app.shown() == Some(id)
            class:cs-ended=ended
            on:focusin=move |_| app.activate(id)
            on:click=move |_| app.activate(id)>
            <header class="cs-chat-head">
                <div class="cs-name-row">
                    <strong data-testid="cs-visitor-name" title=name>{name}</strong>
                    <Show when=move || { unread() > 0 }>
                        <span class="cs-unread" data-testid="cs-unread">{unread}</span>
                    </Show>
                </div>
                <div class="cs-actions">
                    <Show when=move || !ended()>
                        <button type="button" data-testid="cs-transfer"
                            aria-expanded=move || show_transfer.get().to_string()
                            on:click=move |_| show_transfer.update(|s| *s = !*s)>
                            {move || t().transfer}
                        </button>
                        <button type="button" data-testid="cs-convert" title=move || t().convert
                            aria-expanded=move || show_convert.get().to_string()
                            on:click=move |_| show_convert.update(|s| *s = !*s)>
                            {move || t().convert_short}
                        </button>
                        <Show when=move || !ending()>
                            <button type="button" class="cs-danger" data-testid="cs-end" title=move || t().end
                                on:click=move |_| app.end(id)>{move || t().end_short}</button>
                        </Show>
                    </Show>
                    <Show when=ended>
                        <button type="button" data-testid="cs-collapse" on:click=move |_| app.reopen(id, false)>
                            {move || t().hide_transcript}
                        </button>
                        <button type="button" data-testid="cs-close" on:click=move |_| app.close(id)>
                            {move || t().close}
                        </button>
                    </Show>
                </div>
                <div class="cs-who">
                    <small data-testid="cs-visitor-meta">
                        {move || {
                            let mut parts = Vec::new();
                            if let Some(e) = visitor(|v| v.email.clone()) { parts.push(e); }
                            if let Some(n) = visitor(|v| v.customer_number.clone()) {
                                parts.push(format!("{} {n}", t().customer_number));
                            }
                            if let Some(l) = visitor(|v| v.locale.clone()) { parts.push(l); }
                            let since = app.console.with(|c| c.chat(id).map(|c| c.view.created_at));
                            if let Some(at) = since { parts.push(format!("{} {}", t().arrived, clock(at))); }
                            parts.push(format!("#{}", id.0));
                            parts.join(" · ")
                        }}
                    </small>
                    {move || visitor(|v| v.page_url.clone()).map(|p| {
                        let title = p.clone();
                        view! {
                            <small class="cs-page" data-testid="cs-visitor-page" title=title>{t().page} ": " {p}</small>
                        }
                    })}
                    {move || visitor(|v| v.browser.clone()).map(|ua| {
                        let shown = crate::useragent::summary(&ua).unwrap_or_else(|| ua.clone());
                        let since = app.console.with(|c| c.chat(id).map_or(0, |c| c.view.created_at));
                        view! {
                            <small class="cs-browser" data-testid="cs-visitor-browser" title=ua>
                                {t().browser} ": " {shown} " · " {t().arrived} " " {date(since)}
                            </small>
                        }
                    })}
                </div>
            </header>
            <Show when=move || show_transfer.get() && !ended()>
                <Transfer id=id done=show_transfer />
            </Show>
            <Show when=move || show_convert.get() && !ended()>
                <super::convert::ConvertTicket id=id open=show_convert />
            </Show>
            <Details id=id />
            <super::transcript::Transcript id=id />
            <Show when=move || app.console.with(|c| c.chat(id).is_some_and(|c| c.visitor_typing))>
                <p class="cs-typing" data-testid="cs-typing">{move || t().typing}</p>
            </Show>
            <Show when=move || ending() && !ended()>
                <EndingNote id=id />
            </Show>
            <Show when=move || !ended()>
                <Composer id=id />
            </Show>
        </section>
    }
}

/// "Ending this chat (4 s)": undo, or end at once. Takes the focus from the end button it
/// replaces, so a keyboard user can undo with Enter.
#[component]
fn EndingNote(id: ConversationId) -> impl IntoView {
    let app = use_app();
    let t = t();
    let tick = RwSignal::new(now());
    let timer = set_interval_with_handle(
        move || tick.set(now()),
        std::time::Duration::from_millis(250),
    )
    .ok();
    on_cleanup(move || {
        if let Some(timer) = timer {
            timer.clear();
        }
    });
    let left = move || {
        let at = app.ending.with(|e| e.get(&id).copied()).unwrap_or(0);
        ((at - tick.get()).max(0) + 999) / 1000
    };
    let undo = NodeRef::<html::Button>::new();
    undo.on_load(|el| {
        let _ = el.focus();
    });
    view! {
        <div class="cs-ending" data-testid="cs-ending">
            <span role="status">{move || t().ending}</span>
            <span class="cs-countdown" aria-hidden="true">{move || format!("({} s)", left())}</span>
            <button type="button" data-testid="cs-undo-end" node_ref=undo
                on:click=move |_| app.undo_end(id)>{move || t().undo}</button>
            <button type="button" class="cs-danger" data-testid="cs-end-now"
                on:click=move |_| app.end_now(id)>{move || t().end_now}</button>
        </div>
    }
}

#[component]
fn Composer(id: ConversationId) -> impl IntoView {
    let app = use_app();
    let t = t();
    let text = RwSignal::new(String::new());
    let last_typing = StoredValue::new(0i64);
    let submit = move || {
        let body = text.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        let body = expand(&app.canned.get_untracked(), body.trim_end()).unwrap_or(body);
        app.send_message(id, body);
        text.set(String::new());
        last_typing.set_value(0);
    };
    let on_input = move |ev: leptos::ev::Event| {
        let mut value = event_target_value(&ev);
        // "/shortcut " (with the space) becomes the canned body at once.
        if let Some(stripped) = value.strip_suffix(' ') {
            if let Some(body) = expand(&app.canned.get_untracked(), stripped) {
                value = body;
            }
        }
        text.set(value);
        let now = now();
        if now - last_typing.get_value() >= TYPING_EVERY_MS {
            last_typing.set_value(now);
            app.typing(id, true);
        }
    };
    view! {
        <form class="cs-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <textarea data-testid="cs-input" rows="2" placeholder=move || t().placeholder
                prop:value=move || text.get()
                on:input=on_input
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
                on:blur=move |_| {
                    if last_typing.get_value() != 0 {
                        last_typing.set_value(0);
                        app.typing(id, false);
                    }
                }></textarea>
            <button type="submit" data-testid="cs-send">{move || t().send}</button>
        </form>
    }
}

/// The canned body for a text that is exactly `/shortcut` (case-insensitive).
fn expand(canned: &[api::Canned], text: &str) -> Option<String> {
    let sc = text.strip_prefix('/')?;
    canned
        .iter()
        .find(|c| c.shortcut.eq_ignore_ascii_case(sc))
        .map(|c| c.body.clone())
}

/// The other agents with their load; a click asks the relay to move the chat.
#[component]
fn Transfer(id: ConversationId, done: RwSignal<bool>) -> impl IntoView {
    let app = use_app();
    let t = t();
    let agents = RwSignal::new(Vec::<AgentRow>::new());
    if let Some(token) = app.token() {
        let me = app
            .console
            .with_untracked(|c| c.me.as_ref().map(|a| a.id.0));
        spawn_local(async move {
            if let Ok(list) = api::agents(&token).await {
                agents.set(
                    list.into_iter()
                        .filter(|a| Some(a.id) != me && !a.disabled)
                        .collect(),
                );
            }
        });
    }
    view! {
        <div class="cs-transfer" data-testid="cs-transfer-list">
            <span>{move || t().transfer_to}</span>
            {move || agents.get().into_iter().map(|a| {
                let full = a.active >= a.max;
                let label = format!("{} ({} / {}, {})", a.name, a.active, a.max,
                    if a.presence == Presence::Online { t().online } else { t().away });
                view! {
                    <button type="button" data-testid="cs-transfer-target" data-agent-id=a.id
                        data-agent-name=a.name.clone() class:cs-full=full
                        on:click=move |_| { app.transfer(id, a.id); done.set(false); }>
                        {label}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

/// Visitor details from the REST API: earlier conversations and the internal notes.
#[component]
fn Details(id: ConversationId) -> impl IntoView {
    let app = use_app();
    let t = t();
    let notes = RwSignal::new(Vec::<Note>::new());
    let earlier = RwSignal::new(Vec::<Earlier>::new());
    let draft = RwSignal::new(String::new());
    let reload = move || {
        let Some(token) = app.token() else { return };
        spawn_local(async move {
            if let Ok(d) = api::details(&token, id.0).await {
                notes.set(d.notes);
                earlier.set(d.earlier);
            }
        });
    };
    reload();
    let add = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        let Some(token) = app.token() else { return };
        spawn_local(async move {
            if api::add_note(&token, id.0, &body).await.is_ok() {
                draft.set(String::new());
                reload();
            }
        });
    };
    view! {
        <details class="cs-details" data-testid="cs-details">
            <summary>
                {move || t().notes} " (" {move || notes.with(|n| n.len())} ") · "
                {move || t().earlier} " (" {move || earlier.with(|e| e.len())} ")"
            </summary>
            <ul class="cs-earlier" data-testid="cs-earlier">
                {move || earlier.get().into_iter().map(|e| view! {
                    <li>{format!("#{} · {} · {}", e.id, e.status, date(e.created_at))}</li>
                }).collect_view()}
            </ul>
            <ul class="cs-notes" data-testid="cs-notes">
                {move || notes.get().into_iter().map(|n| view! {
                    <li data-testid="cs-note">{clock(n.created_at)} " " {n.body}</li>
                }).collect_view()}
            </ul>
            <form on:submit=move |ev| { ev.prevent_default(); add(); }>
                <input data-testid="cs-note-input" prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev)) />
                <button type="submit" data-testid="cs-note-add">{move || t().add_note}</button>
            </form>
        </details>
    }
}

fn date(at: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    format!(
        "{:02}.{:02}.{} {}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        clock(at)
    )
}
