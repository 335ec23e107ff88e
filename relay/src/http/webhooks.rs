//! `/webhooks`: subscriptions and their delivery log, for admins (or a token with
//! `webhooks:manage`). The signing secret is in the creation answer only.

use super::auth::{body, need, Access};
use super::error::ApiError;
use super::openapi::{AuthErrors, ErrorBody, InvalidInput};
use crate::app::AppState;
use crate::clock::now_ms;
use crate::webhooks::EventType;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_store::webhooks::NewWebhook;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Secrets start with this, so one pasted in the wrong place is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";
const MAX_URL_CHARS: usize = 2000;
const DEFAULT_LOG: u32 = 50;
const MAX_LOG: u32 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
        .routes(routes!(deliveries))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    url: String,
    events: Vec<String>,
}

/// An absolute http(s) URL with a host.
fn url(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    let parsed = reqwest::Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .filter(|_| text.len() <= MAX_URL_CHARS);
    match parsed {
        Some(u) => Ok(u.to_string()),
        None => Err(ApiError::Invalid(format!(
            "url must be an http or https URL of at most {MAX_URL_CHARS} characters"
        ))),
    }
}

/// At least one known event type; duplicates collapse.
fn events(names: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let kind = EventType::parse(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::Invalid(format!(
                "unknown event {name:?}; known: {}",
                known.join(", ")
            ))
        })?;
        if !out.iter().any(|e| e == kind.as_str()) {
            out.push(kind.as_str().to_string());
        }
    }
    if out.is_empty() {
        return Err(ApiError::Invalid(
            "events must name at least one event".into(),
        ));
    }
    Ok(out)
}

#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, description = "`{webhook, secret}`: the signing secret is shown only now (scope webhooks:manage, admins)", body = serde_json::Value), InvalidInput, AuthErrors))]
async fn create(
    State(app): State<AppState>,
    caller: Access<need::WebhooksManage>,
    payload: Result<Json<CreateWebhook>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req = body(payload)?;
    let url = url(&req.url)?;
    let events = events(&req.events)?;
    let (random, _) = crate::auth::new_token().map_err(|e| ApiError::Internal(e.into()))?;
    let secret = format!("{SECRET_PREFIX}{random}");
    let record = app
        .store
        .create_webhook(NewWebhook {
            url,
            events,
            secret: secret.clone(),
            created_by: caller.agent.id,
            at: now_ms(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "webhook": record, "secret": secret })),
    ))
}

#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, description = "`{webhooks: [webhook]}` without secrets (scope webhooks:manage)", body = serde_json::Value), AuthErrors))]
async fn list(
    State(app): State<AppState>,
    _caller: Access<need::WebhooksManage>,
) -> Result<Json<Value>, ApiError> {
    let all = app.store.list_webhooks().await?;
    Ok(Json(json!({ "webhooks": all })))
}

/// Stops deliveries, pending retries included.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path, description = "webhook id")),
    responses((status = 204, description = "removed; pending deliveries stop (scope webhooks:manage)"), (status = 404, description = "no such webhook", body = ErrorBody), AuthErrors))]
async fn remove(
    State(app): State<AppState>,
    _caller: Access<need::WebhooksManage>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    app.store.delete_webhook(id, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    limit: Option<u32>,
}

/// The delivery log, newest first: each delivery with its status and every attempt.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = i64, Path, description = "webhook id")), params(LogQuery),
    responses((status = 200, description = "the delivery log, newest first: each delivery with its status and every attempt (status code or error, duration, times)", body = serde_json::Value), (status = 404, description = "no such webhook", body = ErrorBody), AuthErrors))]
async fn deliveries(
    State(app): State<AppState>,
    _caller: Access<need::WebhooksManage>,
    Path(id): Path<i64>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let store = &app.store;
    if store.webhook(id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let limit = q.limit.unwrap_or(DEFAULT_LOG).clamp(1, MAX_LOG);
    let log = store.webhook_deliveries(id, limit).await?;
    Ok(Json(json!({ "deliveries": log })))
}
