//! Who is calling: the `Caller` extractor (bearer session token), login and logout, and the
//! small helpers every REST module shares.

use super::error::ApiError;
use crate::app::AppState;
use crate::conversations::ChatError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_shared::limits::MAX_FIELD_CHARS;
use switchboard_shared::ErrorCode;
use switchboard_store::{AgentRecord, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
}

/// An authenticated agent, from `Authorization: Bearer <token>`.
pub struct Caller {
    pub agent: AgentRecord,
    pub token: String,
}

impl Caller {
    /// Admin-only endpoints call this first.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.agent.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?
            .to_string();
        let agent = app.chat.agent_for_token(&token).await?;
        Ok(Caller { agent, token })
    }
}

/// The JSON body, or a 422 that says what is wrong with it.
pub fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload
        .map(|Json(v)| v)
        .map_err(|e| ApiError::Invalid(e.body_text()))
}

/// A required one-line text field: trimmed, not empty, at most `MAX_FIELD_CHARS`.
pub fn short_text(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::Invalid(format!("{field} must not be empty")));
    }
    if v.chars().count() > MAX_FIELD_CHARS || v.chars().any(char::is_control) {
        return Err(ApiError::Invalid(format!(
            "{field} must be one line of at most {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(v.to_string())
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
}

async fn login(
    State(app): State<AppState>,
    payload: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let req = body(payload)?;
    let login = app
        .chat
        .login(req.email.trim(), &req.password)
        .await
        .map_err(|e| match e {
            ChatError::Refused(ErrorCode::InvalidToken) => ApiError::InvalidCredentials,
            other => other.into(),
        })?;
    Ok(Json(json!({
        "token": login.token,
        "expires_at": login.expires_at,
        "agent": super::agents::AgentJson::from(&login.agent),
    })))
}

async fn logout(State(app): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    app.chat.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
