//! # SQLite store
//!
//! Three ways into one database file (WAL mode, `synchronous=FULL`):
//! - the **writer** ([`writer`]): one thread with its own (rusqlite) connection that
//!   group-commits every `append` and `record_receipt` and creates visitors and
//!   conversations; a tokio task hands new events to the [`CommitListener`] and only then
//!   answers the callers; a second thread checkpoints the WAL;
//! - the **write pool** (one sqlx connection): the rare other writes (agents, sessions,
//!   sites, tickets). One connection, so those never contend among themselves; against the
//!   writer they wait on `busy_timeout`;
//! - the **read pool**: read-only connections for everything else; WAL lets them read a
//!   consistent snapshot beside the writer.
//!
//! ## Layout
//! - `mod.rs`: opening, closing, and the [`Store`] impl that delegates to the files below.
//! - [`writer`]: the group-commit writer (dense comments: it carries the delivery guarantee).
//! - [`accounts`]: agents, their sessions, sites and visitors.
//! - [`conversations`]: conversation rows and event reads.
//! - [`tickets`]: tickets, their history, categories, site business hours.
//! - [`rows`]: mapping rows to records, enum text forms.

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

#[cfg(test)]
mod reports_tests;
#[cfg(test)]
mod tests;

use crate::constraint;
use crate::queue::JobQueue;
use crate::{
    AgentPatch, AgentRecord, AppendRequest, Appended, CannedResponse, CommitListener,
    ConversationRecord, EventLog, NewAgent, NewCanned, NewConversation, Note, Records, SiteRecord,
    StoreError, StoreResult, StoredEvent, VisitorId, VisitorRecord,
};
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use switchboard_shared::{AgentId, ConversationId, Seq, Side, SupportLevel};
use tokio::sync::{mpsc, oneshot};
use writer::{Job, Receipt};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for the write lock before giving up with `SQLITE_BUSY`.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers: replays, lookups and routing start-up run beside each other.
const READ_CONNECTIONS: u32 = 8;

/// The SQLite implementation of [`Store`]. Cheap to share behind an `Arc`; see the module
/// docs for how reads and writes reach the file.
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// The group-commit writer's queue.
    jobs: JobQueue<Job>,
}

impl SqliteStore {
    /// Opens (creating if missing, with its parent directory) the database at
    /// `database_url_or_path` — `sqlite://data/switchboard.db` or `data/switchboard.db` —
    /// runs the embedded migrations and starts the group-commit writer, which reports every
    /// committed event to `listener`. Must be called inside a Tokio runtime.
    pub async fn open(
        database_url_or_path: &str,
        listener: Arc<dyn CommitListener>,
    ) -> Result<SqliteStore, StoreError> {
        let base = connect_options(database_url_or_path)?;
        if let Some(dir) = base.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(sqlx::Error::Io)?;
            }
        }

        // The write pool opens the file first: it creates it, switches it to WAL (a
        // persistent property of the file, so the others need not ask) and migrates it.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await?;
        MIGRATOR
            .run(&write)
            .await
            .map_err(|e| crate::schema_error(e, &MIGRATOR))?;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&write)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Still durable, but readers now block the writer. Happens on file systems
            // without shared memory support (some network mounts).
            tracing::warn!(%mode, "SQLite refused WAL mode; reads will block writes");
        }

        let path = base.get_filename().to_path_buf();
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(base.read_only(true))
            .await?;

        let (tx, rx) = mpsc::channel(writer::QUEUE_CAPACITY);
        let stopped = writer::spawn(&path, rx, listener)?;
        Ok(SqliteStore {
            read,
            write,
            jobs: JobQueue::new(tx, stopped),
        })
    }

    /// Creates or migrates the database file and returns the schema version it is at then
    /// (`switchboard migrate`; [`SqliteStore::open`] migrates too).
    pub async fn migrate(database_url_or_path: &str) -> StoreResult<i64> {
        let store = SqliteStore::open(database_url_or_path, Arc::new(crate::NoListener)).await?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&store.read)
                .await?;
        crate::EventLog::close(&store).await;
        Ok(version.unwrap_or(0))
    }

    /// Hands a job to the writer and waits for its answer.
    async fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> Job,
    ) -> StoreResult<T> {
        self.jobs.submit(job).await
    }
}

