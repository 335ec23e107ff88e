//! "Convert to ticket" in a chat pane: category, priority, support level and a summary;
//! the relay stores the ticket with the transcript and ends the chat.

use super::t;
use crate::api;
use crate::app::use_app;
use crate::i18n::{category_label, PRIORITIES};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard_shared::ConversationId;

#[component]
pub fn ConvertTicket(id: ConversationId, open: RwSignal<bool>) -> impl IntoView {
    let app = use_app();
    let t = t();
    let categories = RwSignal::new(Vec::<String>::new());
    let category = RwSignal::new(String::new());
    let priority = RwSignal::new("medium".to_owned());
    let level = RwSignal::new("L1".to_owned());
    let summary = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    if let Some(token) = app.token() {
        spawn_local(async move {
            if let Ok(list) = api::ticket_categories(&token).await {
                if let Some(first) = list.first() {
                    category.set(first.clone());
                }
                categories.set(list);
            }
        });
    }
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(token) = app.token() else { return };
        let body = json!({
            "category": category.get_untracked(),
            "priority": priority.get_untracked(),
            "support_level": level.get_untracked(),
            "summary": summary.get_untracked().trim(),
        });
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::convert_to_ticket(&token, id.0, body).await {
                Ok(ticket) => {
                    open.set(false);
                    app.converted(id, ticket.id);
                }
                Err(e) => {
                    busy.set(false);
                    error.set(Some(format!("{}: {}", t().err_generic, e.code)));
                }
            }
        });
    };
    let select = move |sig: RwSignal<String>,
                       testid: &'static str,
                       options: Vec<(String, String)>| {
        view! {
            <select data-testid=testid prop:value=move || sig.get()
                on:change=move |ev| sig.set(event_target_value(&ev))>
                {options.into_iter().map(|(value, label)| view! {
                    <option value=value.clone() selected=move || sig.get() == value>{label}</option>
                }).collect_view()}
            </select>
        }
    };
    view! {
        <form class="cs-convert" data-testid="cs-convert-form" on:submit=submit>
            <label>{move || t().category} " "
                {move || {
                    let lang = app.lang.get();
                    let opts = categories.get().into_iter()
                        .map(|c| { let l = category_label(lang, &c); (c, l) }).collect();
                    select(category, "cs-convert-category", opts)
                }}
            </label>
            <label>{move || t().priority} " "
                {move || {
                    let opts = PRIORITIES.iter().zip(t().priorities)
                        .map(|(v, l)| (v.to_string(), l.to_owned())).collect();
                    select(priority, "cs-convert-priority", opts)
                }}
            </label>
            <label>{move || t().level} " "
                {select(level, "cs-convert-level",
                    ["L1", "L2", "L3"].iter().map(|l| (l.to_string(), l.to_string())).collect())}
            </label>
            <label class="cs-convert-summary">{move || t().summary}
                <textarea data-testid="cs-convert-summary" rows="2" required
                    prop:value=move || summary.get()
                    on:input=move |ev| summary.set(event_target_value(&ev))></textarea>
            </label>
            <Show when=move || error.with(|e| e.is_some())>
                <p class="cs-error" role="alert" data-testid="cs-convert-error">{move || error.get()}</p>
            </Show>
            <button type="submit" data-testid="cs-convert-submit" disabled=move || busy.get()>
                {move || t().convert}
            </button>
        </form>
    }
}
