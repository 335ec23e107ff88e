//! API tokens for integrations: an admin creates a scoped token (its secret shown once),
//! the token opens exactly the endpoints of its scopes, and revoking it closes them all.

use anyhow::{anyhow, ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_e2e::api::leave_message;
use switchboard_e2e::{Relay, VisitorClient};
use switchboard_shared::VisitorCommand;

async fn expect(
    relay: &Relay,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    expected: StatusCode,
) -> Result<Value> {
    let (status, answer) = relay.call(method.clone(), path, token, body).await?;
    ensure!(
        status == expected,
        "{method} {path} answered {status} (expected {expected}): {answer}"
    );
    Ok(answer)
}

/// Creates a token as `admin_token`; returns (id, secret).
async fn create_token(relay: &Relay, admin_token: &str, scopes: &[&str]) -> Result<(i64, String)> {
    let answer = expect(
        relay,
        Method::POST,
        "/api/v1/api-tokens",
        Some(admin_token),
        Some(json!({"name": "CRM sync", "scopes": scopes})),
        StatusCode::CREATED,
    )
    .await?;
    let secret = answer["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no secret in {answer}"))?
        .to_string();
    let id = answer["api_token"]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no id in {answer}"))?;
    Ok((id, secret))
}

/// A visitor leaves an offline message, which becomes a ticket; returns the ticket id.
async fn offline_ticket(relay: &Relay, token: &str) -> Result<i64> {
    let mut v = VisitorClient::connect(relay, "Jonas").await?;
    v.hello().await?;
    let cmd = VisitorCommand::LeaveMessage {
        client_id: v.next_client_id(),
        body: "Die Rechnung stimmt nicht.".into(),
        name: Some("Jonas".into()),
        email: None,
        customer_number: None,
    };
    let left = leave_message(&mut v, &cmd).await?;
    let (status, ticket) = relay.ticket_of(token, left.conversation_id).await?;
    ensure!(status == StatusCode::OK, "{status} {ticket}");
    ticket["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("ticket without id: {ticket}"))
}

#[tokio::test]
async fn a_token_opens_only_its_scopes_and_nothing_after_it_is_revoked() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Greta", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let ticket = offline_ticket(&relay, &admin_token).await?;
        let ticket_path = format!("/api/v1/tickets/{ticket}");

        // No token at all.
        expect(
            &relay,
            Method::GET,
            "/api/v1/tickets",
            None,
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await?;
        // An unknown token of the API-token form.
        let forged = format!("sbk_{}", "0".repeat(64));
        expect(
            &relay,
            Method::GET,
            "/api/v1/tickets",
            Some(&forged),
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await?;

        let (id, reader) = create_token(&relay, &admin_token, &["tickets:read"]).await?;
        // The right scope.
        let list = expect(
            &relay,
            Method::GET,
            "/api/v1/tickets",
            Some(&reader),
            None,
            StatusCode::OK,
        )
        .await?;
        ensure!(
            list.to_string().contains("Die Rechnung stimmt nicht."),
            "{list}"
        );
        expect(
            &relay,
            Method::GET,
            &ticket_path,
            Some(&reader),
            None,
            StatusCode::OK,
        )
        .await?;
        // Wrong scopes: writing tickets, listing agents, reading transcripts.
        let change = json!({"priority": "high"});
        expect(
            &relay,
            Method::PATCH,
            &ticket_path,
            Some(&reader),
            Some(change.clone()),
            StatusCode::FORBIDDEN,
        )
        .await?;
        expect(
            &relay,
            Method::GET,
            "/api/v1/agents",
            Some(&reader),
            None,
            StatusCode::FORBIDDEN,
        )
        .await?;
        // Endpoints that name no scope are for agent sessions only.
        expect(
            &relay,
            Method::GET,
            "/api/v1/canned-responses",
            Some(&reader),
            None,
            StatusCode::FORBIDDEN,
        )
        .await?;
        // The write scope changes the ticket, on behalf of the admin who made the token.
        let (_, writer) =
            create_token(&relay, &admin_token, &["tickets:write", "agents:read"]).await?;
        let changed = expect(
            &relay,
            Method::PATCH,
            &ticket_path,
            Some(&writer),
            Some(change),
            StatusCode::OK,
        )
        .await?;
        ensure!(changed["priority"] == "high", "{changed}");
        expect(
            &relay,
            Method::GET,
            "/api/v1/agents",
            Some(&writer),
            None,
            StatusCode::OK,
        )
        .await?;

        // Revoked: 401 from the next request on, for every endpoint it could reach.
        expect(
            &relay,
            Method::DELETE,
            &format!("/api/v1/api-tokens/{id}"),
            Some(&admin_token),
            None,
            StatusCode::NO_CONTENT,
        )
        .await?;
        expect(
            &relay,
            Method::GET,
            "/api/v1/tickets",
            Some(&reader),
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await?;
        expect(
            &relay,
            Method::GET,
            &ticket_path,
            Some(&reader),
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await?;
        // The other token is untouched; an unknown id is 404.
        expect(
            &relay,
            Method::GET,
            "/api/v1/agents",
            Some(&writer),
            None,
            StatusCode::OK,
        )
        .await?;
        expect(
            &relay,
            Method::DELETE,
            "/api/v1/api-tokens/9999",
            Some(&admin_token),
            None,
            StatusCode::NOT_FOUND,
        )
        .await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn the_secret_is_shown_once_and_never_listed() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Greta", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let (id, secret) =
            create_token(&relay, &admin_token, &["tickets:read", "reports:read"]).await?;
        ensure!(
            secret.starts_with("sbk_") && secret.len() == 4 + 64,
            "{secret}"
        );

        let listed = expect(
            &relay,
            Method::GET,
            "/api/v1/api-tokens",
            Some(&admin_token),
            None,
            StatusCode::OK,
        )
        .await?;
        let tokens = listed["api_tokens"]
            .as_array()
            .ok_or_else(|| anyhow!("no list: {listed}"))?;
        ensure!(tokens.len() == 1, "{listed}");
        ensure!(
            tokens[0]["id"] == id && tokens[0]["name"] == "CRM sync",
            "{listed}"
        );
        ensure!(
            tokens[0]["scopes"] == json!(["tickets:read", "reports:read"]),
            "{listed}"
        );
        ensure!(tokens[0]["revoked_at"].is_null(), "{listed}");
        let text = listed.to_string();
        ensure!(
            !text.contains(&secret) && !text.contains(&secret[4..]),
            "secret listed: {text}"
        );
        ensure!(
            tokens[0].get("token").is_none() && tokens[0].get("token_hash").is_none(),
            "{listed}"
        );

        // After revoking it is still listed (with when), still without its secret.
        expect(
            &relay,
            Method::DELETE,
            &format!("/api/v1/api-tokens/{id}"),
            Some(&admin_token),
            None,
            StatusCode::NO_CONTENT,
        )
        .await?;
        let listed = expect(
            &relay,
            Method::GET,
            "/api/v1/api-tokens",
            Some(&admin_token),
            None,
            StatusCode::OK,
        )
        .await?;
        ensure!(listed["api_tokens"][0]["revoked_at"].is_i64(), "{listed}");
        ensure!(!listed.to_string().contains(&secret[4..]), "{listed}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn only_an_admin_session_can_manage_tokens() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Greta", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let anna_token = relay.login(&anna).await?.token;
        let request = json!({"name": "mine", "scopes": ["tickets:read"]});

        expect(
            &relay,
            Method::POST,
            "/api/v1/api-tokens",
            Some(&anna_token),
            Some(request.clone()),
            StatusCode::FORBIDDEN,
        )
        .await?;
        expect(
            &relay,
            Method::GET,
            "/api/v1/api-tokens",
            Some(&anna_token),
            None,
            StatusCode::FORBIDDEN,
        )
        .await?;
        expect(
            &relay,
            Method::POST,
            "/api/v1/api-tokens",
            None,
            Some(request.clone()),
            StatusCode::UNAUTHORIZED,
        )
        .await?;
        // A token, even one with every scope, cannot mint or list tokens.
        let every = [
            "tickets:read",
            "tickets:write",
            "conversations:read",
            "reports:read",
            "agents:read",
            "webhooks:manage",
        ];
        let (id, token) = create_token(&relay, &admin_token, &every).await?;
        expect(
            &relay,
            Method::POST,
            "/api/v1/api-tokens",
            Some(&token),
            Some(request),
            StatusCode::FORBIDDEN,
        )
        .await?;
        expect(
            &relay,
            Method::DELETE,
            &format!("/api/v1/api-tokens/{id}"),
            Some(&token),
            None,
            StatusCode::FORBIDDEN,
        )
        .await?;
        // Unknown or missing scopes are refused.
        expect(
            &relay,
            Method::POST,
            "/api/v1/api-tokens",
            Some(&admin_token),
            Some(json!({"name": "x", "scopes": ["tickets:delete"]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        expect(
            &relay,
            Method::POST,
            "/api/v1/api-tokens",
            Some(&admin_token),
            Some(json!({"name": "x", "scopes": []})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        // A disabled creator's tokens stop working, like their sessions.
        let hugo = relay.add_admin("Hugo", 1).await?;
        let hugo_token = relay.login(&hugo).await?.token;
        expect(
            &relay,
            Method::GET,
            "/api/v1/tickets",
            Some(&token),
            None,
            StatusCode::OK,
        )
        .await?;
        let greta = format!("/api/v1/agents/{}", admin.id.0);
        expect(
            &relay,
            Method::PATCH,
            &greta,
            Some(&hugo_token),
            Some(json!({"disabled": true})),
            StatusCode::OK,
        )
        .await?;
        expect(
            &relay,
            Method::GET,
            "/api/v1/tickets",
            Some(&token),
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
