//! What the visitor sees, as a plain struct: [`Chat`] applies relay frames and the visitor's
//! actions and answers with [`Out`]s (frames to send, events for the loader, things to
//! persist). It touches no browser API and no clock (callers pass `now` in milliseconds), so
//! every rule here is unit-tested natively in `tests.rs`.
//!
//! Delivery rules, from `docs/PROTOCOL.md`:
//! - events are deduplicated by `seq` (anything ≤ `last_seq` is dropped); a `seq` that skips
//!   ahead means something was lost, so we reconnect and resume ([`Out::Reconnect`]);
//! - an own message is shown at once as pending and matched to its `sent` and `event` by
//!   `client_id`, so a resend never shows it twice;
//! - the outbox is resent in order after every welcome; a `start_conversation` goes first
//!   when the outbox holds messages but no chat is open.
//!
//! Tickets (offline messages, converted chats) arrive as a whole list in `tickets` frames;
//! team replies newer than the persisted "seen up to" reply id count as unread until the
//! panel is open.

pub mod form;
mod message;
#[cfg(test)]
mod tests;

pub use message::{Line, Message, Note, OwnState, Who};

use crate::client::outbox::{Outbox, OutboxEntry};
use switchboard_shared::limits::MAX_FRAME_BYTES;
use switchboard_shared::text::{parse_field, MessageBody};
use switchboard_shared::{
    Author, ClientMsgId, ConversationId, ConversationStatus, CustomerTicket, ErrorCode, EventKind,
    OfflineBehaviour, Seq, ServerFrame, Side, SiteSettings, VisitorCommand, PROTOCOL_VERSION,
};

/// How long an agent's "typing" shows without a refresh.
pub const AGENT_TYPING_MS: f64 = 6_000.0;
/// Own `typing: true` at most this often while the visitor types.
pub const TYPING_EVERY_MS: f64 = 2_000.0;
/// Own `typing: false` after this long without input.
pub const TYPING_IDLE_MS: f64 = 5_000.0;
/// Wait before resending the outbox after `rate_limited`.
pub const RATE_LIMIT_RETRY_MS: f64 = 2_000.0;
/// An error line disappears after this long.
pub const ERROR_SHOWN_MS: f64 = 10_000.0;
/// Offer "leave a message instead" after this long in the queue when the site does not say
/// (the relay's default too).
pub const QUEUE_OFFER_SECS: u32 = 120;
/// Without a first welcome for this long, "connecting…" becomes "not reachable, try again
/// later" (the socket keeps trying). A healthy relay welcomes in well under a second, a slow
/// mobile network in two or three; the issue asks for the note within 10 s of the click.
pub const UNREACHABLE_AFTER_MS: f64 = 6_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Never welcomed yet on this page.
    Connecting,
    Online,
    /// Was online, the socket is down; a reconnect is scheduled.
    Reconnecting,
    /// The relay refused us for good (unknown site, origin): no retry.
    Failed,
}

/// What the panel shows below the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Connecting,
    Prechat,
    Offline,
    OfflineDone,
    Chat,
    Ended,
}

/// Something the caller must do after a model change.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Send(VisitorCommand),
    /// Send `hello` again (after `invalid_token`, without the token).
    Hello,
    /// Close the socket and connect again at once (lost events, or a different chat).
    Reconnect,
    /// Stop reconnecting: the relay will not take this widget.
    GiveUp,
    Emit(Emit),
    /// Persist the token; `None` removes it.
    SaveToken(Option<String>),
    SaveOutbox,
    /// Persist "read up to" for the unread count across reloads.
    SaveReadMark(ConversationId, Seq),
    /// Persist the conversation the visitor closed with "new chat", so a reload does not
    /// bring it back.
    SaveDismissed(ConversationId),
    /// Persist "ticket replies seen up to this reply id" for the unread count.
    SaveSeenReply(i64),
    /// Persist whether a ticket is still open: the loader then loads the widget on the next
    /// page at once, so a reply shows on the launcher's badge.
    SaveTicketsOpen(bool),
}

/// Events for the loader (`emit(name, detail)`).
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    Unread(u32),
    Status {
        online: bool,
        /// The site hides the widget now (nobody online, nothing open for this visitor);
        /// `None` until the relay has welcomed us: the loader keeps what it remembered.
        hidden: Option<bool>,
    },
    /// The site's accent, corner and offline behaviour as `"<accent|-> <left|right>
    /// <form|hide>"`: the loader remembers it, so the next page draws the launcher right.
    Look(String),
    /// A new message event; the caller renders system notes in the current language.
    Message(Line),
}

/// Contact details from `identify()` or a form, sent with `start_conversation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub customer_number: Option<String>,
}

impl Contact {
    /// Validated: trimmed, empty means absent, too long or control characters refused.
    pub fn parse(name: &str, email: &str, customer_number: &str) -> Result<Contact, ErrorCode> {
        Ok(Contact {
            name: parse_field(Some(name))?,
            email: parse_field(Some(email))?,
            customer_number: parse_field(Some(customer_number))?,
        })
    }

