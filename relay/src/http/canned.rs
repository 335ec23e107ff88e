//! `/canned-responses`: answers agents insert by typing `/shortcut`. Every agent reads those
//! of every site and of the sites they work for (`site`); admins manage them.

use super::auth::{body, short_text, Caller};
use super::error::ApiError;
use super::openapi::{AuthErrors, ErrorBody, InvalidInput};
use crate::app::AppState;
use crate::clock::now_ms;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_shared::text::MessageBody;
use switchboard_store::{CannedResponse, NewCanned};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(replace, remove))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CannedJson {
    shortcut: String,
    title: String,
    body: String,
    /// Only this site's agents are offered it; absent or `null`: every site.
    #[serde(default)]
    site: Option<String>,
}

/// Shortcuts are what agents type after `/`: letters, digits, `-` and `_`, up to 32.
fn validate(req: CannedJson) -> Result<NewCanned, ApiError> {
    let shortcut = req.shortcut.trim().trim_start_matches('/').to_string();
    let ok = !shortcut.is_empty()
        && shortcut.chars().count() <= 32
        && shortcut
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(ApiError::Invalid(
            "shortcut must be 1 to 32 letters, digits, '-' or '_'".into(),
        ));
    }
    let body = MessageBody::parse(&req.body)
        .map_err(|code| ApiError::Invalid(format!("body: {}", code.describe())))?;
    let site_id = req
        .site
        .filter(|s| !s.trim().is_empty())
        .map(|s| short_text("site", &s))
        .transpose()?;
    Ok(NewCanned {
        shortcut,
        title: short_text("title", &req.title)?,
        body: body.into_string(),
        site_id,
    })
}

/// A named site must exist (422 otherwise, before the database's foreign key says so).
async fn known_site(app: &AppState, new: &NewCanned) -> Result<(), ApiError> {
    match &new.site_id {
        Some(site) if app.store.site(site).await?.is_none() => {
            Err(ApiError::Invalid(format!("unknown site {site:?}")))
        }
        _ => Ok(()),
    }
}

#[utoipa::path(get, path = "/canned-responses", tag = "canned responses",
    responses((status = 200, description = "`{canned: [canned response]}` (agent sessions)", body = serde_json::Value), AuthErrors))]
async fn list(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let scope = caller.site_scope(&app).await?;
    let mine: Vec<CannedResponse> = app
        .store
        .list_canned()
        .await?
        .into_iter()
        .filter(|c| c.site_id.as_deref().is_none_or(|s| scope.allows(s)))
        .collect();
    Ok(Json(json!({ "canned_responses": mine })))
}

#[utoipa::path(post, path = "/canned-responses", tag = "canned responses", request_body = CannedJson,
    responses((status = 201, description = "created (admins only)", body = CannedResponse), (status = 409, description = "the shortcut is taken", body = ErrorBody), InvalidInput, AuthErrors))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    payload: Result<Json<CannedJson>, JsonRejection>,
) -> Result<(StatusCode, Json<CannedResponse>), ApiError> {
    caller.require_admin()?;
    let new = validate(body(payload)?)?;
    known_site(&app, &new).await?;
    let created = app.store.create_canned(new, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(put, path = "/canned-responses/{id}", tag = "canned responses", params(("id" = i64, Path, description = "canned response id")), request_body = CannedJson,
    responses((status = 200, description = "replaced (admins only)", body = CannedResponse), (status = 404, description = "no such canned response", body = ErrorBody), InvalidInput, AuthErrors))]
async fn replace(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    payload: Result<Json<CannedJson>, JsonRejection>,
) -> Result<Json<CannedResponse>, ApiError> {
    caller.require_admin()?;
    let new = validate(body(payload)?)?;
    known_site(&app, &new).await?;
    Ok(Json(app.store.update_canned(id, new, now_ms()).await?))
}

#[utoipa::path(delete, path = "/canned-responses/{id}", tag = "canned responses", params(("id" = i64, Path, description = "canned response id")),
    responses((status = 204, description = "deleted (admins only)"), (status = 404, description = "no such canned response", body = ErrorBody), AuthErrors))]
async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    app.store.delete_canned(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
