//! `/tickets`: list, read, change, escalate, notes and public replies; converting a live
//! chat (`/conversations/{id}/ticket`); the category list and a site's business hours.
//! Any signed-in agent may read and work tickets; business hours are for admins. Nothing is
//! ever deleted.

use super::auth::{body, need, short_text, Access, Caller, Scope};
use super::error::ApiError;
use super::openapi::{AuthErrors, ErrorBody, InvalidInput};
use crate::app::AppState;
use crate::clock::now_ms;
use crate::tickets::conversion::LiveConversion;
use crate::tickets::manual::ManualTicket;
use crate::tickets::sla::BusinessHours;
use crate::tickets::tags::normalise_tag;
use crate::tickets::workflow::TicketUpdate;
use crate::tickets::{TicketView, Tickets};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use switchboard_shared::limits::MAX_SEARCH_CHARS;
use switchboard_shared::text::MessageBody;
use switchboard_shared::{AgentId, ConversationId, ServerFrame, SupportLevel};
use switchboard_store::tickets::{
    AssignmentRule, AssignmentStrategy, SiteHours, SlaPolicyRecord, SlaState, TicketChannel,
    TicketEvent, TicketFilter, TicketPriority, TicketRating, TicketStatus,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Page size when the client names none, and the most it may ask for.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, open))
        .routes(routes!(categories))
        .routes(routes!(detail, update))
        .routes(routes!(escalate))
        .routes(routes!(note))
        .routes(routes!(reply))
        .routes(routes!(set_tags))
        .routes(routes!(rules))
        .routes(routes!(set_rule))
        .routes(routes!(sla_policies))
        .routes(routes!(set_sla_policy))
        .routes(routes!(of_conversation, convert))
        .routes(routes!(business_hours, set_business_hours))
}

fn invalid(field: &str) -> impl FnOnce() -> ApiError + '_ {
    move || ApiError::Invalid(format!("unknown {field}"))
}

fn priority(s: &str) -> Result<TicketPriority, ApiError> {
    TicketPriority::parse(s).ok_or_else(invalid("priority"))
}
fn status(s: &str) -> Result<TicketStatus, ApiError> {
    TicketStatus::parse(s).ok_or_else(invalid("status"))
}
fn level(s: &str) -> Result<SupportLevel, ApiError> {
    SupportLevel::parse(s).ok_or_else(invalid("support level"))
}

/// Multi-line user text (summaries, notes, replies) with the chat message rules.
fn text(field: &str, value: &str) -> Result<String, ApiError> {
    MessageBody::parse(value)
        .map(|b| b.as_str().to_string())
        .map_err(|code| ApiError::Invalid(format!("{field}: {}", code.describe())))
}

/// The search text of a ticket list: blank means none; longer than [`MAX_SEARCH_CHARS`] or
/// with control characters is refused before the database sees it.
fn search_text(q: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(q) = q.filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > MAX_SEARCH_CHARS {
        return Err(ApiError::Invalid(format!(
            "q must be at most {MAX_SEARCH_CHARS} characters"
        )));
    }
    if q.chars().any(char::is_control) {
        return Err(ApiError::Invalid("q must be one line of text".into()));
    }
    Ok(Some(q))
}

