//! A chat's transcript: visitor, own and other agents' messages with time and delivery/read
//! marks, and the system lines (started, joined, transferred, ended) as one short line each.
//! Web links in message text are links; everything else stays text.

use super::{clock, t};
use crate::app::use_app;
use crate::i18n::Texts;
use crate::linkify::{tokenize, Token};
use crate::model::{LineText, Who};
use leptos::html;
use leptos::prelude::*;
use switchboard_shared::ConversationId;

#[component]
pub fn Transcript(id: ConversationId) -> impl IntoView {
    let app = use_app();
    let t = t();
    let list = NodeRef::<html::Div>::new();
    // Keep the newest line in view.
    Effect::new(move |_| {
        app.console.with(|c| c.chat(id).map(|c| c.lines.len()));
        if let Some(el) = list.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let lines = move || {
        app.console.with(|c| {
            let Some(chat) = c.chat(id) else {
                return Vec::new();
            };
            let tt = t();
            chat.lines
                .iter()
                .map(|l| {
                    if l.who == Who::System || !matches!(l.text, LineText::Body(_)) {
                        return view! {
                            <div class="cs-msg cs-system" data-testid="cs-msg" data-author="system"
                                data-state="" data-seq=l.seq>
                                <span class="cs-meta">{clock(l.at)}</span>
                                <span class="cs-body">{system_text(tt, &l.text)}</span>
                            </div>
                        }
                        .into_any();
                    }
                    let body = match &l.text {
                        LineText::Body(b) => b.as_str(),
                        _ => "",
                    };
                    let author = if l.who == Who::Visitor { "visitor" } else { "agent" };
                    let own = l.who == Who::Me;
                    let state = if own { chat.mark(l) } else { "" };
                    let marks = match state {
                        "pending" => "…",
                        "sent" => "✓",
                        "delivered" | "read" => "✓✓",
                        _ => "",
                    };
                    let who = match l.who {
                        Who::Visitor => chat.view.visitor.name.clone(),
                        _ => l.name.clone(),
                    };
                    view! {
                        <div class=format!("cs-msg cs-{author}") class:cs-own=own data-testid="cs-msg"
                            data-author=author data-state=state data-seq=l.seq>
                            <span class="cs-meta">{clock(l.at)} " " {who}</span>
                            <span class="cs-body">{message_text(body)}</span>
                            <span class="cs-mark" class:cs-read=state == "read" data-testid="cs-mark"
                                title=state>{marks}</span>
                        </div>
                    }
                    .into_any()
                })
                .collect::<Vec<_>>()
        })
    };
    // Focusable, so the transcript scrolls by keyboard too (axe: scrollable-region-focusable).
    view! {
        <div class="cs-transcript" node_ref=list role="log" aria-live="polite" tabindex="0"
            aria-label=move || t().transcript>{lines}</div>
    }
}

fn system_text(tt: &Texts, text: &LineText) -> String {
    match text {
        LineText::Body(b) => b.clone(),
        LineText::Started => tt.started.to_owned(),
        LineText::Joined(n) => format!("{n} {}", tt.joined),
        LineText::Transferred { from, to } => format!("{from} → {to}: {}", tt.transferred),
        LineText::Requeued => tt.requeued.to_owned(),
        LineText::LeftMessage => tt.left_message.to_owned(),
        LineText::Ended { by_visitor: true } => tt.ended_visitor.to_owned(),
        LineText::Ended { by_visitor: false } => tt.ended_agent.to_owned(),
        LineText::Rated(s) => format!("{}: {s}/5", tt.rated),
    }
}

/// Text nodes and links (only `http`/`https`, opened in a new tab without `window.opener`);
/// never HTML.
fn message_text(body: &str) -> Vec<AnyView> {
    tokenize(body)
        .into_iter()
        .map(|tok| match tok {
            Token::Text(s) => s.to_owned().into_any(),
            Token::Link(url) => {
                let href = url.to_owned();
                let url = url.to_owned();
                view! {
                    <a class="cs-link" href=href target="_blank" rel="noopener noreferrer nofollow">{url}</a>
                }
                .into_any()
            }
        })
        .collect()
}
