//! `client_frame`: one WebSocket text frame from a client, on both endpoints.
//!
//! The relay decodes a frame with `ws::connection::decode` (only a JSON object; typed first,
//! and only a failing frame is parsed again as a `serde_json::Value` to say why); `classify`
//! calls it, so the target checks the relay's own decoder.
//!
//! Properties, for every frame up to the relay's frame limit:
//! - it decodes to a command or is refused with exactly one error code, and the code fits
//!   the frame (bad JSON / no or unknown type / the other endpoint's type / bad fields); a
//!   frame that is not a JSON object never decodes;
//! - a decoded command has a `type` the endpoint lists in `TYPES`, re-serialises and decodes
//!   to the same value, and its `client_id` is the frame's;
//! - the slow path accepts a frame the typed decoder refused only when the frame repeats a
//!   key (`Value` keeps the last; the typed decoder refuses duplicates);
//! - the text validators the endpoints apply to fields (`MessageBody::parse`,
//!   `parse_field`, `parse_url_field`, `ClientMsgId`) accept only what their contracts allow, and refuse with
//!   the code the contract names;
//! - a message event built from a decoded `send` encodes byte for byte as the hand-assembled
//!   `ServerFrame::event_json` (the relay's fast path for every delivered message).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use switchboard_relay::ws::agent::AgentEndpoint;
use switchboard_relay::ws::connection::Endpoint;
use switchboard_relay::ws::visitor::VisitorEndpoint;
use switchboard_shared::limits::{
    MAX_FIELD_CHARS, MAX_FRAME_BYTES, MAX_MESSAGE_CHARS, MAX_URL_CHARS,
};
use switchboard_shared::text::{parse_field, parse_url_field, MessageBody};
use switchboard_shared::{
    AgentCommand, AgentId, Author, ClientMsgId, ConversationId, ErrorCode, EventKind, Seq,
    ServerFrame, VisitorCommand,
};

#[path = "common.rs"]
mod common;
use common::{has_control, has_duplicate_keys, round_trip};

/// What `ws::connection::parse` makes of a frame.
#[derive(Debug)]
enum Outcome<C> {
    /// Decoded; `typed` tells whether the first (typed) parse did it.
    Command { cmd: C, client_id: Option<ClientMsgId>, typed: bool },
    Refused(ErrorCode, Option<ClientMsgId>),
}

/// What the relay's own decoder (`ws::connection::decode`) makes of a frame; `typed` says
/// whether serde's typed parse alone takes it (the decoder's fast path).
fn classify<E: Endpoint>(text: &str) -> Outcome<E::Command> {
    match switchboard_relay::ws::connection::decode::<E>(text) {
        Ok((cmd, client_id)) => {
            let typed = text.trim_start().starts_with('{')
                && serde_json::from_str::<E::Command>(text).is_ok();
            Outcome::Command { cmd, client_id, typed }
        }
        Err((code, client_id)) => Outcome::Refused(code, client_id),
    }
}