/// The ticket, if it exists and belongs to a site the caller works for: one answer (404)
/// for "missing" and "another site's".
async fn visible(
    app: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<switchboard_store::tickets::TicketRecord, ApiError> {
    let ticket = Tickets::new(&app.chat).get(id).await?;
    caller.require_site(app, &ticket.site_id).await?;
    Ok(ticket)
}

/// A ticket of `site` may be assigned only to an agent who works for it (admins and agents
/// without sites work for every site). Unknown agents are left to the workflow's check.
async fn works_for(app: &AppState, agent: AgentId, site: &str) -> Result<(), ApiError> {
    let Some(rec) = app.store.agent(agent).await? else {
        return Ok(());
    };
    let serves = app
        .chat
        .sites_of(&rec)
        .await?
        .is_none_or(|sites| sites.iter().any(|s| s == site));
    if serves {
        Ok(())
    } else {
        Err(ApiError::Invalid(format!(
            "the assignee does not work for the site {site:?}"
        )))
    }
}

fn view(t: switchboard_store::tickets::TicketRecord) -> TicketView {
    TicketView::new(t, now_ms())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    priority: Option<String>,
    category: Option<String>,
    level: Option<String>,
    assignee: Option<i64>,
    /// Tickets with this tag.
    tag: Option<String>,
    /// Search text: subject, description, customer name, contact or number contain it.
    q: Option<String>,
    /// SLA state now: `breached`, `paused` (pending on the customer) or `running`.
    sla: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// Sorted by the next SLA due time (overdue first), tickets without a running target last.
/// `next_offset` is set when there may be more.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(ListQuery),
    responses((status = 200, description = "one page of tickets (scope tickets:read)", body = TicketList), InvalidInput, AuthErrors))]
async fn list(
    State(app): State<AppState>,
    caller: Access<need::TicketsRead>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<TicketList>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = q.offset.unwrap_or(0);
    let filter = TicketFilter {
        status: q.status.as_deref().map(status).transpose()?,
        priority: q.priority.as_deref().map(priority).transpose()?,
        category: q.category,
        support_level: q.level.as_deref().map(level).transpose()?,
        assignee: q.assignee.map(AgentId),
        tag: q.tag.as_deref().map(normalise_tag).transpose()?,
        search: search_text(q.q)?,
        sla: q
            .sla
            .as_deref()
            .map(|s| SlaState::parse(s).ok_or_else(invalid("SLA state")))
            .transpose()?,
        sites: caller.site_scope(&app).await?.sites(),
        now: now_ms(),
        limit,
        offset,
    };
    let tickets = Tickets::new(&app.chat).list(filter).await?;
    let next_offset = (tickets.len() == limit as usize).then(|| offset.saturating_add(limit));
    let tickets: Vec<TicketView> = tickets.into_iter().map(view).collect();
    Ok(Json(TicketList {
        tickets,
        next_offset,
    }))
}

/// A ticket opened directly; only `site` and `description` are required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenJson {
    site: String,
    /// `offline_form` (default: a written message, e.g. from a form, e-mail or call notes) or
    /// `live_chat`.
    channel: Option<String>,
    /// Default: the first line of the description.
    subject: Option<String>,
    description: String,
    customer_name: Option<String>,
    /// E-mail or another way to reach the customer.
    customer_contact: Option<String>,
    customer_number: Option<String>,
    /// Default `medium`.
    priority: Option<String>,
    /// Default: the first configured category.
    category: Option<String>,
    /// Default: the category rule's level.
    support_level: Option<String>,
    /// Default: the category rule's strategy picks one.
    assignee: Option<i64>,
}

#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = OpenJson,
    responses((status = 201, description = "the new ticket (scope tickets:write)", body = TicketView),
        InvalidInput, AuthErrors))]
async fn open(
    State(app): State<AppState>,
    caller: Access<need::TicketsWrite>,
    payload: Result<Json<OpenJson>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    let req = body(payload)?;
    let optional = |field: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
        v.filter(|s| !s.trim().is_empty())
            .map(|s| short_text(field, &s))
            .transpose()
    };
    let ticket = ManualTicket {
        site: short_text("site", &req.site)?,
        channel: req
            .channel
            .as_deref()
            .map(|c| TicketChannel::parse(c).ok_or_else(invalid("channel")))
            .transpose()?,
        subject: optional("subject", req.subject)?,
        description: text("description", &req.description)?,
        customer_name: optional("customer_name", req.customer_name)?,
        customer_contact: optional("customer_contact", req.customer_contact)?,
        customer_number: optional("customer_number", req.customer_number)?,
        priority: req.priority.as_deref().map(priority).transpose()?,
        category: req.category,
        support_level: req.support_level.as_deref().map(level).transpose()?,
        assignee: req.assignee.map(AgentId),
    };
    caller.require_site(&app, &ticket.site).await?;
    if let Some(agent) = ticket.assignee {
        works_for(&app, agent, &ticket.site).await?;
    }
    let t = Tickets::new(&app.chat)
        .open(caller.agent.id, ticket)
        .await?;
    Ok((StatusCode::CREATED, Json(view(t))))
}