    /// Fields set in `other` replace ours.
    pub fn merge(&mut self, other: Contact) {
        self.name = other.name.or(self.name.take());
        self.email = other.email.or(self.email.take());
        self.customer_number = other.customer_number.or(self.customer_number.take());
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub status: ConversationStatus,
    /// Display name of the current agent.
    pub agent: Option<String>,
}

impl Conversation {
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            ConversationStatus::Queued | ConversationStatus::Active
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueInfo {
    pub position: u32,
    pub wait_secs: Option<u32>,
}

/// A `leave_message` waiting for its `sent`; resent after a reconnect like the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingLeave {
    client_id: ClientMsgId,
    body: String,
    contact: Contact,
}

/// The visitor's own typing indicator.
#[derive(Debug, Clone, Copy, Default)]
struct OwnTyping {
    active: bool,
    last_sent: f64,
    last_input: f64,
}

#[derive(Debug, Clone)]
pub struct Chat {
    pub conn: ConnState,
    /// The current socket got its `visitor_welcome`: frames may be sent.
    pub welcomed: bool,
    pub ever_welcomed: bool,
    pub site: SiteSettings,
    pub agents_online: u32,
    pub conversation: Option<Conversation>,
    /// Highest event `seq` held for `conversation`.
    pub last_seq: Seq,
    /// In display order: events by `seq`, then own messages still pending.
    pub messages: Vec<Message>,
    pub queue: Option<QueueInfo>,
    /// Until when (ms) the agent shows as typing.
    pub agent_typing_until: Option<f64>,
    /// The agent's receipt: delivered / read up to these `seq`s.
    pub agent_delivered: Seq,
    pub agent_read: Seq,
    pub rated: bool,
    pub offline_done: bool,
    /// The visitor's tickets, newest first, as the last `tickets` frame listed them.
    pub tickets: Vec<CustomerTicket>,
    /// Ticket replies up to this id were shown (persisted).
    pub seen_reply: i64,
    /// Waiting long enough for the "leave a message instead" offer.
    pub queue_offer: bool,
    /// When (ms, this page's clock) the current conversation was first seen queued.
    queued_since: Option<f64>,
    /// The visitor took the offer: the offline form replaces the wait.
    leave_instead: bool,
    /// When (ms) this page started waiting for its first welcome; `None` once welcomed.
    connecting_since: Option<f64>,
    /// No first welcome for [`UNREACHABLE_AFTER_MS`]: the panel says the chat cannot be
    /// reached. Cleared by the welcome.
    pub unreachable: bool,
    pub error: Option<(ErrorCode, f64)>,
    pub outbox: Outbox,
    pub contact: Contact,
    pub token: Option<String>,
    pub page_url: Option<String>,
    pub open: bool,
    /// The page is visible (document.visibilityState).
    pub visible: bool,
    /// Set when the visitor asked for a chat that has not started yet.
    start_requested: bool,
    leave: Option<PendingLeave>,
    next_key: u32,
    acked: Seq,
    read_sent: Seq,
    /// Read up to here (persisted), for the unread count.
    read_mark: Option<(ConversationId, Seq)>,
    dismissed: Option<ConversationId>,
    /// `last_seq` of the conversation named in the last hello, to spot a switch.
    hello_resume: Option<(ConversationId, Seq)>,
    typing: OwnTyping,
    resend_at: Option<f64>,
    last_unread: u32,
    last_status: Option<(bool, Option<bool>)>,
}

impl Chat {
    /// A fresh page: the stored token and outbox (whose messages show as pending at once),
    /// the stored read mark and dismissed conversation.
    pub fn new(
        token: Option<String>,
        outbox: Outbox,
        read_mark: Option<(ConversationId, Seq)>,
        dismissed: Option<ConversationId>,
    ) -> Chat {
        let mut chat = Chat {
            conn: ConnState::Connecting,
            welcomed: false,
            ever_welcomed: false,
            site: SiteSettings::default(),
            agents_online: 0,
            conversation: None,
            last_seq: 0,
            messages: Vec::new(),
            queue: None,
            agent_typing_until: None,
            agent_delivered: 0,
            agent_read: 0,
            rated: false,
            offline_done: false,
            tickets: Vec::new(),
            seen_reply: 0,
            queue_offer: false,
            queued_since: None,
            leave_instead: false,
            connecting_since: None,
            unreachable: false,
            error: None,
            outbox: Outbox::default(),
            contact: Contact::default(),
            token,
            page_url: None,
            open: false,
            visible: true,
            start_requested: false,
            leave: None,
            next_key: 0,
            acked: 0,
            read_sent: 0,
            read_mark,
            dismissed,
            hello_resume: None,
            typing: OwnTyping::default(),
            resend_at: None,
            last_unread: 0,
            last_status: None,
        };
        for e in outbox.entries() {
            chat.push_own(e.client_id.clone(), e.body.clone());
        }
        chat.outbox = outbox;
        chat
    }

