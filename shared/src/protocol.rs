//! The wire protocol, version [`PROTOCOL_VERSION`]. JSON text frames, one object per frame,
//! tagged by `"type"`. `docs/PROTOCOL.md` explains the flow; the tests at the bottom pin the
//! JSON shape of every frame so a change here is a deliberate protocol change.
//!
//! Two kinds of events flow inside a conversation:
//! - durable events ([`EventKind`], inside [`ServerFrame::Event`]) carry a per-conversation
//!   sequence number, are stored before anyone sees them, and are replayed after a reconnect;
//! - ephemeral frames (typing, receipts, queue position, availability, load) are not
//!   sequenced; the relay resends the current state of each after a reconnect instead.
//!   Receipts in particular must not be sequenced events: acknowledging a receipt would
//!   create another event to acknowledge, forever.

use crate::ids::{AgentId, ClientMsgId, ConversationId, Seq};
use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change; clients send it in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------
// Client → relay
// ---------------------------------------------------------------------------------------

/// Frames a visitor (the widget) sends on `/ws/visitor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorCommand {
    /// First frame on every connection. `token` is the opaque visitor token the relay issued
    /// earlier (absent on a first visit); `last_seq` is the highest sequence number the
    /// client holds for its open conversation, so the relay replays only what is newer.
    Hello {
        protocol: u32,
        site: String,
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        last_seq: Option<Seq>,
        #[serde(default)]
        locale: Option<String>,
    },
    /// Ask for a live chat. Queued, then routed to an agent.
    StartConversation {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        customer_number: Option<String>,
        #[serde(default)]
        page_url: Option<String>,
    },
    /// A chat message. Answered by [`ServerFrame::Sent`] once it is durable.
    Send {
        client_id: ClientMsgId,
        body: String,
    },
    /// Leave a message when nobody is online: stored as a conversation waiting for a ticket.
    LeaveMessage {
        client_id: ClientMsgId,
        body: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        customer_number: Option<String>,
    },
    Typing {
        active: bool,
    },
    /// Everything up to `seq` has reached the client (delivered receipt).
    Ack {
        seq: Seq,
    },
    /// Everything up to `seq` has been shown to the person (read receipt).
    Read {
        seq: Seq,
    },
    /// End the sender's conversation. `conversation_id` is optional; when given it must be
    /// the sender's own open conversation (anything else is refused, nothing is ended).
    EndConversation {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<ConversationId>,
    },
    /// After the end: how satisfied the visitor was (CSAT 1–5) and an optional comment.
    /// Stored once per conversation; a second rating is refused.
    Rate {
        score: u8,
        #[serde(default)]
        comment: Option<String>,
    },
    /// How satisfied the visitor is with the answer to one of their tickets (CSAT 1–5),
    /// once it is resolved. Stored once per ticket; answered with a fresh `tickets` frame.
    RateTicket {
        ticket_id: i64,
        score: u8,
        #[serde(default)]
        comment: Option<String>,
    },
    /// Keep-alive; answered with `pong`. A struct variant so unknown fields are refused as
    /// on every other frame (serde ignores extra fields on unit variants).
    Ping {},
}

impl VisitorCommand {
    /// The sender's message id, for the frames that carry one.
    pub fn client_id(&self) -> Option<&ClientMsgId> {
        match self {
            VisitorCommand::Send { client_id, .. }
            | VisitorCommand::LeaveMessage { client_id, .. } => Some(client_id),
            _ => None,
        }
    }
}

/// Frames an agent (the console) sends on `/ws/agent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentCommand {
    /// First frame: the session token from `POST /api/v1/auth/login`, and for every
    /// conversation the console already shows, the last sequence number it holds.
    Hello {
        protocol: u32,
        token: String,
        #[serde(default)]
        resume: Vec<ResumePoint>,
    },
    SetPresence {
        presence: Presence,
    },
    Send {
        conversation_id: ConversationId,
        client_id: ClientMsgId,
        body: String,
    },
    Typing {
        conversation_id: ConversationId,
        active: bool,
    },
    Ack {
        conversation_id: ConversationId,
        seq: Seq,
    },
    Read {
        conversation_id: ConversationId,
        seq: Seq,
    },
    /// Hand a chat to another agent; refused when the target is full or not online.
    Transfer {
        conversation_id: ConversationId,
        to_agent: AgentId,
    },
    EndConversation {
        conversation_id: ConversationId,
    },
    /// Keep-alive, answered with `pong`; a struct variant so unknown fields are refused.
    Ping {},
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePoint {
    pub conversation_id: ConversationId,
    pub last_seq: Seq,
}

