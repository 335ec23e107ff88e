//! `/reports`: the support KPIs over a date range, as JSON or as a CSV download. Admins
//! only: the per-agent numbers are performance data about colleagues (see
//! `docs/REPORTS.md`).

use super::auth::{need, Access, Caller, Via};
use super::error::ApiError;
use super::openapi::{AuthErrors, ErrorBody};
use crate::app::AppState;
use crate::clock::now_ms;
use crate::reports::{self, range, Report};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use switchboard_store::reports::ReportRange;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(kpis_json))
        .routes(routes!(kpis_csv))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KpiQuery {
    /// Start (included): `YYYY-MM-DD` (midnight UTC) or Unix milliseconds.
    from: String,
    /// End (excluded), same forms; at most 367 days after `from`.
    to: String,
    /// Only this site; all sites when absent.
    site: Option<String>,
}

/// Checks the caller and the query, then computes the report.
async fn build(
    app: &AppState,
    caller: &Caller,
    query: Result<Query<KpiQuery>, QueryRejection>,
) -> Result<Report, ApiError> {
    // Per-agent figures are about colleagues: admins' sessions, or an integration's token
    // that was given `reports:read` (checked by the extractor).
    if caller.via == Via::Session {
        caller.require_admin()?;
    }
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let (from, to) = range::parse(&q.from, &q.to)?;
    let store = &app.store;
    let site = match q.site.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => Some(store.site(id).await?.ok_or(ApiError::NotFound)?.id),
        None => None,
    };
    let range = ReportRange { from, to, site };
    Ok(reports::report(store.as_ref(), range, now_ms()).await?)
}

#[utoipa::path(get, path = "/reports/kpis", tag = "reports", params(KpiQuery),
    responses((status = 200, description = "every KPI overall, per agent and per support level (docs/REPORTS.md)", body = Report), AuthErrors, (status = 404, description = "no such site", body = ErrorBody), (status = 422, description = "a bad range (the message says why)", body = ErrorBody)))]
async fn kpis_json(
    State(app): State<AppState>,
    caller: Access<need::ReportsRead>,
    query: Result<Query<KpiQuery>, QueryRejection>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(build(&app, &caller, query).await?))
}

#[utoipa::path(get, path = "/reports/kpis.csv", tag = "reports", params(KpiQuery),
    responses((status = 200, description = "the same report as CSV: group, agent_id, agent_name, support_level, metric, value", content_type = "text/csv", body = String), AuthErrors, (status = 404, description = "no such site", body = ErrorBody), (status = 422, description = "a bad range (the message says why)", body = ErrorBody)))]
async fn kpis_csv(
    State(app): State<AppState>,
    caller: Access<need::ReportsRead>,
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
