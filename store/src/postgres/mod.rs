//! # PostgreSQL store
//!
//! For several relays on one shared database. One pool serves every query; the event log's
//! appends and receipts go through the group-commit [`writer`], which owns a connection of
//! its own and commits whatever has queued up in one transaction, with a fixed handful of
//! statements per batch whatever its size (arrays bound with `unnest`).
//!
//! What makes it safe with several relays: an append locks its conversation's row
//! (`SELECT … FOR UPDATE`, in id order so two batches cannot deadlock), so appenders to one
//! conversation take turns whichever relay they run on; `last_seq` lives in that row, so
//! seq is gap-free and in commit order; `events_dedup` (unique) stores a client id once.
//!
//! ## Layout
//! - `mod.rs`: opening (version and schema checks, migrations), the [`Store`] impl.
//! - [`writer`]: the group-commit writer of the event log.
//! - the other files: plain queries, one per part of the records, as in the SQLite store.

mod accounts;
mod api_tokens;
mod console;
mod conversations;
mod log;
mod reports;
mod rows;
mod ticket_meta;
mod tickets;
mod webhooks;
mod writer;

use crate::constraint;
use crate::{
    AgentPatch, AgentRecord, AppendRequest, Appended, CannedResponse, CommitListener,
    ConversationRecord, EventLog, NewAgent, NewCanned, NewConversation, Note, Records, SiteRecord,
    StoreError, StoreResult, StoredEvent, VisitorId, VisitorRecord,
};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use switchboard_shared::{AgentId, ConversationId, Seq, Side, SupportLevel};
use writer::{Log, Receipt};

/// Oldest PostgreSQL this store is written for (`GENERATED … AS IDENTITY`, `unnest` of
/// several arrays, and 13 is the oldest release its developers still support).
const MIN_SERVER_VERSION: i64 = 130_000;
/// Connections for everything but the event log's writer, opened on demand. The server's
/// default `max_connections` is 100: six relays with this and their writers stay below it.
const POOL_CONNECTIONS: u32 = 8;
/// How long a query waits for a free connection, and opening waits for the server.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL implementation of [`Store`]; see the module docs.
pub struct PgStore {
    pool: PgPool,
    log: Log,
}

impl PgStore {
    /// Connects to the database `url` names, checks the server's version, applies pending
    /// migrations (refusing a schema newer than this build) and starts the event log's
    /// writer, which reports every committed event to `listener`.
    pub async fn open(url: &str, listener: Arc<dyn CommitListener>) -> StoreResult<PgStore> {
        let options = connect_options(url)?;
        probe(url, &options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(|e| unreachable(url, e))?;
        check_version(&pool).await?;
        migrate(&pool).await?;
        let log = Log::spawn(options, listener)
            .await
            .map_err(|e| unreachable(url, e))?;
        Ok(PgStore { pool, log })
    }
}

/// Applies the pending migrations of the database at `url` and returns the schema version
/// it is at then (`switchboard migrate`).
pub async fn migrate_url(url: &str) -> StoreResult<i64> {
    let options = connect_options(url)?;
    probe(url, &options).await?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| unreachable(url, e))?;
    check_version(&pool).await?;
    migrate(&pool).await?;
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pool)
            .await?;
    pool.close().await;
    Ok(version.unwrap_or(0))
}

fn connect_options(url: &str) -> StoreResult<PgConnectOptions> {
    PgConnectOptions::from_str(url)
        .map(|o| {
            o.application_name("switchboard")
                .log_statements(tracing::log::LevelFilter::Trace)
        })
        .map_err(|e| StoreError::Url {
            url: crate::masked(url),
            why: e.to_string(),
        })
}

/// One connection first, so that an unreachable server or a refused login is reported with
/// its own cause at once (a pool reports only that it timed out).
async fn probe(url: &str, options: &PgConnectOptions) -> StoreResult<()> {
    let conn = tokio::time::timeout(ACQUIRE_TIMEOUT, options.connect())
        .await
        .map_err(|_| StoreError::Unreachable {
            url: crate::masked(url),
            cause: format!("no answer within {ACQUIRE_TIMEOUT:?}").into(),
        })?
        .map_err(|e| unreachable(url, e))?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

fn unreachable(url: &str, e: sqlx::Error) -> StoreError {
    StoreError::Unreachable {
        url: crate::masked(url),
        cause: Box::new(e),
    }
}

async fn check_version(pool: &PgPool) -> StoreResult<()> {
    let text: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(pool)
        .await?;
    let version: i64 = text
        .trim()
        .parse()
        .map_err(|_| StoreError::Schema(format!("unreadable server_version_num {text:?}")))?;
    if version < MIN_SERVER_VERSION {
        return Err(StoreError::Schema(format!(
            "PostgreSQL {}.{} is too old: switchboard needs 13 or newer",
            version / 10_000,
            version % 10_000 / 100
        )));
    }
    Ok(())
}

/// Runs the pending migrations (sqlx takes an advisory lock, so relays starting together
/// take turns). A schema from a newer build, or an edited migration, is refused by name.
async fn migrate(pool: &PgPool) -> StoreResult<()> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| crate::schema_error(e, &MIGRATOR))
}

