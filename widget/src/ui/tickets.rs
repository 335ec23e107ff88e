//! "Your requests": the visitor's tickets (offline messages, converted chats) with the
//! team's public replies, and the 1–5 rating once a ticket is resolved.

use super::after::Rating;
use super::messages::message_text;
use super::tr;
use crate::app::use_widget;
use crate::i18n::{self, T};
use leptos::prelude::*;
use switchboard_shared::CustomerTicket;
use wasm_bindgen::JsValue;

#[component]
pub fn Tickets() -> impl IntoView {
    let w = use_widget();
    let tickets = Memo::new(move |_| w.chat.with(|c| c.tickets.clone()));
    // Redrawn when the relay changes it (a reply, a status, the rating); a rating being
    // typed into another ticket stays.
    let key = |t: &CustomerTicket| {
        (
            t.id,
            t.replies.len(),
            t.status.clone(),
            t.rating,
            t.can_rate,
        )
    };
    view! {
        <Show when=move || tickets.with(|t| !t.is_empty())>
            <section class="sb-tickets" data-testid="sb-tickets">
                <h2>{tr(T::YourRequests)}</h2>
                <For each=move || tickets.get() key=key children=|t| view! { <Ticket t=t/> }/>
            </section>
        </Show>
    }
}

#[component]
fn Ticket(t: CustomerTicket) -> impl IntoView {
    let w = use_widget();
    let status = t.status.clone();
    let rated = t.rating.is_some();
    view! {
        <article class="sb-ticket" data-testid="sb-ticket" data-ticket=t.id data-status=t.status>
            <p class="sb-ticket-head">
                <span>{t.subject}</span>
                <span class="sb-ticket-status" data-testid="sb-ticket-status">
                    {move || i18n::ticket_status(w.lang.get(), &status)}
                </span>
            </p>
            {t.replies.into_iter().map(|r| view! {
                <div class="sb-msg sb-agent" data-testid="sb-ticket-reply">
                    <span class="sb-name">{r.author.unwrap_or_else(|| i18n::t(w.lang.get_untracked(), T::OurTeam).into())}</span>
                    <span class="sb-body">{message_text(&r.body)}</span>
                    <span class="sb-meta"><time>{day_time(r.at)}</time></span>
                </div>
            }).collect_view()}
            {t.can_rate.then(|| view! { <Rating ticket=t.id/> })}
            {rated.then(|| view! {
                <p class="sb-done" data-testid="sb-ticket-rated" role="status">{tr(T::Rated)}</p>
            })}
        </article>
    }
}

/// Local date and time of a relay timestamp, `YYYY-MM-DD HH:MM`: replies may be days old.
fn day_time(at: i64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(at as f64));
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}
