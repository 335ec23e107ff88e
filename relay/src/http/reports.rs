//! `/reports`: the support KPIs over a date range, as JSON or as a CSV download. Admins
//! only: the per-agent numbers are performance data about colleagues (see
//! `docs/REPORTS.md`).

use super::auth::Caller;
use super::error::ApiError;
use crate::app::AppState;
use crate::clock::now_ms;
use crate::reports::{self, range, Report};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use switchboard_store::reports::ReportRange;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/kpis", get(kpis_json))
        .route("/reports/kpis.csv", get(kpis_csv))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KpiQuery {
    from: String,
    to: String,
    site: Option<String>,
}

/// Checks the caller and the query, then computes the report.
async fn build(
    app: &AppState,
    caller: &Caller,
    query: Result<Query<KpiQuery>, QueryRejection>,
) -> Result<Report, ApiError> {
    caller.require_admin()?;
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let (from, to) = range::parse(&q.from, &q.to)?;
    let store = app.chat.store();
    let site = match q.site.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => Some(store.site(id).await?.ok_or(ApiError::NotFound)?.id),
        None => None,
    };
    let range = ReportRange { from, to, site };
    Ok(reports::report(store.as_ref(), range, now_ms()).await?)
}

async fn kpis_json(
    State(app): State<AppState>,
    caller: Caller,
    query: Result<Query<KpiQuery>, QueryRejection>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(build(&app, &caller, query).await?))
}

async fn kpis_csv(
    State(app): State<AppState>,
    caller: Caller,
    query: Result<Query<KpiQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let report = build(&app, &caller, query).await?;
    let body = reports::csv::to_csv(&report)?;
    let disposition = format!("attachment; filename=\"{}\"", file_name(&report));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// `kpis_<site or all>_<from>_<to>.csv`; only `[A-Za-z0-9_-]` from the site id, so the
/// header needs no escaping.
fn file_name(report: &Report) -> String {
    let site: String = match &report.range.site {
        Some(s) => s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
        None => "all".into(),
    };
    format!(
        "kpis_{site}_{}_{}.csv",
        range::label(report.range.from),
        range::label(report.range.to)
    )
}
