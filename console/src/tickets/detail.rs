//! One ticket: header (customer, channel, status, priority, category, level, assignee, SLA
//! targets), the actions (status, priority, category, reassign, escalate, tags, internal
//! note, public reply), the customer's rating, the history as a timeline and the linked
//! chat transcript. Every action reloads the ticket; a refusal is shown in words.

use super::api::{self, Detail, Entry, Target, Ticket};
use super::i18n::{channel_label, priority_label, status_label, tt, TicketTexts, STATUSES};
use super::{date_time, error_text, Shared};
use crate::api::ApiError;
use crate::app::{use_app, App};
use crate::i18n::{category_label, Lang, PRIORITIES};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};
use std::future::Future;
use switchboard_shared::{Author, EventKind, ServerFrame, Side};

/// The detail's state, all signals (so `Copy` into every handler).
#[derive(Clone, Copy)]
struct Ctx {
    app: App,
    id: i64,
    shared: Shared,
    detail: RwSignal<Option<Detail>>,
    error: RwSignal<Option<(u16, String)>>,
    notice: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    /// Drafts live here, not in the forms: the forms are redrawn with every reload.
    note: RwSignal<String>,
    reply: RwSignal<String>,
    reason: RwSignal<String>,
}

impl Ctx {
    fn load(self) {
        let Some(token) = self.app.token() else {
            return;
        };
        spawn_local(async move {
            match api::detail(&token, self.id).await {
                Ok(d) => self.detail.set(Some(d)),
                Err(e) => self.fail(&e),
            }
        });
    }

    fn fail(self, e: &ApiError) {
        let t = super::i18n::texts(self.app.lang.get_untracked());
        self.error.set(Some((e.status, error_text(t, e))));
    }