/// Frame type names that only the agent endpoint accepts; a visitor sending one gets
/// [`ErrorCode::WrongEndpoint`] rather than [`ErrorCode::UnknownType`].
pub const AGENT_ONLY_TYPES: &[&str] = &["set_presence", "transfer"];
/// Frame type names the visitor endpoint accepts.
pub const VISITOR_TYPES: &[&str] = &[
    "hello",
    "start_conversation",
    "send",
    "leave_message",
    "typing",
    "ack",
    "read",
    "end_conversation",
    "rate",
    "rate_ticket",
    "ping",
];
/// Frame type names that only the visitor endpoint accepts.
pub const VISITOR_ONLY_TYPES: &[&str] =
    &["start_conversation", "leave_message", "rate", "rate_ticket"];
/// Frame type names the agent endpoint accepts.
pub const AGENT_TYPES: &[&str] = &[
    "hello",
    "set_presence",
    "send",
    "typing",
    "ack",
    "read",
    "transfer",
    "end_conversation",
    "ping",
];

impl AgentCommand {
    /// The sender's message id, for the frames that carry one.
    pub fn client_id(&self) -> Option<&ClientMsgId> {
        match self {
            AgentCommand::Send { client_id, .. } => Some(client_id),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Relay → client
// ---------------------------------------------------------------------------------------

/// Every frame the relay sends, on either endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to a visitor's `hello`. `token` is present when the relay issued a new one:
    /// the widget must keep it (it is shown only once; the relay stores a hash).
    VisitorWelcome {
        protocol: u32,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        token: Option<String>,
        conversation: Option<ConversationView>,
        agents_online: u32,
        /// How the site wants the widget to behave.
        site: SiteSettings,
    },
    /// Answer to an agent's `hello`.
    AgentWelcome {
        protocol: u32,
        agent: AgentRef,
        load: Load,
        conversations: Vec<ConversationView>,
        /// The head of the waiting queue, as in `queue_snapshot`.
        queue: Vec<QueueEntry>,
        /// How many are waiting in all (`queue` lists at most the first 50).
        #[serde(default)]
        queue_total: u32,
    },
    /// A durable event in a conversation. Replayed after reconnects; clients drop any `seq`
    /// they already hold.
    Event {
        conversation_id: ConversationId,
        seq: Seq,
        /// Milliseconds since the Unix epoch, relay clock.
        at: i64,
        event: EventKind,
    },
    /// The message with this `client_id` is stored as `seq`. `duplicate` is true when it had
    /// been stored before (a resend): the client must not show it twice.
    Sent {
        client_id: ClientMsgId,
        conversation_id: ConversationId,
        seq: Seq,
        duplicate: bool,
    },
    /// How far the other side has received and read.
    Receipt {
        conversation_id: ConversationId,
        by: Side,
        delivered: Seq,
        read: Seq,
    },
    Typing {
        conversation_id: ConversationId,
        by: Side,
        active: bool,
    },
    /// To a queued visitor: their place (1 = next) and an estimate, when one can be made.
    Queue {
        conversation_id: ConversationId,
        position: u32,
        estimated_wait_secs: Option<u32>,
    },
    /// To visitors: how many agents take chats right now (0 = offline, leave a message).
    Availability {
        agents_online: u32,
    },
    /// To an agent: a conversation is now theirs (routed or transferred to them). Its
    /// history follows as `event` frames.
    ConversationAssigned {
        conversation: ConversationView,
    },
    /// To an agent: a conversation is no longer theirs.
    ConversationRemoved {
        conversation_id: ConversationId,
        reason: RemovalReason,
    },
    /// To agents: the head of the waiting queue (metadata only, no messages).
    QueueSnapshot {
        /// At most the first 50 waiting, in order; `position` is absolute.
        entries: Vec<QueueEntry>,
        /// How many are waiting in all, listed or not.
        #[serde(default)]
        total: u32,
    },
    /// To an agent: their presence and load.
    Load(Load),
    /// To a visitor: their tickets (offline messages and converted chats) with the team's
    /// public replies, newest first. Sent after `visitor_welcome` when there are any, and
    /// again whenever one changes; each frame replaces the previous list.
    Tickets {
        tickets: Vec<CustomerTicket>,
    },
    Error {
        code: ErrorCode,
        message: String,
        /// Echoes the `client_id` of the frame that failed, where it had one.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        client_id: Option<ClientMsgId>,
    },
    Pong,
}

impl ServerFrame {
    /// Encodes the frame as JSON text. Serialising these types cannot fail (no maps with
    /// non-string keys, no custom serialisers that error).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"type":"error","code":"internal","message":"encoding failed"}"#)
        })
    }

    /// The `event` frame of an event whose [`EventKind`] is already JSON text (the store
    /// keeps every event as exactly that text): the same bytes as
    /// `ServerFrame::Event { .. }.to_json()`, without encoding the event a second time. That
    /// second encoding was ~7 % of the relay's instructions per message (callgrind,
    /// docs/PERFORMANCE.md). `event_json` must be `EventKind`'s compact serde_json encoding.
    /// Assembled by hand rather than with `format!`, which cost ~2,400 instructions here.
    pub fn event_json(
        conversation_id: ConversationId,
        seq: Seq,
        at: i64,
        event_json: &str,
    ) -> String {
        let mut num = itoa::Buffer::new();
        let mut out = String::with_capacity(90 + event_json.len());
        out.push_str(r#"{"type":"event","conversation_id":"#);
        out.push_str(num.format(conversation_id.0));
        out.push_str(r#","seq":"#);
        out.push_str(num.format(seq));
        out.push_str(r#","at":"#);
        out.push_str(num.format(at));
        out.push_str(r#","event":"#);
        out.push_str(event_json);
        out.push('}');
        out
    }

    pub fn error(code: ErrorCode, client_id: Option<ClientMsgId>) -> Self {
        ServerFrame::Error {
            code,
            message: code.describe().to_string(),
            client_id,
        }
    }
}

/// What happened in a conversation. Stored, sequenced and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The visitor asked for a chat; it waits in the queue.
    Started,
    Message {
        author: Author,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        client_id: Option<ClientMsgId>,
        body: String,
    },
    AgentJoined {
        agent: AgentRef,
    },
    /// The chat moved from one agent to another.
    Transferred {
        from: AgentRef,
        to: AgentRef,
    },
    /// The agent's connection did not come back within the grace period; the chat waits at
    /// the front of the queue for the next free agent.
    Requeued {
        from: AgentRef,
    },
    /// The visitor left a message while nobody was online; it waits for a ticket.
    LeftMessage,
    Ended {
        by: Side,
    },
    /// The visitor rated the chat after it ended (CSAT).
    Rated {
        score: u8,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        comment: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Author {
    Visitor,
    Agent { id: AgentId, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Visitor,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: AgentId,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Takes new chats.
    Online,
    /// Keeps current chats, gets no new ones.
    Away,
    Offline,
}

/// An agent's support level: L1 takes first contact, L2 and L3 get escalations.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SupportLevel {
    #[default]
    L1,
    L2,
    L3,
}

impl SupportLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            SupportLevel::L1 => "L1",
            SupportLevel::L2 => "L2",
            SupportLevel::L3 => "L3",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "L1" => Some(SupportLevel::L1),
            "L2" => Some(SupportLevel::L2),
            "L3" => Some(SupportLevel::L3),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Queued,
    Active,
    Ended,
    /// Left as an offline message (or abandoned): the ticket workflow picks it up.
    AwaitingTicket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    Ended,
    TransferredAway,
    /// Requeued after the grace period (the agent was disconnected too long).
    Requeued,
}

/// What the visitor told us about themselves, all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorInfo {
    pub name: Option<String>,
    pub email: Option<String>,
    pub customer_number: Option<String>,
    pub page_url: Option<String>,
    pub locale: Option<String>,
    /// The User-Agent of the visitor's WebSocket upgrade (set by the relay, never by the
    /// client); absent in old records and frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
}

/// Whether a pre-chat field is asked for, and whether it must be filled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldRule {
    #[default]
    Off,
    Optional,
    Required,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrechatFields {
    #[serde(default)]
    pub name: FieldRule,
    #[serde(default)]
    pub email: FieldRule,
    #[serde(default)]
    pub customer_number: FieldRule,
}

impl PrechatFields {
    /// True when the widget shows a pre-chat form at all.
    pub fn any(&self) -> bool {
        [self.name, self.email, self.customer_number]
            .iter()
            .any(|r| *r != FieldRule::Off)
    }
}

/// Per-site widget settings the relay sends in `visitor_welcome`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSettings {
    /// Team name shown in the widget header.
    pub name: String,
    #[serde(default)]
    pub prechat: PrechatFields,
    /// The widget's accent colour, `#rgb` or `#rrggbb`; absent: the widget's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent: Option<String>,
    /// Which corner the launcher sits in; absent: right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<WidgetPosition>,
    /// The first line the widget shows a visitor; absent: the widget's own text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// What the widget does when nobody is online or outside business hours; absent: form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_behaviour: Option<OfflineBehaviour>,
    /// After how many seconds of waiting a queued visitor is offered "leave a message
    /// instead"; absent: the widget's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_offer_message_after_secs: Option<u32>,
    /// Outside the site's business hours right now: no live chat (`agents_online` is 0 and
    /// stays so for this connection, whatever `availability` says); the offline form instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
}

/// The corner of the page the widget's launcher sits in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WidgetPosition {
    Left,
    #[default]
    Right,
}

