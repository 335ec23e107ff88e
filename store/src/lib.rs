//! # switchboard-store
//!
//! Everything the relay keeps, behind one handle ([`SharedStore`]) in two parts:
//!
//! - the **event log** ([`EventLog`]): conversations and their events. The contract every
//!   backend meets (the conformance suite in `store/tests/conformance/` holds both to it):
//!   - [`EventLog::append`] returns only after the event is durable (committed with the
//!     backend's full durability), and never acknowledges what was not stored: if a group
//!     commit fails, every request in it fails;
//!   - seq is per conversation, starts at 1, is gap-free and follows commit order, also with
//!     many appenders (tasks, or relays on one PostgreSQL database) at once;
//!   - a (conversation, side, client id) is stored once: a resend is answered with
//!     [`Appended::Duplicate`] and the first seq;
//!   - every committed event goes to the [`CommitListener`] exactly once, in seq order per
//!     conversation, *before* `append` returns to its caller (the fan-out relies on it);
//!   - receipts only rise, and never past the last seq.
//! - the **records** ([`Records`]): accounts, sites, visitors, canned responses, notes,
//!   tickets, reports, API tokens and webhooks; plain queries, each atomic on its own.
//!
//! [`open`] picks the backend from the database URL's scheme: `sqlite://PATH` (the embedded
//! default, [`sqlite`]) or `postgres://…` ([`postgres`], for several relays on one
//! database). Both apply their migrations on open and refuse a schema from a newer build;
//! [`migrate`] does only that. Callers never name a backend type, and [`StoreError`]
//! carries none.
//!
//! Times are milliseconds since the Unix epoch (`i64`) throughout.

mod codec;
pub use codec::kind_tag;
pub mod postgres;
mod queue;
pub mod reports;
pub mod sqlite;
pub mod tickets;
pub mod webhooks;

