//! Decodes relay frames for the visitor. The derived `Deserialize` of `ServerFrame` handles
//! every frame of both endpoints through serde's internally-tagged buffering, which was about
//! a third of the widget's WebAssembly; serde_json itself was another tenth. Here the JSON is
//! read once into a [`Json`] and only the frames a visitor receives are picked out by hand;
//! the tests check each against the derived decoder, so the shared types stay the contract.

use crate::json::Json;
use switchboard_shared::{
    AgentId, AgentRef, Author, ClientMsgId, ConversationId, ConversationStatus, ConversationView,
    CustomerReply, CustomerTicket, ErrorCode, EventKind, FieldRule, OfflineBehaviour,
    PrechatFields, ServerFrame, Side, SiteSettings, VisitorInfo, WidgetPosition, PROTOCOL_VERSION,
};

/// What a text frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per frame, moved straight into the model
pub enum Decoded {
    Frame(ServerFrame),
    /// A durable event of a kind this widget does not know (a newer relay): its `seq` still
    /// counts, or the next event would look like a gap.
    UnknownEvent {
        conversation_id: ConversationId,
        seq: u64,
    },
}

/// `None` for malformed frames and frames a visitor never gets; they are ignored.
pub fn decode(text: &str) -> Option<Decoded> {
    let v = Json::parse(text)?;
    let frame = match v.get("type")?.as_str()? {
        "visitor_welcome" => ServerFrame::VisitorWelcome {
            protocol: u32_of(&v, "protocol").unwrap_or(PROTOCOL_VERSION),
            token: str_of(&v, "token"),
            conversation: nullable(v.get("conversation")?, conversation_view)?,
            agents_online: u32_of(&v, "agents_online")?,
            site: v.get("site").and_then(site_settings).unwrap_or_default(),
        },
        "event" => {
            let conversation_id = ConversationId(v.get("conversation_id")?.as_i64()?);
            let seq = v.get("seq")?.as_u64()?;
            let Some(event) = event(v.get("event")?) else {
                return Some(Decoded::UnknownEvent {
                    conversation_id,
                    seq,
                });
            };
            ServerFrame::Event {
                conversation_id,
                seq,
                at: v.get("at")?.as_i64()?,
                event,
            }
        }
        "sent" => ServerFrame::Sent {
            client_id: client_id(v.get("client_id")?)?,
            conversation_id: conv(&v)?,
            seq: v.get("seq")?.as_u64()?,
            duplicate: v.get("duplicate")?.as_bool()?,
        },
        "receipt" => ServerFrame::Receipt {
            conversation_id: conv(&v)?,
            by: side(v.get("by")?)?,
            delivered: v.get("delivered")?.as_u64()?,
            read: v.get("read")?.as_u64()?,
        },
        "typing" => ServerFrame::Typing {
            conversation_id: conv(&v)?,
            by: side(v.get("by")?)?,
            active: v.get("active")?.as_bool()?,
        },
        "queue" => ServerFrame::Queue {
            conversation_id: conv(&v)?,
            position: u32_of(&v, "position")?,
            estimated_wait_secs: u32_of(&v, "estimated_wait_secs"),
        },
        "availability" => ServerFrame::Availability {
            agents_online: u32_of(&v, "agents_online")?,
        },
        "error" => ServerFrame::Error {
            code: error_code(v.get("code")?)?,
            message: str_of(&v, "message").unwrap_or_default(),
            client_id: v.get("client_id").and_then(client_id),
        },
        "tickets" => ServerFrame::Tickets {
            tickets: list(v.get("tickets")?, ticket)?,
        },
        "pong" => ServerFrame::Pong,
        _ => return None,
    };
    Some(Decoded::Frame(frame))
}