impl WidgetPosition {
    pub fn as_str(self) -> &'static str {
        match self {
            WidgetPosition::Left => "left",
            WidgetPosition::Right => "right",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "left" => Some(WidgetPosition::Left),
            "right" => Some(WidgetPosition::Right),
            _ => None,
        }
    }
}

/// When nobody is online (or outside business hours): show the offline message form, or
/// hide the launcher.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfflineBehaviour {
    #[default]
    Form,
    Hide,
}

impl OfflineBehaviour {
    pub fn as_str(self) -> &'static str {
        match self {
            OfflineBehaviour::Form => "form",
            OfflineBehaviour::Hide => "hide",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "form" => Some(OfflineBehaviour::Form),
            "hide" => Some(OfflineBehaviour::Hide),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub site: String,
    pub status: ConversationStatus,
    pub visitor: VisitorInfo,
    pub agent: Option<AgentRef>,
    /// Highest sequence number stored so far.
    pub last_seq: Seq,
    pub created_at: i64,
}

/// A ticket as its customer sees it: no internal notes, no SLA, no assignee ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerTicket {
    pub id: i64,
    pub subject: String,
    /// `new`, `open`, `pending_customer`, `resolved` or `closed`.
    pub status: String,
    pub created_at: i64,
    pub replies: Vec<CustomerReply>,
    /// The visitor's rating, once given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rating: Option<u8>,
    /// Resolved (or closed) and not yet rated: the widget asks for a rating.
    #[serde(default)]
    pub can_rate: bool,
}

