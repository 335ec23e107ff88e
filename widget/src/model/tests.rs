//! The model as a specification: frames in, state and outgoing frames out.

use super::form::{email_ok, validate, FieldErrors};
use super::*;
use crate::i18n::T;
use switchboard_shared::{
    AgentId, AgentRef, ConversationView, CustomerTicket, FieldRule, PrechatFields, VisitorInfo,
};

const CONV: ConversationId = ConversationId(7);

fn cid(s: &str) -> ClientMsgId {
    ClientMsgId::try_from(s.to_string()).unwrap()
}

fn anna() -> AgentRef {
    AgentRef {
        id: AgentId(1),
        name: "Anna".into(),
    }
}

fn welcome(conversation: Option<ConversationView>, agents_online: u32) -> ServerFrame {
    ServerFrame::VisitorWelcome {
        protocol: 1,
        token: Some("tok".into()),
        conversation,
        agents_online,
        site: SiteSettings {
            name: "Acme".into(),
            prechat: PrechatFields::default(),
            ..Default::default()
        },
    }
}

fn view(id: ConversationId, status: ConversationStatus, last_seq: Seq) -> ConversationView {
    ConversationView {
        id,
        site: "acme".into(),
        status,
        visitor: VisitorInfo::default(),
        agent: None,
        last_seq,
        created_at: 0,
    }
}

fn event(seq: Seq, event: EventKind) -> ServerFrame {
    ServerFrame::Event {
        conversation_id: CONV,
        seq,
        at: 1_700_000_000_000,
        event,
    }
}

fn agent_says(seq: Seq, body: &str) -> ServerFrame {
    event(
        seq,
        EventKind::Message {
            author: Author::Agent {
                id: AgentId(1),
                name: "Anna".into(),
            },
            client_id: None,
            body: body.into(),
        },
    )
}

fn visitor_says(seq: Seq, id: &str, body: &str) -> ServerFrame {
    event(
        seq,
        EventKind::Message {
            author: Author::Visitor,
            client_id: Some(cid(id)),
            body: body.into(),
        },
    )
}