fn event(e: &Json) -> Option<EventKind> {
    Some(match e.get("kind")?.as_str()? {
        "started" => EventKind::Started,
        "message" => {
            let a = e.get("author")?;
            let author = match a.get("role")?.as_str()? {
                "visitor" => Author::Visitor,
                "agent" => Author::Agent {
                    id: AgentId(a.get("id")?.as_i64()?),
                    name: str_of(a, "name")?,
                },
                _ => return None,
            };
            EventKind::Message {
                author,
                client_id: e.get("client_id").and_then(client_id),
                body: str_of(e, "body")?,
            }
        }
        "agent_joined" => EventKind::AgentJoined {
            agent: agent_ref(e.get("agent")?)?,
        },
        "transferred" => EventKind::Transferred {
            from: agent_ref(e.get("from")?)?,
            to: agent_ref(e.get("to")?)?,
        },
        "requeued" => EventKind::Requeued {
            from: agent_ref(e.get("from")?)?,
        },
        "left_message" => EventKind::LeftMessage,
        "ended" => EventKind::Ended {
            by: side(e.get("by")?)?,
        },
        "rated" => EventKind::Rated {
            score: u8::try_from(e.get("score")?.as_u64()?).ok()?,
            comment: str_of(e, "comment"),
        },
        _ => return None,
    })
}

/// `null` is `Some(None)`; anything else must read as `T`.
fn nullable<T>(v: &Json, read: impl FnOnce(&Json) -> Option<T>) -> Option<Option<T>> {
    if v.is_null() {
        Some(None)
    } else {
        read(v).map(Some)
    }
}

/// An optional member: absent or `null` is `None` (as serde reads an `Option` field).
fn opt<T>(v: &Json, key: &str, read: impl FnOnce(&Json) -> Option<T>) -> Option<Option<T>> {
    match v.get(key) {
        None => Some(None),
        Some(x) => nullable(x, read),
    }
}

fn string(v: &Json) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn agent_ref(v: &Json) -> Option<AgentRef> {
    Some(AgentRef {
        id: AgentId(v.get("id")?.as_i64()?),
        name: str_of(v, "name")?,
    })
}

fn side(v: &Json) -> Option<Side> {
    match v.as_str()? {
        "visitor" => Some(Side::Visitor),
        "agent" => Some(Side::Agent),
        _ => None,
    }
}

fn field_rule(v: &Json) -> Option<FieldRule> {
    match v.as_str()? {
        "off" => Some(FieldRule::Off),
        "optional" => Some(FieldRule::Optional),
        "required" => Some(FieldRule::Required),
        _ => None,
    }
}

fn site_settings(v: &Json) -> Option<SiteSettings> {
    let rule = |p: &Json, key| match p.get(key) {
        None => Some(FieldRule::Off),
        Some(r) => field_rule(r),
    };
    let prechat = match v.get("prechat") {
        None => PrechatFields::default(),
        Some(p @ Json::Obj(_)) => PrechatFields {
            name: rule(p, "name")?,
            email: rule(p, "email")?,
            customer_number: rule(p, "customer_number")?,
        },
        Some(_) => return None,
    };
    // An appearance value this widget does not know (a newer relay) means the default,
    // rather than losing the whole welcome.
    Some(SiteSettings {
        name: str_of(v, "name")?,
        prechat,
        accent: str_of(v, "accent"),
        position: v
            .get("position")
            .and_then(Json::as_str)
            .and_then(WidgetPosition::parse),
        greeting: str_of(v, "greeting"),
        offline_behaviour: v
            .get("offline_behaviour")
            .and_then(Json::as_str)
            .and_then(OfflineBehaviour::parse),
        queue_offer_message_after_secs: u32_of(v, "queue_offer_message_after_secs"),
        closed: v.get("closed").and_then(Json::as_bool).unwrap_or(false),
    })
}

/// Every element must read, as serde reads a `Vec`.
fn list<T>(v: &Json, read: impl Fn(&Json) -> Option<T>) -> Option<Vec<T>> {
    v.as_array()?.iter().map(read).collect()
}

fn ticket(v: &Json) -> Option<CustomerTicket> {
    Some(CustomerTicket {
        id: v.get("id")?.as_i64()?,
        subject: str_of(v, "subject")?,
        status: str_of(v, "status")?,
        created_at: v.get("created_at")?.as_i64()?,
        replies: list(v.get("replies")?, reply)?,
        rating: opt(v, "rating", |r| u8::try_from(r.as_u64()?).ok())?,
        can_rate: match v.get("can_rate") {
            None => false,
            Some(b) => b.as_bool()?,
        },
    })
}

