//! `/canned-responses`: answers agents insert by typing `/shortcut`. Every agent reads them;
//! admins manage them.

use super::auth::{body, short_text, Caller};
use super::error::ApiError;
use crate::app::AppState;
use crate::clock::now_ms;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_shared::text::MessageBody;
use switchboard_store::{CannedResponse, NewCanned};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/canned-responses", get(list).post(create))
        .route("/canned-responses/{id}", put(replace).delete(remove))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedJson {
    shortcut: String,
    title: String,
    body: String,
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
    Ok(NewCanned {
        shortcut,
        title: short_text("title", &req.title)?,
        body: body.into_string(),
    })
}

async fn list(State(app): State<AppState>, _caller: Caller) -> Result<Json<Value>, ApiError> {
    let all = app.chat.store().list_canned().await?;
    Ok(Json(json!({ "canned_responses": all })))
}

async fn create(
    State(app): State<AppState>,
    caller: Caller,
    payload: Result<Json<CannedJson>, JsonRejection>,
) -> Result<(StatusCode, Json<CannedResponse>), ApiError> {
    caller.require_admin()?;
    let new = validate(body(payload)?)?;
    let created = app.chat.store().create_canned(new, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn replace(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    payload: Result<Json<CannedJson>, JsonRejection>,
) -> Result<Json<CannedResponse>, ApiError> {
    caller.require_admin()?;
    let new = validate(body(payload)?)?;
    Ok(Json(
        app.chat.store().update_canned(id, new, now_ms()).await?,
    ))
}

async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    app.chat.store().delete_canned(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