fn sends(out: &[Out]) -> Vec<VisitorCommand> {
    out.iter()
        .filter_map(|o| match o {
            Out::Send(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn without_a_first_welcome_for_six_seconds_the_panel_says_the_chat_is_unreachable_until_welcomed() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.disconnected();
    assert!(c.tick_due(500.0), "the first tick starts the clock");
    c.tick(500.0);
    assert!(!c.unreachable);
    assert!(
        !c.tick_due(500.0 + UNREACHABLE_AFTER_MS - 1.0),
        "no wake-ups while waiting"
    );
    assert!(c.tick_due(500.0 + UNREACHABLE_AFTER_MS));
    c.tick(500.0 + UNREACHABLE_AFTER_MS);
    assert!(c.unreachable);
    assert_eq!(c.conn, ConnState::Connecting, "still trying");
    assert!(
        !c.tick_due(60_000.0),
        "nothing more to do until the welcome"
    );

    c.apply(welcome(None, 1), 61_000.0);
    assert!(!c.unreachable, "the welcome clears the note at once");
    assert!(!c.tick_due(61_000.0));
    // A later loss of the connection is "reconnecting…" (the outbox keeps what is written),
    // not the note.
    c.disconnected();
    c.tick(62_000.0);
    c.tick(62_000.0 + UNREACHABLE_AFTER_MS);
    assert!(!c.unreachable);
    assert_eq!(c.conn, ConnState::Reconnecting);
}

/// A connected chat with an active conversation holding `started` and `agent_joined`.
fn active_chat() -> Chat {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(
        welcome(Some(view(CONV, ConversationStatus::Active, 2)), 1),
        0.0,
    );
    c.apply(event(1, EventKind::Started), 0.0);
    c.apply(event(2, EventKind::AgentJoined { agent: anna() }), 0.0);
    c
}

fn states(c: &Chat) -> Vec<&'static str> {
    c.messages
        .iter()
        .filter(|m| m.is_own())
        .map(|m| c.own_state(m).as_str())
        .collect()
}

#[test]
fn first_hello_has_no_token_and_no_last_seq_so_the_relay_replays_everything() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    assert_eq!(
        c.hello("acme", "de"),
        VisitorCommand::Hello {
            protocol: 1,
            site: "acme".into(),
            token: None,
            last_seq: None,
            locale: Some("de".into())
        }
    );
    let out = c.apply(welcome(None, 2), 0.0);
    assert!(out.contains(&Out::SaveToken(Some("tok".into()))));
    assert_eq!(c.token.as_deref(), Some("tok"));
    assert!(out.contains(&Out::Emit(Emit::Status {
        online: true,
        hidden: Some(false)
    })));
}

#[test]
fn a_refused_token_is_forgotten_and_hello_is_sent_again() {
    let mut c = Chat::new(Some("old".into()), Outbox::default(), None, None);
    c.hello("acme", "de");
    let out = c.apply(ServerFrame::error(ErrorCode::InvalidToken, None), 0.0);
    assert_eq!(out[..2], [Out::SaveToken(None), Out::Hello]);
    assert!(matches!(
        c.hello("acme", "de"),
        VisitorCommand::Hello { token: None, .. }
    ));
}

#[test]
fn events_are_deduplicated_by_seq() {
    let mut c = active_chat();
    c.apply(agent_says(3, "Hallo"), 0.0);
    c.apply(agent_says(3, "Hallo"), 0.0);
    c.apply(agent_says(2, "old"), 0.0);
    let texts = c
        .messages
        .iter()
        .filter(|m| matches!(m.line, Line::Text { .. }))
        .count();
    assert_eq!(texts, 1);
    assert_eq!(c.last_seq, 3);
    // A reconnect resumes from there.
    assert!(matches!(
        c.hello("acme", "de"),
        VisitorCommand::Hello {
            last_seq: Some(3),
            ..
        }
    ));
}

#[test]
fn a_gap_in_seq_asks_for_a_reconnect_and_drops_the_event() {
    let mut c = active_chat();
    let out = c.apply(agent_says(5, "too new"), 0.0);
    assert!(out.contains(&Out::Reconnect));
    assert_eq!(c.last_seq, 2);
}

#[test]
fn own_message_shows_pending_then_merges_with_sent_and_event_in_either_order() {
    for sent_first in [true, false] {
        let mut c = active_chat();
        let out = c.compose("Hallo", cid("w-1"), 0.0).unwrap();
        assert_eq!(out.first(), Some(&Out::SaveOutbox));
        assert!(sends(&out).contains(&VisitorCommand::Send {
            client_id: cid("w-1"),
            body: "Hallo".into()
        }));
        assert_eq!(states(&c), vec!["pending"]);
        assert_eq!(c.outbox.entries().len(), 1);
        let sent = ServerFrame::Sent {
            client_id: cid("w-1"),
            conversation_id: CONV,
            seq: 3,
            duplicate: false,
        };
        let ev = visitor_says(3, "w-1", "Hallo");
        if sent_first {
            c.apply(sent, 0.0);
            c.apply(ev, 0.0);
        } else {
            c.apply(ev, 0.0);
            c.apply(sent, 0.0);
        }
        assert_eq!(states(&c), vec!["sent"], "sent first: {sent_first}");
        assert!(c.outbox.is_empty());
    }
}

#[test]
fn a_duplicate_sent_after_a_resend_does_not_show_the_message_twice() {
    let mut c = active_chat();
    c.compose("Hallo", cid("w-1"), 0.0).unwrap();
    c.apply(visitor_says(3, "w-1", "Hallo"), 0.0);
    c.apply(
        ServerFrame::Sent {
            client_id: cid("w-1"),
            conversation_id: CONV,
            seq: 3,
            duplicate: true,
        },
        0.0,
    );
    assert_eq!(states(&c), vec!["sent"]);
}

#[test]
fn receipts_mark_own_messages_delivered_then_read() {
    let mut c = active_chat();
    c.compose("eins", cid("w-1"), 0.0).unwrap();
    c.compose("zwei", cid("w-2"), 0.0).unwrap();
    c.apply(visitor_says(3, "w-1", "eins"), 0.0);
    c.apply(visitor_says(4, "w-2", "zwei"), 0.0);
    let receipt = |delivered, read| ServerFrame::Receipt {
        conversation_id: CONV,
        by: Side::Agent,
        delivered,
        read,
    };
    c.apply(receipt(4, 3), 0.0);
    assert_eq!(states(&c), vec!["read", "delivered"]);
    // Receipts only rise.
    c.apply(receipt(1, 1), 0.0);
    assert_eq!(states(&c), vec!["read", "delivered"]);
}

#[test]
fn outbox_survives_a_reload_and_is_resent_after_start_when_no_chat_is_open() {
    let mut outbox = Outbox::default();
    outbox.push(OutboxEntry {
        client_id: cid("w-9"),
        body: "offline geschrieben".into(),
    });
    let mut c = Chat::new(Some("tok".into()), outbox, None, None);
    assert_eq!(states(&c), vec!["pending"]);
    assert_eq!(c.screen(), Screen::Chat);
    c.hello("acme", "de");
    let out = c.apply(welcome(None, 1), 0.0);
    let s = sends(&out);
    assert!(matches!(s[0], VisitorCommand::StartConversation { .. }));
    assert_eq!(
        s[1],
        VisitorCommand::Send {
            client_id: cid("w-9"),
            body: "offline geschrieben".into()
        }
    );
}

#[test]
fn after_a_reconnect_the_outbox_is_resent_without_a_new_start() {
    let mut c = active_chat();
    c.disconnected();
    let out = c.compose("unterwegs", cid("w-5"), 0.0).unwrap();
    assert!(sends(&out).is_empty(), "nothing goes out while offline");
    assert_eq!(c.conn, ConnState::Reconnecting);
    c.hello("acme", "de");
    let out = c.apply(
        welcome(Some(view(CONV, ConversationStatus::Active, 2)), 1),
        0.0,
    );
    assert_eq!(
        sends(&out),
        vec![VisitorCommand::Send {
            client_id: cid("w-5"),
            body: "unterwegs".into()
        }]
    );
    assert_eq!(c.conn, ConnState::Online);
}

#[test]
fn the_first_message_without_prechat_starts_the_conversation() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(welcome(None, 1), 0.0);
    assert_eq!(c.screen(), Screen::Chat);
    let s = sends(&c.compose("Hallo", cid("w-1"), 0.0).unwrap());
    assert!(matches!(s[0], VisitorCommand::StartConversation { .. }));
    assert!(matches!(s[1], VisitorCommand::Send { .. }));
    // The second message does not start again.
    let s = sends(&c.compose("Noch was", cid("w-2"), 0.0).unwrap());
    assert_eq!(s.len(), 1);
}