fn reply(v: &Json) -> Option<CustomerReply> {
    Some(CustomerReply {
        id: v.get("id")?.as_i64()?,
        at: v.get("at")?.as_i64()?,
        author: opt(v, "author", string)?,
        body: str_of(v, "body")?,
    })
}

fn conversation_view(v: &Json) -> Option<ConversationView> {
    let status = match v.get("status")?.as_str()? {
        "queued" => ConversationStatus::Queued,
        "active" => ConversationStatus::Active,
        "ended" => ConversationStatus::Ended,
        "awaiting_ticket" => ConversationStatus::AwaitingTicket,
        _ => return None,
    };
    let info = v.get("visitor")?;
    if !matches!(info, Json::Obj(_)) {
        return None;
    }
    Some(ConversationView {
        id: ConversationId(v.get("id")?.as_i64()?),
        site: str_of(v, "site")?,
        status,
        visitor: VisitorInfo {
            name: opt(info, "name", string)?,
            email: opt(info, "email", string)?,
            customer_number: opt(info, "customer_number", string)?,
            page_url: opt(info, "page_url", string)?,
            locale: opt(info, "locale", string)?,
            ..Default::default()
        },
        agent: opt(v, "agent", agent_ref)?,
        last_seq: v.get("last_seq")?.as_u64()?,
        created_at: v.get("created_at")?.as_i64()?,
    })
}

/// The wire names of [`ErrorCode`], in declaration order.
const ERROR_CODES: [(&str, ErrorCode); 26] = [
    ("bad_json", ErrorCode::BadJson),
    ("unknown_type", ErrorCode::UnknownType),
    ("wrong_endpoint", ErrorCode::WrongEndpoint),
    ("invalid_field", ErrorCode::InvalidField),
    ("empty_body", ErrorCode::EmptyBody),
    ("body_too_long", ErrorCode::BodyTooLong),
    ("field_too_long", ErrorCode::FieldTooLong),
    ("binary_not_supported", ErrorCode::BinaryNotSupported),
    ("hello_required", ErrorCode::HelloRequired),
    ("already_greeted", ErrorCode::AlreadyGreeted),
    ("unsupported_version", ErrorCode::UnsupportedVersion),
    ("invalid_token", ErrorCode::InvalidToken),
    ("unknown_site", ErrorCode::UnknownSite),
    ("origin_not_allowed", ErrorCode::OriginNotAllowed),
    ("unknown_conversation", ErrorCode::UnknownConversation),
    ("no_conversation", ErrorCode::NoConversation),
    ("conversation_exists", ErrorCode::ConversationExists),
    ("conversation_ended", ErrorCode::ConversationEnded),
    ("agent_full", ErrorCode::AgentFull),
    ("agent_unavailable", ErrorCode::AgentUnavailable),
    ("unknown_agent", ErrorCode::UnknownAgent),
    ("not_ratable", ErrorCode::NotRatable),
    ("outside_business_hours", ErrorCode::OutsideBusinessHours),
    ("rate_limited", ErrorCode::RateLimited),
    ("unavailable", ErrorCode::Unavailable),
    ("internal", ErrorCode::Internal),
];

