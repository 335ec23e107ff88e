//! Who is calling: the `Caller` extractor (an agent's session), the scoped `Access<S>`
//! extractor (a session or an integration's API token), login and logout, and the small
//! helpers every REST module shares.
//!
//! Scopes cannot be forgotten: a handler that takes `Caller` is for sessions only (an API
//! token gets 403 there), so an endpoint opens to integrations only by naming its scope in
//! its signature, e.g. `caller: Access<need::TicketsRead>`.

use super::error::ApiError;
use crate::app::AppState;
use crate::auth::token_hash;
use crate::conversations::ChatError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::Deref;
use switchboard_shared::limits::MAX_FIELD_CHARS;
use switchboard_shared::ErrorCode;
use switchboard_store::{AgentRecord, Role};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// API token secrets start with this, so the extractor knows which table to ask and secret
/// scanners can recognise a leaked one.
pub const API_TOKEN_PREFIX: &str = "sbk_";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
}

/// What an API token may do. Agent sessions have every scope their role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    TicketsRead,
    TicketsWrite,
    ConversationsRead,
    ReportsRead,
    AgentsRead,
    WebhooksManage,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::TicketsRead,
        Scope::TicketsWrite,
        Scope::ConversationsRead,
        Scope::ReportsRead,
        Scope::AgentsRead,
        Scope::WebhooksManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TicketsRead => "tickets:read",
            Scope::TicketsWrite => "tickets:write",
            Scope::ConversationsRead => "conversations:read",
            Scope::ReportsRead => "reports:read",
            Scope::AgentsRead => "agents:read",
            Scope::WebhooksManage => "webhooks:manage",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// Scopes only an admin's session (or a token of a still-admin creator) may use.
    fn admin_only(self) -> bool {
        matches!(self, Scope::WebhooksManage)
    }
}

/// The scope a handler needs, as a type: `Access<need::TicketsRead>`.
pub trait NeedsScope {
    const SCOPE: Scope;
}

/// Marker types for [`Access`], one per [`Scope`].
pub mod need {
    use super::{NeedsScope, Scope};
    macro_rules! markers {
        ($($name:ident),+) => {$(
            pub struct $name;
            impl NeedsScope for $name {
                const SCOPE: Scope = Scope::$name;
            }
        )+};
    }
    markers!(
        TicketsRead,
        TicketsWrite,
        ConversationsRead,
        ReportsRead,
        AgentsRead,
        WebhooksManage
    );
}

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session,
    /// An integration's token; `agent` is the admin who created it.
    ApiToken {
        id: i64,
        scopes: Vec<Scope>,
    },
}

/// An authenticated agent session, from `Authorization: Bearer <token>`. API tokens are
/// refused here (403): see [`Access`].
pub struct Caller {
    pub agent: AgentRecord,
    pub token: String,
    pub via: Via,
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

    /// A session has every scope its role allows; a token only those it was given.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if scope.admin_only() {
            self.require_admin()?;
        }
        match &self.via {
            Via::Session => Ok(()),
            Via::ApiToken { scopes, .. } if scopes.contains(&scope) => Ok(()),
            Via::ApiToken { .. } => Err(ApiError::Forbidden),
        }
    }

    /// Either kind of bearer token: 401 if missing, unknown, expired or revoked.
    async fn authenticate(parts: &Parts, app: &AppState) -> Result<Caller, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?
            .to_string();
        if token.starts_with(API_TOKEN_PREFIX) {
            let (record, agent) = app
                .store
                .api_token_by_hash(token_hash(&token))
                .await?
                .ok_or(ApiError::Unauthorized)?;
            // Scope names the relay no longer knows are ignored, never widened.
            let scopes = record
                .scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .collect();
            let via = Via::ApiToken {
                id: record.id,
                scopes,
            };
            return Ok(Caller { agent, token, via });
        }
        let agent = app.chat.agent_for_token(&token).await?;
        Ok(Caller {
            agent,
            token,
            via: Via::Session,
        })
    }
}

/// Whose data a caller may see, by site: the one tenancy rule of the REST API.
/// Admins (and the API tokens they made) see every site; an agent the sites they work for,
/// or every site when none are set (a single-site installation sets none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteScope {
    All,
    Only(Vec<String>),
}

impl SiteScope {
    pub fn allows(&self, site: &str) -> bool {
        match self {
            SiteScope::All => true,
            SiteScope::Only(sites) => sites.iter().any(|s| s == site),
        }
    }

    /// For store filters: `None` means every site.
    pub fn sites(&self) -> Option<Vec<String>> {
        match self {
            SiteScope::All => None,
            SiteScope::Only(sites) => Some(sites.clone()),
        }
    }
}

impl Caller {
    /// The sites this caller's data access is limited to (see [`SiteScope`]).
    pub async fn site_scope(&self, app: &AppState) -> Result<SiteScope, ApiError> {
        Ok(match app.chat.sites_of(&self.agent).await? {
            None => SiteScope::All,
            Some(sites) => SiteScope::Only(sites),
        })
    }

    /// `Ok` when the caller may see data of `site`; otherwise the same 404 as for data
    /// that does not exist, so other sites' ids cannot be probed.
    pub async fn require_site(&self, app: &AppState, site: &str) -> Result<(), ApiError> {
        if self.site_scope(app).await?.allows(site) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::authenticate(parts, app).await?;
        match caller.via {
            Via::Session => Ok(caller),
            Via::ApiToken { .. } => Err(ApiError::Forbidden),
        }
    }
}

/// A caller allowed `S`: an agent session (its role permitting) or an API token with that
/// scope. Dereferences to [`Caller`].
pub struct Access<S: NeedsScope> {
    caller: Caller,
    _scope: PhantomData<S>,
}

impl<S: NeedsScope> Deref for Access<S> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<S: NeedsScope + Send + Sync> FromRequestParts<AppState> for Access<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::authenticate(parts, app).await?;
        caller.require(S::SCOPE)?;
        Ok(Access {
            caller,
            _scope: PhantomData,
        })
    }
}

/// The JSON body, or a 422 that says what is wrong with it (413 when it was too large).
pub fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload.map(|Json(v)| v).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::Invalid(e.body_text())
        }
    })
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

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    email: String,
    password: String,
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, security(()),
    responses((status = 200, description = "`{token, expires_at, agent}`: a session token for `Authorization: Bearer`", body = serde_json::Value),
        (status = 401, description = "wrong e-mail or password, or a disabled account", body = super::openapi::ErrorBody),
        (status = 429, description = "too many failed attempts for this account or from this address, or a check from this address still running; `Retry-After` says when to try again", body = super::openapi::ErrorBody)))]
async fn login(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    payload: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let req = body(payload)?;
    let attempt = app
        .logins
        .begin(addr.ip(), &req.email)
        .await
        .map_err(|wait| ApiError::TooManyAttempts {
            retry_after: wait.as_secs_f64().ceil() as u64,
        })?;
    let login = app
        .chat
        .login(req.email.trim(), &req.password)
        .await
        .map_err(|e| match e {
            ChatError::Refused(ErrorCode::InvalidToken) => ApiError::InvalidCredentials,
            other => other.into(),
        })?;
    attempt.succeeded();
    Ok(Json(json!({
        "token": login.token,
        "expires_at": login.expires_at,
        "agent": super::agents::AgentJson::from(&login.agent),
    })))
}

#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "the session is revoked; its consoles close"), (status = 401, description = "no valid session", body = super::openapi::ErrorBody)))]
async fn logout(State(app): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    app.chat.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
