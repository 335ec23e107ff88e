//! The REST API (docs/PROTOCOL.md, "REST API") with `fetch`: login, agents, conversation
//! details, notes, canned responses. Bodies are the relay's JSON, read with serde.

use serde::{Deserialize, Serialize};
use switchboard_shared::{ConversationView, Presence, ServerFrame};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub max_concurrent_chats: u32,
    pub support_level: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub token: String,
    pub agent: Account,
}

/// An agent as `GET /api/v1/agents` lists them (live presence and load).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AgentRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub presence: Presence,
    pub active: u32,
    pub max: u32,
    pub support_level: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Note {
    pub id: i64,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Earlier {
    pub id: i64,
    pub status: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Details {
    pub conversation: ConversationView,
    #[serde(default)]
    pub events: Vec<ServerFrame>,
    #[serde(default)]
    pub notes: Vec<Note>,
    #[serde(default)]
    pub earlier: Vec<Earlier>,
    /// How far the holding agent has read (their stored `read` receipt).
    #[serde(default)]
    pub agent_read: switchboard_shared::Seq,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Canned {
    pub id: i64,
    pub shortcut: String,
    pub title: String,
    pub body: String,
}

/// A failed request: the HTTP status (0 when the network failed), the relay's code and
/// its message (which says what is wrong with a refused field).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

type Result<T> = std::result::Result<T, ApiError>;

fn net_error() -> ApiError {
    ApiError {
        status: 0,
        code: "network".into(),
        message: String::new(),
    }
}

/// One request; returns the response text on 2xx.
pub(crate) async fn call(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Result<String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = &body {
        init.set_body(&b.into());
    }
    let req = Request::new_with_str_and_init(path, &init).map_err(|_| net_error())?;
    let headers = req.headers();
    if body.is_some() {
        let _ = headers.set("content-type", "application/json");
    }
    if let Some(t) = token {
        let _ = headers.set("authorization", &format!("Bearer {t}"));
    }
    let window = web_sys::window().ok_or_else(net_error)?;
    let res: Response = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| net_error())?
        .unchecked_into();
    let text = match res.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if res.ok() {
        Ok(text)
    } else {
        let err = serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default();
        let field = |f: &str| err["error"][f].as_str().unwrap_or_default().to_owned();
        Err(ApiError {
            status: res.status(),
            code: field("code"),
            message: field("message"),
        })
    }
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| ApiError {
        status: 0,
        code: "bad_json".into(),
        message: String::new(),
    })
}

pub async fn login(email: &str, password: &str) -> Result<Login> {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    parse(&call("POST", "/api/v1/auth/login", None, Some(body)).await?)
}

pub async fn logout(token: &str) {
    let _ = call("POST", "/api/v1/auth/logout", Some(token), None).await;
}

pub async fn agents(token: &str) -> Result<Vec<AgentRow>> {
    #[derive(Deserialize)]
    struct List {
        agents: Vec<AgentRow>,
    }
    Ok(parse::<List>(&call("GET", "/api/v1/agents", Some(token), None).await?)?.agents)
}

pub async fn create_agent(token: &str, body: serde_json::Value) -> Result<()> {
    call(
        "POST",
        "/api/v1/agents",
        Some(token),
        Some(body.to_string()),
    )
    .await?;
    Ok(())
}

pub async fn patch_agent(token: &str, id: i64, body: serde_json::Value) -> Result<()> {
    let path = format!("/api/v1/agents/{id}");
    call("PATCH", &path, Some(token), Some(body.to_string())).await?;
    Ok(())
}

pub async fn details(token: &str, id: i64) -> Result<Details> {
    parse(
        &call(
            "GET",
            &format!("/api/v1/conversations/{id}"),
            Some(token),
            None,
        )
        .await?,
    )
}

pub async fn add_note(token: &str, id: i64, body: &str) -> Result<()> {
    let path = format!("/api/v1/conversations/{id}/notes");
    let body = serde_json::json!({ "body": body }).to_string();
    call("POST", &path, Some(token), Some(body)).await?;
    Ok(())
}

pub async fn canned(token: &str) -> Result<Vec<Canned>> {
    #[derive(Deserialize)]
    struct List {
        canned_responses: Vec<Canned>,
    }
    let text = call("GET", "/api/v1/canned-responses", Some(token), None).await?;
    Ok(parse::<List>(&text)?.canned_responses)
}

pub async fn create_canned(token: &str, shortcut: &str, title: &str, body: &str) -> Result<()> {
    let body = serde_json::json!({ "shortcut": shortcut, "title": title, "body": body });
    call(
        "POST",
        "/api/v1/canned-responses",
        Some(token),
        Some(body.to_string()),
    )
    .await?;
    Ok(())
}

pub async fn delete_canned(token: &str, id: i64) -> Result<()> {
    let path = format!("/api/v1/canned-responses/{id}");
    call("DELETE", &path, Some(token), None).await?;
    Ok(())
}

/// The ticket categories an agent may choose (`GET /api/v1/tickets/categories`).
pub async fn ticket_categories(token: &str) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct List {
        categories: Vec<String>,
    }
    let text = call("GET", "/api/v1/tickets/categories", Some(token), None).await?;
    Ok(parse::<List>(&text)?.categories)
}

/// What the console needs of a ticket: its number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketRef {
    pub id: i64,
}

/// Hands a held chat to the ticket workflow (`POST /api/v1/conversations/{id}/ticket`);
/// the relay then ends the chat.
pub async fn convert_to_ticket(token: &str, id: i64, body: serde_json::Value) -> Result<TicketRef> {
    let path = format!("/api/v1/conversations/{id}/ticket");
    parse(&call("POST", &path, Some(token), Some(body.to_string())).await?)
}

/// A site as `GET /api/v1/sites` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub prechat: switchboard_shared::PrechatFields,
    pub accent: Option<String>,
    pub position: switchboard_shared::WidgetPosition,
    pub greeting: Option<String>,
    pub offline_behaviour: switchboard_shared::OfflineBehaviour,
    pub queue_offer_message_after_secs: u32,
    pub unresolved_to_ticket: bool,
    #[serde(default)]
    pub chat_within_hours: bool,
}

pub async fn sites(token: &str) -> Result<Vec<Site>> {
    #[derive(Deserialize)]
    struct List {
        sites: Vec<Site>,
    }
    Ok(parse::<List>(&call("GET", "/api/v1/sites", Some(token), None).await?)?.sites)
}

/// Admins: changes the given fields of a site; answers the stored site.
pub async fn patch_site(token: &str, id: &str, body: serde_json::Value) -> Result<Site> {
    let path = format!("/api/v1/sites/{id}");
    parse(&call("PATCH", &path, Some(token), Some(body.to_string())).await?)
}

/// A site's business hours: an IANA zone and seven `[opens, closes]` (minutes after local
/// midnight) or `None` (closed), Monday first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hours {
    pub timezone: String,
    pub week: Vec<Option<[u32; 2]>>,
}

pub async fn business_hours(token: &str, site: &str) -> Result<Hours> {
    let path = format!("/api/v1/sites/{site}/business-hours");
    parse(&call("GET", &path, Some(token), None).await?)
}

pub async fn set_business_hours(token: &str, site: &str, hours: &Hours) -> Result<Hours> {
    let path = format!("/api/v1/sites/{site}/business-hours");
    let body = serde_json::to_string(hours).map_err(|_| net_error())?;
    parse(&call("PUT", &path, Some(token), Some(body)).await?)
}
