//! The REST calls the specifications use. Each returns the status so tests can assert on
//! refusals (401, 404) as well as on successes.

use crate::relay::{AgentInfo, Relay};
use anyhow::{anyhow, bail, Context, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_shared::{AgentId, ConversationId, EventKind, Seq};

#[derive(Debug, Clone, Deserialize)]
pub struct LoginAgent {
    pub id: AgentId,
    pub name: String,
    pub role: String,
    pub max_concurrent_chats: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub token: String,
    pub expires_at: Value,
    pub agent: LoginAgent,
}

/// One stored event as the transcript endpoint reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub seq: Seq,
    pub event: EventKind,
}

impl Relay {
    pub async fn login_status(&self, email: &str, password: &str) -> Result<(StatusCode, Value)> {
        let resp = self
            .http
            .post(self.http_url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?;
        let status = resp.status();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    pub async fn login(&self, agent: &AgentInfo) -> Result<Login> {
        let (status, body) = self.login_status(&agent.email, &agent.password).await?;
        if status != StatusCode::OK {
            bail!("login of {} answered {status}: {body}", agent.email);
        }
        serde_json::from_value(body.clone()).with_context(|| format!("login response {body}"))
    }

    pub async fn logout(&self, token: &str) -> Result<StatusCode> {
        let resp = self
            .http
            .post(self.http_url("/api/v1/auth/logout"))
            .bearer_auth(token)
            .send()
            .await?;
        Ok(resp.status())
    }

    pub async fn list_agents(&self, token: &str) -> Result<(StatusCode, Value)> {
        let resp = self
            .http
            .get(self.http_url("/api/v1/agents"))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        Ok((status, resp.json::<Value>().await.unwrap_or(Value::Null)))
    }

    pub async fn set_max_chats(
        &self,
        admin_token: &str,
        agent: AgentId,
        max: u32,
    ) -> Result<StatusCode> {
        let resp = self
            .http
            .patch(self.http_url(&format!("/api/v1/agents/{agent}")))
            .bearer_auth(admin_token)
            .json(&json!({"max_concurrent_chats": max}))
            .send()
            .await?;
        Ok(resp.status())
    }

    /// `GET /api/v1/conversations/{id}`: the status and the body.
    pub async fn conversation_status(
        &self,
        token: &str,
        id: ConversationId,
    ) -> Result<(StatusCode, Value)> {
        let resp = self
            .http
            .get(self.http_url(&format!("/api/v1/conversations/{id}")))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        Ok((status, resp.json::<Value>().await.unwrap_or(Value::Null)))
    }

    /// The stored events of a conversation, in the order the relay lists them.
    pub async fn history(&self, token: &str, id: ConversationId) -> Result<Vec<HistoryEvent>> {
        let (status, body) = self.conversation_status(token, id).await?;
        if status != StatusCode::OK {
            bail!("GET /api/v1/conversations/{id} answered {status}: {body}");
        }
        let events = body
            .get("events")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("transcript without an `events` array: {body}"))?;
        events.iter().map(parse_history_event).collect()
    }
}

/// Accepts the shapes a transcript event can reasonably take: `{seq, event:{kind..}}`
/// (like the `event` frame, with or without `"type":"event"`) or `{seq, kind, ..}` flattened.
fn parse_history_event(v: &Value) -> Result<HistoryEvent> {
    let seq = v
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("event without seq: {v}"))?;
    let inner = match v.get("event") {
        Some(e) if e.is_object() => e.clone(),
        _ => v.clone(),
    };
    let event = serde_json::from_value::<EventKind>(inner)
        .with_context(|| format!("transcript event {v}"))?;
    Ok(HistoryEvent { seq, event })
}

impl Relay {
    /// Any REST call: `method` and `path` under the relay, an optional bearer token and JSON
    /// body; returns the status and the JSON body (`Null` when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut req = self.http.request(method, self.http_url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        Ok((status, resp.json::<Value>().await.unwrap_or(Value::Null)))
    }
}

/// What a visitor's offline message was stored as.
#[derive(Debug, Clone, Copy)]
pub struct LeftMessage {
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub duplicate: bool,
}

/// Sends `leave_message` (the offline form) and waits for the relay's `sent` answer.
pub async fn leave_message(
    v: &mut crate::VisitorClient,
    cmd: &switchboard_shared::VisitorCommand,
) -> Result<LeftMessage> {
    use switchboard_shared::ServerFrame;
    v.send_cmd(cmd).await?;
    match v
        .expect("sent", |f| matches!(f, ServerFrame::Sent { .. }))
        .await?
    {
        ServerFrame::Sent {
            conversation_id,
            seq,
            duplicate,
            ..
        } => Ok(LeftMessage {
            conversation_id,
            seq,
            duplicate,
        }),
        other => bail!("expected sent, got {other:?}"),
    }
}

impl Relay {
    /// `GET /api/v1/conversations/{id}/ticket`: the ticket a conversation became.
    pub async fn ticket_of(&self, token: &str, id: ConversationId) -> Result<(StatusCode, Value)> {
        let path = format!("/api/v1/conversations/{id}/ticket");
        self.call(reqwest::Method::GET, &path, Some(token), None)
            .await
    }

    /// `GET /api/v1/tickets{query}`: the tickets array, failing on anything but 200.
    pub async fn tickets(&self, token: &str, query: &str) -> Result<Vec<Value>> {
        let path = format!("/api/v1/tickets{query}");
        let (status, body) = self
            .call(reqwest::Method::GET, &path, Some(token), None)
            .await?;
        if status != StatusCode::OK {
            bail!("GET {path} answered {status}: {body}");
        }
        body.get("tickets")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| anyhow!("no `tickets` array: {body}"))
    }
}

impl Relay {
    /// `POST /api/v1/api-tokens` as `admin`: a new integration token with `scopes`; returns
    /// its secret, failing on anything but 201.
    pub async fn api_token(&self, admin: &str, scopes: &[&str]) -> Result<String> {
        let body = json!({"name": "test integration", "scopes": scopes});
        let (status, made) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/api-tokens",
                Some(admin),
                Some(body),
            )
            .await?;
        if status != StatusCode::CREATED {
            bail!("POST /api/v1/api-tokens answered {status}: {made}");
        }
        made["token"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| anyhow!("no token: {made}"))
    }

    /// `PUT /api/v1/sites/{site}/business-hours` as `admin`, failing on anything but 200.
    pub async fn set_business_hours(
        &self,
        admin: &str,
        site: &str,
        timezone: &str,
        week: Vec<Value>,
    ) -> Result<()> {
        let path = format!("/api/v1/sites/{site}/business-hours");
        let body = json!({"timezone": timezone, "week": week});
        let (status, answer) = self
            .call(reqwest::Method::PUT, &path, Some(admin), Some(body))
            .await?;
        if status != StatusCode::OK {
            bail!("PUT {path} answered {status}: {answer}");
        }
        Ok(())
    }
}