#[async_trait]
impl EventLog for PgStore {
    async fn create_conversation(&self, new: NewConversation) -> StoreResult<ConversationRecord> {
        conversations::create(&self.pool, new).await
    }
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationRecord>> {
        conversations::get(&self.pool, id).await
    }
    async fn latest_conversation_for_visitor(
        &self,
        visitor: VisitorId,
        since: i64,
    ) -> StoreResult<Option<ConversationRecord>> {
        conversations::latest_for_visitor(&self.pool, visitor, since).await
    }
    async fn open_conversations(&self) -> StoreResult<Vec<ConversationRecord>> {
        conversations::open(&self.pool).await
    }
    async fn append(&self, req: AppendRequest) -> StoreResult<Appended> {
        self.log.append(req).await
    }
    async fn events_after(
        &self,
        id: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        conversations::events_after(&self.pool, id, after, limit).await
    }
    async fn read_log(
        &self,
        after: i64,
        kinds: &[&str],
        limit: u32,
    ) -> StoreResult<crate::LogPage> {
        log::read_log(&self.pool, after, kinds, limit).await
    }
    async fn log_head(&self) -> StoreResult<i64> {
        log::head(&self.pool).await
    }
    async fn cursor(&self, reader: &str) -> StoreResult<Option<i64>> {
        log::cursor(&self.pool, reader).await
    }
    async fn save_cursor(&self, reader: &str, pos: i64, now: i64) -> StoreResult<()> {
        log::save_cursor(&self.pool, reader, pos, now).await
    }
    async fn record_receipt(
        &self,
        id: ConversationId,
        side: Side,
        delivered: Seq,
        read: Seq,
    ) -> StoreResult<()> {
        let receipt = Receipt {
            conversation_id: id,
            side,
            delivered,
            read,
        };
        self.log.receipt(receipt).await
    }

    /// Stops taking writes (later calls get [`StoreError::Closed`]), waits until the writer
    /// has committed and answered everything already queued, then closes the pool. Safe to
    /// call more than once.
    async fn close(&self) {
        self.log.close().await;
        self.pool.close().await;
    }
}

