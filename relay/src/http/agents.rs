//! `/agents`: the roster with live presence and load (every agent: the transfer list), and
//! account administration (admins: create, change cap, role, level, name, password, disable).

use super::auth::{body, need, short_text, Access, Caller};
use super::error::ApiError;
use super::openapi::{AuthErrors, ErrorBody, InvalidInput};
use crate::app::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_shared::{AgentId, Presence, SupportLevel};
use switchboard_store::{AgentPatch, AgentRecord, NewAgent, Role};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Highest cap an admin may set.
const MAX_CAP: u32 = 100;
/// Shortest password accepted.
const MIN_PASSWORD: usize = 8;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
}

#[derive(Serialize, ToSchema)]
pub struct AgentJson {
    id: AgentId,
    name: String,
    email: String,
    role: Role,
    max_concurrent_chats: u32,
    support_level: SupportLevel,
    disabled: bool,
    /// The sites the agent works for (empty: every site; admins always every site). In the
    /// answers of `POST` and `PATCH /agents`.
    #[serde(skip_serializing_if = "Option::is_none")]
    sites: Option<Vec<String>>,
}

impl AgentJson {
    fn with_sites(mut self, sites: Vec<String>) -> Self {
        self.sites = Some(sites);
        self
    }
}

impl From<&AgentRecord> for AgentJson {
    fn from(a: &AgentRecord) -> Self {
        AgentJson {
            id: a.id,
            name: a.display_name.clone(),
            email: a.email.clone(),
            role: a.role,
            max_concurrent_chats: a.max_concurrent_chats,
            support_level: a.support_level,
            disabled: a.disabled,
            sites: None,
        }
    }
}

/// Site ids as given: each must exist; duplicates collapse.
async fn known_sites(app: &AppState, sites: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::with_capacity(sites.len());
    for site in sites {
        let site = short_text("sites", &site)?;
        if app.store.site(&site).await?.is_none() {
            return Err(ApiError::Invalid(format!("unknown site {site:?}")));
        }
        if !out.contains(&site) {
            out.push(site);
        }
    }
    out.sort();
    Ok(out)
}

/// Every agent with live presence and load.
#[utoipa::path(get, path = "/agents", tag = "agents",
    responses((status = 200, description = "`{agents: [agent + presence, active, max]}` (scope agents:read)", body = serde_json::Value), AuthErrors))]
async fn list(
    State(app): State<AppState>,
    _caller: Access<need::AgentsRead>,
) -> Result<Json<Value>, ApiError> {
    let live: std::collections::HashMap<AgentId, _> = app
        .chat
        .roster()
        .into_iter()
        .map(|(id, _, presence, active, max)| (id, (presence, active, max)))
        .collect();
    let agents: Vec<Value> = app
        .store
        .list_agents()
        .await?
        .iter()
        .map(|a| {
            let (presence, active, max) =
                live.get(&a.id)
                    .copied()
                    .unwrap_or((Presence::Offline, 0, a.max_concurrent_chats));
            json!({ "id": a.id, "name": a.display_name, "role": a.role, "presence": presence,
                    "active": active, "max": max, "support_level": a.support_level,
                    "disabled": a.disabled })
        })
        .collect();
    Ok(Json(json!({ "agents": agents })))
}

fn cap(max: Option<u32>) -> Result<Option<u32>, ApiError> {
    match max {
        Some(m) if m > MAX_CAP => Err(ApiError::Invalid(format!(
            "max_concurrent_chats must be at most {MAX_CAP}"
        ))),
        other => Ok(other),
    }
}

async fn password_hash(app: &AppState, password: Option<&str>) -> Result<Option<String>, ApiError> {
    match password {
        None => Ok(None),
        Some(p) if p.chars().count() < MIN_PASSWORD => Err(ApiError::Invalid(format!(
            "password must have at least {MIN_PASSWORD} characters"
        ))),
        Some(p) => app
            .chat
            .passwords()
            .hash(p)
            .await
            .map(Some)
            .map_err(|e| ApiError::Internal(e.into())),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewAgentJson {
    email: String,
    name: String,
    password: String,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    max_concurrent_chats: Option<u32>,
    #[serde(default)]
    support_level: Option<SupportLevel>,
    /// The sites the agent works for; absent or empty: every site.
    #[serde(default)]
    sites: Vec<String>,
}

/// Admins create agent accounts.
#[utoipa::path(post, path = "/agents", tag = "agents", request_body = NewAgentJson,
    responses((status = 201, description = "created (admins only)", body = AgentJson), (status = 409, description = "the e-mail is taken", body = ErrorBody), InvalidInput, AuthErrors))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    payload: Result<Json<NewAgentJson>, JsonRejection>,
) -> Result<(StatusCode, Json<AgentJson>), ApiError> {
    caller.require_admin()?;
    let req = body(payload)?;
    let email = short_text("email", &req.email)?.to_lowercase();
    if !email.contains('@') {
        return Err(ApiError::Invalid("email must be an e-mail address".into()));
    }
    let new = NewAgent {
        email,
        display_name: short_text("name", &req.name)?,
        password_hash: password_hash(&app, Some(&req.password))
            .await?
            .unwrap_or_default(),
        role: req.role.unwrap_or(Role::Agent),
        max_concurrent_chats: cap(req.max_concurrent_chats)?.unwrap_or(3),
        support_level: req.support_level.unwrap_or_default(),
    };
    let sites = known_sites(&app, req.sites).await?;
    let rec = app.store.create_agent(new).await?;
    app.chat.set_agent_sites(rec.id, &sites).await?;
    Ok((
        StatusCode::CREATED,
        Json(AgentJson::from(&rec).with_sites(sites)),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AgentUpdate {
    max_concurrent_chats: Option<u32>,
    display_name: Option<String>,
    disabled: Option<bool>,
    role: Option<Role>,
    support_level: Option<SupportLevel>,
    password: Option<String>,
    /// Replaces the sites the agent works for; empty: every site.
    sites: Option<Vec<String>>,
}

/// Admins change an agent's account; caps and disabling take effect at once.
#[utoipa::path(patch, path = "/agents/{id}", tag = "agents", params(("id" = i64, Path, description = "agent id")), request_body = AgentUpdate,
    responses((status = 200, description = "changed (admins only); caps and disabling apply at once", body = AgentJson), (status = 404, description = "no such agent", body = ErrorBody), InvalidInput, AuthErrors))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    payload: Result<Json<AgentUpdate>, JsonRejection>,
) -> Result<Json<AgentJson>, ApiError> {
    caller.require_admin()?;
    let req = body(payload)?;
    let patch = AgentPatch {
        display_name: req
            .display_name
            .as_deref()
            .map(|n| short_text("display_name", n))
            .transpose()?,
        password_hash: password_hash(&app, req.password.as_deref()).await?,
        role: req.role,
        max_concurrent_chats: cap(req.max_concurrent_chats)?,
        support_level: req.support_level,
        disabled: req.disabled,
    };
    let sites = match req.sites {
        Some(sites) => Some(known_sites(&app, sites).await?),
        None => None,
    };
    let rec = app.chat.update_agent(AgentId(id), patch).await?;
    if let Some(sites) = &sites {
        app.chat.set_agent_sites(rec.id, sites).await?;
    }
    let sites = app.store.agent_sites(rec.id).await?;
    Ok(Json(AgentJson::from(&rec).with_sites(sites)))
}