use async_trait::async_trait;
use std::sync::Arc;
use switchboard_shared::{
    AgentId, ClientMsgId, ConversationId, ConversationStatus, EventKind, Seq, Side, SupportLevel,
    VisitorInfo,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (e.g. an agent e-mail already taken).
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// The database refused a value as such (a NUL character in text, which PostgreSQL
    /// cannot store): the caller's input, not a failure.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The background writer has stopped (shutdown in progress).
    #[error("store is shutting down")]
    Closed,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed (a query, the connection, a migration); the backend's own error
    /// inside, so callers never depend on a backend's types.
    #[error("database error: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// A statement of a group commit failed; every request in the batch was refused.
    #[error("write failed: {0}")]
    Write(Box<dyn std::error::Error + Send + Sync>),
    /// The database server did not answer (or refused the login) at start-up.
    #[error("cannot reach the database {url}: {cause}")]
    Unreachable {
        url: String,
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server or the schema is not one this build can work with (too old a server, a
    /// schema from a newer build, a migration changed by hand).
    #[error("{0}")]
    Schema(String),
    /// The database URL names no backend this build has, or is malformed.
    #[error("unsupported database URL {url}: {why}")]
    Url { url: String, why: String },
    /// A batch did not commit: every request in it gets this; the cause is logged once.
    #[error("group commit failed: {0}")]
    CommitFailed(String),
    /// Another process appends events to this database (two relays on one SQLite file).
    #[error("another switchboard process is serving this database (lock {0} is held)")]
    InUse(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store the URL names, by its scheme: `sqlite://path` (or a plain file path) is
/// the embedded SQLite store. `postgres://` is recognised and refused with a clear error
/// until that backend exists. Every committed event goes to `listener` (see [`Store`]).
pub async fn open(url: &str, listener: Arc<dyn CommitListener>) -> StoreResult<SharedStore> {
    match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("sqlite") | None => Ok(Arc::new(sqlite::SqliteStore::open(url, listener).await?)),
        Some("postgres" | "postgresql") => {
            Ok(Arc::new(postgres::PgStore::open(url, listener).await?))
        }
        Some(other) => Err(unknown_scheme(url, other)),
    }
}

/// Brings the database's schema up to this build's and returns the schema version it is at
/// then (`switchboard migrate`). Opening a store does the same; this is for deploys that
/// migrate as a step of their own. A schema newer than this build is refused.
pub async fn migrate(url: &str) -> StoreResult<i64> {
    match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("sqlite") | None => sqlite::SqliteStore::migrate(url).await,
        Some("postgres" | "postgresql") => postgres::migrate_url(url).await,
        Some(other) => Err(unknown_scheme(url, other)),
    }
}

/// Unique violations are the caller's fault (`Conflict`), a missing parent row means the
/// referenced thing does not exist (`NotFound`); everything else is a database error.
fn constraint(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::from(e),
    }
}

// The backends' errors reach callers only boxed (see `StoreError`); `?` converts.
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            // PostgreSQL's "character not in repertoire" / "untranslatable character": a NUL
            // in text (SQLite stores it).
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return StoreError::Invalid(db.message().to_string());
            }
        }
        StoreError::Backend(Box::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// What a failed migration means for the operator, by name.
pub(crate) fn schema_error(
    e: sqlx::migrate::MigrateError,
    migrator: &sqlx::migrate::Migrator,
) -> StoreError {
    use sqlx::migrate::MigrateError;
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match e {
        MigrateError::VersionMissing(v) => StoreError::Schema(format!(
            "the database has schema version {v}, newer than this build knows (up to \
             {known}): run the switchboard release that migrated it, or a newer one"
        )),
        MigrateError::VersionMismatch(v) => StoreError::Schema(format!(
            "migration {v} in the database differs from this build's: the schema was \
             changed by hand or by another build"
        )),
        MigrateError::Dirty(v) => StoreError::Schema(format!(
            "migration {v} failed half-way earlier; repair the database, then run \
             `switchboard migrate`"
        )),
        other => StoreError::Backend(Box::new(other)),
    }
}

fn unknown_scheme(url: &str, scheme: &str) -> StoreError {
    StoreError::Url {
        url: masked(url),
        why: format!("unknown scheme {scheme:?}; use sqlite://PATH or postgres://HOST/DATABASE"),
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisitorId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub id: AgentId,
    pub email: String,
    pub display_name: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub role: Role,
    pub max_concurrent_chats: u32,
    pub support_level: SupportLevel,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub max_concurrent_chats: u32,
    pub support_level: SupportLevel,
}

/// Fields to change on an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub max_concurrent_chats: Option<u32>,
    pub support_level: Option<SupportLevel>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRecord {
    /// Short public id used in the script tag (`data-site="acme"`).
    pub id: String,
    pub name: String,
    /// Exact origins (`https://www.example.com`) allowed to open visitor connections.
    pub allowed_origins: Vec<String>,
    /// Which pre-chat fields the widget asks for.
    pub prechat: switchboard_shared::PrechatFields,
    /// How the widget looks and behaves, and the site's ticket settings (admins edit them in
    /// the console; `upsert_site` leaves them alone on an existing site).
    pub options: SiteOptions,
}

/// A site's widget appearance and behaviour, and its ticket settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteOptions {
    /// `#rgb` or `#rrggbb`; `None`: the widget's own colour.
    pub accent: Option<String>,
    pub position: switchboard_shared::WidgetPosition,
    /// `None`: the widget's own greeting.
    pub greeting: Option<String>,
    pub offline_behaviour: switchboard_shared::OfflineBehaviour,
    /// After how many seconds of waiting a queued visitor is offered "leave a message".
    pub queue_offer_message_after_secs: u32,
    /// An unresolved ended chat, or a visitor leaving the queue, becomes a ticket.
    pub unresolved_to_ticket: bool,
    /// Live chat only within the business hours (outside them: the offline form).
    pub chat_within_hours: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            accent: None,
            position: switchboard_shared::WidgetPosition::Right,
            greeting: None,
            offline_behaviour: switchboard_shared::OfflineBehaviour::Form,
            queue_offer_message_after_secs: 120,
            unresolved_to_ticket: false,
            chat_within_hours: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorRecord {
    pub id: VisitorId,
    pub site_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub site_id: String,
    pub visitor_id: VisitorId,
    pub status: ConversationStatus,
    pub agent_id: Option<AgentId>,
    pub info: VisitorInfo,
    pub last_seq: Seq,
    /// Order in the waiting queue (lower = earlier); `Some` only while queued.
    pub queue_rank: Option<i64>,
    pub created_at: i64,
    /// When the visitor started waiting (the last time it entered the queue).
    pub queued_at: Option<i64>,
    /// When the current agent got it.
    pub assigned_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// Receipts: how far each side has received / read.
    pub visitor_delivered: Seq,
    pub visitor_read: Seq,
    pub agent_delivered: Seq,
    pub agent_read: Seq,
}

#[derive(Debug, Clone)]
pub struct NewConversation {
    pub site_id: String,
    pub visitor_id: VisitorId,
    pub info: VisitorInfo,
    pub status: ConversationStatus,
    pub queue_rank: Option<i64>,
    pub at: i64,
}

/// Changes to a conversation row made in the same transaction as an appended event, so the
/// event and the state it describes can never disagree after a crash.
/// `None` leaves a column as it is; `Some(None)` clears a nullable column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationUpdate {
    pub status: Option<ConversationStatus>,
    pub agent_id: Option<Option<AgentId>>,
    pub queue_rank: Option<Option<i64>>,
    pub queued_at: Option<Option<i64>>,
    pub assigned_at: Option<Option<i64>>,
    pub ended_at: Option<Option<i64>>,
}

#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub conversation_id: ConversationId,
    pub at: i64,
    pub event: EventKind,
    /// For client messages: who sent it and their id. A second append with the same
    /// (conversation, side, client id) stores nothing and returns [`Appended::Duplicate`].
    pub dedup: Option<(Side, ClientMsgId)>,
    pub update: ConversationUpdate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub at: i64,
    pub event: EventKind,
}

