//! REST API v1: agent login/logout, the agent list, cap changes, transcripts.

use super::error::ApiError;
use crate::app::AppState;
use crate::conversations::ChatError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_shared::limits::MAX_FIELD_CHARS;
use switchboard_shared::{AgentId, ConversationId, ErrorCode, ServerFrame};
use switchboard_store::{AgentPatch, AgentRecord, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/agents", get(list_agents))
        .route("/agents/{id}", patch(update_agent))
        .route("/conversations/{id}", get(conversation))
}

/// An authenticated agent, from `Authorization: Bearer <token>`.
pub struct Caller {
    pub agent: AgentRecord,
    pub token: String,
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

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload
        .map(|Json(v)| v)
        .map_err(|e| ApiError::Invalid(e.body_text()))
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct AgentJson {
    id: AgentId,
    name: String,
    email: String,
    role: Role,
    max_concurrent_chats: u32,
    disabled: bool,
}

impl From<&AgentRecord> for AgentJson {
    fn from(a: &AgentRecord) -> Self {
        AgentJson {
            id: a.id,
            name: a.display_name.clone(),
            email: a.email.clone(),
            role: a.role,
            max_concurrent_chats: a.max_concurrent_chats,
            disabled: a.disabled,
        }
    }
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
        "agent": AgentJson::from(&login.agent),
    })))
}

async fn logout(State(app): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    app.chat.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every agent with live presence and load: what a console shows in its transfer list.
async fn list_agents(
    State(app): State<AppState>,
    _caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let live: std::collections::HashMap<AgentId, _> = app
        .chat
        .roster()
        .into_iter()
        .map(|(id, _, presence, active, max)| (id, (presence, active, max)))
        .collect();
    let agents: Vec<Value> = app
        .chat
        .store()
        .list_agents()
        .await?
        .iter()
        .map(|a| {
            let (presence, active, max) = live.get(&a.id).copied().unwrap_or((
                switchboard_shared::Presence::Offline,
                0,
                a.max_concurrent_chats,
            ));
            json!({ "id": a.id, "name": a.display_name, "role": a.role, "presence": presence,
                    "active": active, "max": max, "disabled": a.disabled })
        })
        .collect();
    Ok(Json(json!({ "agents": agents })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentUpdate {
    max_concurrent_chats: Option<u32>,
    display_name: Option<String>,
    disabled: Option<bool>,
}

/// Admins change an agent's cap, name or status; it takes effect at once.
async fn update_agent(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    payload: Result<Json<AgentUpdate>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    if caller.agent.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let req = body(payload)?;
    if req.max_concurrent_chats.is_some_and(|m| m > 100) {
        return Err(ApiError::Invalid(
            "max_concurrent_chats must be at most 100".into(),
        ));
    }
    let display_name = match req.display_name.as_deref().map(str::trim) {
        Some("") => return Err(ApiError::Invalid("display_name must not be empty".into())),
        Some(n) if n.chars().count() > MAX_FIELD_CHARS => {
            return Err(ApiError::Invalid("display_name too long".into()))
        }
        other => other.map(str::to_string),
    };
    let patch = AgentPatch {
        display_name,
        max_concurrent_chats: req.max_concurrent_chats,
        disabled: req.disabled,
        ..Default::default()
    };
    let rec = app.chat.update_agent(AgentId(id), patch).await?;
    Ok(Json(json!(AgentJson::from(&rec))))
}

/// A transcript, for the agent who holds the conversation or an admin.
async fn conversation(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let conv = ConversationId(id);
    let allowed = caller.agent.role == Role::Admin || app.chat.agent_owns(caller.agent.id, conv);
    if !allowed {
        return Err(ApiError::NotFound);
    }
    let rec = app
        .chat
        .store()
        .conversation(conv)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = app.chat.store().events_after(conv, after, 1000).await?;
        let n = page.len();
        for ev in page {
            after = ev.seq;
            events.push(ServerFrame::Event {
                conversation_id: ev.conversation_id,
                seq: ev.seq,
                at: ev.at,
                event: ev.event,
            });
        }
        if n < 1000 {
            break;
        }
    }
    Ok(Json(
        json!({ "conversation": app.chat.view(&rec), "events": events }),
    ))
}
