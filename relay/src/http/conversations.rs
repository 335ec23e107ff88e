//! `/conversations/{id}`: the transcript with visitor details, internal notes and the
//! visitor's earlier conversations, for the agent who holds it or an admin; and adding notes.

use super::auth::{body, need, Access, Caller};
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
use switchboard_shared::{ConversationId, ServerFrame};
use switchboard_store::{ConversationRecord, Note, Role};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How many earlier conversations of the same visitor are listed.
const EARLIER: u32 = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(transcript))
        .routes(routes!(add_note))
}

/// The conversation, if the caller may see it: one answer (404) for "missing" and "not
/// yours", so ids cannot be probed.
async fn visible(app: &AppState, caller: &Caller, id: i64) -> Result<ConversationRecord, ApiError> {
    let conv = ConversationId(id);
    let allowed = caller.agent.role == Role::Admin || app.chat.agent_owns(caller.agent.id, conv);
    if !allowed {
        return Err(ApiError::NotFound);
    }
    app.store
        .conversation(conv)
        .await?
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations", params(("id" = i64, Path, description = "conversation id")),
    responses((status = 200, description = "`{conversation, events, notes, earlier}`: the transcript (as WebSocket `event` frames), visitor details, internal notes and the visitor's earlier conversations; for the agent holding it or an admin (scope conversations:read)", body = serde_json::Value),
        (status = 404, description = "missing or not the caller's", body = ErrorBody), AuthErrors))]
async fn transcript(
    State(app): State<AppState>,
    caller: Access<need::ConversationsRead>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let rec = visible(&app, &caller, id).await?;
    let store = &app.store;
    let events: Vec<ServerFrame> = store
        .all_events(rec.id)
        .await?
        .into_iter()
        .map(|ev| ServerFrame::Event {
            conversation_id: ev.conversation_id,
            seq: ev.seq,
            at: ev.at,
            event: ev.event,
        })
        .collect();
    let notes = store.notes(rec.id).await?;
    let earlier: Vec<Value> = store
        .conversations_of_visitor(rec.visitor_id, EARLIER + 1)
        .await?
        .iter()
        .filter(|c| c.id != rec.id)
        .take(EARLIER as usize)
        .map(|c| json!({ "id": c.id, "status": c.status, "created_at": c.created_at }))
        .collect();
    Ok(Json(json!({
        "conversation": app.chat.view(&rec),
        "events": events,
        "notes": notes,
        "earlier": earlier,
        // How far the holding agent has read: a reloaded console counts unread from here.
        "agent_read": rec.agent_read,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NoteJson {
    body: String,
}

/// An internal note: stored beside the conversation, never in its event stream, so no
/// visitor connection can ever be sent one.
#[utoipa::path(post, path = "/conversations/{id}/notes", tag = "conversations", params(("id" = i64, Path, description = "conversation id")), request_body = NoteJson,
    responses((status = 201, description = "an internal note; the visitor never sees it", body = Note), (status = 404, description = "missing or not the caller's", body = ErrorBody), InvalidInput, AuthErrors))]
async fn add_note(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    payload: Result<Json<NoteJson>, JsonRejection>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let rec = visible(&app, &caller, id).await?;
    let text = MessageBody::parse(&body(payload)?.body)
        .map_err(|code| ApiError::Invalid(format!("body: {}", code.describe())))?;
    let note = app
        .store
        .add_note(rec.id, caller.agent.id, text.as_str(), now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}
