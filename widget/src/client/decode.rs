//! Decodes relay frames for the visitor. The derived `Deserialize` of `ServerFrame` handles
//! every frame of both endpoints through serde's internally-tagged buffering, which was about
//! a third of the widget's WebAssembly. Here the JSON is read once into a `Value` and only
//! the frames a visitor receives are picked out by hand; the tests check each against the
//! derived decoder, so the shared types stay the contract.

use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_shared::{
    AgentId, Author, ClientMsgId, ConversationId, EventKind, ServerFrame, PROTOCOL_VERSION,
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
    let v: Value = serde_json::from_str(text).ok()?;
    let frame = match v.get("type")?.as_str()? {
        "visitor_welcome" => ServerFrame::VisitorWelcome {
            protocol: u32_of(&v, "protocol").unwrap_or(PROTOCOL_VERSION),
            token: str_of(&v, "token"),
            conversation: typed(v.get("conversation")?)?,
            agents_online: u32_of(&v, "agents_online")?,
            site: v.get("site").and_then(typed).unwrap_or_default(),
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
            by: typed(v.get("by")?)?,
            delivered: v.get("delivered")?.as_u64()?,
            read: v.get("read")?.as_u64()?,
        },
        "typing" => ServerFrame::Typing {
            conversation_id: conv(&v)?,
            by: typed(v.get("by")?)?,
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
            code: typed(v.get("code")?)?,
            message: str_of(&v, "message").unwrap_or_default(),
            client_id: v.get("client_id").and_then(client_id),
        },
        "pong" => ServerFrame::Pong,
        _ => return None,
    };
    Some(Decoded::Frame(frame))
}

fn event(e: &Value) -> Option<EventKind> {
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
            agent: typed(e.get("agent")?)?,
        },
        "transferred" => EventKind::Transferred {
            from: typed(e.get("from")?)?,
            to: typed(e.get("to")?)?,
        },
        "requeued" => EventKind::Requeued {
            from: typed(e.get("from")?)?,
        },
        "left_message" => EventKind::LeftMessage,
        "ended" => EventKind::Ended {
            by: typed(e.get("by")?)?,
        },
        "rated" => EventKind::Rated {
            score: u8::try_from(e.get("score")?.as_u64()?).ok()?,
            comment: str_of(e, "comment"),
        },
        _ => return None,
    })
}

/// Plain structs and unit enums (no tagged enums) decode cheaply through serde.
fn typed<T: DeserializeOwned>(v: &Value) -> Option<T> {
    T::deserialize(v).ok()
}

fn conv(v: &Value) -> Option<ConversationId> {
    Some(ConversationId(v.get("conversation_id")?.as_i64()?))
}

fn client_id(v: &Value) -> Option<ClientMsgId> {
    ClientMsgId::try_from(v.as_str()?.to_string()).ok()
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

fn u32_of(v: &Value, key: &str) -> Option<u32> {
    u32::try_from(v.get(key)?.as_u64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_shared::*;

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
    fn garbage_and_agent_frames_are_ignored() {
        for s in [
            "",
            "null",
            "[]",
            r#"{"type":"load","presence":"online","active":1,"max":3}"#,
            r#"{"type":"event","seq":"x"}"#,
            r#"{"type":"sent","client_id":"has space","conversation_id":1,"seq":1,"duplicate":false}"#,
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