/// A public reply of the support team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerReply {
    /// Unique per reply (the ticket history entry's id): lets the widget count unseen ones.
    pub id: i64,
    pub at: i64,
    /// The agent's display name.
    pub author: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub conversation_id: ConversationId,
    pub position: u32,
    /// Milliseconds since the Unix epoch.
    pub waiting_since: i64,
    pub visitor_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Load {
    pub presence: Presence,
    pub active: u32,
    pub max: u32,
}

/// Every error a client can be sent. The `snake_case` name is the stable code on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    UnknownType,
    WrongEndpoint,
    InvalidField,
    EmptyBody,
    BodyTooLong,
    FieldTooLong,
    BinaryNotSupported,
    HelloRequired,
    AlreadyGreeted,
    UnsupportedVersion,
    InvalidToken,
    UnknownSite,
    OriginNotAllowed,
    /// The conversation does not exist or is not the caller's: one code for both so that
    /// ids cannot be probed.
    UnknownConversation,
    NoConversation,
    ConversationExists,
    ConversationEnded,
    AgentFull,
    AgentUnavailable,
    UnknownAgent,
    /// A rating before the conversation ended, or a second one.
    NotRatable,
    /// A live chat asked for outside the site's business hours: leave a message instead.
    OutsideBusinessHours,
    RateLimited,
    /// The relay cannot store anything right now (its database is unreachable): the frame
    /// was not processed; resend it shortly with the same `client_id`.
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// A short English explanation for logs and developers; clients translate by code.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "frame is not valid JSON",
            ErrorCode::UnknownType => "unknown frame type",
            ErrorCode::WrongEndpoint => "this frame type is not accepted on this endpoint",
            ErrorCode::InvalidField => {
                "a field is missing, of the wrong type or has invalid content"
            }
            ErrorCode::EmptyBody => "message body is empty",
            ErrorCode::BodyTooLong => "message body is too long",
            ErrorCode::FieldTooLong => "a text field is too long",
            ErrorCode::BinaryNotSupported => "binary frames are not supported; send JSON text",
            ErrorCode::HelloRequired => "send hello first",
            ErrorCode::AlreadyGreeted => "hello was already sent on this connection",
            ErrorCode::UnsupportedVersion => "protocol version not supported",
            ErrorCode::InvalidToken => "token unknown, expired or revoked",
            ErrorCode::UnknownSite => "unknown site",
            ErrorCode::OriginNotAllowed => "origin not allowed for this site",
            ErrorCode::UnknownConversation => "no such conversation for you",
            ErrorCode::NoConversation => "you have no open conversation",
            ErrorCode::ConversationExists => "you already have an open conversation",
            ErrorCode::ConversationEnded => "the conversation has ended",
            ErrorCode::AgentFull => "the agent has no free chat slot",
            ErrorCode::AgentUnavailable => "the agent is not online",
            ErrorCode::UnknownAgent => "no such agent",
            ErrorCode::OutsideBusinessHours => {
                "outside business hours: no live chat now, leave a message instead"
            }
            ErrorCode::NotRatable => {
                "the conversation cannot be rated (not ended yet, or already rated)"
            }
            ErrorCode::RateLimited => "too many frames; slow down",
            ErrorCode::Unavailable => "cannot store anything right now; resend shortly",
            ErrorCode::Internal => "internal error; try again",
        }
    }
}