#[test]
fn prechat_shows_when_the_site_asks_and_its_contact_goes_into_start() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    let mut w = welcome(None, 1);
    if let ServerFrame::VisitorWelcome { site, .. } = &mut w {
        site.prechat.email = FieldRule::Required;
    }
    c.apply(w, 0.0);
    assert_eq!(c.screen(), Screen::Prechat);
    c.identify(Contact {
        name: Some("Jonas".into()),
        ..Contact::default()
    });
    let out = c.start(Contact {
        email: Some("j@acme.example".into()),
        ..Contact::default()
    });
    assert_eq!(
        sends(&out),
        vec![VisitorCommand::StartConversation {
            name: Some("Jonas".into()),
            email: Some("j@acme.example".into()),
            customer_number: None,
            page_url: None
        }]
    );
    assert_eq!(c.screen(), Screen::Chat);
}

#[test]
fn nobody_online_shows_the_offline_form_and_leave_message_thanks() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    let out = c.apply(welcome(None, 0), 0.0);
    assert!(out.contains(&Out::Emit(Emit::Status {
        online: false,
        hidden: Some(false)
    })));
    assert_eq!(c.screen(), Screen::Offline);
    let out = c
        .leave_message(cid("w-1"), "Bitte anrufen", Contact::default())
        .unwrap();
    assert!(matches!(
        sends(&out)[0],
        VisitorCommand::LeaveMessage { .. }
    ));
    assert_eq!(c.screen(), Screen::OfflineDone);
    c.apply(
        ServerFrame::Sent {
            client_id: cid("w-1"),
            conversation_id: CONV,
            seq: 2,
            duplicate: false,
        },
        0.0,
    );
    assert_eq!(c.screen(), Screen::OfflineDone);
}