/// One page of the ticket list.
#[derive(Serialize, ToSchema)]
struct TicketList {
    tickets: Vec<TicketView>,
    /// The offset of the next page; `null` on the last one.
    next_offset: Option<u32>,
}

#[derive(Serialize, ToSchema)]
struct Categories {
    /// In display order.
    categories: Vec<String>,
}

/// A ticket and everything around it.
#[derive(Serialize, ToSchema)]
struct TicketDetail {
    ticket: TicketView,
    /// Every change, note and reply, oldest first.
    history: Vec<TicketEvent>,
    tags: Vec<String>,
    /// The customer's CSAT rating, once given.
    rating: Option<TicketRating>,
    /// The linked conversation's events (as the WebSocket `event` frames), if it was a chat.
    #[schema(value_type = Option<Vec<Object>>)]
    transcript: Option<Vec<ServerFrame>>,
}

#[utoipa::path(get, path = "/tickets/categories", tag = "tickets",
    responses((status = 200, description = "the configured categories", body = Categories), AuthErrors))]
async fn categories(
    State(app): State<AppState>,
    _caller: Access<need::TicketsRead>,
) -> Result<Json<Categories>, ApiError> {
    let categories = app.store.ticket_categories().await?;
    Ok(Json(Categories { categories }))
}

/// The ticket with its history and, when it was a conversation, that transcript's events.
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path, description = "ticket number")),
    responses((status = 200, description = "the ticket (scope tickets:read)", body = TicketDetail), (status = 404, description = "no such ticket", body = ErrorBody), AuthErrors))]
async fn detail(
    State(app): State<AppState>,
    caller: Access<need::TicketsRead>,
    Path(id): Path<i64>,
) -> Result<Json<TicketDetail>, ApiError> {
    let tickets = Tickets::new(&app.chat);
    let ticket = visible(&app, &caller, id).await?;
    let history = tickets.history(id).await?;
    let tags = tickets.tags(id).await?;
    let rating = app.store.ticket_rating(id).await?;
    // The chat itself is conversation data: a token with only `tickets:read` sees the
    // ticket without it (sessions hold every scope their role allows).
    let transcript = match ticket.conversation_id {
        Some(conv) if caller.require(Scope::ConversationsRead).is_ok() => {
            Some(transcript(&app, conv).await?)
        }
        _ => None,
    };
    Ok(Json(TicketDetail {
        ticket: view(ticket),
        history,
        tags,
        rating,
        transcript,
    }))
}

async fn transcript(app: &AppState, conv: ConversationId) -> Result<Vec<ServerFrame>, ApiError> {
    let events = app.store.all_events(conv).await?;
    Ok(events
        .into_iter()
        .map(|ev| ServerFrame::Event {
            conversation_id: ev.conversation_id,
            seq: ev.seq,
            at: ev.at,
            event: ev.event,
        })
        .collect())
}

/// `Some(None)` for an explicit `null`, so "unassign" differs from "leave as it is".
fn explicit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateJson {
    status: Option<String>,
    priority: Option<String>,
    category: Option<String>,
    /// An agent id, or `null` to unassign.
    #[serde(default, deserialize_with = "explicit")]
    #[schema(value_type = Option<i64>)]
    assignee: Option<Option<i64>>,
}

#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path, description = "ticket number")), request_body = UpdateJson,
    responses((status = 200, description = "the changed ticket; a priority change recomputes the due times (scope tickets:write)", body = TicketView), (status = 404, description = "no such ticket", body = ErrorBody), (status = 409, description = "the ticket kept changing; retry", body = ErrorBody), InvalidInput, AuthErrors))]