/// WebSocket close codes the relay uses.
pub mod close {
    /// The relay is shutting down; reconnect with backoff.
    pub const GOING_AWAY: u16 = 1001;
    /// A WebSocket protocol violation (unmasked or reserved-bit frame, unknown opcode, …).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame that is not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Policy: origin not allowed, or rate abuse.
    pub const POLICY: u16 = 1008;
    /// A frame exceeded [`crate::limits::MAX_FRAME_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// Overloaded (too many connections); reconnect later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// No valid hello in time, or the token was refused.
    pub const UNAUTHENTICATED: u16 = 4001;
    /// The client fell too far behind live traffic, or stopped reading; reconnect and resume.
    pub const TOO_SLOW: u16 = 4002;
    /// The agent session was revoked or the agent disabled.
    pub const REVOKED: u16 = 4003;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_frame_from_stored_json_is_the_typed_frame_byte_for_byte() {
        let events = [
            EventKind::Message {
                author: Author::Visitor,
                client_id: Some(cid("c-1")),
                body: "Grüße \"zitiert\" \\ und\nZeile\u{1}".into(),
            },
            EventKind::Message {
                author: Author::Agent {
                    id: AgentId(7),
                    name: "Ana".into(),
                },
                client_id: None,
                body: "ok".into(),
            },
            EventKind::Started,
            EventKind::Ended { by: Side::Agent },
        ];
        for (i, event) in events.into_iter().enumerate() {
            let stored = serde_json::to_string(&event).unwrap();
            let (conversation_id, seq, at) = (ConversationId(-3 + i as i64), 9 + i as u64, -1);
            let typed = ServerFrame::Event {
                conversation_id,
                seq,
                at,
                event,
            };
            assert_eq!(
                ServerFrame::event_json(conversation_id, seq, at, &stored),
                typed.to_json()
            );
        }
    }