#[async_trait]
impl Records for PgStore {
    async fn create_agent(&self, new: NewAgent) -> StoreResult<AgentRecord> {
        accounts::create_agent(&self.pool, new).await
    }
    async fn agent(&self, id: AgentId) -> StoreResult<Option<AgentRecord>> {
        accounts::agent(&self.pool, id).await
    }
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>> {
        accounts::agent_by_email(&self.pool, email).await
    }
    async fn list_agents(&self) -> StoreResult<Vec<AgentRecord>> {
        accounts::list_agents(&self.pool).await
    }
    async fn update_agent(&self, id: AgentId, patch: AgentPatch) -> StoreResult<AgentRecord> {
        accounts::update_agent(&self.pool, id, patch).await
    }
    async fn agent_sites(&self, id: AgentId) -> StoreResult<Vec<String>> {
        accounts::agent_sites(&self.pool, id).await
    }
    async fn all_agent_sites(&self) -> StoreResult<Vec<(AgentId, String)>> {
        accounts::all_agent_sites(&self.pool).await
    }
    async fn set_agent_sites(&self, id: AgentId, sites: &[String]) -> StoreResult<()> {
        accounts::set_agent_sites(&self.pool, id, sites).await
    }
    async fn create_session(
        &self,
        token_hash: [u8; 32],
        agent: AgentId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        accounts::create_session(&self.pool, token_hash, agent, now, expires_at).await
    }
    async fn session_agent(
        &self,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<Option<AgentRecord>> {
        accounts::session_agent(&self.pool, token_hash, now).await
    }
    async fn revoke_session(&self, token_hash: [u8; 32], now: i64) -> StoreResult<()> {
        accounts::revoke_session(&self.pool, token_hash, now).await
    }
    async fn revoke_agent_sessions(&self, agent: AgentId, now: i64) -> StoreResult<()> {
        accounts::revoke_agent_sessions(&self.pool, agent, now).await
    }

    async fn upsert_site(&self, site: SiteRecord) -> StoreResult<()> {
        accounts::upsert_site(&self.pool, site).await
    }
    async fn site(&self, id: &str) -> StoreResult<Option<SiteRecord>> {
        accounts::site(&self.pool, id).await
    }
    async fn list_sites(&self) -> StoreResult<Vec<SiteRecord>> {
        accounts::list_sites(&self.pool).await
    }
    async fn update_site(&self, site: SiteRecord) -> StoreResult<()> {
        accounts::update_site(&self.pool, site).await
    }

    async fn create_visitor(
        &self,
        site_id: &str,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<VisitorRecord> {
        accounts::create_visitor(&self.pool, site_id, token_hash, now).await
    }
    async fn visitor_by_token(&self, token_hash: [u8; 32]) -> StoreResult<Option<VisitorRecord>> {
        accounts::visitor_by_token(&self.pool, token_hash).await
    }
    async fn touch_visitor(&self, id: VisitorId, now: i64) -> StoreResult<()> {
        accounts::touch_visitor(&self.pool, id, now).await
    }
    async fn recent_handle_times(&self, limit: u32) -> StoreResult<Vec<i64>> {
        conversations::recent_handle_times(&self.pool, limit).await
    }

    async fn list_canned(&self) -> StoreResult<Vec<CannedResponse>> {
        console::list_canned(&self.pool).await
    }
    async fn create_canned(&self, new: NewCanned, now: i64) -> StoreResult<CannedResponse> {
        console::create_canned(&self.pool, new, now).await
    }
    async fn update_canned(
        &self,
        id: i64,
        new: NewCanned,
        now: i64,
    ) -> StoreResult<CannedResponse> {
        console::update_canned(&self.pool, id, new, now).await
    }
    async fn delete_canned(&self, id: i64) -> StoreResult<()> {
        console::delete_canned(&self.pool, id).await
    }
    async fn add_note(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        body: &str,
        now: i64,
    ) -> StoreResult<Note> {
        console::add_note(&self.pool, conversation, agent, body, now).await
    }
    async fn notes(&self, conversation: ConversationId) -> StoreResult<Vec<Note>> {
        console::notes(&self.pool, conversation).await
    }
    async fn conversations_of_visitor(
        &self,
        visitor: VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<ConversationRecord>> {
        console::conversations_of_visitor(&self.pool, visitor, limit).await
    }

    async fn create_ticket(
        &self,
        new: crate::tickets::NewTicket,
    ) -> StoreResult<(crate::tickets::TicketRecord, bool)> {
        tickets::create(&self.pool, new).await
    }
    async fn ticket(&self, id: i64) -> StoreResult<Option<crate::tickets::TicketRecord>> {
        tickets::get(&self.pool, id).await
    }
    async fn ticket_for_conversation(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Option<crate::tickets::TicketRecord>> {
        tickets::for_conversation(&self.pool, conversation).await
    }
    async fn list_tickets(
        &self,
        filter: crate::tickets::TicketFilter,
    ) -> StoreResult<Vec<crate::tickets::TicketRecord>> {
        tickets::list(&self.pool, filter).await
    }
    async fn change_ticket(
        &self,
        change: crate::tickets::TicketChange,
    ) -> StoreResult<crate::tickets::TicketRecord> {
        tickets::change(&self.pool, change).await
    }
    async fn ticket_events(&self, id: i64) -> StoreResult<Vec<crate::tickets::TicketEvent>> {
        tickets::events(&self.pool, id).await
    }
    async fn ticket_categories(&self) -> StoreResult<Vec<String>> {
        tickets::categories(&self.pool).await
    }
    async fn site_hours(&self, site: &str) -> StoreResult<Option<crate::tickets::SiteHours>> {
        tickets::site_hours(&self.pool, site).await
    }
    async fn set_site_hours(
        &self,
        site: &str,
        hours: crate::tickets::SiteHours,
    ) -> StoreResult<()> {
        tickets::set_site_hours(&self.pool, site, &hours).await
    }
    async fn rate_ticket(&self, rating: crate::tickets::TicketRating) -> StoreResult<()> {
        ticket_meta::rate(&self.pool, &rating).await
    }
    async fn ticket_rating(
        &self,
        ticket: i64,
    ) -> StoreResult<Option<crate::tickets::TicketRating>> {
        ticket_meta::rating(&self.pool, ticket).await
    }
    async fn set_ticket_tags(&self, ticket: i64, tags: Vec<String>) -> StoreResult<()> {
        ticket_meta::set_tags(&self.pool, ticket, &tags).await
    }
    async fn ticket_tags(&self, ticket: i64) -> StoreResult<Vec<String>> {
        ticket_meta::tags(&self.pool, ticket).await
    }
    async fn assignment_rules(&self) -> StoreResult<Vec<crate::tickets::AssignmentRule>> {
        ticket_meta::rules(&self.pool).await
    }
    async fn set_assignment_rule(&self, rule: crate::tickets::AssignmentRule) -> StoreResult<()> {
        ticket_meta::set_rule(&self.pool, &rule).await
    }
    async fn pick_ticket_assignee(
        &self,
        level: SupportLevel,
        strategy: crate::tickets::AssignmentStrategy,
        site: &str,
    ) -> StoreResult<Option<AgentId>> {
        ticket_meta::pick_assignee(&self.pool, level, strategy, site).await
    }
    async fn sla_policies(&self) -> StoreResult<Vec<crate::tickets::SlaPolicyRecord>> {
        ticket_meta::sla_policies(&self.pool).await
    }
    async fn set_sla_policy(&self, policy: crate::tickets::SlaPolicyRecord) -> StoreResult<()> {
        ticket_meta::set_sla_policy(&self.pool, &policy).await
    }
    async fn tickets_of_visitor(
        &self,
        visitor: VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<crate::tickets::TicketRecord>> {
        ticket_meta::of_visitor(&self.pool, visitor, limit).await
    }

    async fn report_chats(
        &self,
        range: &crate::reports::ReportRange,
    ) -> StoreResult<Vec<crate::reports::ChatFact>> {
        reports::chats(&self.pool, range).await
    }
    async fn report_tickets(
        &self,
        range: &crate::reports::ReportRange,
    ) -> StoreResult<Vec<crate::reports::TicketFact>> {
        reports::tickets(&self.pool, range).await
    }

    // --- API tokens
    async fn create_api_token(
        &self,
        new: crate::webhooks::NewApiToken,
    ) -> StoreResult<crate::webhooks::ApiTokenRecord> {
        api_tokens::create(&self.pool, new).await
    }
    async fn api_token_by_hash(
        &self,
        token_hash: [u8; 32],
    ) -> StoreResult<Option<(crate::webhooks::ApiTokenRecord, AgentRecord)>> {
        api_tokens::by_hash(&self.pool, token_hash).await
    }
    async fn list_api_tokens(&self) -> StoreResult<Vec<crate::webhooks::ApiTokenRecord>> {
        api_tokens::list(&self.pool).await
    }
    async fn revoke_api_token(&self, id: i64, now: i64) -> StoreResult<()> {
        api_tokens::revoke(&self.pool, id, now).await
    }

    // --- webhooks
    async fn create_webhook(
        &self,
        new: crate::webhooks::NewWebhook,
    ) -> StoreResult<crate::webhooks::WebhookRecord> {
        webhooks::create(&self.pool, new).await
    }
    async fn list_webhooks(&self) -> StoreResult<Vec<crate::webhooks::WebhookRecord>> {
        webhooks::list(&self.pool).await
    }
    async fn webhook(&self, id: i64) -> StoreResult<Option<crate::webhooks::WebhookRecord>> {
        webhooks::get(&self.pool, id).await
    }
    async fn delete_webhook(&self, id: i64, now: i64) -> StoreResult<()> {
        webhooks::delete(&self.pool, id, now).await
    }
    async fn enqueue_webhook_event(
        &self,
        event: crate::webhooks::NewWebhookEvent,
    ) -> StoreResult<usize> {
        webhooks::enqueue(&self.pool, event).await
    }
    async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::DueDelivery>> {
        webhooks::claim(&self.pool, now, lease_until, limit).await
    }
    async fn next_webhook_due(&self) -> StoreResult<Option<i64>> {
        webhooks::next_due(&self.pool).await
    }
    async fn record_webhook_attempt(
        &self,
        delivery: i64,
        attempt: crate::webhooks::AttemptRecord,
        outcome: crate::webhooks::AttemptOutcome,
    ) -> StoreResult<()> {
        webhooks::record_attempt(&self.pool, delivery, attempt, outcome).await
    }
    async fn webhook_deliveries(
        &self,
        webhook: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::DeliveryRecord>> {
        webhooks::deliveries(&self.pool, webhook, limit).await
    }
}