#[test]
fn queue_position_shows_while_queued_and_the_agent_name_once_assigned() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(welcome(None, 1), 0.0);
    c.start(Contact::default());
    c.apply(event(1, EventKind::Started), 0.0);
    c.apply(
        ServerFrame::Queue {
            conversation_id: CONV,
            position: 2,
            estimated_wait_secs: Some(180),
        },
        0.0,
    );
    assert_eq!(
        c.queue_info(),
        Some(QueueInfo {
            position: 2,
            wait_secs: Some(180)
        })
    );
    assert_eq!(
        crate::i18n::queue(crate::i18n::Lang::En, 2, Some(180)),
        "Position 2 in the queue – about 3 min"
    );
    c.apply(event(2, EventKind::AgentJoined { agent: anna() }), 0.0);
    assert_eq!(c.queue_info(), None);
    assert_eq!(c.agent_name(), Some("Anna"));
    assert!(c
        .messages
        .iter()
        .any(|m| m.line == Line::Note(Note::AgentJoined("Anna".into()))));
}

#[test]
fn agent_typing_clears_itself_after_six_seconds_and_on_their_message() {
    let mut c = active_chat();
    let typing = ServerFrame::Typing {
        conversation_id: CONV,
        by: Side::Agent,
        active: true,
    };
    c.apply(typing.clone(), 1000.0);
    assert!(c.agent_typing());
    assert!(!c.tick_due(1000.0 + 5000.0) || c.tick(6000.0).is_empty() || c.agent_typing());
    c.tick(1000.0 + AGENT_TYPING_MS);
    assert!(!c.agent_typing());
    c.apply(typing, 8000.0);
    c.apply(agent_says(3, "Da bin ich"), 8100.0);
    assert!(!c.agent_typing());
}

#[test]
fn own_typing_is_throttled_and_stops_after_idle_or_send() {
    let mut c = active_chat();
    assert_eq!(
        sends(&c.typing_input(0.0)),
        vec![VisitorCommand::Typing { active: true }]
    );
    assert!(c.typing_input(1000.0).is_empty());
    assert_eq!(sends(&c.typing_input(2500.0)).len(), 1);
    let out = c.tick(2500.0 + TYPING_IDLE_MS);
    assert!(sends(&out).contains(&VisitorCommand::Typing { active: false }));
    c.typing_input(9000.0);
    let out = c.compose("x", cid("w-1"), 9100.0).unwrap();
    assert_eq!(sends(&out)[0], VisitorCommand::Typing { active: false });
}

#[test]
fn acks_are_batched_and_read_is_sent_only_while_open_and_visible() {
    let mut c = active_chat();
    c.apply(agent_says(3, "a"), 0.0);
    c.apply(agent_says(4, "b"), 0.0);
    assert_eq!(c.unread(), 2);
    let out = c.tick(0.0);
    assert_eq!(sends(&out), vec![VisitorCommand::Ack { seq: 4 }]);
    assert!(!c.tick_due(0.0));
    let out = c.set_open(true);
    assert!(sends(&out).contains(&VisitorCommand::Read { seq: 4 }));
    assert!(out.contains(&Out::Emit(Emit::Unread(0))));
    c.set_visible(false);
    c.apply(agent_says(5, "c"), 0.0);
    assert_eq!(sends(&c.tick(0.0)), vec![VisitorCommand::Ack { seq: 5 }]);
}

#[test]
fn unread_counts_agent_messages_while_closed_and_survives_a_reload_via_the_read_mark() {
    let mut c = Chat::new(None, Outbox::default(), Some((CONV, 3)), None);
    c.hello("acme", "de");
    c.apply(
        welcome(Some(view(CONV, ConversationStatus::Active, 4)), 1),
        0.0,
    );
    c.apply(event(1, EventKind::Started), 0.0);
    c.apply(event(2, EventKind::AgentJoined { agent: anna() }), 0.0);
    c.apply(agent_says(3, "gelesen"), 0.0);
    let out = c.apply(agent_says(4, "neu"), 0.0);
    assert!(out.contains(&Out::Emit(Emit::Unread(1))));
}