    /// Runs one change; on success `done` (e.g. clear a field), a notice and a reload; on a
    /// refusal the error (after a conflict the ticket is reloaded, so a retry sees the news).
    fn act<Fut>(self, call: impl FnOnce(String) -> Fut, done: impl FnOnce() + 'static)
    where
        Fut: Future<Output = Result<(), ApiError>> + 'static,
    {
        let Some(token) = self.app.token() else {
            return;
        };
        self.busy.set(true);
        self.error.set(None);
        self.notice.set(None);
        let fut = call(token);
        spawn_local(async move {
            let answer = fut.await;
            self.busy.set(false);
            match answer {
                Ok(()) => {
                    done();
                    let t = super::i18n::texts(self.app.lang.get_untracked());
                    self.notice.set(Some(t.saved.to_owned()));
                    self.load();
                }
                Err(e) => {
                    self.fail(&e);
                    if e.status == 409 {
                        self.load();
                    }
                }
            }
        });
    }

    fn patch(self, body: Value) {
        let id = self.id;
        self.act(
            move |token| async move { api::patch(&token, id, body).await },
            || {},
        );
    }
}

#[component]
pub fn TicketDetail(id: i64, shared: Shared) -> impl IntoView {
    let app = use_app();
    let t = tt();
    let ctx = Ctx {
        app,
        id,
        shared,
        detail: RwSignal::new(None),
        error: RwSignal::new(None),
        notice: RwSignal::new(None),
        busy: RwSignal::new(false),
        note: RwSignal::new(String::new()),
        reply: RwSignal::new(String::new()),
        reason: RwSignal::new(String::new()),
    };
    ctx.load();
    view! {
        <section class="tk-detail" data-testid="tk-detail" data-ticket-id=id>
            <button type="button" class="tk-back" data-testid="tk-back"
                on:click=move |_| shared.open.set(None)>
                "← " {move || t().back}
            </button>
            <Show when=move || ctx.error.with(|e| e.is_some())>
                <div class="cs-error" role="alert" data-testid="tk-error"
                    data-status=move || ctx.error.with(|e| e.as_ref().map(|e| e.0))>
                    <span>{move || ctx.error.with(|e| e.as_ref().map(|e| e.1.clone()))}</span>
                    <button type="button" on:click=move |_| ctx.error.set(None)>"×"</button>
                </div>
            </Show>
            <Show when=move || ctx.notice.with(|n| n.is_some())>
                <p class="cs-notice" role="status" data-testid="tk-notice">{move || ctx.notice.get()}</p>
            </Show>
            {move || ctx.detail.get().map(|d| view! {
                <Header tk=d.ticket.clone() shared=shared />
                <div class="tk-columns">
                    <div class="tk-main">
                        <Actions ctx=ctx tk=d.ticket.clone() tags=d.tags.clone() />
                        <Compose ctx=ctx />
                        <Timeline history=d.history.clone() shared=shared />
                    </div>
                    <aside class="tk-side">
                        <RatingView rating=d.rating.clone() />
                        <section class="tk-description">
                            <h3>{move || t().description}</h3>
                            <p data-testid="tk-description">{d.ticket.description.clone()}</p>
                        </section>
                        <Transcript events=d.transcript.clone() />
                    </aside>
                </div>
            })}
            <Show when=move || ctx.detail.with(|d| d.is_none()) && ctx.error.with(|e| e.is_none())>
                <p class="cs-empty">{move || t().loading}</p>
            </Show>
        </section>
    }
}

#[component]
fn Header(tk: Ticket, shared: Shared) -> impl IntoView {
    let app = use_app();
    let t = tt();
    let item = move |label: Signal<&'static str>,
                     testid: &'static str,
                     value: String,
                     text: Signal<String>| {
        view! {
            <div class="tk-field">
                <dt>{move || label.get()}</dt>
                <dd data-testid=testid data-value=value>{move || text.get()}</dd>
            </div>
        }
    };
    let lbl = |f: fn(&TicketTexts) -> &'static str| Signal::derive(move || f(t()));
    let fixed = |s: String| Signal::derive(move || s.clone());
    let (status, priority, category, channel) = (
        tk.status.clone(),
        tk.priority.clone(),
        tk.category.clone(),
        tk.channel.clone(),
    );
    let assignee = tk.assignee;
    let customer = [
        tk.customer_name.clone(),
        tk.customer_contact.clone(),
        tk.customer_number.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let breached = tk.sla.breached;
    view! {
        <header class="tk-header" class:tk-breached=breached>
            <h2 data-testid="tk-subject">{format!("#{} ", tk.id)} {tk.subject.clone()}</h2>
            <dl class="tk-fields">
                {item(lbl(|t| t.customer), "tk-customer", customer.clone(), fixed(customer))}
                {item(lbl(|t| t.channel), "tk-channel", channel.clone(),
                    Signal::derive(move || channel_label(t(), &channel)))}
                {item(lbl(|t| t.status), "tk-status", status.clone(),
                    Signal::derive(move || status_label(t(), &status)))}
                {item(lbl(|t| t.priority), "tk-priority", priority.clone(),
                    Signal::derive(move || priority_label(app.lang.get(), &priority)))}
                {item(lbl(|t| t.category), "tk-category", category.clone(),
                    Signal::derive(move || category_label(app.lang.get(), &category)))}
                {item(lbl(|t| t.level), "tk-level", tk.support_level.clone(), fixed(tk.support_level.clone()))}
                {item(lbl(|t| t.assignee), "tk-assignee",
                    assignee.map(|a| a.to_string()).unwrap_or_default(),
                    Signal::derive(move || assignee.map_or_else(|| t().unassigned.to_owned(), |a| shared.agent_name(a))))}
                {item(lbl(|t| t.created), "tk-created", tk.created_at.to_string(), fixed(date_time(tk.created_at)))}
                <SlaTarget label=lbl(|t| t.first_response) testid="tk-sla-first" target=tk.sla.first_response.clone()
                    paused=tk.sla.paused shared=shared />
                <SlaTarget label=lbl(|t| t.resolution) testid="tk-sla-resolution" target=tk.sla.resolution.clone()
                    paused=tk.sla.paused shared=shared />
            </dl>
        </header>
    }
}

/// One SLA target: its due time (absolute and relative) and whether it is met, breached,
/// running or paused.
#[component]
fn SlaTarget(
    label: Signal<&'static str>,
    testid: &'static str,
    target: Target,
    paused: bool,
    shared: Shared,
) -> impl IntoView {
    let t = tt();
    let state = match (target.met_at, target.breached, paused) {
        (_, true, _) => "breached",
        (Some(_), false, _) => "met",
        (None, false, true) => "paused",
        (None, false, false) => "running",
    };
    let text = move || {
        let t = t();
        let word = match state {
            "breached" => t.breached,
            "met" => t.met,
            "paused" => t.paused,
            _ => t.running,
        };
        let relative = if target.met_at.is_none() && !paused {
            format!(
                " · {}",
                super::i18n::relative_due(t, target.due_at, shared.now.get())
            )
        } else {
            String::new()
        };
        format!("{} ({word}){relative}", date_time(target.due_at))
    };
    view! {
        <div class="tk-field">
            <dt>{move || label.get()}</dt>
            <dd data-testid=testid data-state=state class=format!("tk-sla-{state}")>{text}</dd>
        </div>
    }
}

/// The statuses a ticket may move to from `current` (docs/TICKETS.md, status rules).
fn next_statuses(current: &str) -> Vec<&'static str> {
    match current {
        "closed" => vec!["open"],
        _ => STATUSES
            .iter()
            .copied()
            .filter(|s| *s != "new" && *s != current)
            .collect(),
    }
}

#[component]
fn Actions(ctx: Ctx, tk: Ticket, tags: Vec<String>) -> impl IntoView {
    let app = ctx.app;
    let t = tt();
    let options = next_statuses(&tk.status);
    let status = RwSignal::new(options.first().map(|s| s.to_string()).unwrap_or_default());
    let reopening = matches!(tk.status.as_str(), "resolved" | "closed");
    let reason = ctx.reason;
    let tag_text = RwSignal::new(tags.join(", "));
    let at_top = tk.support_level == "L3";
    let (priority, category) = (tk.priority.clone(), tk.category.clone());
    let assignee = tk.assignee.map(|a| a.to_string()).unwrap_or_default();
    let (category_value, assignee_value) = (category.clone(), assignee.clone());
    let unassigned = assignee.is_empty();
    let id = ctx.id;
    let busy = move || ctx.busy.get();
    view! {
        <section class="tk-actions" data-testid="tk-actions">
            <div class="tk-action">
                <label>{move || t().status} " "
                    <select data-testid="tk-status-select" prop:value=move || status.get()
                        on:change=move |ev| status.set(event_target_value(&ev))>
                        {options.iter().map(|s| {
                            let s = s.to_string();
                            let label = s.clone();
                            view! {
                                <option value=s.clone()>
                                    {move || if reopening && label == "open" {
                                        t().reopen.to_owned()
                                    } else {
                                        status_label(t(), &label)
                                    }}
                                </option>
                            }
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" data-testid="tk-status-apply" disabled=busy
                    on:click=move |_| ctx.patch(json!({ "status": status.get_untracked() }))>
                    {move || t().change}
                </button>
            </div>
            <div class="tk-action">
                <label>{move || t().priority} " "
                    <select data-testid="tk-priority-select" prop:value=priority.clone()
                        on:change=move |ev| ctx.patch(json!({ "priority": event_target_value(&ev) }))>
                        {PRIORITIES.iter().map(|p| {
                            let selected = *p == priority;
                            view! {
                                <option value=*p selected=selected>
                                    {move || priority_label(app.lang.get(), p)}
                                </option>
                            }
                        }).collect_view()}
                    </select>
                </label>
                <label>{move || t().category} " "
                    <select data-testid="tk-category-select" prop:value=category_value
                        on:change=move |ev| ctx.patch(json!({ "category": event_target_value(&ev) }))>
                        {move || {
                            let lang: Lang = app.lang.get();
                            let current = category.clone();
                            ctx.shared.categories.get().into_iter().map(|c| {
                                let selected = c == current;
                                let label = category_label(lang, &c);
                                view! { <option value=c selected=selected>{label}</option> }
                            }).collect_view()
                        }}
                    </select>
                </label>
                <label>{move || t().assignee} " "
                    <select data-testid="tk-assignee-select" prop:value=assignee_value
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            let to = v.parse::<i64>().ok();
                            ctx.patch(json!({ "assignee": to }));
                        }>
                        <option value="" selected=unassigned>{move || t().unassigned}</option>
                        {move || {
                            let current = assignee.clone();
                            ctx.shared.agents.get().into_iter().map(|a| {
                                let value = a.id.to_string();
                                let selected = value == current;
                                view! {
                                    <option value=value selected=selected>
                                        {format!("{} ({})", a.name, a.support_level)}
                                    </option>
                                }
                            }).collect_view()
                        }}
                    </select>
                </label>
            </div>
            <form class="tk-action" on:submit=move |ev| {
                ev.prevent_default();
                let text = reason.get_untracked();
                ctx.act(move |token| async move { api::escalate(&token, id, text.trim()).await },
                    move || reason.set(String::new()));
            }>
                <label>{move || t().reason} " "
                    <input type="text" data-testid="tk-escalate-reason" required disabled=at_top
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev)) />
                </label>
                <button type="submit" data-testid="tk-escalate" disabled=move || at_top || busy()>
                    {move || t().escalate} {format!(" ({} → {})", tk.support_level, next_level(&tk.support_level))}
                </button>
                <Show when=move || at_top>
                    <span class="tk-hint">{move || t().top_level}</span>
                </Show>
            </form>
            <form class="tk-action" on:submit=move |ev| {
                ev.prevent_default();
                let list: Vec<String> = tag_text.get_untracked().split(',')
                    .map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                ctx.act(move |token| async move { api::set_tags(&token, id, &list).await }, || {});
            }>
                <label>{move || t().tags} " "
                    <input type="text" data-testid="tk-tags-input" placeholder=move || t().tags_hint
                        prop:value=move || tag_text.get()
                        on:input=move |ev| tag_text.set(event_target_value(&ev)) />
                </label>
                <button type="submit" data-testid="tk-tags-save" disabled=busy>{move || t().save_tags}</button>
                <span class="tk-tags" data-testid="tk-tags">
                    {tags.into_iter().map(|tag| view! { <span class="tk-tag">{tag}</span> }).collect_view()}
                </span>
            </form>
        </section>
    }
}

fn next_level(level: &str) -> &'static str {
    match level {
        "L1" => "L2",
        _ => "L3",
    }
}