    // ----------------------------------------------------------------------------------
    // Derived state for the UI
    // ----------------------------------------------------------------------------------

    pub fn screen(&self) -> Screen {
        if let Some(c) = &self.conversation {
            return match c.status {
                ConversationStatus::Active => Screen::Chat,
                // Waiting in a queue nobody serves: offer the offline form instead; the
                // relay turns the queued chat into the offline message.
                ConversationStatus::Queued if self.leave.is_some() => Screen::OfflineDone,
                ConversationStatus::Queued
                    if self.leave_instead || (self.ever_welcomed && self.agents_online == 0) =>
                {
                    Screen::Offline
                }
                ConversationStatus::Queued => Screen::Chat,
                ConversationStatus::Ended => Screen::Ended,
                ConversationStatus::AwaitingTicket => Screen::OfflineDone,
            };
        }
        if self.leave.is_some() || self.offline_done {
            Screen::OfflineDone
        } else if self.start_requested || !self.outbox.is_empty() {
            Screen::Chat
        } else if !self.ever_welcomed {
            Screen::Connecting
        } else if self.agents_online == 0 {
            Screen::Offline
        } else if self.site.prechat.any() {
            Screen::Prechat
        } else {
            Screen::Chat
        }
    }

    pub fn conversation_open(&self) -> bool {
        self.conversation
            .as_ref()
            .is_some_and(Conversation::is_open)
    }

    /// The agent's name once one has the chat.
    pub fn agent_name(&self) -> Option<&str> {
        let c = self.conversation.as_ref()?;
        (c.status == ConversationStatus::Active)
            .then_some(c.agent.as_deref())
            .flatten()
    }

    /// Queue place while waiting.
    pub fn queue_info(&self) -> Option<QueueInfo> {
        let c = self.conversation.as_ref()?;
        (c.status == ConversationStatus::Queued)
            .then_some(self.queue)
            .flatten()
    }

    pub fn agent_typing(&self) -> bool {
        self.agent_typing_until.is_some()
    }

    /// Delivery state of an own message.
    pub fn own_state(&self, m: &Message) -> OwnState {
        match m.seq {
            _ if m.failed => OwnState::Failed,
            None => OwnState::Pending,
            Some(s) if s <= self.agent_read => OwnState::Read,
            Some(s) if s <= self.agent_delivered => OwnState::Delivered,
            Some(_) => OwnState::Sent,
        }
    }

    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error.map(|(c, _)| c)
    }