fn error_code(v: &Json) -> Option<ErrorCode> {
    let name = v.as_str()?;
    ERROR_CODES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

fn conv(v: &Json) -> Option<ConversationId> {
    Some(ConversationId(v.get("conversation_id")?.as_i64()?))
}

fn client_id(v: &Json) -> Option<ClientMsgId> {
    ClientMsgId::try_from(v.as_str()?.to_string()).ok()
}

fn str_of(v: &Json, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

fn u32_of(v: &Json, key: &str) -> Option<u32> {
    u32::try_from(v.get(key)?.as_u64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anna() -> AgentRef {
        AgentRef {
            id: AgentId(1),
            name: "Anna".into(),
        }
    }

    fn cid(s: &str) -> ClientMsgId {
        ClientMsgId::try_from(s.to_string()).unwrap()
    }

    /// Every frame a visitor can receive, decoded here exactly as the derived decoder does.
    #[test]
    fn visitor_frames_decode_like_the_shared_types() {
        let view = ConversationView {
            id: ConversationId(42),
            site: "acme".into(),
            status: ConversationStatus::Active,
            visitor: VisitorInfo {
                name: Some("Jonas".into()),
                ..VisitorInfo::default()
            },
            agent: Some(anna()),
            last_seq: 5,
            created_at: 1_700_000_000_000,
        };
        let ev = |seq, event| ServerFrame::Event {
            conversation_id: ConversationId(42),
            seq,
            at: 1_700_000_000_000,
            event,
        };
        let frames = vec![
            ServerFrame::VisitorWelcome {
                protocol: 1,
                token: Some("t".into()),
                conversation: Some(view),
                agents_online: 2,
                site: SiteSettings {
                    name: "Acme".into(),
                    prechat: PrechatFields {
                        name: FieldRule::Required,
                        email: FieldRule::Optional,
                        customer_number: FieldRule::Off,
                    },
                    ..Default::default()
                },
            },
            ServerFrame::VisitorWelcome {
                protocol: 1,
                token: None,
                conversation: None,
                agents_online: 0,
                site: SiteSettings::default(),
            },
            ev(1, EventKind::Started),
            ev(
                2,
                EventKind::Message {
                    author: Author::Visitor,
                    client_id: Some(cid("w-1")),
                    body: "Hallo \"du\"\n😀".into(),
                },
            ),
            ev(
                3,
                EventKind::Message {
                    author: Author::Agent {
                        id: AgentId(1),
                        name: "Anna".into(),
                    },
                    client_id: None,
                    body: "Guten Tag".into(),
                },
            ),
            ev(4, EventKind::AgentJoined { agent: anna() }),
            ev(
                5,
                EventKind::Transferred {
                    from: anna(),
                    to: AgentRef {
                        id: AgentId(2),
                        name: "Ben".into(),
                    },
                },
            ),
            ev(6, EventKind::Requeued { from: anna() }),
            ev(7, EventKind::LeftMessage),
            ev(8, EventKind::Ended { by: Side::Agent }),
            ev(
                9,
                EventKind::Rated {
                    score: 5,
                    comment: Some("super".into()),
                },
            ),
            ev(
                10,
                EventKind::Rated {
                    score: 1,
                    comment: None,
                },
            ),
            ServerFrame::Sent {
                client_id: cid("w-1"),
                conversation_id: ConversationId(42),
                seq: 2,
                duplicate: true,
            },
            ServerFrame::Receipt {
                conversation_id: ConversationId(42),
                by: Side::Agent,
                delivered: 3,
                read: 2,
            },
            ServerFrame::Typing {
                conversation_id: ConversationId(42),
                by: Side::Agent,
                active: true,
            },
            ServerFrame::Queue {
                conversation_id: ConversationId(42),
                position: 2,
                estimated_wait_secs: Some(180),
            },
            ServerFrame::Queue {
                conversation_id: ConversationId(42),
                position: 1,
                estimated_wait_secs: None,
            },
            ServerFrame::VisitorWelcome {
                protocol: 1,
                token: None,
                conversation: None,
                agents_online: 1,
                site: SiteSettings {
                    name: "Acme".into(),
                    accent: Some("#c0392b".into()),
                    position: Some(WidgetPosition::Left),
                    greeting: Some("Moin!".into()),
                    offline_behaviour: Some(OfflineBehaviour::Hide),
                    queue_offer_message_after_secs: Some(45),
                    ..Default::default()
                },
            },
            ServerFrame::Tickets {
                tickets: vec![
                    CustomerTicket {
                        id: 7,
                        subject: "Wartung \"Brandmelder\"".into(),
                        status: "resolved".into(),
                        created_at: 1_700_000_000_000,
                        replies: vec![
                            CustomerReply {
                                id: 3,
                                at: 1_700_000_100_000,
                                author: Some("Anna".into()),
                                body: "Erledigt.\nGruß".into(),
                            },
                            CustomerReply {
                                id: 9,
                                at: 1_700_000_200_000,
                                author: None,
                                body: "Noch etwas".into(),
                            },
                        ],
                        rating: None,
                        can_rate: true,
                    },
                    CustomerTicket {
                        id: 2,
                        subject: "Alt".into(),
                        status: "closed".into(),
                        created_at: 5,
                        replies: vec![],
                        rating: Some(4),
                        can_rate: false,
                    },
                ],
            },
            ServerFrame::Tickets { tickets: vec![] },
            ServerFrame::Availability { agents_online: 0 },
            ServerFrame::error(ErrorCode::BodyTooLong, Some(cid("w-2"))),
            ServerFrame::error(ErrorCode::InvalidToken, None),
            ServerFrame::Pong,
        ];
        for f in frames {
            let json = f.to_json();
            let derived: ServerFrame = serde_json::from_str(&json).unwrap();
            assert_eq!(derived, f);
            assert_eq!(decode(&json), Some(Decoded::Frame(f)), "{json}");
        }
    }

    #[test]
    fn every_error_code_and_welcome_shape_reads_like_serde() {
        for (name, code) in ERROR_CODES {
            assert_eq!(serde_json::to_value(code).unwrap(), name);
            assert_eq!(error_code(&Json::Str(name.into())), Some(code));
        }
        for s in [
            r#"{"type":"visitor_welcome","protocol":1,"conversation":null,"agents_online":0,"site":{"name":"A"}}"#,
            r#"{"type":"visitor_welcome","protocol":1,"conversation":{"id":1,"site":"s","status":"awaiting_ticket","visitor":{"email":null},"last_seq":0,"created_at":-5,"extra":1},"agents_online":3,"site":{"name":"A","prechat":{"email":"required"}}}"#,
            r#"{"type":"visitor_welcome","protocol":1,"conversation":{"id":1,"site":"s","status":"queued","visitor":{},"agent":null,"last_seq":2,"created_at":5},"agents_online":3,"site":{"name":"A","prechat":{}}}"#,
            r#"{"type":"visitor_welcome","protocol":1,"conversation":null,"agents_online":0,"site":{"name":"A","accent":null,"position":"right","greeting":null,"offline_behaviour":"form","queue_offer_message_after_secs":0}}"#,
            r#"{"type":"tickets","tickets":[{"id":1,"subject":"s","status":"new","created_at":0,"replies":[{"id":1,"at":2,"author":null,"body":"b","x":1}],"rating":null}]}"#,
        ] {
            let derived: ServerFrame = serde_json::from_str(s).unwrap();
            assert_eq!(decode(s), Some(Decoded::Frame(derived)), "{s}");
        }
    }

    #[test]
    fn garbage_and_agent_frames_are_ignored() {
        for s in [
            "",
            "null",
            "[]",
            r#"{"type":"load","presence":"online","active":1,"max":3}"#,
            r#"{"type":"event","seq":"x"}"#,
            r#"{"type":"sent","client_id":"has space","conversation_id":1,"seq":1,"duplicate":false}"#,
            r#"{"type":"tickets","tickets":[{"id":1,"subject":"s","status":"new","created_at":0}]}"#,
            r#"{"type":"tickets","tickets":[{"id":1,"subject":"s","status":"new","created_at":0,"replies":[],"rating":300}]}"#,
        ] {
            assert_eq!(decode(s), None, "{s}");
        }
    }

    #[test]
    fn an_unknown_event_kind_still_reports_its_seq() {
        let s = r#"{"type":"event","conversation_id":4,"seq":9,"at":0,"event":{"kind":"sticker","id":1}}"#;
        assert_eq!(
            decode(s),
            Some(Decoded::UnknownEvent {
                conversation_id: ConversationId(4),
                seq: 9
            })
        );
    }
}
