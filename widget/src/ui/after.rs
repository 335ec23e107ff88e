//! After the end: the rating (1–5 stars and a comment), its thank-you, and "new chat".
//! The same rating form asks about a resolved ticket.

use super::tr;
use crate::app::use_widget;
use crate::i18n::{self, T};
use leptos::prelude::*;

#[component]
pub fn AfterChat() -> impl IntoView {
    let w = use_widget();
    let rated = Memo::new(move |_| w.chat.with(|c| c.rated));
    view! {
        <div class="sb-after">
            <Show
                when=move || rated.get()
                fallback=|| view! { <Rating/> }
            >
                <Thanks testid="sb-rated"/>
            </Show>
            <NewChatButton/>
        </div>
    }
}

/// Rates the chat, or with `ticket` that ticket.
#[component]
pub fn Rating(#[prop(optional, into)] ticket: Option<i64>) -> impl IntoView {
    let w = use_widget();
    let score = RwSignal::new(0u8);
    let comment = RwSignal::new(String::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let s = score.get_untracked();
        let c = comment.get_untracked();
        match ticket {
            _ if s == 0 => {}
            Some(id) => w.ctl().rate_ticket(id, s, &c),
            None => w.ctl().rate(s, &c),
        }
    };
    let testid = if ticket.is_some() {
        "sb-ticket-rating"
    } else {
        "sb-rating"
    };
    view! {
        <form class="sb-form sb-rating" data-testid=testid on:submit=on_submit>
            <fieldset class="sb-stars">
                <legend>{tr(T::RateQuestion)}</legend>
                {(1..=5u8).map(|n| view! { <Star n=n score=score/> }).collect_view()}
            </fieldset>
            <label class="sb-field">
                <span class="sb-label">{tr(T::RateComment)}</span>
                <textarea
                    data-testid="sb-rate-comment"
                    rows="2"
                    prop:value=move || comment.get()
                    on:input=move |ev| comment.set(event_target_value(&ev))
                ></textarea>
            </label>
            <button
                type="submit"
                class="sb-primary"
                data-testid="sb-rate-submit"
                disabled=move || score.get() == 0
            >
                {tr(T::RateSubmit)}
            </button>
        </form>
    }
}

/// "Thank you for your rating!"
#[component]
pub fn Thanks(testid: &'static str) -> impl IntoView {
    view! {
        <p class="sb-done" data-testid=testid role="status">
            {tr(T::Rated)}
        </p>
    }
}

#[component]
pub fn NewChatButton() -> impl IntoView {
    let w = use_widget();
    view! {
        <button
            type="button"
            class="sb-secondary"
            data-testid="sb-new-chat"
            on:click=move |_| w.ctl().new_chat()
        >
            {tr(T::NewChat)}
        </button>
    }
}

/// One of the five star buttons; stars up to the chosen one are lit.
#[component]
fn Star(n: u8, score: RwSignal<u8>) -> impl IntoView {
    let w = use_widget();
    let lit = move || score.get() >= n;
    view! {
        <button
            type="button"
            class="sb-star"
            class:sb-on=lit
            data-testid=format!("sb-rate-{n}")
            aria-pressed=move || if score.get() == n { "true" } else { "false" }
            aria-label=move || i18n::rate_label(w.lang.get(), n)
            title=move || i18n::rate_label(w.lang.get(), n)
            on:click=move |_| score.set(n)
        >
            <span aria-hidden="true">"★"</span>
        </button>
    }
}