#[test]
fn ending_then_rating_then_a_new_chat() {
    let mut c = active_chat();
    assert_eq!(
        sends(&c.end()),
        vec![VisitorCommand::EndConversation {
            conversation_id: None
        }]
    );
    c.apply(event(3, EventKind::Ended { by: Side::Visitor }), 0.0);
    assert_eq!(c.screen(), Screen::Ended);
    assert!(c.end().is_empty());
    let out = c.rate(4, "  ").unwrap();
    assert_eq!(
        sends(&out),
        vec![VisitorCommand::Rate {
            score: 4,
            comment: None
        }]
    );
    assert!(c.rated);
    assert!(c.rate(6, "").is_err());
    let out = c.new_chat();
    assert_eq!(out, vec![Out::SaveDismissed(CONV)]);
    assert_eq!(c.screen(), Screen::Chat);
    assert!(c.messages.is_empty());
    // Late events of the dismissed chat, and the relay's welcome naming it, are ignored.
    c.apply(agent_says(4, "late"), 0.0);
    c.hello("acme", "de");
    c.apply(
        welcome(Some(view(CONV, ConversationStatus::Ended, 3)), 1),
        0.0,
    );
    assert!(c.conversation.is_none());
}

#[test]
fn a_second_rating_refused_by_the_relay_counts_as_rated() {
    let mut c = active_chat();
    c.apply(event(3, EventKind::Ended { by: Side::Agent }), 0.0);
    c.apply(ServerFrame::error(ErrorCode::NotRatable, None), 0.0);
    assert!(c.rated);
    assert_eq!(c.error, None);
}

#[test]
fn a_new_conversation_in_another_tab_is_adopted_with_a_fresh_replay() {
    let mut c = active_chat();
    c.apply(event(3, EventKind::Ended { by: Side::Agent }), 0.0);
    c.hello("acme", "de");
    let other = ConversationId(8);
    let out = c.apply(
        welcome(Some(view(other, ConversationStatus::Queued, 1)), 1),
        0.0,
    );
    assert!(out.contains(&Out::Reconnect));
    assert_eq!(c.conversation.as_ref().map(|x| x.id), Some(other));
    assert!(matches!(
        c.hello("acme", "de"),
        VisitorCommand::Hello { last_seq: None, .. }
    ));
}

#[test]
fn refused_messages_leave_the_outbox_but_rate_limited_or_unstored_ones_are_resent() {
    for code in [ErrorCode::RateLimited, ErrorCode::Unavailable] {
        let mut c = active_chat();
        c.compose("x", cid("w-1"), 0.0).unwrap();
        c.apply(ServerFrame::error(code, Some(cid("w-1"))), 100.0);
        assert_eq!(c.outbox.entries().len(), 1, "{code:?}");
        assert_eq!(c.error_code(), Some(code));
        let out = c.tick(100.0 + RATE_LIMIT_RETRY_MS);
        assert!(
            sends(&out).contains(&VisitorCommand::Send {
                client_id: cid("w-1"),
                body: "x".into()
            }),
            "{code:?}"
        );
    }
    let mut c = active_chat();
    c.compose("x", cid("w-1"), 0.0).unwrap();
    c.apply(
        ServerFrame::error(ErrorCode::ConversationEnded, Some(cid("w-1"))),
        200.0,
    );
    assert!(c.outbox.is_empty());
    assert_eq!(states(&c), vec!["failed"]);
}

#[test]
fn compose_refuses_blank_and_over_long_text_locally() {
    let mut c = active_chat();
    assert_eq!(
        c.compose("  \n", cid("w-1"), 0.0),
        Err(ErrorCode::EmptyBody)
    );
    let long = "a".repeat(switchboard_shared::limits::MAX_MESSAGE_CHARS + 1);
    assert_eq!(
        c.compose(&long, cid("w-2"), 0.0),
        Err(ErrorCode::BodyTooLong)
    );
    // The longest allowed body of 4-byte characters still fits in one frame.
    let emoji = "😀".repeat(switchboard_shared::limits::MAX_MESSAGE_CHARS);
    assert!(c.compose(&emoji, cid("w-3"), 0.0).is_ok());
    assert_eq!(c.messages.iter().filter(|m| m.is_own()).count(), 1);
}

