//! The ticket list: filters, the page as the relay sorts it (by SLA due time, overdue
//! first), breached tickets marked, due times relative, paging.

use super::api::{self, Page, SlaState, Ticket};
use super::i18n::{priority_label, relative_due, status_label, tt, STATUSES};
use super::{error_text, Shared};
use crate::app::use_app;
use crate::i18n::{category_label, PRIORITIES};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Tickets per page.
const LIMIT: u32 = 25;
/// How often the open list asks the relay again.
const REFRESH_SECS: u64 = 60;

#[component]
pub fn TicketList(shared: Shared) -> impl IntoView {
    let app = use_app();
    let t = tt();
    let page = RwSignal::new(None::<Page>);
    let error = RwSignal::new(None::<String>);
    let reload = RwSignal::new(0u32);
    // Answers can arrive out of order; only the newest request's answer is shown.
    let generation = StoredValue::new(0u32);
    // New tickets (offline messages, conversions) appear without a click; due times move.
    let refresh = set_interval_with_handle(
        move || reload.update(|n| *n += 1),
        std::time::Duration::from_secs(REFRESH_SECS),
    )
    .ok();
    on_cleanup(move || {
        if let Some(h) = refresh {
            h.clear();
        }
    });
    Effect::new(move |_| {
        reload.track();
        let mut filter = shared.filter.get();
        filter.sla = shared.sla.get();
        let offset = shared.offset.get();
        let Some(token) = app.token() else { return };
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        spawn_local(async move {
            let answer = api::list(&token, &filter, LIMIT, offset).await;
            // `try_`: the list may have been left (and its values disposed) meanwhile.
            if generation.try_get_value() != Some(gen) {
                return;
            }
            match answer {
                Ok(p) => {
                    error.set(None);
                    page.set(Some(p));
                }
                Err(e) => error.set(Some(error_text(t(), &e))),
            }
        });
    });
    let shown = move || page.with(|p| p.as_ref().map_or_else(Vec::new, |p| p.tickets.clone()));
    view! {
        <section class="tk-list" data-testid="tk-list">
            <h2>{move || t().tickets}</h2>
            <Filters shared=shared />
            <Show when=move || error.with(|e| e.is_some())>
                <p class="cs-error" role="alert" data-testid="tk-list-error">{move || error.get()}</p>
            </Show>
            <table class="tk-table">
                <thead><tr>
                    <th>"#"</th>
                    <th>{move || t().subject}</th>
                    <th>{move || t().customer}</th>
                    <th>{move || t().status}</th>
                    <th>{move || t().priority}</th>
                    <th>{move || t().category}</th>
                    <th>{move || t().level}</th>
                    <th>{move || t().assignee}</th>
                    <th>{move || t().due}</th>
                </tr></thead>
                <tbody>
                    <For each=shown key=|tk| (tk.id, tk.updated_at, tk.sla_due_at) let:tk>
                        <Row tk=tk shared=shared />
                    </For>
                </tbody>
            </table>
            <Show when=move || page.with(|p| p.is_some()) && shown().is_empty()>
                <p class="cs-empty" data-testid="tk-empty">{move || t().none_found}</p>
            </Show>
            <nav class="tk-paging">
                <button type="button" data-testid="tk-prev"
                    disabled=move || shared.offset.get() == 0
                    on:click=move |_| shared.offset.update(|o| *o = o.saturating_sub(LIMIT))>
                    {move || t().previous}
                </button>
                <span data-testid="tk-page">
                    {move || t().page} " " {move || shared.offset.get() / LIMIT + 1}
                </span>
                <button type="button" data-testid="tk-next"
                    disabled=move || page.with(|p| p.as_ref().and_then(|p| p.next_offset).is_none())
                    on:click=move |_| {
                        if let Some(next) = page.with_untracked(|p| p.as_ref().and_then(|p| p.next_offset)) {
                            shared.offset.set(next);
                        }
                    }>
                    {move || t().next}
                </button>
                <button type="button" data-testid="tk-refresh"
                    on:click=move |_| reload.update(|n| *n += 1)>
                    {move || t().refresh}
                </button>
            </nav>
        </section>
    }
}

#[component]
fn Row(tk: Ticket, shared: Shared) -> impl IntoView {
    let app = use_app();
    let t = tt();
    let id = tk.id;
    let state = tk.sla_state();
    let breached = state == Some(SlaState::Breached);
    let due = tk.sla_due_at;
    let status = tk.status.clone();
    let priority = tk.priority.clone();
    let category = tk.category.clone();
    let assignee = tk.assignee;
    let customer = tk
        .customer_name
        .clone()
        .or_else(|| tk.customer_contact.clone())
        .unwrap_or_default();
    let due_text = move || {
        let t = t();
        match (due, state) {
            (Some(due), _) => relative_due(t, due, shared.now.get()),
            (None, Some(SlaState::Paused)) => t.paused.to_owned(),
            (None, Some(SlaState::Breached)) => t.breached.to_owned(),
            _ => "–".to_owned(),
        }
    };
    view! {
        <tr class="tk-row" class:tk-breached=breached class:tk-paused=state == Some(SlaState::Paused)
            data-testid="tk-row" data-ticket-id=id data-priority=tk.priority.clone()
            data-status=tk.status.clone() data-sla=state.map_or("", |s| s.code())
            tabindex="0"
            on:click=move |_| shared.open.set(Some(id))
            on:keydown=move |ev| if ev.key() == "Enter" { shared.open.set(Some(id)) }>
            <td>{format!("#{id}")}</td>
            <td class="tk-subject" data-testid="tk-row-subject">{tk.subject.clone()}</td>
            <td>{customer}</td>
            <td>{move || status_label(t(), &status)}</td>
            <td class=format!("tk-prio tk-prio-{}", tk.priority)>
                {move || priority_label(app.lang.get(), &priority)}
            </td>
            <td>{move || category_label(app.lang.get(), &category)}</td>
            <td>{tk.support_level.clone()}</td>
            <td>{move || assignee.map_or_else(|| "–".to_owned(), |a| shared.agent_name(a))}</td>
            <td class="tk-due" data-testid="tk-due">
                <Show when=move || breached>
                    <span class="tk-badge tk-badge-breached" data-testid="tk-breached">"SLA ⚠"</span> " "
                </Show>
                {due_text}
            </td>
        </tr>
    }
}

