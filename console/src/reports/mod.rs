//! The reports dashboard for admins (issue 5, "Reporting"): the KPIs of
//! `GET /api/v1/reports/kpis` over a date range (docs/REPORTS.md) as cards, bar charts and
//! per-agent / per-level tables, with the CSV export.
//!
//! - [`api`]: the report's JSON shape, the date range, the requests.
//! - [`dashboard`]: the page.
//! - [`charts`]: inline SVG bars.
//! - [`i18n`]: texts and number formats in German and English.

pub mod api;
pub mod charts;
mod dashboard;
pub mod i18n;

use crate::app::use_app;
use leptos::prelude::*;

/// The dashboard, for admins only (the API answers 403 to agents anyway).
#[component]
pub fn Reports() -> impl IntoView {
    let app = use_app();
    view! {
        <Show when=move || app.is_admin()>
            <dashboard::Dashboard />
        </Show>
    }
}
