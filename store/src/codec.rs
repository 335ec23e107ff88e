//! Text forms shared by every backend: enum values as stored, sequence numbers as
//! `i64`, and an event's JSON with its `kind` tag. Anything that can only go wrong because
//! the database holds unexpected data becomes [`StoreError::Corrupt`], never a panic.

use crate::{Role, StoreError, StoreResult};
use switchboard_shared::{ConversationStatus, EventKind, Seq, Side};

pub(crate) fn status_str(status: ConversationStatus) -> &'static str {
    match status {
        ConversationStatus::Queued => "queued",
        ConversationStatus::Active => "active",
        ConversationStatus::Ended => "ended",
        ConversationStatus::AwaitingTicket => "awaiting_ticket",
    }
}

pub(crate) fn parse_status(s: &str) -> StoreResult<ConversationStatus> {
    Ok(match s {
        "queued" => ConversationStatus::Queued,
        "active" => ConversationStatus::Active,
        "ended" => ConversationStatus::Ended,
        "awaiting_ticket" => ConversationStatus::AwaitingTicket,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown conversation status {other:?}"
            )))
        }
    })
}

pub(crate) fn side_str(side: Side) -> &'static str {
    match side {
        Side::Visitor => "visitor",
        Side::Agent => "agent",
    }
}

pub(crate) fn parse_role(s: &str) -> StoreResult<Role> {
    match s {
        "admin" => Ok(Role::Admin),
        "agent" => Ok(Role::Agent),
        other => Err(StoreError::Corrupt(format!("unknown agent role {other:?}"))),
    }
}

/// Sequence numbers are `u64` in the protocol and `INTEGER` (i64) in SQLite.
pub(crate) fn seq_from_db(v: i64) -> StoreResult<Seq> {
    Seq::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative sequence number {v}")))
}

/// For values a client may send (receipts): anything beyond i64 is clamped, not refused.
pub(crate) fn seq_to_db(v: Seq) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The event as stored: its `kind` tag and its JSON text.
pub(crate) fn encode_event(event: &EventKind) -> StoreResult<(String, String)> {
    let json = serde_json::to_string(event)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode event: {e}")))?;
    let kind = kind_tag(&json)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Corrupt("encoded event has no kind tag".into()))?;
    Ok((kind, json))
}

/// The `kind` tag of an event's JSON as the store writes it (and hands to the
/// [`CommitListener`](crate::CommitListener)). serde writes an internally tagged enum's tag
/// first, so it is read off the text (this runs for every message on the writer; a `Value`
/// tree cost ~5 % of it).
pub fn kind_tag(event_json: &str) -> Option<&str> {
    event_json
        .strip_prefix(r#"{"kind":""#)
        .and_then(|rest| rest.split_once('"'))
        .map(|(kind, _)| kind)
}

/// Who caused an event when the caller gave no dedup key: the message author, or whoever
/// ended the chat. System events have no side.
pub(crate) fn event_side(event: &EventKind) -> Option<Side> {
    match event {
        EventKind::Message {
            author: switchboard_shared::Author::Visitor,
            ..
        } => Some(Side::Visitor),
        EventKind::Message {
            author: switchboard_shared::Author::Agent { .. },
            ..
        } => Some(Side::Agent),
        EventKind::Ended { by } => Some(*by),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::encode_event;
    use switchboard_shared::{Author, EventKind, Side};

    #[test]
    fn the_kind_read_off_the_text_is_serdes_tag() {
        for event in [
            EventKind::Started,
            EventKind::LeftMessage,
            EventKind::Ended { by: Side::Agent },
            EventKind::Message {
                author: Author::Visitor,
                client_id: None,
                body: r#"{"kind":"fake"} "quoted""#.into(),
            },
        ] {
            let (kind, json) = encode_event(&event).unwrap();
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(value["kind"], kind.as_str());
        }
    }
}
