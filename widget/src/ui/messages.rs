//! The message list (a live region), its rows and the typing indicator.

use super::tr;
use crate::app::use_widget;
use crate::i18n::{self, t, T};
use crate::linkify::{tokenize, Token};
use crate::model::{Line, OwnState, Who};
use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

/// One row as drawn; a row is redrawn when any of this changes (e.g. its delivery state).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Row {
    pub key: u32,
    pub line: Line,
    pub at: Option<i64>,
    pub state: Option<OwnState>,
}

#[component]
pub fn MessageList() -> impl IntoView {
    let w = use_widget();
    let rows = Memo::new(move |_| {
        w.chat.with(|c| {
            c.messages
                .iter()
                .map(|m| Row {
                    key: m.key,
                    line: m.line.clone(),
                    at: m.at,
                    state: m.is_own().then(|| c.own_state(m)),
                })
                .collect::<Vec<_>>()
        })
    });
    let list = NodeRef::<Div>::new();
    // Keep the newest message in view.
    Effect::new(move |_| {
        rows.track();
        request_animation_frame(move || {
            if let Some(el) = list.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });
    // data-greeting, else the site's greeting from the relay, else ours.
    let own = w.ctl().config.greeting().map(str::to_string);
    let greeting = move || {
        own.clone()
            .or_else(|| w.chat.with(|c| c.site.greeting.clone()))
            .filter(|g| !g.trim().is_empty())
            .unwrap_or_else(|| t(w.lang.get(), T::DefaultGreeting).to_string())
    };
    view! {
        <div
            class="sb-messages"
            data-testid="sb-messages"
            role="log"
            aria-live="polite"
            aria-label=tr(T::MessagesLabel)
            tabindex="0"
            node_ref=list
        >
            <div class="sb-msg sb-system sb-greeting" data-testid="sb-msg" data-author="system">
                {greeting}
            </div>
            <For each=move || rows.get() key=|r| r.clone() children=|r| view! { <MessageRow row=r/> }/>
        </div>
    }
}

#[component]
pub(super) fn MessageRow(row: Row) -> impl IntoView {
    let w = use_widget();
    let time = row.at.map(hhmm);
    match row.line {
        Line::Note(note) => view! {
            <div class="sb-msg sb-system" data-testid="sb-msg" data-author="system">
                {move || i18n::note(w.lang.get(), &note)}
            </div>
        }
        .into_any(),
        Line::Text { who, body } => {
            let (author, name) = match who {
                Who::Visitor => ("visitor", None),
                Who::Agent(n) => ("agent", Some(n)),
            };
            let state = row.state;
            view! {
                <div
                    class=format!("sb-msg sb-{author}")
                    data-testid="sb-msg"
                    data-author=author
                    data-state=state.map(OwnState::as_str)
                >
                    {name.map(|n| view! { <span class="sb-name">{n}</span> })}
                    <span class="sb-body">{message_text(&body)}</span>
                    <span class="sb-meta">
                        {time.map(|t| view! { <time>{t}</time> })}
                        {state.map(|s| view! { <DeliveryMark state=s/> })}
                    </span>
                </div>
            }
            .into_any()
        }
    }
}

/// ⏱ pending, ✓ sent (stored by the relay, also while queued), ✓✓ delivered, bold ✓✓
/// read — as in the console. An image with its label, for screen readers.
#[component]
fn DeliveryMark(state: OwnState) -> impl IntoView {
    let (mark, key) = match state {
        OwnState::Pending => ("⏱", T::Pending),
        OwnState::Sent => ("✓", T::Sent),
        OwnState::Delivered => ("✓✓", T::Delivered),
        OwnState::Read => ("✓✓", T::Read),
        OwnState::Failed => ("⚠", T::Failed),
    };
    view! {
        <span
            class=format!("sb-mark sb-mark-{}", state.as_str())
            role="img"
            title=tr(key)
            aria-label=tr(key)
        >
            {mark}
        </span>
    }
}

/// Text nodes and links; never HTML.
fn message_text(body: &str) -> Vec<AnyView> {
    tokenize(body)
        .into_iter()
        .map(|tok| match tok {
            Token::Text(s) => s.to_string().into_any(),
            Token::Link(url) => {
                let href = url.to_string();
                let url = url.to_string();
                view! {
                    <a href=href target="_blank" rel="noopener noreferrer nofollow">{url}</a>
                }
                .into_any()
            }
        })
        .collect()
}

/// Local wall-clock time of a relay timestamp, `HH:MM`; with the date (`YYYY-MM-DD HH:MM`)
/// when it is not today (ticket replies may be days old).
fn hhmm(at: i64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(at as f64));
    let time = format!("{:02}:{:02}", d.get_hours(), d.get_minutes());
    let day = format!(
        "{}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    );
    let today = js_sys::Date::new_0();
    if (d.get_full_year(), d.get_month(), d.get_date())
        == (today.get_full_year(), today.get_month(), today.get_date())
    {
        time
    } else {
        format!("{day} {time}")
    }
}

#[component]
pub fn TypingIndicator() -> impl IntoView {
    let w = use_widget();
    let who = Memo::new(move |_| {
        w.chat.with(|c| {
            c.agent_typing()
                .then(|| c.agent_name().unwrap_or_default().to_string())
        })
    });
    view! {
        <Show when=move || who.with(Option::is_some)>
            <div class="sb-typing" data-testid="sb-typing">
                <span class="sb-dots" aria-hidden="true"><i></i><i></i><i></i></span>
                {move || format!("{} {}", who.get().unwrap_or_default(), t(w.lang.get(), T::AgentTyping)).trim().to_string()}
            </div>
        </Show>
    }
}