/// The options every connection shares. Journal mode is set once, by the write pool.
fn connect_options(database_url_or_path: &str) -> StoreResult<SqliteConnectOptions> {
    let options = if database_url_or_path.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(database_url_or_path)?
    } else {
        SqliteConnectOptions::new().filename(database_url_or_path)
    };
    let in_memory =
        database_url_or_path.contains(":memory:") || database_url_or_path.contains("mode=memory");
    if in_memory || options.get_filename().as_os_str().is_empty() {
        // Every connection would get its own empty database.
        return Err(StoreError::Url {
            url: database_url_or_path.to_string(),
            why: "SQLite needs a database file, not an in-memory database".into(),
        });
    }
    Ok(options
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT))
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Write(Box::new(e))
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn create_conversation(&self, new: NewConversation) -> StoreResult<ConversationRecord> {
        self.submit(|reply| Job::CreateConversation { new, reply })
            .await
    }
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationRecord>> {
        conversations::get(&self.read, id).await
    }
    async fn latest_conversation_for_visitor(
        &self,
        visitor: VisitorId,
        since: i64,
    ) -> StoreResult<Option<ConversationRecord>> {
        conversations::latest_for_visitor(&self.read, visitor, since).await
    }
    async fn open_conversations(&self) -> StoreResult<Vec<ConversationRecord>> {
        conversations::open(&self.read).await
    }
    async fn append(&self, req: AppendRequest) -> StoreResult<Appended> {
        let queued = std::time::Instant::now();
        self.submit(|reply| Job::Append { req, reply, queued })
            .await
    }
    async fn events_after(
        &self,
        id: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        conversations::events_after(&self.read, id, after, limit).await
    }
    async fn read_log(
        &self,
        after: i64,
        kinds: &[&str],
        limit: u32,
    ) -> StoreResult<crate::LogPage> {
        log::read_log(&self.read, after, kinds, limit).await
    }
    async fn log_head(&self) -> StoreResult<i64> {
        log::head(&self.read).await
    }
    async fn cursor(&self, reader: &str) -> StoreResult<Option<i64>> {
        log::cursor(&self.read, reader).await
    }
    async fn save_cursor(&self, reader: &str, pos: i64, now: i64) -> StoreResult<()> {
        let reader = reader.to_string();
        self.submit(|reply| Job::SaveCursor {
            reader,
            pos,
            now,
            reply,
        })
        .await
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
        self.submit(|reply| Job::Receipt { receipt, reply }).await
    }

    /// Stops taking writes (later calls get [`StoreError::Closed`]), waits until the writer
    /// has committed and answered everything already queued or being queued, then closes
    /// both pools. Safe to call more than once.
    async fn close(&self) {
        self.jobs.close().await;
        self.write.close().await;
        self.read.close().await;
    }
}