/// A committed event and its position in the log: one order over all conversations, the
/// order in which events were committed. Readers of the committed stream page through it
/// ([`EventLog::read_log`]) and keep their place ([`EventLog::save_cursor`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub pos: i64,
    pub event: StoredEvent,
}

/// A page of the log ([`EventLog::read_log`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// Every committed event of the asked-for kinds with a position up to here is in
    /// `entries` (or was before `after`): once they are handled, the reader's cursor moves
    /// here, past the events it does not care about too.
    pub through: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    New(StoredEvent),
    /// Already stored earlier under this sequence number; nothing was written.
    Duplicate {
        seq: Seq,
    },
}

/// A prepared answer an agent inserts by typing `/shortcut`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannedResponse {
    pub id: i64,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    /// The one site whose agents are offered it; `None`: every site.
    pub site_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewCanned {
    pub shortcut: String,
    pub title: String,
    pub body: String,
    /// `None`: every site.
    pub site_id: Option<String>,
}

/// An internal note on a conversation: agents only, never sent to the visitor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub agent_id: AgentId,
    pub body: String,
    pub created_at: i64,
}

/// A committed event as its listener sees it: the event, and its [`EventKind`] as the JSON
/// text the store wrote, which is also what goes on the wire (see
/// `ServerFrame::event_json`), so the fan-out need not encode it again.
#[derive(Debug, Clone, Copy)]
pub struct Committed<'a> {
    pub event: &'a StoredEvent,
    /// Its position in the log (see [`LogEntry`]).
    pub pos: i64,
    pub event_json: &'a str,
    pub stamps: CommitStamps,
}

/// When the request behind a committed event reached the store, when its transaction
/// began and when it was durable: the relay's hop timing (`--hop-times`) reports the
/// legs between them.
#[derive(Debug, Clone, Copy)]
pub struct CommitStamps {
    pub queued: std::time::Instant,
    pub started: std::time::Instant,
    pub committed: std::time::Instant,
}

