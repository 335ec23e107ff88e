//! The text box: Enter sends, Shift+Enter is a new line, a counter near the limit.

use super::tr;
use crate::app::use_widget;
use crate::i18n::{self, T};
use leptos::html::Textarea;
use leptos::prelude::*;
use switchboard_shared::limits::MAX_MESSAGE_CHARS;

/// The counter shows from 90 % of the limit on.
const COUNTER_FROM: usize = MAX_MESSAGE_CHARS * 9 / 10;

#[component]
pub fn Composer() -> impl IntoView {
    let w = use_widget();
    let text = RwSignal::new(String::new());
    let input = NodeRef::<Textarea>::new();
    let count = Memo::new(move |_| text.with(|t| t.chars().count()));
    let over = move || count.get() > MAX_MESSAGE_CHARS;
    let blank = move || text.with(|t| t.trim().is_empty());
    let submit = move || {
        if over() || blank() {
            return;
        }
        let body = text.get_untracked();
        if w.ctl().send_text(&body).is_ok() {
            text.set(String::new());
        }
        // A click on Send focuses the button, which the empty box then disables: the focus
        // would fall to the page. The visitor's next message goes in the box.
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    view! {
        <form
            class="sb-composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <textarea
                class="sb-input"
                data-testid="sb-input"
                node_ref=input
                rows="2"
                aria-label=tr(T::InputLabel)
                placeholder=tr(T::InputPlaceholder)
                aria-invalid=move || over().then_some("true")
                prop:value=move || text.get()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    w.ctl().typing_input();
                }
                on:keydown=on_key
                on:blur=move |_| w.ctl().typing_stop()
            ></textarea>
            <Show when=move || { count.get() >= COUNTER_FROM }>
                <span class="sb-counter" class:sb-over=over data-testid="sb-counter" aria-live="polite">
                    {move || i18n::counter(count.get(), MAX_MESSAGE_CHARS)}
                </span>
            </Show>
            <button
                type="submit"
                class="sb-send"
                data-testid="sb-send"
                disabled=move || over() || blank()
                aria-label=tr(T::Send)
                title=tr(T::Send)
            >
                <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <path d="M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z" fill="currentColor"></path>
                </svg>
            </button>
        </form>
    }
}
