//! The ticket views (issue 5, "Console"): a filtered list sorted by SLA due time
//! ([`list`]) and one ticket's detail with its timeline and every action ([`detail`]).
//! [`Tickets`] holds what both share: the list's filters and page (kept while a ticket is
//! open), the agents and the categories.

pub mod api;
mod detail;
pub mod i18n;
mod list;
pub mod settings;

use crate::api::{AgentRow, ApiError};
use crate::app::{now, use_app};
use i18n::TicketTexts;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// What the list and the detail share; every field is a signal, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct Shared {
    pub filter: RwSignal<api::Filter>,
    /// SLA-state filter, sent as `sla`: "", "breached", "running", "paused".
    pub sla: RwSignal<String>,
    pub offset: RwSignal<u32>,
    pub open: RwSignal<Option<i64>>,
    pub agents: RwSignal<Vec<AgentRow>>,
    pub categories: RwSignal<Vec<String>>,
    /// The clock the relative due times are shown against (ticks every 30 s).
    pub now: RwSignal<i64>,
}

impl Shared {
    pub fn agent_name(&self, id: i64) -> String {
        self.agents.with(|a| {
            a.iter()
                .find(|a| a.id == id)
                .map_or_else(|| format!("#{id}"), |a| a.name.clone())
        })
    }
}

/// The tickets view: the list, or the ticket the agent opened.
#[component]
pub fn Tickets() -> impl IntoView {
    let app = use_app();
    let shared = Shared {
        filter: RwSignal::new(api::Filter::default()),
        sla: RwSignal::new(String::new()),
        offset: RwSignal::new(0),
        open: RwSignal::new(None),
        agents: RwSignal::new(Vec::new()),
        categories: RwSignal::new(Vec::new()),
        now: RwSignal::new(now()),
    };
    if let Some(token) = app.token() {
        spawn_local(async move {
            if let Ok(list) = crate::api::agents(&token).await {
                shared.agents.set(list);
            }
            if let Ok(list) = crate::api::ticket_categories(&token).await {
                shared.categories.set(list);
            }
        });
    }
    let tick = set_interval_with_handle(
        move || shared.now.set(now()),
        std::time::Duration::from_secs(30),
    )
    .ok();
    on_cleanup(move || {
        if let Some(h) = tick {
            h.clear();
        }
    });
    view! {
        <main class="tk-view" data-testid="tk-view">
            {move || match shared.open.get() {
                Some(id) => view! { <detail::TicketDetail id=id shared=shared /> }.into_any(),
                None => view! { <list::TicketList shared=shared /> }.into_any(),
            }}
        </main>
    }
}

/// A refusal from the API in the agent's words: conflicts and invalid input get their own
/// sentence; the relay's message says which field is wrong.
pub fn error_text(t: &TicketTexts, e: &ApiError) -> String {
    let base = match (e.status, e.code.as_str()) {
        (0, "network") => t.err_network,
        (409, _) | (_, "conflict") => t.err_conflict,
        (422, _) | (_, "invalid") => t.err_invalid,
        (404, _) => t.err_not_found,
        (403, _) => t.err_forbidden,
        _ => t.err_other,
    };
    if e.status == 409 || e.code == "network" {
        base.to_owned()
    } else if e.message.is_empty() {
        format!("{base} ({} {})", e.status, e.code)
    } else {
        format!("{base}: {}", e.message)
    }
}

/// `dd.mm.yyyy HH:MM` of a relay timestamp, in the browser's time zone.
pub fn date_time(at: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    format!(
        "{:02}.{:02}.{} {}",
        d.get_date(),
        d.get_month() + 1,
        d.get_full_year(),
        crate::ui::clock(at)
    )
}

#[cfg(test)]
mod tests {
    use super::error_text;
    use super::i18n::{DE, EN};
    use crate::api::ApiError;

    fn err(status: u16, code: &str, message: &str) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn refusals_read_as_sentences_with_the_relays_reason() {
        assert_eq!(
            error_text(&EN, &err(422, "invalid", "reason: message body is empty")),
            "Invalid input: reason: message body is empty"
        );
        assert_eq!(
            error_text(&DE, &err(409, "conflict", "changed meanwhile")),
            DE.err_conflict
        );
        assert_eq!(error_text(&EN, &err(0, "network", "")), EN.err_network);
        assert_eq!(
            error_text(&EN, &err(500, "internal", "")),
            "Error (500 internal)"
        );
        assert_eq!(
            error_text(&DE, &err(404, "not_found", "")),
            "Ticket nicht gefunden. (404 not_found)"
        );
    }
}
