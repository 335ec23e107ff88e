//! One line in the message list.

use switchboard_shared::{ClientMsgId, Seq, Side};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    Visitor,
    /// An agent, by display name.
    Agent(String),
}

/// A system line; rendered in the current language at display time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Note {
    AgentJoined(String),
    Transferred(String, String),
    Requeued,
    LeftMessage,
    Ended(Side),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Line {
    Text { who: Who, body: String },
    Note(Note),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnState {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl OwnState {
    /// The `data-state` value the browser tests read.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnState::Pending => "pending",
            OwnState::Sent => "sent",
            OwnState::Delivered => "delivered",
            OwnState::Read => "read",
            OwnState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Stable local id for keyed rendering.
    pub key: u32,
    /// `None` while an own message is pending.
    pub seq: Option<Seq>,
    pub client_id: Option<ClientMsgId>,
    /// Relay time, ms since the epoch; `None` while pending.
    pub at: Option<i64>,
    pub line: Line,
    /// Refused by the relay (too long, conversation ended).
    pub failed: bool,
}

impl Message {
    pub fn event(key: u32, seq: Seq, at: i64, line: Line) -> Message {
        Message {
            key,
            seq: Some(seq),
            client_id: None,
            at: Some(at),
            line,
            failed: false,
        }
    }

    pub fn is_own(&self) -> bool {
        matches!(
            self.line,
            Line::Text {
                who: Who::Visitor,
                ..
            }
        )
    }
}