#[test]
fn unknown_and_agent_only_frames_change_nothing() {
    let mut c = active_chat();
    let before = c.messages.clone();
    assert!(c.apply(ServerFrame::Pong, 0.0).is_empty());
    assert!(c
        .apply(
            ServerFrame::QueueSnapshot {
                entries: vec![],
                total: 0
            },
            0.0
        )
        .is_empty());
    assert_eq!(c.messages, before);
}

#[test]
fn form_validation_follows_the_field_rules() {
    use FieldRule::{Off, Optional, Required};
    assert!(email_ok("jonas@acme.example"));
    for bad in ["jonas", "a@b", "a b@c.de", "@x.de", "a@.de", "a@b@c.de"] {
        assert!(!email_ok(bad), "{bad}");
    }
    assert_eq!(
        validate([Required, Optional, Off], "", "nope", "K-1"),
        Err(FieldErrors {
            name: Some(T::Required),
            email: Some(T::InvalidEmail),
            customer_number: None
        })
    );
    assert_eq!(
        validate([Optional, Optional, Off], " Jonas ", "", "K-1"),
        Ok(Contact {
            name: Some("Jonas".into()),
            email: None,
            customer_number: None
        })
    );
}

#[test]
fn a_queued_visitor_is_offered_the_offline_form_when_the_last_agent_leaves() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(welcome(None, 1), 0.0);
    c.compose("Ich warte", cid("w-1"), 0.0).unwrap();
    c.apply(event(1, EventKind::Started), 0.0);
    assert_eq!(c.screen(), Screen::Chat);
    c.apply(ServerFrame::Availability { agents_online: 0 }, 0.0);
    assert_eq!(c.screen(), Screen::Offline);
    c.leave_message(cid("w-2"), "Bitte melden", Contact::default())
        .unwrap();
    assert_eq!(c.screen(), Screen::OfflineDone);
    c.apply(event(2, EventKind::LeftMessage), 0.0);
    assert_eq!(c.screen(), Screen::OfflineDone);
}

fn ticket(id: i64, status: &str, reply_ids: &[i64], can_rate: bool) -> CustomerTicket {
    CustomerTicket {
        id,
        subject: "Wartung".into(),
        status: status.into(),
        created_at: 0,
        replies: reply_ids
            .iter()
            .map(|&r| switchboard_shared::CustomerReply {
                id: r,
                at: 1,
                author: Some("Anna".into()),
                body: format!("Antwort {r}"),
            })
            .collect(),
        rating: None,
        can_rate,
    }
}

fn site_welcome(site: SiteSettings, agents_online: u32) -> ServerFrame {
    ServerFrame::VisitorWelcome {
        protocol: 1,
        token: Some("tok".into()),
        conversation: None,
        agents_online,
        site,
    }
}

#[test]
fn ticket_replies_count_as_unread_until_the_panel_shows_them_and_stay_seen_after_a_reload() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(welcome(None, 0), 0.0);
    let out = c.apply(
        ServerFrame::Tickets {
            tickets: vec![
                ticket(5, "open", &[11, 12], false),
                ticket(2, "new", &[], false),
            ],
        },
        0.0,
    );
    assert_eq!(c.unread(), 2);
    assert!(out.contains(&Out::Emit(Emit::Unread(2))));
    assert!(!out.iter().any(|o| matches!(o, Out::SaveSeenReply(_))));

    let out = c.set_open(true);
    assert!(out.contains(&Out::SaveSeenReply(12)));
    assert!(out.contains(&Out::Emit(Emit::Unread(0))));
    // A reply arriving while the panel is open is seen at once.
    let out = c.apply(
        ServerFrame::Tickets {
            tickets: vec![ticket(5, "open", &[11, 12, 20], false)],
        },
        0.0,
    );
    assert!(out.contains(&Out::SaveSeenReply(20)));
    c.set_open(false);
    assert_eq!(c.unread(), 0);

    // The next page view starts from the persisted mark: only the newer reply counts.
    let mut next = Chat::new(Some("tok".into()), Outbox::default(), None, None);
    next.seen_reply = 20;
    next.hello("acme", "de");
    next.apply(welcome(None, 0), 0.0);
    next.apply(
        ServerFrame::Tickets {
            tickets: vec![ticket(5, "resolved", &[11, 12, 20, 21], true)],
        },
        0.0,
    );
    assert_eq!(next.unread(), 1);
}