    /// Agent messages in this conversation and ticket replies the visitor has not seen.
    pub fn unread(&self) -> u32 {
        if self.open {
            return 0;
        }
        let replies = self
            .tickets
            .iter()
            .flat_map(|t| &t.replies)
            .filter(|r| r.id > self.seen_reply)
            .count();
        let mark = match (&self.conversation, self.read_mark) {
            (None, _) => Seq::MAX,
            (Some(c), Some((id, seq))) if id == c.id => seq,
            _ => 0,
        };
        let n = replies
            + self
                .messages
                .iter()
                .filter(|m| {
                    matches!(
                        m.line,
                        Line::Text {
                            who: Who::Agent(_),
                            ..
                        }
                    )
                })
                .filter(|m| m.seq.is_some_and(|s| s > mark))
                .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// For the launcher: connected and somebody to talk to.
    pub fn status_online(&self) -> bool {
        self.welcomed && self.agents_online > 0
    }

    /// The site hides the widget while nobody is online, unless this visitor has something
    /// going on (a chat, a message being left, tickets).
    pub fn hidden(&self) -> bool {
        self.site.offline_behaviour == Some(OfflineBehaviour::Hide)
            && self.ever_welcomed
            && self.agents_online == 0
            && !self.conversation_open()
            && self.tickets.is_empty()
            && self.leave.is_none()
            && !self.start_requested
            && self.outbox.is_empty()
    }

    /// What the loader remembers of the site's look (see [`Emit::Look`]).
    pub fn look(&self) -> String {
        let s = &self.site;
        format!(
            "{} {} {}",
            s.accent
                .as_deref()
                .filter(|a| !a.contains(' '))
                .unwrap_or("-"),
            s.position.unwrap_or_default().as_str(),
            s.offline_behaviour.unwrap_or_default().as_str()
        )
    }

    // ----------------------------------------------------------------------------------
    // Connection
    // ----------------------------------------------------------------------------------

    /// The `hello` for a new socket: the stored token, and the highest `seq` held so the
    /// relay replays only what is newer (none on a fresh page: the whole conversation).
    pub fn hello(&mut self, site: &str, locale: &str) -> VisitorCommand {
        self.hello_resume = self.conversation.as_ref().map(|c| (c.id, self.last_seq));
        VisitorCommand::Hello {
            protocol: PROTOCOL_VERSION,
            site: site.to_string(),
            token: self.token.clone(),
            last_seq: (self.last_seq > 0).then_some(self.last_seq),
            locale: Some(locale.to_string()),
        }
    }

    pub fn disconnected(&mut self) -> Vec<Out> {
        self.welcomed = false;
        if self.conn != ConnState::Failed {
            self.conn = if self.ever_welcomed {
                ConnState::Reconnecting
            } else {
                ConnState::Connecting
            };
        }
        self.agent_typing_until = None;
        self.typing.active = false;
        self.notify()
    }

    // ----------------------------------------------------------------------------------
    // Frames from the relay
    // ----------------------------------------------------------------------------------

    pub fn apply(&mut self, frame: ServerFrame, now: f64) -> Vec<Out> {
        let mut out = Vec::new();
        match frame {
            ServerFrame::VisitorWelcome {
                token,
                conversation,
                agents_online,
                site,
                ..
            } => self.welcome(token, conversation, agents_online, site, &mut out),
            ServerFrame::Event {
                conversation_id,
                seq,
                at,
                event,
            } => self.event(conversation_id, seq, at, event, &mut out),
            ServerFrame::Sent {
                client_id,
                conversation_id,
                seq,
                ..
            } => self.sent(client_id, conversation_id, seq, &mut out),
            ServerFrame::Receipt {
                conversation_id,
                by: Side::Agent,
                delivered,
                read,
            } if self.is_current(conversation_id) => {
                self.agent_delivered = self.agent_delivered.max(delivered);
                self.agent_read = self.agent_read.max(read);
            }
            ServerFrame::Typing {
                conversation_id,
                by: Side::Agent,
                active,
            } if self.is_current(conversation_id) => {
                self.agent_typing_until = active.then_some(now + AGENT_TYPING_MS);
            }
            ServerFrame::Queue {
                conversation_id,
                position,
                estimated_wait_secs,
            } if self.is_current(conversation_id) => {
                self.queue = Some(QueueInfo {
                    position,
                    wait_secs: estimated_wait_secs,
                });
            }
            // Outside business hours nobody takes chats, whoever is online.
            ServerFrame::Availability { agents_online } if !self.site.closed => {
                self.agents_online = agents_online
            }
            ServerFrame::Tickets { tickets } => {
                self.tickets = tickets;
                let open = self
                    .tickets
                    .iter()
                    .any(|t| t.can_rate || !matches!(t.status.as_str(), "resolved" | "closed"));
                out.push(Out::SaveTicketsOpen(open));
                self.see_replies(&mut out);
            }
            ServerFrame::Error {
                code, client_id, ..
            } => self.error(code, client_id, now, &mut out),
            // Agent-only frames, pong, and frames about other conversations.
            _ => {}
        }
        self.queue_clock(now);
        out.extend(self.notify());
        out
    }

    /// An event of a kind this widget does not know: counts for `seq`, shows nothing.
    pub fn skip_event(&mut self, conversation_id: ConversationId, seq: Seq) -> Vec<Out> {
        if self.is_current(conversation_id) && seq == self.last_seq + 1 {
            self.last_seq = seq;
        }
        Vec::new()
    }

    fn is_current(&self, id: ConversationId) -> bool {
        self.conversation.as_ref().is_some_and(|c| c.id == id)
    }

    fn welcome(
        &mut self,
        token: Option<String>,
        conversation: Option<switchboard_shared::ConversationView>,
        agents_online: u32,
        site: SiteSettings,
        out: &mut Vec<Out>,
    ) {
        if let Some(t) = token {
            self.token = Some(t.clone());
            out.push(Out::SaveToken(Some(t)));
        }
        self.site = site;
        out.push(Out::Emit(Emit::Look(self.look())));
        if !self.ever_welcomed {
            // The relay sends `tickets` right after this welcome if there are any; without
            // one (a new or reset visitor) the loader must stop expecting them.
            out.push(Out::SaveTicketsOpen(false));
        }
        self.agents_online = agents_online;
        self.welcomed = true;
        self.ever_welcomed = true;
        self.conn = ConnState::Online;
        self.connecting_since = None;
        self.unreachable = false;
        let conversation = conversation.filter(|v| self.dismissed.is_none_or(|d| v.id > d));
        match conversation {
            Some(v) => {
                if !self.is_current(v.id) {
                    let asked_from = self.hello_resume.map_or(0, |(_, s)| s);
                    self.adopt(v.id);
                    if asked_from > 0 {
                        // We resumed another conversation's seq: this one would be replayed
                        // from the wrong place. Start over without last_seq.
                        out.push(Out::Reconnect);
                        return;
                    }
                }
                if let Some(c) = self.conversation.as_mut() {
                    c.status = v.status;
                    c.agent = v.agent.map(|a| a.name);
                }
            }
            None => {
                if self.conversation.is_some() {
                    // The relay no longer has it (resume window over): start afresh.
                    self.clear_conversation();
                }
            }
        }
        if self.conversation_open() {
            self.start_requested = false;
        } else if self.start_requested || !self.outbox.is_empty() {
            self.start_requested = true;
            out.push(Out::Send(self.start_command()));
        }
        if let Some(l) = &self.leave {
            out.push(Out::Send(leave_command(l)));
        }
        self.resend_outbox(out);
    }

    fn event(
        &mut self,
        conversation_id: ConversationId,
        seq: Seq,
        at: i64,
        event: EventKind,
        out: &mut Vec<Out>,
    ) {
        if self.dismissed.is_some_and(|d| conversation_id <= d) {
            return;
        }
        match &self.conversation {
            Some(c) if c.id == conversation_id => {}
            // An event of an older conversation than the one shown.
            Some(c) if conversation_id < c.id => return,
            _ => self.adopt(conversation_id),
        }
        if seq <= self.last_seq {
            return;
        }
        if seq > self.last_seq + 1 {
            out.push(Out::Reconnect);
            return;
        }
        self.last_seq = seq;
        let Some(conv) = self.conversation.as_mut() else {
            return;
        };
        let note = match event {
            EventKind::Started => {
                conv.status = ConversationStatus::Queued;
                self.start_requested = false;
                None
            }
            EventKind::Message {
                author,
                client_id,
                body,
            } => {
                self.message(seq, at, author, client_id, body, out);
                None
            }
            EventKind::AgentJoined { agent } => {
                conv.status = ConversationStatus::Active;
                conv.agent = Some(agent.name.clone());
                self.queue = None;
                Some(Note::AgentJoined(agent.name))
            }
            EventKind::Transferred { from, to } => {
                conv.status = ConversationStatus::Active;
                conv.agent = Some(to.name.clone());
                Some(Note::Transferred(from.name, to.name))
            }
            EventKind::Requeued { .. } => {
                conv.status = ConversationStatus::Queued;
                conv.agent = None;
                self.agent_typing_until = None;
                Some(Note::Requeued)
            }
            EventKind::LeftMessage => {
                conv.status = ConversationStatus::AwaitingTicket;
                self.start_requested = false;
                Some(Note::LeftMessage)
            }
            EventKind::Rated { .. } => {
                self.rated = true;
                None
            }
            EventKind::Ended { by } => {
                conv.status = ConversationStatus::Ended;
                self.queue = None;
                self.agent_typing_until = None;
                self.typing.active = false;
                Some(Note::Ended(by))
            }
        };
        if let Some(note) = note {
            let line = Line::Note(note);
            out.push(Out::Emit(Emit::Message(line.clone())));
            self.push(Message::event(0, seq, at, line));
        }
    }

    fn message(
        &mut self,
        seq: Seq,
        at: i64,
        author: Author,
        client_id: Option<ClientMsgId>,
        body: String,
        out: &mut Vec<Out>,
    ) {
        let who = match author {
            Author::Visitor => Who::Visitor,
            Author::Agent { name, .. } => {
                self.agent_typing_until = None;
                Who::Agent(name)
            }
        };
        let line = Line::Text { who, body };
        out.push(Out::Emit(Emit::Message(line.clone())));
        if let Some(id) = &client_id {
            if matches!(
                line,
                Line::Text {
                    who: Who::Visitor,
                    ..
                }
            ) && self.outbox.remove(id)
            {
                out.push(Out::SaveOutbox);
            }
        }
        let own = client_id.as_ref().and_then(|id| self.find_own(id));
        match own {
            Some(i) => {
                let m = &mut self.messages[i];
                m.seq = Some(seq);
                m.at = Some(at);
                m.failed = false;
                self.sort();
            }
            None => {
                let mut m = Message::event(0, seq, at, line);
                m.client_id = client_id;
                self.push(m);
            }
        }
    }

    fn sent(&mut self, id: ClientMsgId, conv: ConversationId, seq: Seq, out: &mut Vec<Out>) {
        if self.outbox.remove(&id) {
            out.push(Out::SaveOutbox);
        }
        if self.leave.as_ref().is_some_and(|l| l.client_id == id) {
            self.leave = None;
            self.offline_done = true;
        }
        if !self.is_current(conv) && self.conversation.as_ref().is_some_and(|c| conv < c.id) {
            return;
        }
        if let Some(i) = self.find_own(&id) {
            let m = &mut self.messages[i];
            if m.seq.is_none() {
                m.seq = Some(seq);
                m.failed = false;
                self.sort();
            }
        }
    }

    fn error(&mut self, code: ErrorCode, id: Option<ClientMsgId>, now: f64, out: &mut Vec<Out>) {
        match code {
            ErrorCode::InvalidToken if !self.welcomed => {
                // The relay forgot us (or the token is another site's): become a new visitor.
                self.token = None;
                out.push(Out::SaveToken(None));
                out.push(Out::Hello);
                return;
            }
            ErrorCode::UnknownSite
            | ErrorCode::OriginNotAllowed
            | ErrorCode::UnsupportedVersion
                if !self.welcomed =>
            {
                self.conn = ConnState::Failed;
                out.push(Out::GiveUp);
            }
            ErrorCode::RateLimited | ErrorCode::Unavailable => {
                // Not processed: the outbox keeps it, resent shortly with the same id.
                self.resend_at = Some(now + RATE_LIMIT_RETRY_MS);
            }
            // The chat is there after all; its events are on the way.
            ErrorCode::ConversationExists => {
                self.start_requested = false;
                return;
            }
            ErrorCode::NotRatable => {
                self.rated = true;
                return;
            }
            // Hours ended since the welcome: the offline form instead of a queue.
            ErrorCode::OutsideBusinessHours => {
                self.site.closed = true;
                self.agents_online = 0;
                self.start_requested = false;
            }
            _ => {}
        }
        if !matches!(code, ErrorCode::RateLimited | ErrorCode::Unavailable) {
            if let Some(id) = &id {
                // Refused for its content or its conversation: resending would fail again.
                if self.outbox.remove(id) {
                    out.push(Out::SaveOutbox);
                }
                if let Some(i) = self.find_own(id) {
                    self.messages[i].failed = true;
                }
                if self.leave.as_ref().is_some_and(|l| &l.client_id == id) {
                    self.leave = None;
                }
            }
        }
        self.error = Some((code, now));
    }

    // ----------------------------------------------------------------------------------
    // The visitor's actions
    // ----------------------------------------------------------------------------------

    /// The visitor sends a message: shown as pending, saved in the outbox, sent when
    /// connected (with `start_conversation` first if no chat is open).
    pub fn compose(
        &mut self,
        body: &str,
        id: ClientMsgId,
        now: f64,
    ) -> Result<Vec<Out>, ErrorCode> {
        let body = MessageBody::parse(body)?.into_string();
        let cmd = VisitorCommand::Send {
            client_id: id.clone(),
            body: body.clone(),
        };
        if encoded_len(&cmd) > MAX_FRAME_BYTES {
            return Err(ErrorCode::BodyTooLong);
        }
        let mut out = self.typing_stop();
        self.error = None;
        self.push_own(id.clone(), body.clone());
        self.outbox.push(OutboxEntry {
            client_id: id,
            body,
        });
        out.push(Out::SaveOutbox);
        if !self.conversation_open() && !self.start_requested {
            self.start_requested = true;
            if self.welcomed {
                out.push(Out::Send(self.start_command()));
            }
        }
        if self.welcomed {
            out.push(Out::Send(cmd));
        }
        let _ = now;
        out.extend(self.notify());
        Ok(out)
    }

    /// The pre-chat form was submitted.
    pub fn start(&mut self, contact: Contact) -> Vec<Out> {
        self.contact.merge(contact);
        self.error = None;
        if self.conversation_open() || self.start_requested {
            return Vec::new();
        }
        self.start_requested = true;
        if self.welcomed {
            vec![Out::Send(self.start_command())]
        } else {
            Vec::new()
        }
    }

    /// The offline form was submitted.
    pub fn leave_message(
        &mut self,
        id: ClientMsgId,
        body: &str,
        contact: Contact,
    ) -> Result<Vec<Out>, ErrorCode> {
        let body = MessageBody::parse(body)?.into_string();
        self.contact.merge(contact.clone());
        self.error = None;
        let leave = PendingLeave {
            client_id: id,
            body,
            contact,
        };
        let out = if self.welcomed {
            vec![Out::Send(leave_command(&leave))]
        } else {
            Vec::new()
        };
        self.leave = Some(leave);
        Ok(out)
    }

    pub fn end(&mut self) -> Vec<Out> {
        let mut out = self.typing_stop();
        if self.conversation_open() && self.welcomed {
            out.push(Out::Send(VisitorCommand::EndConversation {
                conversation_id: None,
            }));
        }
        out
    }

    pub fn rate(&mut self, score: u8, comment: &str) -> Result<Vec<Out>, ErrorCode> {
        if !(1..=5).contains(&score) {
            return Err(ErrorCode::InvalidField);
        }
        let comment = MessageBody::parse(comment)
            .ok()
            .map(MessageBody::into_string);
        self.rated = true;
        Ok(vec![Out::Send(VisitorCommand::Rate { score, comment })])
    }

    /// The 1–5 rating of a resolved ticket. Shown as given at once; the relay answers with
    /// the updated list (or `not_ratable`, which changes nothing more).
    pub fn rate_ticket(
        &mut self,
        ticket_id: i64,
        score: u8,
        comment: &str,
    ) -> Result<Vec<Out>, ErrorCode> {
        if !(1..=5).contains(&score) {
            return Err(ErrorCode::InvalidField);
        }
        let comment = MessageBody::parse(comment.trim())
            .ok()
            .map(MessageBody::into_string);
        if let Some(t) = self.tickets.iter_mut().find(|t| t.id == ticket_id) {
            t.rating = Some(score);
            t.can_rate = false;
        }
        Ok(vec![Out::Send(VisitorCommand::RateTicket {
            ticket_id,
            score,
            comment,
        })])
    }

    /// The visitor takes the "leave a message instead" offer while queued.
    pub fn leave_instead(&mut self) {
        self.leave_instead = true;
    }

    /// "Start a new chat" after the end: forget the finished one on this page.
    pub fn new_chat(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        if let Some(c) = &self.conversation {
            self.dismissed = Some(c.id);
            out.push(Out::SaveDismissed(c.id));
        }
        self.clear_conversation();
        self.offline_done = false;
        self.leave = None;
        self.error = None;
        out
    }

    pub fn identify(&mut self, contact: Contact) {
        self.contact.merge(contact);
    }

    pub fn set_open(&mut self, open: bool) -> Vec<Out> {
        self.open = open;
        let mut out = if open { Vec::new() } else { self.typing_stop() };
        self.see_replies(&mut out);
        out.extend(self.flush_receipts());
        out.extend(self.notify());
        out
    }

    pub fn set_visible(&mut self, visible: bool) -> Vec<Out> {
        self.visible = visible;
        self.flush_receipts()
    }

    /// Input in the composer: `typing: true`, at most every 2 s.
    pub fn typing_input(&mut self, now: f64) -> Vec<Out> {
        if !self.conversation_open() || !self.welcomed {
            return Vec::new();
        }
        self.typing.last_input = now;
        if self.typing.active && now - self.typing.last_sent < TYPING_EVERY_MS {
            return Vec::new();
        }
        self.typing.active = true;
        self.typing.last_sent = now;
        vec![Out::Send(VisitorCommand::Typing { active: true })]
    }

    /// Send, blur or idle: `typing: false` if we said `true`.
    pub fn typing_stop(&mut self) -> Vec<Out> {
        if !std::mem::take(&mut self.typing.active) || !self.welcomed {
            return Vec::new();
        }
        vec![Out::Send(VisitorCommand::Typing { active: false })]
    }

    // ----------------------------------------------------------------------------------
    // Time
    // ----------------------------------------------------------------------------------

    /// Whether [`Chat::tick`] would change anything, checked without writing (the caller
    /// then avoids waking the UI twice a second for nothing).
    pub fn tick_due(&self, now: f64) -> bool {
        self.agent_typing_until.is_some_and(|t| now >= t)
            || (self.typing.active && now - self.typing.last_input >= TYPING_IDLE_MS)
            || self.resend_at.is_some_and(|t| now >= t && self.welcomed)
            || self.error.is_some_and(|(_, at)| now - at >= ERROR_SHOWN_MS)
            || (self.welcomed && self.conversation.is_some() && self.last_seq > self.acked)
            || (self.welcomed && self.reading() && self.last_seq > self.read_sent)
            || (!self.queue_offer && self.offer_at().is_some_and(|t| now >= t))
            || self.reach_due(now)
    }

    /// Runs every 500 ms: expiries, the rate-limit resend, and batched `ack`/`read`.
    pub fn tick(&mut self, now: f64) -> Vec<Out> {
        let mut out = Vec::new();
        if self.agent_typing_until.is_some_and(|t| now >= t) {
            self.agent_typing_until = None;
        }
        if self.typing.active && now - self.typing.last_input >= TYPING_IDLE_MS {
            out.extend(self.typing_stop());
        }
        if self.resend_at.is_some_and(|t| now >= t) && self.welcomed {
            self.resend_at = None;
            self.resend_outbox(&mut out);
        }
        if self.error.is_some_and(|(_, at)| now - at >= ERROR_SHOWN_MS) {
            self.error = None;
        }
        self.queue_clock(now);
        self.reach_clock(now);
        out.extend(self.flush_receipts());
        out.extend(self.notify());
        out
    }

    /// Still waiting for the first welcome (not refused for good): the clock that turns
    /// "connecting…" into the "not reachable" note. A later loss of the connection keeps
    /// "reconnecting…": the visitor can still write then, the outbox sends it on return.
    fn first_connecting(&self) -> bool {
        !self.ever_welcomed && self.conn == ConnState::Connecting
    }

    fn reach_due(&self, now: f64) -> bool {
        self.first_connecting()
            && self
                .connecting_since
                .is_none_or(|t| !self.unreachable && now - t >= UNREACHABLE_AFTER_MS)
    }

    /// Starts the first-connection clock at the first tick and sets the note when it runs out.
    fn reach_clock(&mut self, now: f64) {
        if !self.first_connecting() {
            self.connecting_since = None;
            self.unreachable = false;
            return;
        }
        let since = *self.connecting_since.get_or_insert(now);
        self.unreachable = now - since >= UNREACHABLE_AFTER_MS;
    }

    /// When the "leave a message instead" offer is due for the conversation waiting now.
    fn offer_at(&self) -> Option<f64> {
        let secs = self
            .site
            .queue_offer_message_after_secs
            .unwrap_or(QUEUE_OFFER_SECS);
        Some(self.queued_since? + f64::from(secs) * 1000.0)
    }

    /// Starts or stops the queue clock with the conversation's status, and sets the offer.
    fn queue_clock(&mut self, now: f64) {
        let queued = self
            .conversation
            .as_ref()
            .is_some_and(|c| c.status == ConversationStatus::Queued);
        if !queued {
            self.queued_since = None;
        } else if self.queued_since.is_none() {
            self.queued_since = Some(now);
        }
        self.queue_offer = self.offer_at().is_some_and(|t| now >= t);
    }

    /// While the panel is open every reply is on screen: remember the newest as seen.
    fn see_replies(&mut self, out: &mut Vec<Out>) {
        if !self.open {
            return;
        }
        let newest = self
            .tickets
            .iter()
            .flat_map(|t| &t.replies)
            .map(|r| r.id)
            .max();
        if let Some(id) = newest.filter(|id| *id > self.seen_reply) {
            self.seen_reply = id;
            out.push(Out::SaveSeenReply(id));
        }
    }

    fn reading(&self) -> bool {
        self.open && self.visible && self.conversation.is_some()
    }

    /// `ack` everything held; `read` it too while the panel is open and the page visible.
    fn flush_receipts(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(id) = self.conversation.as_ref().map(|c| c.id) else {
            return out;
        };
        if !self.welcomed {
            return out;
        }
        if self.last_seq > self.acked {
            self.acked = self.last_seq;
            out.push(Out::Send(VisitorCommand::Ack { seq: self.last_seq }));
        }
        if self.reading() && self.last_seq > self.read_sent {
            self.read_sent = self.last_seq;
            self.read_mark = Some((id, self.last_seq));
            out.push(Out::Send(VisitorCommand::Read { seq: self.last_seq }));
            out.push(Out::SaveReadMark(id, self.last_seq));
        }
        out
    }

    // ----------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------

    /// Loader events for what changed since the last call (unread count, status).
    fn notify(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        let unread = self.unread();
        if unread != self.last_unread {
            self.last_unread = unread;
            out.push(Out::Emit(Emit::Unread(unread)));
        }
        let online = self.status_online();
        let hidden = self.ever_welcomed.then(|| self.hidden());
        if self.last_status != Some((online, hidden)) {
            self.last_status = Some((online, hidden));
            out.push(Out::Emit(Emit::Status { online, hidden }));
        }
        out
    }

    fn start_command(&self) -> VisitorCommand {
        VisitorCommand::StartConversation {
            name: self.contact.name.clone(),
            email: self.contact.email.clone(),
            customer_number: self.contact.customer_number.clone(),
            page_url: self.page_url.clone(),
        }
    }

    fn resend_outbox(&self, out: &mut Vec<Out>) {
        for e in self.outbox.entries() {
            out.push(Out::Send(VisitorCommand::Send {
                client_id: e.client_id.clone(),
                body: e.body.clone(),
            }));
        }
    }

    /// Switch to conversation `id` (new to this page): its events come from seq 1. Own
    /// messages still pending stay; they will be sent into it.
    fn adopt(&mut self, id: ConversationId) {
        self.clear_conversation();
        self.conversation = Some(Conversation {
            id,
            status: ConversationStatus::Queued,
            agent: None,
        });
    }

    fn clear_conversation(&mut self) {
        self.conversation = None;
        self.messages
            .retain(|m| m.seq.is_none() && m.client_id.is_some() && !m.failed);
        self.last_seq = 0;
        self.acked = 0;
        self.read_sent = 0;
        self.queue = None;
        self.agent_typing_until = None;
        self.agent_delivered = 0;
        self.agent_read = 0;
        self.rated = false;
        self.leave_instead = false;
        self.queued_since = None;
        self.queue_offer = false;
    }

    fn find_own(&self, id: &ClientMsgId) -> Option<usize> {
        self.messages
            .iter()
            .position(|m| m.client_id.as_ref() == Some(id))
    }

    fn push_own(&mut self, id: ClientMsgId, body: String) {
        let mut m = Message::event(
            0,
            0,
            0,
            Line::Text {
                who: Who::Visitor,
                body,
            },
        );
        m.seq = None;
        m.at = None;
        m.client_id = Some(id);
        self.push(m);
    }

    fn push(&mut self, mut m: Message) {
        self.next_key = self.next_key.wrapping_add(1);
        m.key = self.next_key;
        self.messages.push(m);
        self.sort();
    }

    /// Events by `seq`, pending own messages after them in the order written.
    /// (An insertion sort: the list is almost always sorted already, and it is far smaller
    /// in WebAssembly than the standard library's stable sort.)
    fn sort(&mut self) {
        let key = |m: &Message| m.seq.unwrap_or(Seq::MAX);
        for i in 1..self.messages.len() {
            let mut j = i;
            while j > 0 && key(&self.messages[j - 1]) > key(&self.messages[j]) {
                self.messages.swap(j - 1, j);
                j -= 1;
            }
        }
    }
}

fn leave_command(l: &PendingLeave) -> VisitorCommand {
    VisitorCommand::LeaveMessage {
        client_id: l.client_id.clone(),
        body: l.body.clone(),
        name: l.contact.name.clone(),
        email: l.contact.email.clone(),
        customer_number: l.contact.customer_number.clone(),
    }
}

/// Size of the frame as JSON, checked against the relay's frame limit before sending.
pub fn encoded_len(cmd: &VisitorCommand) -> usize {
    crate::client::encode::encode(cmd).len()
}