async fn update(
    State(app): State<AppState>,
    caller: Access<need::TicketsWrite>,
    Path(id): Path<i64>,
    payload: Result<Json<UpdateJson>, JsonRejection>,
) -> Result<Json<TicketView>, ApiError> {
    let ticket = visible(&app, &caller, id).await?;
    let req = body(payload)?;
    if let Some(Some(agent)) = req.assignee {
        works_for(&app, AgentId(agent), &ticket.site_id).await?;
    }
    let update = TicketUpdate {
        status: req.status.as_deref().map(status).transpose()?,
        priority: req.priority.as_deref().map(priority).transpose()?,
        category: req.category,
        assignee: req.assignee.map(|a| a.map(AgentId)),
    };
    let t = Tickets::new(&app.chat)
        .update(id, caller.agent.id, update)
        .await?;
    Ok(Json(view(t)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EscalateJson {
    reason: String,
}

#[utoipa::path(post, path = "/tickets/{id}/escalate", tag = "tickets", params(("id" = i64, Path, description = "ticket number")), request_body = EscalateJson,
    responses((status = 200, description = "one level up (L1 → L2 → L3), reassigned by the category's rule (scope tickets:write)", body = TicketView), (status = 404, description = "no such ticket", body = ErrorBody), (status = 409, description = "the ticket kept changing; retry", body = ErrorBody), InvalidInput, AuthErrors))]
async fn escalate(
    State(app): State<AppState>,
    caller: Access<need::TicketsWrite>,
    Path(id): Path<i64>,
    payload: Result<Json<EscalateJson>, JsonRejection>,
) -> Result<Json<TicketView>, ApiError> {
    visible(&app, &caller, id).await?;
    let reason = text("reason", &body(payload)?.reason)?;
    let t = Tickets::new(&app.chat)
        .escalate(id, caller.agent.id, reason)
        .await?;
    Ok(Json(view(t)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BodyJson {
    body: String,
}

#[utoipa::path(post, path = "/tickets/{id}/notes", tag = "tickets", params(("id" = i64, Path, description = "ticket number")), request_body = BodyJson,
    responses((status = 201, description = "an internal note in the history (scope tickets:write)", body = TicketView), (status = 404, description = "no such ticket", body = ErrorBody), (status = 409, description = "the ticket kept changing; retry", body = ErrorBody), InvalidInput, AuthErrors))]
async fn note(
    State(app): State<AppState>,
    caller: Access<need::TicketsWrite>,
    Path(id): Path<i64>,
    payload: Result<Json<BodyJson>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    visible(&app, &caller, id).await?;
    let text = text("body", &body(payload)?.body)?;
    let t = Tickets::new(&app.chat)
        .note(id, caller.agent.id, text)
        .await?;
    Ok((StatusCode::CREATED, Json(view(t))))
}

/// Stored in the history and sent to the customer's open widgets (and shown at their next
/// visit).
#[utoipa::path(post, path = "/tickets/{id}/replies", tag = "tickets", params(("id" = i64, Path, description = "ticket number")), request_body = BodyJson,
    responses((status = 201, description = "a public reply, sent to the customer's widget (scope tickets:write)", body = TicketView), (status = 404, description = "no such ticket", body = ErrorBody), (status = 409, description = "the ticket kept changing; retry", body = ErrorBody), InvalidInput, AuthErrors))]
