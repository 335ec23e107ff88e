//! The chat workspace: the live chats side by side (every composer in view), the ended chats
//! in a short list above them (open again, dismiss), and on narrow screens a row of tabs
//! with one chat shown at a time. Alt+1 … Alt+9 and Alt+← / Alt+→ switch between panes.

use super::{chat, t};
use crate::app::{use_app, App};
use leptos::prelude::*;
use switchboard_shared::ConversationId;

#[component]
pub fn Chats() -> impl IntoView {
    let app = use_app();
    let t = t();
    let panes = Memo::new(move |_| app.console.with(|c| c.pane_ids()));
    let ended = Memo::new(move |_| app.console.with(|c| c.ended_ids()));
    view! {
        <main class="cs-chats" data-testid="cs-chats">
            <Show when=move || app.console.with(|c| c.chats.is_empty())>
                <p class="cs-empty">{move || t().no_chats}</p>
            </Show>
            <Show when=move || ended.with(|e| !e.is_empty())>
                <EndedList ended=ended />
            </Show>
            <Show when=move || panes.with(|p| !p.is_empty())>
                <ChatTabs panes=panes />
            </Show>
            <div class="cs-panes" style:--cs-panes=move || panes.with(|p| p.len().max(1)).to_string()>
                <For each=move || panes.get() key=|id| *id let:id>
                    <chat::ChatPane id=id />
                </For>
            </div>
        </main>
    }
}

/// The ended chats, one short line each: who, how it ended, the transcript to open again,
/// and × to dismiss it.
#[component]
fn EndedList(ended: Memo<Vec<ConversationId>>) -> impl IntoView {
    let app = use_app();
    let t = t();
    view! {
        <section class="cs-ended-list" data-testid="cs-ended-strip" aria-label=move || t().ended_chats>
            <h2 class="cs-ended-title">{move || t().ended_chats}</h2>
            <ul>
                <For each=move || ended.get() key=|id| *id let:id>
                    {
                        let name = move || app.console.with(|c| {
                            c.chat(id).and_then(|c| c.view.visitor.name.clone())
                        }).unwrap_or_else(|| t().anonymous.to_owned());
                        let by_visitor = move || app.console.with(|c| {
                            c.chat(id).and_then(|c| c.ended_by_visitor()) == Some(true)
                        });
                        let open = move || app.console.with(|c| c.chat(id).is_some_and(|c| c.reopened));
                        view! {
                            <li class="cs-ended-chip" data-testid="cs-ended-chip" data-conversation-id=id.0>
                                <strong>{name}</strong>
                                <span class="cs-muted">
                                    {move || if by_visitor() { t().ended_by_visitor } else { t().ended_by_agent }}
                                </span>
                                <button type="button" data-testid="cs-ended-show" aria-pressed=move || open().to_string()
                                    on:click=move |_| app.reopen(id, !open())>
                                    {move || if open() { t().hide_transcript } else { t().show_transcript }}
                                </button>
                                <button type="button" class="cs-dismiss" data-testid="cs-ended-dismiss"
                                    title=move || t().close
                                    aria-label=move || format!("{}: {}", t().close, name())
                                    on:click=move |_| app.close(id)>"×"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}

/// One tab per pane; only shown on narrow screens (the stylesheet decides), where only the
/// selected chat's pane is.
#[component]
fn ChatTabs(panes: Memo<Vec<ConversationId>>) -> impl IntoView {
    let app = use_app();
    let t = t();
    view! {
        <nav class="cs-tabs" aria-label=move || t().chat_tabs>
            <div role="tablist">
                <For each=move || panes.get() key=|id| *id let:id>
                    {
                        let chat = move |f: fn(&crate::model::Chat) -> String| {
                            app.console.with(|c| c.chat(id).map(f)).unwrap_or_default()
                        };
                        let name = move || {
                            let n = chat(|c| c.view.visitor.name.clone().unwrap_or_default());
                            if n.is_empty() { t().anonymous.to_owned() } else { n }
                        };
                        let unread = move || app.console.with(|c| c.chat(id).map_or(0, |c| c.unread));
                        let ended = move || app.console.with(|c| c.chat(id).is_some_and(|c| c.ended));
                        let selected = move || app.shown() == Some(id);
                        view! {
                            <button type="button" role="tab" class="cs-tab" data-testid="cs-tab"
                                data-conversation-id=id.0 id=format!("cs-tab-{}", id.0)
                                aria-controls=format!("cs-pane-{}", id.0)
                                aria-selected=move || selected().to_string()
                                class:cs-ended=ended
                                on:click=move |_| app.activate(id)>
                                <span class="cs-tab-name">{name}</span>
                                <Show when=move || { unread() > 0 }>
                                    <span class="cs-unread">{unread}</span>
                                </Show>
                            </button>
                        }
                    }
                </For>
            </div>
        </nav>
    }
}

/// Alt+1 … Alt+9 focus the composer of the n-th pane; Alt+← / Alt+→ the previous / next one.
pub fn switch_chat(app: App, ev: &web_sys::KeyboardEvent) {
    if !ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
        return;
    }
    let ids = app.console.with_untracked(|c| c.pane_ids());
    if ids.is_empty() {
        return;
    }
    let current = app
        .active
        .get_untracked()
        .and_then(|a| ids.iter().position(|i| *i == a));
    let target = match ev.key().as_str() {
        "ArrowRight" => current.map_or(0, |i| (i + 1) % ids.len()),
        "ArrowLeft" => current.map_or(0, |i| (i + ids.len() - 1) % ids.len()),
        k => match k.parse::<usize>() {
            Ok(n @ 1..=9) if n <= ids.len() => n - 1,
            _ => return,
        },
    };
    ev.prevent_default();
    // Shown first (narrow screens show only the active pane), then focused.
    app.activate(ids[target]);
    let selector = format!(
        r#"[data-testid="cs-chat"][data-conversation-id="{}"] [data-testid="cs-input"]"#,
        ids[target].0
    );
    if let Ok(Some(el)) = crate::app::document().query_selector(&selector) {
        use wasm_bindgen::JsCast;
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}
