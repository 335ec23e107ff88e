//! For admins: the SLA targets per priority and the category rules (support level and how
//! new tickets get an agent), edited in place; each row saves on its own.

use crate::api::{call, parse, ApiError};
use crate::app::use_app;
use crate::i18n::{category_label, Lang, PRIORITIES};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::json;

struct Texts {
    title: &'static str,
    sla: &'static str,
    first_response: &'static str,
    resolution: &'static str,
    rules: &'static str,
    level: &'static str,
    strategy: &'static str,
    strategies: [&'static str; 3],
    save: &'static str,
    saved: &'static str,
    refused: &'static str,
}

const DE: Texts = Texts {
    title: "Ticket-Einstellungen",
    sla: "SLA-Ziele je Priorität (Minuten Geschäftszeit)",
    first_response: "Erste Antwort",
    resolution: "Lösung",
    rules: "Zuweisung je Kategorie",
    level: "Stufe",
    strategy: "Zuweisung",
    strategies: ["von Hand", "reihum", "geringste Last"],
    save: "Speichern",
    saved: "Gespeichert.",
    refused: "Abgelehnt",
};

const EN: Texts = Texts {
    title: "Ticket settings",
    sla: "SLA targets per priority (business minutes)",
    first_response: "First response",
    resolution: "Resolution",
    rules: "Assignment per category",
    level: "Level",
    strategy: "Assignment",
    strategies: ["manual", "round robin", "least loaded"],
    save: "Save",
    saved: "Saved.",
    refused: "Refused",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

const STRATEGIES: [&str; 3] = ["manual", "round_robin", "least_loaded"];
const LEVELS: [&str; 3] = ["L1", "L2", "L3"];

#[derive(Debug, Clone, Deserialize)]
struct Policy {
    priority: String,
    first_response_minutes: u32,
    resolution_minutes: u32,
}

#[derive(Debug, Clone, Deserialize)]
struct Rule {
    category: String,
    support_level: String,
    strategy: String,
}

#[derive(Deserialize)]
struct Policies {
    policies: Vec<Policy>,
}

#[derive(Deserialize)]
struct Rules {
    rules: Vec<Rule>,
}

/// The status line after a save: the relay's reason when it refused.
fn outcome(t: &Texts, r: Result<String, ApiError>) -> String {
    match r {
        Ok(_) => t.saved.to_owned(),
        Err(e) if e.message.is_empty() => format!("{}: {}", t.refused, e.code),
        Err(e) => format!("{}: {}", t.refused, e.message),
    }
}

#[component]
pub fn TicketSettings() -> impl IntoView {
    let app = use_app();
    let t = move || texts(app.lang.get());
    let policies = RwSignal::new(Vec::<Policy>::new());
    let rules = RwSignal::new(Vec::<Rule>::new());
    let categories = RwSignal::new(Vec::<String>::new());
    let status = RwSignal::new(String::new());
    if let Some(token) = app.token() {
        spawn_local(async move {
            if let Ok(p) = call("GET", "/api/v1/tickets/sla-policies", Some(&token), None)
                .await
                .and_then(|text| parse::<Policies>(&text))
            {
                policies.set(p.policies);
            }
            if let Ok(r) = call(
                "GET",
                "/api/v1/tickets/assignment-rules",
                Some(&token),
                None,
            )
            .await
            .and_then(|text| parse::<Rules>(&text))
            {
                rules.set(r.rules);
            }
            if let Ok(list) = crate::api::ticket_categories(&token).await {
                categories.set(list);
            }
        });
    }
    let save = move |path: String, body: serde_json::Value| {
        let Some(token) = app.token() else { return };
        spawn_local(async move {
            let r = call("PUT", &path, Some(&token), Some(body.to_string())).await;
            status.set(outcome(texts(app.lang.get_untracked()), r));
        });
    };
    let policy_rows = move || {
        PRIORITIES
            .iter()
            .map(|&priority| {
                let current = policies.with(|ps| ps.iter().find(|p| p.priority == priority).cloned());
                let first = RwSignal::new(current.as_ref().map_or(String::new(), |p| p.first_response_minutes.to_string()));
                let resolution = RwSignal::new(current.as_ref().map_or(String::new(), |p| p.resolution_minutes.to_string()));
                let submit = move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    let minutes = |s: RwSignal<String>| s.get_untracked().trim().parse::<u32>().unwrap_or(0);
                    save(
                        format!("/api/v1/tickets/sla-policies/{priority}"),
                        json!({"first_response_minutes": minutes(first), "resolution_minutes": minutes(resolution)}),
                    );
                };
                view! {
                    <tr data-testid="cs-sla-row" data-priority=priority>
                        <td>{move || crate::tickets::i18n::priority_label(app.lang.get(), priority)}</td>
                        <td><input type="number" min="1" data-testid="cs-sla-first" form=format!("sla-{priority}")
                            prop:value=move || first.get() on:input=move |ev| first.set(event_target_value(&ev)) /></td>
                        <td><input type="number" min="1" data-testid="cs-sla-resolution" form=format!("sla-{priority}")
                            prop:value=move || resolution.get() on:input=move |ev| resolution.set(event_target_value(&ev)) /></td>
                        <td><form id=format!("sla-{priority}") on:submit=submit>
                            <button type="submit" data-testid="cs-sla-save">{move || t().save}</button>
                        </form></td>
                    </tr>
                }
            })
            .collect_view()
    };
    let rule_rows = move || {
        categories
            .get()
            .into_iter()
            .map(|category| {
                let current = rules.with(|rs| rs.iter().find(|r| r.category == category).cloned());
                let level = RwSignal::new(current.as_ref().map_or("L1".to_owned(), |r| r.support_level.clone()));
                let strategy = RwSignal::new(current.as_ref().map_or("manual".to_owned(), |r| r.strategy.clone()));
                let path = format!("/api/v1/tickets/assignment-rules/{category}");
                let on_save = move |_| {
                    save(
                        path.clone(),
                        json!({"support_level": level.get_untracked(), "strategy": strategy.get_untracked()}),
                    );
                };
                let label = category.clone();
                view! {
                    <tr data-testid="cs-rule-row" data-category=category.clone()>
                        <td>{move || category_label(app.lang.get(), &label)}</td>
                        <td><select data-testid="cs-rule-level" prop:value=move || level.get()
                            on:change=move |ev| level.set(event_target_value(&ev))>
                            {LEVELS.iter().map(|l| view! { <option value=*l>{*l}</option> }).collect_view()}
                        </select></td>
                        <td><select data-testid="cs-rule-strategy" prop:value=move || strategy.get()
                            on:change=move |ev| strategy.set(event_target_value(&ev))>
                            {STRATEGIES.iter().enumerate().map(|(i, s)| view! {
                                <option value=*s>{move || t().strategies[i]}</option>
                            }).collect_view()}
                        </select></td>
                        <td><button type="button" data-testid="cs-rule-save" on:click=on_save>{move || t().save}</button></td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="cs-ticket-settings" data-testid="cs-ticket-settings">
            <h3>{move || t().title}</h3>
            <p role="status" data-testid="cs-ticket-settings-status">{move || status.get()}</p>
            <h4>{move || t().sla}</h4>
            <table>
                <thead><tr><th></th><th>{move || t().first_response}</th><th>{move || t().resolution}</th><th></th></tr></thead>
                <tbody>{policy_rows}</tbody>
            </table>
            <h4>{move || t().rules}</h4>
            <table>
                <thead><tr><th></th><th>{move || t().level}</th><th>{move || t().strategy}</th><th></th></tr></thead>
                <tbody>{rule_rows}</tbody>
            </table>
        </section>
    }
}