/// The internal note and the public reply, side by side.
#[component]
fn Compose(ctx: Ctx) -> impl IntoView {
    let t = tt();
    let (note, reply) = (ctx.note, ctx.reply);
    let id = ctx.id;
    let busy = move || ctx.busy.get();
    view! {
        <div class="tk-compose">
            <form class="tk-note" on:submit=move |ev| {
                ev.prevent_default();
                let body = note.get_untracked();
                if body.trim().is_empty() { return; }
                ctx.act(move |token| async move { api::note(&token, id, &body).await },
                    move || note.set(String::new()));
            }>
                <label>{move || t().note}
                    <textarea data-testid="tk-note-input" rows="3" prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                </label>
                <button type="submit" data-testid="tk-note-add" disabled=busy>{move || t().add_note}</button>
            </form>
            <form class="tk-reply" on:submit=move |ev| {
                ev.prevent_default();
                let body = reply.get_untracked();
                if body.trim().is_empty() { return; }
                ctx.act(move |token| async move { api::reply(&token, id, &body).await },
                    move || reply.set(String::new()));
            }>
                <label>{move || t().reply}
                    <textarea data-testid="tk-reply-input" rows="3" prop:value=move || reply.get()
                        on:input=move |ev| reply.set(event_target_value(&ev))></textarea>
                </label>
                <small class="tk-hint">{move || t().reply_hint}</small>
                <button type="submit" data-testid="tk-reply-send" disabled=busy>{move || t().send_reply}</button>
            </form>
        </div>
    }
}

