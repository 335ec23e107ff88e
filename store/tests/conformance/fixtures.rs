//! The small world most tests start from, and builders for requests.

use crate::harness::Db;
use switchboard_shared::{
    AgentId, Author, ClientMsgId, ConversationId, ConversationStatus, EventKind, Seq, Side,
    SupportLevel, VisitorInfo,
};
use switchboard_store::{
    AppendRequest, Appended, ConversationUpdate, NewAgent, NewConversation, Role, SharedStore,
    SiteRecord, VisitorId,
};

/// The site `acme` (one allowed origin) and its visitor with token hash `[7; 32]`.
pub async fn acme(db: &Db) -> VisitorId {
    db.store.upsert_site(site("acme", "Acme")).await.unwrap();
    db.store
        .create_visitor("acme", [7; 32], 1_000)
        .await
        .unwrap()
        .id
}

pub fn site(id: &str, name: &str) -> SiteRecord {
    SiteRecord {
        id: id.into(),
        name: name.into(),
        allowed_origins: vec![format!("https://{id}.example")],
        prechat: Default::default(),
        options: Default::default(),
    }
}

/// A conversation of `acme` for `visitor`, created (and queued) at `at`.
pub async fn conversation(
    store: &SharedStore,
    visitor: VisitorId,
    status: ConversationStatus,
    at: i64,
) -> ConversationId {
    let new = NewConversation {
        site_id: "acme".into(),
        visitor_id: visitor,
        info: VisitorInfo {
            name: Some("Vera".into()),
            ..VisitorInfo::default()
        },
        status,
        queue_rank: Some(at),
        at,
    };
    store.create_conversation(new).await.unwrap().id
}

pub fn new_agent(email: &str) -> NewAgent {
    NewAgent {
        email: email.into(),
        display_name: "Anna".into(),
        password_hash: "$argon2id$stub".into(),
        role: Role::Agent,
        max_concurrent_chats: 3,
        support_level: SupportLevel::L2,
    }
}

pub async fn agent(store: &SharedStore, email: &str) -> AgentId {
    store.create_agent(new_agent(email)).await.unwrap().id
}

pub fn cid(s: &str) -> ClientMsgId {
    ClientMsgId::try_from(s.to_string()).unwrap()
}

/// A visitor's message with its client id (deduplicated on the visitor's side).
pub fn visitor_message(conversation: ConversationId, client_id: &str, body: &str) -> AppendRequest {
    AppendRequest {
        conversation_id: conversation,
        at: 5_000,
        event: EventKind::Message {
            author: Author::Visitor,
            client_id: Some(cid(client_id)),
            body: body.into(),
        },
        dedup: Some((Side::Visitor, cid(client_id))),
        update: ConversationUpdate::default(),
    }
}

pub fn system_event(conversation: ConversationId, event: EventKind, at: i64) -> AppendRequest {
    AppendRequest {
        conversation_id: conversation,
        at,
        event,
        dedup: None,
        update: ConversationUpdate::default(),
    }
}

pub fn new_seq(a: &Appended) -> Seq {
    match a {
        Appended::New(ev) => ev.seq,
        Appended::Duplicate { seq } => panic!("expected a new event, got duplicate of {seq}"),
    }
}

/// The client id of a stored message, if it has one.
pub fn client_id_of(event: &EventKind) -> Option<String> {
    match event {
        EventKind::Message {
            client_id: Some(id),
            ..
        } => Some(id.as_str().to_string()),
        _ => None,
    }
}

pub fn seqs(events: &[switchboard_store::StoredEvent]) -> Vec<Seq> {
    events.iter().map(|e| e.seq).collect()
}