/// Receives committed events in commit order, synchronously, from the writer. Must not
/// block: it hands bytes to per-connection channels and returns.
pub trait CommitListener: Send + Sync + 'static {
    fn committed(&self, events: &[Committed<'_>]);
}

/// A listener that drops everything (CLI commands and store tests).
pub struct NoListener;
impl CommitListener for NoListener {
    fn committed(&self, _events: &[Committed<'_>]) {}
}

/// A cheap, cloneable handle to the store.
pub type SharedStore = Arc<dyn Store>;

/// The event log: conversations and their ordered, durable events. Everything that
/// decides a conversation's seq, its dedup and its commit order is here; see the crate docs
/// for the contract.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    async fn create_conversation(&self, new: NewConversation) -> StoreResult<ConversationRecord>;
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationRecord>>;
    /// The visitor's most recent conversation created at or after `since`, of any status.
    async fn latest_conversation_for_visitor(
        &self,
        visitor: VisitorId,
        since: i64,
    ) -> StoreResult<Option<ConversationRecord>>;
    /// Every conversation that is queued or active: what routing rebuilds from at start-up.
    async fn open_conversations(&self) -> StoreResult<Vec<ConversationRecord>>;
    /// Durable append with group commit; see the module docs for the ordering guarantee.
    async fn append(&self, req: AppendRequest) -> StoreResult<Appended>;
    /// Events with `seq > after`, ascending, at most `limit`.
    async fn events_after(
        &self,
        id: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// The whole transcript, ascending (read in pages of `events_after`).
    async fn all_events(&self, id: ConversationId) -> StoreResult<Vec<StoredEvent>> {
        const PAGE: u32 = 1000;
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, |e: &StoredEvent| e.seq);
            let page = self.events_after(id, after, PAGE).await?;
            let full = page.len() == PAGE as usize;
            events.extend(page);
            if !full {
                return Ok(events);
            }
        }
    }
    /// The next page for a reader of the committed stream: events after position `after`
    /// whose kind (the `kind` tag, e.g. `"ended"`) is one of `kinds` (empty: every kind),
    /// in commit order, at most `limit`; see [`LogPage`].
    async fn read_log(&self, after: i64, kinds: &[&str], limit: u32) -> StoreResult<LogPage>;
    /// The position of the newest committed event (0 while there is none).
    async fn log_head(&self) -> StoreResult<i64>;
    /// Where the reader `reader` has got to; `None` if it never saved a cursor.
    async fn cursor(&self, reader: &str) -> StoreResult<Option<i64>>;
    /// Saves the reader's cursor durably: `pos` is the last position it has finished with.
    /// A cursor never moves back (a late save of an older position changes nothing).
    async fn save_cursor(&self, reader: &str, pos: i64, now: i64) -> StoreResult<()>;
    /// Raises (never lowers) one side's receipts.
    async fn record_receipt(
        &self,
        id: ConversationId,
        side: Side,
        delivered: Seq,
        read: Seq,
    ) -> StoreResult<()>;

    /// Waits for in-flight writes to commit and closes the database.
    async fn close(&self);
}

/// The records: accounts, sites, visitors, the console's data, tickets, reports, tokens and
/// webhooks. Plain queries, each on its own.
#[async_trait]
pub trait Records: Send + Sync + 'static {
    // --- agents and their sessions
    async fn create_agent(&self, new: NewAgent) -> StoreResult<AgentRecord>;
    async fn agent(&self, id: AgentId) -> StoreResult<Option<AgentRecord>>;
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentRecord>>;
    async fn list_agents(&self) -> StoreResult<Vec<AgentRecord>>;
    async fn update_agent(&self, id: AgentId, patch: AgentPatch) -> StoreResult<AgentRecord>;
    /// The sites an agent works for, sorted; empty means every site.
    async fn agent_sites(&self, id: AgentId) -> StoreResult<Vec<String>>;
    /// Every agent's sites (agents without rows are absent: they work for every site).
    async fn all_agent_sites(&self) -> StoreResult<Vec<(AgentId, String)>>;
    /// Replaces an agent's sites (empty: every site). `NotFound` for an unknown agent or
    /// site.
    async fn set_agent_sites(&self, id: AgentId, sites: &[String]) -> StoreResult<()>;
    /// Stores the SHA-256 of a session token.
    async fn create_session(
        &self,
        token_hash: [u8; 32],
        agent: AgentId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// The agent behind a session that is neither expired, revoked nor of a disabled agent.
    async fn session_agent(
        &self,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<Option<AgentRecord>>;
    async fn revoke_session(&self, token_hash: [u8; 32], now: i64) -> StoreResult<()>;
    async fn revoke_agent_sessions(&self, agent: AgentId, now: i64) -> StoreResult<()>;

    // --- sites
    async fn upsert_site(&self, site: SiteRecord) -> StoreResult<()>;
    async fn site(&self, id: &str) -> StoreResult<Option<SiteRecord>>;
    async fn list_sites(&self) -> StoreResult<Vec<SiteRecord>>;

    // --- visitors (tokens are stored as SHA-256 only)
    async fn create_visitor(
        &self,
        site_id: &str,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<VisitorRecord>;
    async fn visitor_by_token(&self, token_hash: [u8; 32]) -> StoreResult<Option<VisitorRecord>>;
    async fn touch_visitor(&self, id: VisitorId, now: i64) -> StoreResult<()>;
    /// Handle times (ended_at - assigned_at, ms) of the `limit` most recently ended chats.
    async fn recent_handle_times(&self, limit: u32) -> StoreResult<Vec<i64>>;

    // --- the agent console
    async fn list_canned(&self) -> StoreResult<Vec<CannedResponse>>;
    /// `Conflict` when the shortcut is taken (case-insensitively).
    async fn create_canned(&self, new: NewCanned, now: i64) -> StoreResult<CannedResponse>;
    async fn update_canned(&self, id: i64, new: NewCanned, now: i64)
        -> StoreResult<CannedResponse>;
    async fn delete_canned(&self, id: i64) -> StoreResult<()>;
    async fn add_note(
        &self,
        conversation: ConversationId,
        agent: AgentId,
        body: &str,
        now: i64,
    ) -> StoreResult<Note>;
    /// Oldest first.
    async fn notes(&self, conversation: ConversationId) -> StoreResult<Vec<Note>>;
    /// The visitor's conversations, newest first, at most `limit`.
    async fn conversations_of_visitor(
        &self,
        visitor: VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<ConversationRecord>>;

    // --- tickets (see [`tickets`]); a conversation becomes at most one ticket
    /// Creates the ticket, or returns the conversation's existing one; `true` if created.
    async fn create_ticket(
        &self,
        new: tickets::NewTicket,
    ) -> StoreResult<(tickets::TicketRecord, bool)>;
    async fn ticket(&self, id: i64) -> StoreResult<Option<tickets::TicketRecord>>;
    async fn ticket_for_conversation(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Option<tickets::TicketRecord>>;
    /// Sorted by the next SLA due time (tickets without one last), then id.
    async fn list_tickets(
        &self,
        filter: tickets::TicketFilter,
    ) -> StoreResult<Vec<tickets::TicketRecord>>;
    /// `Conflict` when the ticket changed since it was read (`expected_version`).
    async fn change_ticket(
        &self,
        change: tickets::TicketChange,
    ) -> StoreResult<tickets::TicketRecord>;
    /// The ticket's history, oldest first.
    async fn ticket_events(&self, id: i64) -> StoreResult<Vec<tickets::TicketEvent>>;
    /// The configured categories, in display order.
    async fn ticket_categories(&self) -> StoreResult<Vec<String>>;
    /// `None`: the site uses the default hours.
    async fn site_hours(&self, site: &str) -> StoreResult<Option<tickets::SiteHours>>;
    async fn set_site_hours(&self, site: &str, hours: tickets::SiteHours) -> StoreResult<()>;
    /// Stores the customer's rating; `Conflict` if the ticket was rated before.
    async fn rate_ticket(&self, rating: tickets::TicketRating) -> StoreResult<()>;
    async fn ticket_rating(&self, ticket: i64) -> StoreResult<Option<tickets::TicketRating>>;
    /// Replaces the ticket's tags.
    async fn set_ticket_tags(&self, ticket: i64, tags: Vec<String>) -> StoreResult<()>;
    async fn ticket_tags(&self, ticket: i64) -> StoreResult<Vec<String>>;
    /// The category → level/strategy rules, in category order.
    async fn assignment_rules(&self) -> StoreResult<Vec<tickets::AssignmentRule>>;
    async fn set_assignment_rule(&self, rule: tickets::AssignmentRule) -> StoreResult<()>;
    /// The agent the strategy picks among the enabled agents of `level` who work for
    /// `site` (admins, agents without sites, agents with that site), if any.
    async fn pick_ticket_assignee(
        &self,
        level: SupportLevel,
        strategy: tickets::AssignmentStrategy,
        site: &str,
    ) -> StoreResult<Option<AgentId>>;
    /// The SLA targets admins set (priorities without a row use the relay's defaults).
    async fn sla_policies(&self) -> StoreResult<Vec<tickets::SlaPolicyRecord>>;
    async fn set_sla_policy(&self, policy: tickets::SlaPolicyRecord) -> StoreResult<()>;
    /// The visitor's tickets, newest first.
    async fn tickets_of_visitor(
        &self,
        visitor: VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<tickets::TicketRecord>>;

    // --- reports (see [`reports`]): facts about items created in a range, for the KPIs
    async fn report_chats(
        &self,
        range: &reports::ReportRange,
    ) -> StoreResult<Vec<reports::ChatFact>>;
    async fn report_tickets(
        &self,
        range: &reports::ReportRange,
    ) -> StoreResult<Vec<reports::TicketFact>>;

    // --- API tokens for integrations (see [`webhooks`]); only SHA-256 of a secret is stored
    async fn create_api_token(
        &self,
        new: webhooks::NewApiToken,
    ) -> StoreResult<webhooks::ApiTokenRecord>;
    /// The token and the agent it acts for: `None` if unknown, revoked, or its creator is
    /// disabled.
    async fn api_token_by_hash(
        &self,
        token_hash: [u8; 32],
    ) -> StoreResult<Option<(webhooks::ApiTokenRecord, AgentRecord)>>;
    /// Every token, revoked ones too, oldest first.
    async fn list_api_tokens(&self) -> StoreResult<Vec<webhooks::ApiTokenRecord>>;
    /// `NotFound` for an unknown id; revoking twice keeps the first time.
    async fn revoke_api_token(&self, id: i64, now: i64) -> StoreResult<()>;

    // --- webhooks (see [`webhooks`]): subscriptions, the event outbox, the delivery log
    async fn create_webhook(
        &self,
        new: webhooks::NewWebhook,
    ) -> StoreResult<webhooks::WebhookRecord>;
    /// Webhooks not deleted, oldest first.
    async fn list_webhooks(&self) -> StoreResult<Vec<webhooks::WebhookRecord>>;
    async fn webhook(&self, id: i64) -> StoreResult<Option<webhooks::WebhookRecord>>;
    /// `NotFound` if unknown or deleted; its pending deliveries are dropped.
    async fn delete_webhook(&self, id: i64, now: i64) -> StoreResult<()>;
    /// Stores the event and a due delivery per subscriber in one transaction (nothing when
    /// nobody subscribes or the key was stored before); returns the deliveries created.
    async fn enqueue_webhook_event(&self, event: webhooks::NewWebhookEvent) -> StoreResult<usize>;
    /// Leases up to `limit` due deliveries until `lease_until` and returns them.
    async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> StoreResult<Vec<webhooks::DueDelivery>>;
    /// When the earliest pending delivery is due.
    async fn next_webhook_due(&self) -> StoreResult<Option<i64>>;
    /// The attempt for the log and the delivery's next state, in one transaction.
    async fn record_webhook_attempt(
        &self,
        delivery: i64,
        attempt: webhooks::AttemptRecord,
        outcome: webhooks::AttemptOutcome,
    ) -> StoreResult<()>;
    /// The webhook's latest deliveries with their attempts, newest first.
    async fn webhook_deliveries(
        &self,
        webhook: i64,
        limit: u32,
    ) -> StoreResult<Vec<webhooks::DeliveryRecord>>;

    // --- site management in the console (issue 4)
    /// Replaces an existing site's name, origins, pre-chat fields and options in one
    /// transaction; `NotFound` if there is no such site.
    async fn update_site(&self, site: SiteRecord) -> StoreResult<()>;
}

/// The whole store: what [`open`] returns, behind [`SharedStore`].
pub trait Store: EventLog + Records {}
impl<T: EventLog + Records> Store for T {}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_a_masked_url() {
        assert_eq!(
            masked("postgres://switchboard:geheim@db.example:5432/chat"),
            "postgres://switchboard:***@db.example:5432/chat"
        );
        assert_eq!(masked("postgres://db/chat"), "postgres://db/chat");
        assert_eq!(masked("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }

    #[tokio::test]
    async fn an_unknown_or_unbuilt_backend_is_refused_by_name() {
        for (url, says) in [
            ("mysql://root@localhost/chat", "unknown scheme \"mysql\""),
            (
                "postgres://u:pw@127.0.0.1:1/chat",
                "cannot reach the database",
            ),
        ] {
            let Err(e) = open(url, Arc::new(NoListener)).await else {
                panic!("{url} opened");
            };
            let text = e.to_string();
            assert!(text.contains(says), "{text}");
            assert!(!text.contains("pw@"), "password leaked: {text}");
        }
    }
}