async fn reply(
    State(app): State<AppState>,
    caller: Access<need::TicketsWrite>,
    Path(id): Path<i64>,
    payload: Result<Json<BodyJson>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    visible(&app, &caller, id).await?;
    let text = text("body", &body(payload)?.body)?;
    let t = Tickets::new(&app.chat)
        .reply(id, caller.agent.id, text)
        .await?;
    Ok((StatusCode::CREATED, Json(view(t))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConvertJson {
    category: String,
    priority: String,
    support_level: String,
    summary: String,
}

/// The agent holding the chat converts it: 201 with the new ticket, the chat ends for
/// them; a retry answers 200 with the same ticket.
#[utoipa::path(post, path = "/conversations/{id}/ticket", tag = "tickets", params(("id" = i64, Path, description = "conversation id")), request_body = ConvertJson,
    responses((status = 201, description = "the new ticket; the chat ends (agent sessions only)", body = TicketView),
        (status = 200, description = "the ticket an earlier call created", body = TicketView),
        (status = 404, description = "not a chat the caller holds", body = ErrorBody), InvalidInput, AuthErrors))]
async fn convert(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    payload: Result<Json<ConvertJson>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketView>), ApiError> {
    let req = body(payload)?;
    let conversion = LiveConversion {
        category: short_text("category", &req.category)?,
        priority: priority(&req.priority)?,
        support_level: level(&req.support_level)?,
        summary: text("summary", &req.summary)?,
    };
    let (t, created) = Tickets::new(&app.chat)
        .convert_live(caller.agent.id, ConversationId(id), conversion)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(t))))
}

#[utoipa::path(get, path = "/conversations/{id}/ticket", tag = "tickets", params(("id" = i64, Path, description = "conversation id")),
    responses((status = 200, description = "the ticket the conversation became (scope tickets:read)", body = TicketView), (status = 404, description = "it became none", body = ErrorBody), AuthErrors))]
async fn of_conversation(
    State(app): State<AppState>,
    caller: Access<need::TicketsRead>,
    Path(id): Path<i64>,
) -> Result<Json<TicketView>, ApiError> {
    let t = Tickets::new(&app.chat)
        .of_conversation(ConversationId(id))
        .await?;
    caller.require_site(&app, &t.site_id).await?;
    Ok(Json(view(t)))
}

#[utoipa::path(get, path = "/sites/{site}/business-hours", tag = "sites", params(("site" = String, Path, description = "site id")),
    responses((status = 200, description = "the site's business hours (the defaults when none are set)", body = SiteHours), (status = 404, description = "no such site", body = ErrorBody), AuthErrors))]
async fn business_hours(
    State(app): State<AppState>,
    _caller: Access<need::TicketsRead>,
    Path(site): Path<String>,
) -> Result<Json<SiteHours>, ApiError> {
    if app.store.site(&site).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let hours = Tickets::new(&app.chat).business_hours(&site).await?;
    Ok(Json(hours.to_stored()))
}

/// Admins only: `{"timezone": "Europe/Berlin", "week": [[480, 1020], …, null]}`, seven
/// entries Monday first, minutes after local midnight. Applies to due times computed from
/// now on.
#[utoipa::path(put, path = "/sites/{site}/business-hours", tag = "sites", params(("site" = String, Path, description = "site id")), request_body = SiteHours,
    responses((status = 200, description = "stored (admins only)", body = SiteHours), (status = 404, description = "no such site", body = ErrorBody), InvalidInput, AuthErrors))]
async fn set_business_hours(
    State(app): State<AppState>,
    caller: Caller,
    Path(site): Path<String>,
    payload: Result<Json<SiteHours>, JsonRejection>,
) -> Result<Json<SiteHours>, ApiError> {
    caller.require_admin()?;
    let hours = BusinessHours::from_stored(&body(payload)?)
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    Tickets::new(&app.chat)
        .set_business_hours(&site, &hours)
        .await?;
    Ok(Json(hours.to_stored()))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TagsJson {
    tags: Vec<String>,
}

/// Replaces the ticket's tags: `{"tags": ["rückruf", "wartung"]}` → the stored (lower-case,
/// sorted, unique) list.
#[utoipa::path(put, path = "/tickets/{id}/tags", tag = "tickets", params(("id" = i64, Path, description = "ticket number")), request_body = TagsJson,
    responses((status = 200, description = "the stored tags (scope tickets:write)", body = TagsJson), (status = 404, description = "no such ticket", body = ErrorBody), InvalidInput, AuthErrors))]