/// The filter bar: selects apply at once, the text fields (tag, search) on submit.
#[component]
fn Filters(shared: Shared) -> impl IntoView {
    let app = use_app();
    let t = tt();
    let tag = RwSignal::new(shared.filter.with_untracked(|f| f.tag.clone()));
    let q = RwSignal::new(shared.filter.with_untracked(|f| f.q.clone()));
    let set = move |edit: fn(&mut api::Filter, String), value: String| {
        shared.offset.set(0);
        shared.filter.update(|f| edit(f, value));
    };
    let select = move |testid: &'static str,
                       current: Signal<String>,
                       options: Vec<(String, String)>,
                       on: Box<dyn Fn(String)>| {
        view! {
            <select data-testid=testid prop:value=move || current.get()
                on:change=move |ev| on(event_target_value(&ev))>
                <option value="">{move || t().all}</option>
                {options.into_iter().map(|(value, label)| {
                    let v = value.clone();
                    view! { <option value=value selected=move || current.get() == v>{label}</option> }
                }).collect_view()}
            </select>
        }
    };
    let field =
        move |get: fn(&api::Filter) -> String| Signal::derive(move || shared.filter.with(get));
    view! {
        <form class="tk-filters" data-testid="tk-filters"
            on:submit=move |ev| {
                ev.prevent_default();
                shared.offset.set(0);
                shared.filter.update(|f| {
                    f.tag = tag.get_untracked();
                    f.q = q.get_untracked();
                });
            }>
            <label>{move || t().status} " "
                {move || select("tk-filter-status", field(|f| f.status.clone()),
                    STATUSES.iter().map(|s| (s.to_string(), status_label(t(), s))).collect(),
                    Box::new(move |v| set(|f, v| f.status = v, v)))}
            </label>
            <label>{move || t().priority} " "
                {move || select("tk-filter-priority", field(|f| f.priority.clone()),
                    PRIORITIES.iter().map(|p| (p.to_string(), priority_label(app.lang.get(), p))).collect(),
                    Box::new(move |v| set(|f, v| f.priority = v, v)))}
            </label>
            <label>{move || t().category} " "
                {move || {
                    let lang = app.lang.get();
                    select("tk-filter-category", field(|f| f.category.clone()),
                        shared.categories.get().into_iter().map(|c| { let l = category_label(lang, &c); (c, l) }).collect(),
                        Box::new(move |v| set(|f, v| f.category = v, v)))
                }}
            </label>
            <label>{move || t().level} " "
                {select("tk-filter-level", field(|f| f.level.clone()),
                    ["L1", "L2", "L3"].iter().map(|l| (l.to_string(), l.to_string())).collect(),
                    Box::new(move |v| set(|f, v| f.level = v, v)))}
            </label>
            <label>{move || t().assignee} " "
                {move || select("tk-filter-assignee", field(|f| f.assignee.clone()),
                    shared.agents.get().into_iter().map(|a| (a.id.to_string(), a.name)).collect(),
                    Box::new(move |v| set(|f, v| f.assignee = v, v)))}
            </label>
            <label title=move || t().sla_hint>{move || t().sla} " "
                {move || {
                    let t = t();
                    let labels = [t.breached, t.running, t.paused];
                    select("tk-filter-sla", shared.sla.into(),
                        SlaState::ALL.iter().zip(labels).map(|(s, l)| (s.code().to_owned(), l.to_owned())).collect(),
                        Box::new(move |v| {
                            shared.offset.set(0);
                            shared.sla.set(v);
                        }))
                }}
            </label>
            <label>{move || t().tag} " "
                <input type="text" data-testid="tk-filter-tag" size="10" prop:value=move || tag.get()
                    on:input=move |ev| tag.set(event_target_value(&ev)) />
            </label>
            <label>{move || t().search} " "
                <input type="search" data-testid="tk-filter-q" prop:value=move || q.get()
                    on:input=move |ev| q.set(event_target_value(&ev)) />
            </label>
            <button type="submit" data-testid="tk-filter-apply">{move || t().apply}</button>
            <button type="button" data-testid="tk-filter-reset"
                on:click=move |_| {
                    tag.set(String::new());
                    q.set(String::new());
                    shared.sla.set(String::new());
                    shared.offset.set(0);
                    shared.filter.set(api::Filter::default());
                }>
                {move || t().reset}
            </button>
        </form>
    }
}