    fn cid(s: &str) -> ClientMsgId {
        ClientMsgId::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn visitor_send_has_the_documented_shape() {
        let v: VisitorCommand =
            serde_json::from_value(json!({"type":"send","client_id":"m1","body":"Hallo"})).unwrap();
        assert_eq!(
            v,
            VisitorCommand::Send {
                client_id: cid("m1"),
                body: "Hallo".into()
            }
        );
    }

    #[test]
    fn visitor_hello_fields_are_optional_except_protocol_and_site() {
        let v: VisitorCommand =
            serde_json::from_value(json!({"type":"hello","protocol":1,"site":"acme"})).unwrap();
        assert!(matches!(
            v,
            VisitorCommand::Hello {
                token: None,
                last_seq: None,
                ..
            }
        ));
        assert!(
            serde_json::from_value::<VisitorCommand>(json!({"type":"hello","site":"acme"}))
                .is_err()
        );
    }

    #[test]
    fn unknown_fields_are_refused_so_typos_surface() {
        assert!(serde_json::from_value::<VisitorCommand>(
            json!({"type":"typing","active":true,"x":1})
        )
        .is_err());
    }

    #[test]
    fn agent_transfer_has_the_documented_shape() {
        let a: AgentCommand =
            serde_json::from_value(json!({"type":"transfer","conversation_id":7,"to_agent":2}))
                .unwrap();
        assert_eq!(
            a,
            AgentCommand::Transfer {
                conversation_id: ConversationId(7),
                to_agent: AgentId(2)
            }
        );
    }

    #[test]
    fn message_event_has_the_documented_shape() {
        let f = ServerFrame::Event {
            conversation_id: ConversationId(3),
            seq: 4,
            at: 1_700_000_000_000,
            event: EventKind::Message {
                author: Author::Agent {
                    id: AgentId(1),
                    name: "Anna".into(),
                },
                client_id: Some(cid("c-1")),
                body: "Guten Tag".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"type":"event","conversation_id":3,"seq":4,"at":1_700_000_000_000i64,
                   "event":{"kind":"message","author":{"role":"agent","id":1,"name":"Anna"},
                            "client_id":"c-1","body":"Guten Tag"}})
        );
    }