async fn set_tags(
    State(app): State<AppState>,
    caller: Access<need::TicketsWrite>,
    Path(id): Path<i64>,
    payload: Result<Json<TagsJson>, JsonRejection>,
) -> Result<Json<TagsJson>, ApiError> {
    visible(&app, &caller, id).await?;
    let req = body(payload)?;
    let tags = Tickets::new(&app.chat)
        .set_tags(id, caller.agent.id, &req.tags)
        .await?;
    Ok(Json(TagsJson { tags }))
}

/// The category → level/strategy rules; categories without one are L1, manual.
#[utoipa::path(get, path = "/tickets/assignment-rules", tag = "tickets",
    responses((status = 200, description = "the rules (scope tickets:read)", body = Rules), AuthErrors))]
async fn rules(
    State(app): State<AppState>,
    _caller: Access<need::TicketsRead>,
) -> Result<Json<Rules>, ApiError> {
    let rules = Tickets::new(&app.chat).assignment_rules().await?;
    Ok(Json(Rules { rules }))
}

#[derive(Serialize, ToSchema)]
struct Rules {
    rules: Vec<AssignmentRule>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleJson {
    support_level: String,
    strategy: String,
}

/// Admins only: `{"support_level": "L2", "strategy": "round_robin"}` for one category.
#[utoipa::path(put, path = "/tickets/assignment-rules/{category}", tag = "tickets",
    params(("category" = String, Path, description = "a configured category")), request_body = RuleJson,
    responses((status = 200, description = "stored (admins only)", body = AssignmentRule), InvalidInput, AuthErrors))]
async fn set_rule(
    State(app): State<AppState>,
    caller: Caller,
    Path(category): Path<String>,
    payload: Result<Json<RuleJson>, JsonRejection>,
) -> Result<Json<AssignmentRule>, ApiError> {
    caller.require_admin()?;
    let req = body(payload)?;
    let rule = AssignmentRule {
        category,
        support_level: level(&req.support_level)?,
        strategy: AssignmentStrategy::parse(&req.strategy).ok_or_else(invalid("strategy"))?,
    };
    Tickets::new(&app.chat)
        .set_assignment_rule(rule.clone())
        .await?;
    Ok(Json(rule))
}

#[derive(Serialize, ToSchema)]
struct Policies {
    /// Every priority, with the targets in force (stored or default), in business minutes.
    policies: Vec<SlaPolicyRecord>,
}

#[utoipa::path(get, path = "/tickets/sla-policies", tag = "tickets",
    responses((status = 200, description = "the SLA targets per priority (scope tickets:read)", body = Policies), AuthErrors))]
async fn sla_policies(
    State(app): State<AppState>,
    _caller: Access<need::TicketsRead>,
) -> Result<Json<Policies>, ApiError> {
    let policies = Tickets::new(&app.chat).sla_policies().await?;
    Ok(Json(Policies { policies }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PolicyJson {
    first_response_minutes: u32,
    resolution_minutes: u32,
}

/// Admins only. Applies to due times computed from then on (new tickets, priority changes,
/// the end of a pause).
#[utoipa::path(put, path = "/tickets/sla-policies/{priority}", tag = "tickets",
    params(("priority" = String, Path, description = "low, medium, high or critical")), request_body = PolicyJson,
    responses((status = 200, description = "stored (admins only)", body = SlaPolicyRecord),
        InvalidInput, AuthErrors))]
async fn set_sla_policy(
    State(app): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    payload: Result<Json<PolicyJson>, JsonRejection>,
) -> Result<Json<SlaPolicyRecord>, ApiError> {
    caller.require_admin()?;
    let req = body(payload)?;
    let policy = SlaPolicyRecord {
        priority: priority(&name)?,
        first_response_minutes: req.first_response_minutes,
        resolution_minutes: req.resolution_minutes,
    };
    Tickets::new(&app.chat)
        .set_sla_policy(policy.clone())
        .await?;
    Ok(Json(policy))
}