#[test]
fn ticket_replies_add_to_unread_chat_messages() {
    let mut c = active_chat();
    c.apply(agent_says(3, "Hallo"), 0.0);
    c.apply(
        ServerFrame::Tickets {
            tickets: vec![ticket(5, "open", &[11], false)],
        },
        0.0,
    );
    assert_eq!(c.unread(), 2);
}

#[test]
fn a_resolved_ticket_is_rated_once_with_score_and_comment() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(welcome(None, 0), 0.0);
    c.apply(
        ServerFrame::Tickets {
            tickets: vec![ticket(5, "resolved", &[11], true)],
        },
        0.0,
    );
    assert_eq!(c.rate_ticket(5, 0, ""), Err(ErrorCode::InvalidField));
    assert_eq!(c.rate_ticket(5, 6, ""), Err(ErrorCode::InvalidField));
    let out = c.rate_ticket(5, 4, "  Schnell geholfen ").unwrap();
    assert_eq!(
        sends(&out),
        vec![VisitorCommand::RateTicket {
            ticket_id: 5,
            score: 4,
            comment: Some("Schnell geholfen".into()),
        }]
    );
    // Shown as rated at once; the relay's list confirms it.
    assert_eq!(c.tickets[0].rating, Some(4));
    assert!(!c.tickets[0].can_rate);
    let out = c.rate_ticket(5, 3, "").unwrap();
    assert_eq!(
        sends(&out),
        vec![VisitorCommand::RateTicket {
            ticket_id: 5,
            score: 3,
            comment: None,
        }]
    );
}

#[test]
fn a_site_that_hides_when_offline_hides_the_widget_until_an_agent_is_online_or_the_visitor_has_tickets(
) {
    let hide = SiteSettings {
        name: "Acme".into(),
        offline_behaviour: Some(switchboard_shared::OfflineBehaviour::Hide),
        ..Default::default()
    };
    let mut c = Chat::new(None, Outbox::default(), None, None);
    assert!(!c.hidden(), "nothing is hidden before the relay said so");
    c.hello("acme", "de");
    // A failed first connection: the loader keeps what it remembered.
    assert!(c.disconnected().contains(&Out::Emit(Emit::Status {
        online: false,
        hidden: None
    })));
    let out = c.apply(site_welcome(hide.clone(), 0), 0.0);
    assert!(c.hidden());
    assert!(out.contains(&Out::Emit(Emit::Status {
        online: false,
        hidden: Some(true)
    })));
    let out = c.apply(ServerFrame::Availability { agents_online: 1 }, 0.0);
    assert!(!c.hidden());
    assert!(out.contains(&Out::Emit(Emit::Status {
        online: true,
        hidden: Some(false)
    })));
    c.apply(ServerFrame::Availability { agents_online: 0 }, 0.0);
    assert!(c.hidden());
    c.apply(
        ServerFrame::Tickets {
            tickets: vec![ticket(5, "open", &[], false)],
        },
        0.0,
    );
    assert!(!c.hidden(), "a visitor with tickets still reaches them");

    // An open conversation keeps the widget too; the default ("form") never hides.
    let mut queued = Chat::new(None, Outbox::default(), None, None);
    queued.hello("acme", "de");
    queued.apply(
        ServerFrame::VisitorWelcome {
            protocol: 1,
            token: None,
            conversation: Some(view(CONV, ConversationStatus::Queued, 0)),
            agents_online: 0,
            site: hide,
        },
        0.0,
    );
    assert!(!queued.hidden());
    let mut form = Chat::new(None, Outbox::default(), None, None);
    form.hello("acme", "de");
    form.apply(welcome(None, 0), 0.0);
    assert!(!form.hidden());
}

#[test]
fn the_welcome_tells_the_loader_the_sites_look() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    let out = c.apply(
        site_welcome(
            SiteSettings {
                name: "Acme".into(),
                accent: Some("#c0392b".into()),
                position: Some(switchboard_shared::WidgetPosition::Left),
                offline_behaviour: Some(switchboard_shared::OfflineBehaviour::Hide),
                ..Default::default()
            },
            1,
        ),
        0.0,
    );
    assert!(out.contains(&Out::Emit(Emit::Look("#c0392b left hide".into()))));
    let out = c.apply(welcome(None, 1), 0.0);
    assert!(out.contains(&Out::Emit(Emit::Look("- right form".into()))));
}

