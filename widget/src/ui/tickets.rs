//! "Your requests": the visitor's tickets (offline messages, converted chats) with the
//! team's public replies, and the 1–5 rating once a ticket is resolved.

use super::after::{Rating, Thanks};
use super::messages::{MessageRow, Row};
use super::tr;
use crate::app::use_widget;
use crate::i18n::{self, T};
use crate::model::{Line, Who};
use leptos::prelude::*;
use switchboard_shared::CustomerTicket;

#[component]
pub fn Tickets() -> impl IntoView {
    let w = use_widget();
    let tickets = Memo::new(move |_| w.chat.with(|c| c.tickets.clone()));
    // The whole list is redrawn when the relay sends a new one (a reply, a status, a
    // rating): rare, and far smaller in WebAssembly than a keyed list.
    move || {
        let list = tickets.get();
        (!list.is_empty()).then(|| {
            view! {
                <section class="sb-tickets" data-testid="sb-tickets">
                    <h2>{tr(T::YourRequests)}</h2>
                    {list.into_iter().map(|t| view! { <Ticket t=t/> }).collect_view()}
                </section>
            }
        })
    }
}

/// One ticket: subject, status in words, the team's replies (drawn like chat messages, so
/// no second set of row views in the WebAssembly), then its rating or the thanks for it.
#[component]
fn Ticket(t: CustomerTicket) -> impl IntoView {
    let w = use_widget();
    let status = t.status.clone();
    let team = || i18n::t(w.lang.get_untracked(), T::OurTeam).to_string();
    let rows = t.replies.into_iter().enumerate().map(move |(i, r)| Row {
        key: i as u32,
        line: Line::Text {
            who: Who::Agent(r.author.unwrap_or_else(team)),
            body: r.body,
        },
        at: Some(r.at),
        state: None,
    });
    let after = match (t.can_rate, t.rating) {
        (true, _) => view! { <Rating ticket=t.id/> }.into_any(),
        (false, Some(_)) => view! { <Thanks testid="sb-ticket-rated"/> }.into_any(),
        (false, None) => ().into_any(),
    };
    view! {
        <article class="sb-ticket" data-testid="sb-ticket" data-ticket=t.id.to_string() data-status=t.status>
            <p class="sb-ticket-head">
                <span>{t.subject}</span>
                <span class="sb-ticket-status" data-testid="sb-ticket-status">
                    {move || i18n::ticket_status(w.lang.get(), &status)}
                </span>
            </p>
            {rows.map(|row| view! { <MessageRow row=row/> }).collect_view()}
            {after}
        </article>
    }
}