/// The frame's `type`, when it is an object with a string `type`.
fn frame_type(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

/// Checks one endpoint's outcome against the frame; returns the command if decoded.
fn check_outcome<E>(text: &str, outcome: Outcome<E::Command>) -> Option<E::Command>
where
    E: Endpoint,
    E::Command: serde::Serialize + PartialEq + Clone + std::fmt::Debug,
{
    let value = serde_json::from_str::<Value>(text).ok();
    match outcome {
        Outcome::Command { cmd, client_id, typed } => {
            let value = value.expect("a decoded frame is valid JSON");
            let kind = frame_type(&value).expect("a decoded frame has a string type");
            assert!(E::TYPES.contains(&kind), "decoded type {kind:?} is not in TYPES");
            assert!(!E::FOREIGN_TYPES.contains(&kind), "decoded a foreign type {kind:?}");
            if !typed {
                assert!(
                    has_duplicate_keys(text.as_bytes()),
                    "the slow path decoded a frame the typed decoder refused, without a repeated key"
                );
            }
            // The id echoed in errors is the command's own.
            assert_eq!(client_id.as_ref(), E::client_id(&cmd));
            if let Some(id) = &client_id {
                check_client_id(id);
            }
            round_trip(&cmd, "command");
            // The command's own encoding is a frame the relay decodes on the fast path.
            let encoded = serde_json::to_string(&cmd).expect("commands serialise");
            match classify::<E>(&encoded) {
                Outcome::Command { cmd: again, typed: true, .. } => assert_eq!(again, cmd),
                other => panic!("re-encoded command {encoded} classifies as {other:?}"),
            }
            Some(cmd)
        }
        Outcome::Refused(code, client_id) => {
            if let Some(id) = &client_id {
                check_client_id(id);
            }
            match code {
                ErrorCode::BadJson => assert!(value.is_none()),
                ErrorCode::UnknownType => {
                    let kind = value.as_ref().and_then(frame_type);
                    assert!(kind.is_none_or(|k| {
                        !E::TYPES.contains(&k) && !E::FOREIGN_TYPES.contains(&k)
                    }));
                }
                ErrorCode::WrongEndpoint => {
                    let kind = value.as_ref().and_then(frame_type).expect("typed frame");
                    assert!(E::FOREIGN_TYPES.contains(&kind));
                }
                ErrorCode::InvalidField => {
                    let kind = value.as_ref().and_then(frame_type).expect("typed frame");
                    assert!(E::TYPES.contains(&kind));
                }
                other => panic!("parse refused with {other:?}"),
            }
            None
        }
    }
}

/// `ClientMsgId`: printable ASCII without spaces, 1 to 64 bytes.
fn check_client_id(id: &ClientMsgId) {
    let s = id.as_str();
    assert!((1..=ClientMsgId::MAX_LEN).contains(&s.len()), "client id {s:?}");
    assert!(s.bytes().all(|b| b.is_ascii_graphic()), "client id {s:?}");
    round_trip(id, "client id");
}

/// `MessageBody::parse` (message bodies, rating comments): its contract, both ways.
fn check_body(s: &str) {
    let blank = s.trim().is_empty();
    let long = s.chars().count() > MAX_MESSAGE_CHARS;
    let control = has_control(s, &['\n', '\t', '\r']);
    match MessageBody::parse(s) {
        Ok(body) => {
            assert!(!blank && !long && !control, "accepted body {s:?}");
            assert_eq!(body.as_str(), s, "a body is stored as sent");
            round_trip(&body, "message body");
        }
        Err(ErrorCode::EmptyBody) => assert!(blank),
        Err(ErrorCode::BodyTooLong) => assert!(!blank && long),
        Err(ErrorCode::InvalidField) => assert!(!blank && !long && control),
        Err(other) => panic!("body refused with {other:?}"),
    }
}

/// `parse_field` (names, e-mail, customer number, locale): trimmed, empty means absent.
fn check_field(s: Option<&str>) {
    let trimmed = s.map(str::trim).filter(|t| !t.is_empty());
    match parse_field(s) {
        Ok(None) => assert!(trimmed.is_none()),
        Ok(Some(f)) => {
            assert_eq!(Some(f.as_str()), trimmed);
            assert!(f.chars().count() <= MAX_FIELD_CHARS && !has_control(&f, &[]));
            assert_eq!(parse_field(Some(&f)), Ok(Some(f.clone())), "idempotent");
        }
        Err(ErrorCode::FieldTooLong) => {
            assert!(trimmed.is_some_and(|t| t.chars().count() > MAX_FIELD_CHARS))
        }
        Err(ErrorCode::InvalidField) => assert!(trimmed.is_some_and(|t| has_control(t, &[]))),
        Err(other) => panic!("field refused with {other:?}"),
    }
}

/// `parse_url_field` (the page a visitor starts a chat from): as a field, longer.
fn check_url_field(s: Option<&str>) {
    let trimmed = s.map(str::trim).filter(|t| !t.is_empty());
    match parse_url_field(s) {
        Ok(None) => assert!(trimmed.is_none()),
        Ok(Some(u)) => {
            assert_eq!(Some(u.as_str()), trimmed);
            assert!(u.chars().count() <= MAX_URL_CHARS && !has_control(&u, &[]));
        }
        Err(ErrorCode::FieldTooLong) => {
            assert!(trimmed.is_some_and(|t| t.chars().count() > MAX_URL_CHARS))
        }
        Err(ErrorCode::InvalidField) => assert!(trimmed.is_some_and(|t| has_control(t, &[]))),
        Err(other) => panic!("page url refused with {other:?}"),
    }
}

/// A rating comment as `ws/visitor.rs` treats it: blank means none, else a body.
fn check_comment(c: Option<&str>) {
    if let Some(c) = c.map(str::trim).filter(|c| !c.is_empty()) {
        check_body(c);
    }
}

/// The stored event text, wrapped by hand, equals the typed frame's encoding.
fn check_event_json(author: Author, client_id: &ClientMsgId, body: &str, conv: i64, seq: Seq) {
    let event = EventKind::Message {
        author,
        client_id: Some(client_id.clone()),
        body: body.to_string(),
    };
    round_trip(&event, "message event");
    let stored = serde_json::to_string(&event).expect("events serialise");
    let conversation_id = ConversationId(conv);
    let at = conv.wrapping_mul(31);
    let typed = ServerFrame::Event { conversation_id, seq, at, event };
    assert_eq!(ServerFrame::event_json(conversation_id, seq, at, &stored), typed.to_json());
    round_trip(&typed, "event frame");
}

fn visitor(cmd: &VisitorCommand) {
    match cmd {
        VisitorCommand::Hello { locale, .. } => check_field(locale.as_deref()),
        VisitorCommand::StartConversation { name, email, customer_number, page_url } => {
            check_url_field(page_url.as_deref());
            check_field(name.as_deref());
            check_field(email.as_deref());
            check_field(customer_number.as_deref());
        }
        VisitorCommand::Send { client_id, body } => {
            check_body(body);
            if MessageBody::parse(body).is_ok() {
                check_event_json(Author::Visitor, client_id, body, body.len() as i64, 1);
            }
        }
        VisitorCommand::LeaveMessage { body, name, email, customer_number, .. } => {
            check_body(body);
            check_field(name.as_deref());
            check_field(email.as_deref());
            check_field(customer_number.as_deref());
        }
        VisitorCommand::Rate { comment, .. } | VisitorCommand::RateTicket { comment, .. } => {
            check_comment(comment.as_deref())
        }
        _ => {}
    }
}

fn agent(cmd: &AgentCommand) {
    if let AgentCommand::Send { conversation_id, client_id, body } = cmd {
        check_body(body);
        if MessageBody::parse(body).is_ok() {
            let author = Author::Agent { id: AgentId(-conversation_id.0), name: body.clone() };
            let seq = conversation_id.0.unsigned_abs();
            check_event_json(author, client_id, body, conversation_id.0, seq);
        }
    }
}

/// The endpoints' type lists agree with each other: a type one endpoint accepts is, on the
/// other, accepted too or answered with `wrong_endpoint`, never `unknown_type`.
fn check_type_lists() {
    for kind in AgentEndpoint::TYPES {
        assert!(VisitorEndpoint::TYPES.contains(kind) || VisitorEndpoint::FOREIGN_TYPES.contains(kind));
    }
    for kind in VisitorEndpoint::TYPES {
        assert!(AgentEndpoint::TYPES.contains(kind) || AgentEndpoint::FOREIGN_TYPES.contains(kind));
    }
}

fuzz_target!(|data: &[u8]| {
    static LISTS: std::sync::Once = std::sync::Once::new();
    LISTS.call_once(check_type_lists);
    // Larger frames are refused by the socket before they are read (`ws::configure`), and a
    // text frame reaches `parse` only as valid UTF-8 (tungstenite checks it).
    if data.len() > MAX_FRAME_BYTES {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(cmd) = check_outcome::<VisitorEndpoint>(text, classify::<VisitorEndpoint>(text)) {
        visitor(&cmd);
    }
    if let Some(cmd) = check_outcome::<AgentEndpoint>(text, classify::<AgentEndpoint>(text)) {
        agent(&cmd);
    }
});