#[test]
fn a_queued_visitor_is_offered_to_leave_a_message_after_the_sites_waiting_time() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(
        site_welcome(
            SiteSettings {
                name: "Acme".into(),
                queue_offer_message_after_secs: Some(30),
                ..Default::default()
            },
            2,
        ),
        1_000.0,
    );
    c.compose("Ich warte", cid("w-1"), 1_000.0).unwrap();
    c.apply(event(1, EventKind::Started), 2_000.0);
    c.tick(2_000.0); // the ack
    assert!(!c.queue_offer);
    assert!(!c.tick_due(31_000.0));
    assert!(c.tick_due(32_000.0));
    c.tick(32_000.0);
    assert!(c.queue_offer);
    assert_eq!(c.screen(), Screen::Chat, "the offer shows beside the wait");
    c.leave_instead();
    assert_eq!(c.screen(), Screen::Offline);
    c.leave_message(cid("w-2"), "Bitte melden", Contact::default())
        .unwrap();
    assert_eq!(c.screen(), Screen::OfflineDone);

    // Once an agent takes the chat the offer is gone.
    let mut taken = Chat::new(None, Outbox::default(), None, None);
    taken.hello("acme", "de");
    taken.apply(welcome(None, 1), 0.0);
    taken.compose("Hallo", cid("w-1"), 0.0).unwrap();
    taken.apply(event(1, EventKind::Started), 0.0);
    taken.tick(QUEUE_OFFER_SECS as f64 * 1000.0);
    assert!(taken.queue_offer, "the default waiting time applies");
    taken.apply(event(2, EventKind::AgentJoined { agent: anna() }), 0.0);
    assert!(!taken.queue_offer);
    assert_eq!(taken.screen(), Screen::Chat);
}

#[test]
fn the_loader_is_told_while_a_ticket_is_open_or_waits_for_a_rating() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    let out = c.apply(welcome(None, 0), 0.0);
    assert!(
        out.contains(&Out::SaveTicketsOpen(false)),
        "until a tickets frame says so"
    );
    let frame = |t| ServerFrame::Tickets { tickets: vec![t] };
    let out = c.apply(frame(ticket(5, "open", &[], false)), 0.0);
    assert!(out.contains(&Out::SaveTicketsOpen(true)));
    let out = c.apply(frame(ticket(5, "resolved", &[], true)), 0.0);
    assert!(out.contains(&Out::SaveTicketsOpen(true)));
    let out = c.apply(frame(ticket(5, "resolved", &[], false)), 0.0);
    assert!(out.contains(&Out::SaveTicketsOpen(false)));
}

#[test]
fn outside_business_hours_the_offline_form_stays_whoever_comes_online() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    let ServerFrame::VisitorWelcome {
        protocol,
        token,
        conversation,
        site,
        ..
    } = welcome(None, 0)
    else {
        unreachable!()
    };
    let closed = ServerFrame::VisitorWelcome {
        protocol,
        token,
        conversation,
        agents_online: 0,
        site: SiteSettings {
            closed: true,
            ..site
        },
    };
    c.apply(closed, 0.0);
    assert_eq!(c.screen(), Screen::Offline);
    c.apply(ServerFrame::Availability { agents_online: 2 }, 1.0);
    assert_eq!(c.screen(), Screen::Offline, "closed wins over availability");
    assert!(!c.status_online());
}

#[test]
fn a_chat_refused_for_the_hours_turns_into_the_offline_form() {
    let mut c = Chat::new(None, Outbox::default(), None, None);
    c.hello("acme", "de");
    c.apply(welcome(None, 1), 0.0);
    c.start(Contact::default());
    assert_eq!(c.screen(), Screen::Chat);
    c.apply(
        ServerFrame::error(ErrorCode::OutsideBusinessHours, None),
        1.0,
    );
    assert_eq!(c.screen(), Screen::Offline);
    c.apply(ServerFrame::Availability { agents_online: 3 }, 2.0);
    assert_eq!(c.screen(), Screen::Offline);
}
