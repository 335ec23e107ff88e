//! The bar above the chats: who is logged in, presence, load "2 / 3", the queue, language,
//! admin view, logout.

use super::{clock, t};
use crate::app::{now, use_app};
use leptos::prelude::*;
use switchboard_shared::Presence;

#[component]
pub fn TopBar() -> impl IntoView {
    let app = use_app();
    let t = t();
    let load = move || {
        app.console.with(|c| {
            c.load
                .map(|l| format!("{} / {}", l.active, l.max))
                .unwrap_or_else(|| "–".into())
        })
    };
    let presence = move || app.console.with(|c| c.presence());
    let name = move || {
        app.session
            .with(|s| s.as_ref().map(|l| l.agent.name.clone()).unwrap_or_default())
    };
    view! {
        <header class="cs-top">
            <strong class="cs-me" data-testid="cs-me">{name}</strong>
            <Show when=move || !app.console.with(|c| c.connected)>
                <span class="cs-offline" data-testid="cs-connecting">{move || t().connecting}</span>
            </Show>
            <select data-testid="cs-presence" aria-label="presence"
                prop:value=move || if presence() == Presence::Away { "away" } else { "online" }
                on:change=move |ev| {
                    let p = if event_target_value(&ev) == "away" { Presence::Away } else { Presence::Online };
                    app.set_presence(p);
                }>
                <option value="online">{move || t().online}</option>
                <option value="away">{move || t().away}</option>
            </select>
            <span class="cs-load" data-testid="cs-load" title=move || t().chats>
                {load} " " {move || t().chats}
            </span>
            <Queue />
            <span class="cs-spacer"></span>
            <button type="button" data-testid="cs-tickets-toggle" class:cs-on=move || app.view.get() == "tickets"
                on:click=move |_| app.view.update(|v| *v = if *v == "tickets" { "chats" } else { "tickets" })>
                {move || if app.view.get() == "tickets" { t().chats } else { crate::tickets::i18n::texts(app.lang.get()).tickets }}
            </button>
            <Show when=move || app.is_admin()>
                <button type="button" data-testid="cs-reports-toggle" class:cs-on=move || app.view.get() == "reports"
                    on:click=move |_| app.view.update(|v| *v = if *v == "reports" { "chats" } else { "reports" })>
                    {move || if app.view.get() == "reports" { t().chats } else { crate::reports::i18n::texts(app.lang.get()).reports }}
                </button>
            </Show>
            <Show when=move || app.is_admin()>
                <button type="button" data-testid="cs-admin-toggle"
                    on:click=move |_| app.view.update(|v| *v = if *v == "admin" { "chats" } else { "admin" })>
                    {move || if app.view.get() == "admin" { t().chats } else { t().admin }}
                </button>
            </Show>
            <button type="button" class="cs-lang" data-testid="cs-lang"
                on:click=move |_| app.lang.update(|l| *l = l.other())>
                {move || app.lang.get().other().code().to_uppercase()}
            </button>
            <button type="button" data-testid="cs-logout" on:click=move |_| app.logout()>
                {move || t().logout}
            </button>
        </header>
    }
}

/// Waiting visitors, with how long each has waited (refreshed every few seconds).
#[component]
fn Queue() -> impl IntoView {
    let app = use_app();
    let t = t();
    let tick = RwSignal::new(now());
    let handle =
        set_interval_with_handle(move || tick.set(now()), std::time::Duration::from_secs(5)).ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    view! {
        <div class="cs-queue" data-testid="cs-queue"
            data-count=move || app.console.with(|c| c.queue_total)>
            <span>{move || t().queue} ": " {move || app.console.with(|c| c.queue_total)}</span>
            <ul>
                {move || {
                    let now = tick.get();
                    app.console.with(|c| c.queue.iter().map(|e| {
                        let secs = ((now - e.waiting_since) / 1000).max(0);
                        let who = e.visitor_name.clone().unwrap_or_else(|| t().anonymous.to_owned());
                        view! {
                            <li data-testid="cs-queue-entry" data-conversation-id=e.conversation_id.0>
                                {format!("{}. {who} – {} {}:{:02} ({})", e.position, t().waiting,
                                    secs / 60, secs % 60, clock(e.waiting_since))}
                            </li>
                        }
                    }).collect_view())
                }}
                {move || app.console.with(|c| {
                    let more = c.queue_total.saturating_sub(c.queue.len() as u32);
                    (more > 0).then(|| view! {
                        <li class="cs-queue-more" data-testid="cs-queue-more">
                            {format!("+{more} {}", t().queue_more)}
                        </li>
                    })
                })}
            </ul>
        </div>
    }
}
