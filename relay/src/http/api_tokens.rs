//! `/api-tokens`: scoped, revocable tokens for integrations. Only an admin's session may
//! manage them (a token cannot mint tokens). The secret is in the creation answer only; the
//! store keeps its SHA-256.

use super::auth::{body, short_text, Caller, Scope, API_TOKEN_PREFIX};
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
use switchboard_store::webhooks::NewApiToken;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    name: String,
    scopes: Vec<String>,
}

/// At least one known scope; duplicates collapse, order as given.
fn scopes(names: &[String]) -> Result<Vec<Scope>, ApiError> {
    let mut out: Vec<Scope> = Vec::new();
    for name in names {
        let scope = Scope::parse(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::Invalid(format!(
                "unknown scope {name:?}; known: {}",
                known.join(", ")
            ))
        })?;
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    if out.is_empty() {
        return Err(ApiError::Invalid(
            "scopes must name at least one scope".into(),
        ));
    }
    Ok(out)
}

#[utoipa::path(post, path = "/api-tokens", tag = "api tokens", request_body = CreateToken,
    responses((status = 201, description = "`{api_token, token}`: the secret (`sbk_…`) is shown only now (admin sessions)", body = serde_json::Value), InvalidInput, AuthErrors))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    payload: Result<Json<CreateToken>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_admin()?;
    let req = body(payload)?;
    let name = short_text("name", &req.name)?;
    let scopes = scopes(&req.scopes)?;
    let (random, _) = crate::auth::new_token().map_err(|e| ApiError::Internal(e.into()))?;
    let secret = format!("{API_TOKEN_PREFIX}{random}");
    let record = app
        .store
        .create_api_token(NewApiToken {
            name,
            scopes: scopes.iter().map(|s| s.as_str().to_string()).collect(),
            token_hash: crate::auth::token_hash(&secret),
            created_by: caller.agent.id,
            at: now_ms(),
        })
        .await?;
    let mut out = json!({ "api_token": record });
    out["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/api-tokens", tag = "api tokens",
    responses((status = 200, description = "`{api_tokens: [token]}`, revoked ones too, never a secret (admin sessions)", body = serde_json::Value), AuthErrors))]
async fn list(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let all = app.store.list_api_tokens().await?;
    Ok(Json(json!({ "api_tokens": all })))
}

/// Takes effect on the next request: every request looks the token up.
#[utoipa::path(delete, path = "/api-tokens/{id}", tag = "api tokens", params(("id" = i64, Path, description = "API token id")),
    responses((status = 204, description = "revoked at once (admin sessions)"), (status = 404, description = "no such token", body = ErrorBody), AuthErrors))]
async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    app.store.revoke_api_token(id, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