#[async_trait]
impl Records for SqliteStore {
    async fn create_agent(&self, new: NewAgent) -> StoreResult<AgentRecord> {
        accounts::create_agent(&self.write, new).await
    }
    async fn agent(&self, id: AgentId) -> StoreResult<Option<AgentRecord>> {
        accounts::agent(&self.read, id).await
    }
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>> {
        accounts::agent_by_email(&self.read, email).await
    }
    async fn list_agents(&self) -> StoreResult<Vec<AgentRecord>> {
        accounts::list_agents(&self.read).await
    }
    async fn update_agent(&self, id: AgentId, patch: AgentPatch) -> StoreResult<AgentRecord> {
        accounts::update_agent(&self.write, id, patch).await
    }
    async fn agent_sites(&self, id: AgentId) -> StoreResult<Vec<String>> {
        accounts::agent_sites(&self.read, id).await
    }
    async fn all_agent_sites(&self) -> StoreResult<Vec<(AgentId, String)>> {
        accounts::all_agent_sites(&self.read).await
    }
    async fn set_agent_sites(&self, id: AgentId, sites: &[String]) -> StoreResult<()> {
        accounts::set_agent_sites(&self.write, id, sites).await
    }
    async fn create_session(
        &self,
        token_hash: [u8; 32],
        agent: AgentId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        accounts::create_session(&self.write, token_hash, agent, now, expires_at).await
    }
    async fn session_agent(
        &self,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<Option<AgentRecord>> {
        accounts::session_agent(&self.read, token_hash, now).await
    }
    async fn revoke_session(&self, token_hash: [u8; 32], now: i64) -> StoreResult<()> {
        accounts::revoke_session(&self.write, token_hash, now).await
    }
    async fn revoke_agent_sessions(&self, agent: AgentId, now: i64) -> StoreResult<()> {
        accounts::revoke_agent_sessions(&self.write, agent, now).await
    }

    async fn upsert_site(&self, site: SiteRecord) -> StoreResult<()> {
        accounts::upsert_site(&self.write, site).await
    }
    async fn site(&self, id: &str) -> StoreResult<Option<SiteRecord>> {
        accounts::site(&self.read, id).await
    }
    async fn list_sites(&self) -> StoreResult<Vec<SiteRecord>> {
        accounts::list_sites(&self.read).await
    }
    async fn update_site(&self, site: SiteRecord) -> StoreResult<()> {
        accounts::update_site(&self.write, site).await
    }

    async fn create_visitor(
        &self,
        site_id: &str,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<VisitorRecord> {
        let site_id = site_id.to_string();
        self.submit(|reply| Job::CreateVisitor {
            site_id,
            token_hash,
            now,
            reply,
        })
        .await
    }
    async fn visitor_by_token(&self, token_hash: [u8; 32]) -> StoreResult<Option<VisitorRecord>> {
        accounts::visitor_by_token(&self.read, token_hash).await
    }
    async fn touch_visitor(&self, id: VisitorId, now: i64) -> StoreResult<()> {
        self.submit(|reply| Job::TouchVisitor { id, now, reply })
            .await
    }
    async fn recent_handle_times(&self, limit: u32) -> StoreResult<Vec<i64>> {
        conversations::recent_handle_times(&self.read, limit).await
    }

    async fn list_canned(&self) -> StoreResult<Vec<CannedResponse>> {
        console::list_canned(&self.read).await
    }
    async fn create_canned(&self, new: NewCanned, now: i64) -> StoreResult<CannedResponse> {
        console::create_canned(&self.write, new, now).await
    }
    async fn update_canned(
        &self,
        id: i64,
        new: NewCanned,
        now: i64,
    ) -> StoreResult<CannedResponse> {
        console::update_canned(&self.write, id, new, now).await
    }
    async fn delete_canned(&self, id: i64) -> StoreResult<()> {
        console::delete_canned(&self.write, id).await
    }
    async fn add_note(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        body: &str,
        now: i64,
    ) -> StoreResult<Note> {
        console::add_note(&self.write, conversation, agent, body, now).await
    }
    async fn notes(&self, conversation: ConversationId) -> StoreResult<Vec<Note>> {
        console::notes(&self.read, conversation).await
    }
    async fn conversations_of_visitor(
        &self,
        visitor: VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<ConversationRecord>> {
        console::conversations_of_visitor(&self.read, visitor, limit).await
    }

    async fn create_ticket(
        &self,
        new: crate::tickets::NewTicket,
    ) -> StoreResult<(crate::tickets::TicketRecord, bool)> {
        tickets::create(&self.write, new).await
    }
    async fn ticket(&self, id: i64) -> StoreResult<Option<crate::tickets::TicketRecord>> {
        tickets::get(&self.read, id).await
    }
    async fn ticket_for_conversation(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Option<crate::tickets::TicketRecord>> {
        tickets::for_conversation(&self.read, conversation).await
    }
    async fn list_tickets(
        &self,
        filter: crate::tickets::TicketFilter,
    ) -> StoreResult<Vec<crate::tickets::TicketRecord>> {
        tickets::list(&self.read, filter).await
    }
    async fn change_ticket(
        &self,
        change: crate::tickets::TicketChange,
    ) -> StoreResult<crate::tickets::TicketRecord> {
        tickets::change(&self.write, change).await
    }
    async fn ticket_events(&self, id: i64) -> StoreResult<Vec<crate::tickets::TicketEvent>> {
        tickets::events(&self.read, id).await
    }
    async fn ticket_categories(&self) -> StoreResult<Vec<String>> {
        tickets::categories(&self.read).await
    }
    async fn site_hours(&self, site: &str) -> StoreResult<Option<crate::tickets::SiteHours>> {
        tickets::site_hours(&self.read, site).await
    }
    async fn set_site_hours(
        &self,
        site: &str,
        hours: crate::tickets::SiteHours,
    ) -> StoreResult<()> {
        tickets::set_site_hours(&self.write, site, &hours).await
    }
    async fn rate_ticket(&self, rating: crate::tickets::TicketRating) -> StoreResult<()> {
        ticket_meta::rate(&self.write, &rating).await
    }
    async fn ticket_rating(
        &self,
        ticket: i64,
    ) -> StoreResult<Option<crate::tickets::TicketRating>> {
        ticket_meta::rating(&self.read, ticket).await
    }
    async fn set_ticket_tags(&self, ticket: i64, tags: Vec<String>) -> StoreResult<()> {
        ticket_meta::set_tags(&self.write, ticket, &tags).await
    }
    async fn ticket_tags(&self, ticket: i64) -> StoreResult<Vec<String>> {
        ticket_meta::tags(&self.read, ticket).await
    }
    async fn assignment_rules(&self) -> StoreResult<Vec<crate::tickets::AssignmentRule>> {
        ticket_meta::rules(&self.read).await
    }
    async fn set_assignment_rule(&self, rule: crate::tickets::AssignmentRule) -> StoreResult<()> {
        ticket_meta::set_rule(&self.write, &rule).await
    }
    async fn pick_ticket_assignee(
        &self,
        level: SupportLevel,
        strategy: crate::tickets::AssignmentStrategy,
        site: &str,
    ) -> StoreResult<Option<AgentId>> {
        ticket_meta::pick_assignee(&self.read, level, strategy, site).await
    }
    async fn sla_policies(&self) -> StoreResult<Vec<crate::tickets::SlaPolicyRecord>> {
        ticket_meta::sla_policies(&self.read).await
    }
    async fn set_sla_policy(&self, policy: crate::tickets::SlaPolicyRecord) -> StoreResult<()> {
        ticket_meta::set_sla_policy(&self.write, &policy).await
    }
    async fn tickets_of_visitor(
        &self,
        visitor: VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<crate::tickets::TicketRecord>> {
        ticket_meta::of_visitor(&self.read, visitor, limit).await
    }

    async fn report_chats(
        &self,
        range: &crate::reports::ReportRange,
    ) -> StoreResult<Vec<crate::reports::ChatFact>> {
        reports::chats(&self.read, range).await
    }
    async fn report_tickets(
        &self,
        range: &crate::reports::ReportRange,
    ) -> StoreResult<Vec<crate::reports::TicketFact>> {
        reports::tickets(&self.read, range).await
    }

    // --- API tokens
    async fn create_api_token(
        &self,
        new: crate::webhooks::NewApiToken,
    ) -> StoreResult<crate::webhooks::ApiTokenRecord> {
        api_tokens::create(&self.write, new).await
    }
    async fn api_token_by_hash(
        &self,
        token_hash: [u8; 32],
    ) -> StoreResult<Option<(crate::webhooks::ApiTokenRecord, AgentRecord)>> {
        api_tokens::by_hash(&self.read, token_hash).await
    }
    async fn list_api_tokens(&self) -> StoreResult<Vec<crate::webhooks::ApiTokenRecord>> {
        api_tokens::list(&self.read).await
    }
    async fn revoke_api_token(&self, id: i64, now: i64) -> StoreResult<()> {
        api_tokens::revoke(&self.write, id, now).await
    }

    // --- webhooks
    async fn create_webhook(
        &self,
        new: crate::webhooks::NewWebhook,
    ) -> StoreResult<crate::webhooks::WebhookRecord> {
        webhooks::create(&self.write, new).await
    }
    async fn list_webhooks(&self) -> StoreResult<Vec<crate::webhooks::WebhookRecord>> {
        webhooks::list(&self.read).await
    }
    async fn webhook(&self, id: i64) -> StoreResult<Option<crate::webhooks::WebhookRecord>> {
        webhooks::get(&self.read, id).await
    }
    async fn delete_webhook(&self, id: i64, now: i64) -> StoreResult<()> {
        webhooks::delete(&self.write, id, now).await
    }
    async fn enqueue_webhook_event(
        &self,
        event: crate::webhooks::NewWebhookEvent,
    ) -> StoreResult<usize> {
        webhooks::enqueue(&self.write, event).await
    }
    async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::DueDelivery>> {
        webhooks::claim(&self.write, now, lease_until, limit).await
    }
    async fn next_webhook_due(&self) -> StoreResult<Option<i64>> {
        webhooks::next_due(&self.read).await
    }
    async fn record_webhook_attempt(
        &self,
        delivery: i64,
        attempt: crate::webhooks::AttemptRecord,
        outcome: crate::webhooks::AttemptOutcome,
    ) -> StoreResult<()> {
        webhooks::record_attempt(&self.write, delivery, attempt, outcome).await
    }
    async fn webhook_deliveries(
        &self,
        webhook: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::DeliveryRecord>> {
        webhooks::deliveries(&self.read, webhook, limit).await
    }
}