    #[test]
    fn tickets_frame_and_rate_ticket_have_the_documented_shape() {
        let frame = ServerFrame::Tickets {
            tickets: vec![CustomerTicket {
                id: 7,
                subject: "Wartung".into(),
                status: "resolved".into(),
                created_at: 1,
                replies: vec![CustomerReply {
                    id: 3,
                    at: 2,
                    author: Some("Anna".into()),
                    body: "Erledigt".into(),
                }],
                rating: None,
                can_rate: true,
            }],
        };
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            json!({"type":"tickets","tickets":[{"id":7,"subject":"Wartung","status":"resolved",
                "created_at":1,"replies":[{"id":3,"at":2,"author":"Anna","body":"Erledigt"}],
                "can_rate":true}]})
        );
        let rate: VisitorCommand =
            serde_json::from_value(json!({"type":"rate_ticket","ticket_id":7,"score":5})).unwrap();
        assert_eq!(
            rate,
            VisitorCommand::RateTicket {
                ticket_id: 7,
                score: 5,
                comment: None
            }
        );
    }

    #[test]
    fn sent_queue_and_error_frames_have_the_documented_shape() {
        let sent = ServerFrame::Sent {
            client_id: cid("m1"),
            conversation_id: ConversationId(3),
            seq: 9,
            duplicate: true,
        };
        assert_eq!(
            serde_json::to_value(&sent).unwrap(),
            json!({"type":"sent","client_id":"m1","conversation_id":3,"seq":9,"duplicate":true})
        );
        let queue = ServerFrame::Queue {
            conversation_id: ConversationId(3),
            position: 1,
            estimated_wait_secs: Some(90),
        };
        assert_eq!(
            serde_json::to_value(&queue).unwrap(),
            json!({"type":"queue","conversation_id":3,"position":1,"estimated_wait_secs":90})
        );
        let err = ServerFrame::error(ErrorCode::BodyTooLong, Some(cid("m2")));
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({"type":"error","code":"body_too_long","message":"message body is too long","client_id":"m2"})
        );
    }

    #[test]
    fn site_appearance_fields_are_optional_both_ways() {
        let full = SiteSettings {
            name: "Acme".into(),
            accent: Some("#c0392b".into()),
            position: Some(WidgetPosition::Left),
            greeting: Some("Moin!".into()),
            offline_behaviour: Some(OfflineBehaviour::Hide),
            queue_offer_message_after_secs: Some(60),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            json!({"name":"Acme","prechat":{"name":"off","email":"off","customer_number":"off"},
                   "accent":"#c0392b","position":"left","greeting":"Moin!",
                   "offline_behaviour":"hide","queue_offer_message_after_secs":60})
        );
        // An old relay's settings (no appearance fields) still decode.
        let old: SiteSettings = serde_json::from_value(json!({"name":"Acme"})).unwrap();
        assert_eq!(
            old,
            SiteSettings {
                name: "Acme".into(),
                ..Default::default()
            }
        );
        let info: VisitorInfo = serde_json::from_value(json!({"name":"Jo"})).unwrap();
        assert_eq!(info.browser, None);
    }

    #[test]
    fn welcome_carries_the_site_settings_and_ratings_have_the_documented_shape() {
        let w = ServerFrame::VisitorWelcome {
            protocol: 1,
            token: None,
            conversation: None,
            agents_online: 0,
            site: SiteSettings {
                name: "Acme".into(),
                prechat: PrechatFields {
                    name: FieldRule::Required,
                    ..Default::default()
                },
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            json!({"type":"visitor_welcome","protocol":1,"conversation":null,"agents_online":0,
                   "site":{"name":"Acme","prechat":{"name":"required","email":"off","customer_number":"off"}}})
        );
        let r: VisitorCommand = serde_json::from_value(json!({"type":"rate","score":5})).unwrap();
        assert_eq!(
            r,
            VisitorCommand::Rate {
                score: 5,
                comment: None
            }
        );
        let ev = EventKind::Rated {
            score: 4,
            comment: Some("gut".into()),
        };
        assert_eq!(
            serde_json::to_value(&ev).unwrap(),
            json!({"kind":"rated","score":4,"comment":"gut"})
        );
    }

    #[test]
    fn load_frame_is_flat() {
        let f = ServerFrame::Load(Load {
            presence: Presence::Away,
            active: 2,
            max: 3,
        });
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"type":"load","presence":"away","active":2,"max":3})
        );
    }

    #[test]
    fn every_frame_round_trips() {
        let frames = vec![
            ServerFrame::Pong,
            ServerFrame::Availability { agents_online: 2 },
            ServerFrame::ConversationRemoved {
                conversation_id: ConversationId(1),
                reason: RemovalReason::TransferredAway,
            },
            ServerFrame::Typing {
                conversation_id: ConversationId(1),
                by: Side::Visitor,
                active: true,
            },
            ServerFrame::Receipt {
                conversation_id: ConversationId(1),
                by: Side::Agent,
                delivered: 5,
                read: 4,
            },
        ];
        for f in frames {
            let back: ServerFrame = serde_json::from_str(&f.to_json()).unwrap();
            assert_eq!(back, f);
        }
    }

    #[test]
    fn endpoint_type_lists_match_the_enums() {
        for t in AGENT_ONLY_TYPES {
            assert!(AGENT_TYPES.contains(t) && !VISITOR_TYPES.contains(t));
        }
        for t in VISITOR_ONLY_TYPES {
            assert!(VISITOR_TYPES.contains(t) && !AGENT_TYPES.contains(t));
        }
    }
}