#[component]
fn RatingView(rating: Option<api::Rating>) -> impl IntoView {
    let t = tt();
    let shown = rating.map(|r| {
        let stars =
            "★".repeat(r.score as usize) + &"☆".repeat(5usize.saturating_sub(r.score as usize));
        let comment = r.comment.map(|c| format!(" – „{c}“")).unwrap_or_default();
        (
            r.score,
            format!("{stars} {}/5{comment} · {}", r.score, date_time(r.rated_at)),
        )
    });
    let score = shown.as_ref().map(|s| s.0);
    view! {
        <section class="tk-rating" data-testid="tk-rating" data-score=score>
            <h3>{move || t().rating}</h3>
            {match shown {
                Some((_, text)) => view! { <p>{text}</p> }.into_any(),
                None => view! { <p class="cs-empty">{move || t().no_rating}</p> }.into_any(),
            }}
        </section>
    }
}

/// The history, newest first.
#[component]
fn Timeline(history: Vec<Entry>, shared: Shared) -> impl IntoView {
    let app = use_app();
    let t = tt();
    let entries = history.into_iter().rev().collect::<Vec<_>>();
    view! {
        <section class="tk-timeline">
            <h3>{move || t().history}</h3>
            <ol data-testid="tk-history">
                {entries.into_iter().map(|e| {
                    let kind = e.kind.clone();
                    let who = e.agent_id;
                    let at = e.at;
                    let entry = e.clone();
                    view! {
                        <li class=format!("tk-h tk-h-{kind}") data-testid="tk-history-entry" data-kind=kind.clone()>
                            <span class="cs-meta">
                                {date_time(at)} " · "
                                {move || who.map_or_else(|| t().system.to_owned(), |a| shared.agent_name(a))}
                            </span>
                            <span class="tk-h-text">{move || describe(t(), app.lang.get(), &entry, shared)}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

/// One history entry as a sentence.
fn describe(t: &TicketTexts, lang: Lang, e: &Entry, shared: Shared) -> String {
    let s = |key: &str| {
        e.fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let agent = |key: &str| {
        e.fields
            .get(key)
            .and_then(Value::as_i64)
            .map_or_else(|| t.unassigned.to_owned(), |a| shared.agent_name(a))
    };
    let list = |key: &str| {
        e.fields
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "–".to_owned())
    };
    match e.kind.as_str() {
        "created" => format!("{} {}", t.h_created, channel_label(t, &s("channel"))),
        "status_changed" => format!(
            "{}: {} → {}",
            t.h_status,
            status_label(t, &s("from")),
            status_label(t, &s("to"))
        ),
        "priority_changed" => format!(
            "{}: {} → {}",
            t.h_priority,
            priority_label(lang, &s("from")),
            priority_label(lang, &s("to"))
        ),
        "category_changed" => format!(
            "{}: {} → {}",
            t.h_category,
            category_label(lang, &s("from")),
            category_label(lang, &s("to"))
        ),
        "assigned" => format!("{}: {} → {}", t.h_assigned, agent("from"), agent("to")),
        "escalated" => format!(
            "{}: {} → {} – {}",
            t.h_escalated,
            s("from"),
            s("to"),
            s("reason")
        ),
        "note" => format!("{}: {}", t.h_note, s("body")),
        "reply" => format!("{}: {}", t.h_reply, s("body")),
        "tags_changed" => format!("{}: {} → {}", t.h_tags, list("from"), list("to")),
        other => other.to_owned(),
    }
}

/// The chat the ticket came from, read-only.
#[component]
fn Transcript(events: Option<Vec<ServerFrame>>) -> impl IntoView {
    let t = tt();
    let ct = crate::ui::t();
    let events = events.unwrap_or_default();
    let has = !events.is_empty();
    let lines = events
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Event { at, event, .. } => Some((at, event)),
            _ => None,
        })
        .map(|(at, event)| {
            let (author, text): (&'static str, Box<dyn Fn() -> String + Send + Sync>) = match event {
                EventKind::Message { author: Author::Visitor, body, .. } => {
                    ("visitor", Box::new(move || format!("{}: {body}", t().visitor)))
                }
                EventKind::Message { author: Author::Agent { name, .. }, body, .. } => {
                    ("agent", Box::new(move || format!("{name}: {body}")))
                }
                EventKind::Started => ("system", Box::new(move || ct().started.to_owned())),
                EventKind::AgentJoined { agent } => {
                    ("system", Box::new(move || format!("{} {}", agent.name, ct().joined)))
                }
                EventKind::Transferred { from, to } => (
                    "system",
                    Box::new(move || format!("{} → {}: {}", from.name, to.name, ct().transferred)),
                ),
                EventKind::Requeued { .. } => ("system", Box::new(move || ct().requeued.to_owned())),
                EventKind::LeftMessage => ("system", Box::new(move || ct().left_message.to_owned())),
                EventKind::Ended { by: Side::Visitor } => {
                    ("system", Box::new(move || ct().ended_visitor.to_owned()))
                }
                EventKind::Ended { by: Side::Agent } => {
                    ("system", Box::new(move || ct().ended_agent.to_owned()))
                }
                EventKind::Rated { score, .. } => {
                    ("system", Box::new(move || format!("{}: {score}/5", ct().rated)))
                }
            };
            view! {
                <li class=format!("cs-msg cs-{author}") data-testid="tk-transcript-msg" data-author=author>
                    <span class="cs-meta">{date_time(at)}</span> " "
                    <span class="cs-body">{text}</span>
                </li>
            }
        })
        .collect_view();
    has.then(|| {
        view! {
            <section class="tk-transcript" data-testid="tk-transcript">
                <h3>{move || t().transcript}</h3>
                <ul class="tk-transcript-lines">{lines}</ul>
            </section>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::next_statuses;

    #[test]
    fn a_closed_ticket_can_only_be_reopened_and_nothing_goes_back_to_new() {
        assert_eq!(next_statuses("closed"), vec!["open"]);
        assert_eq!(
            next_statuses("new"),
            vec!["open", "pending_customer", "resolved", "closed"]
        );
        assert_eq!(
            next_statuses("pending_customer"),
            vec!["open", "resolved", "closed"]
        );
    }
}
