//! Specifications of the SQLite store. Each test opens a fresh database file in its own
//! temporary directory.

use super::writer::{self, Job, Receipt};
use super::SqliteStore;
use crate::{
    AgentPatch, AppendRequest, Appended, CommitListener, Committed, ConversationUpdate, NewAgent,
    NewConversation, NoListener, Role, SiteRecord, Store, StoreError, StoredEvent, VisitorId,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use switchboard_shared::{
    AgentId, Author, ClientMsgId, ConversationId, ConversationStatus, EventKind, Seq, Side,
    VisitorInfo,
};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// Remembers every batch the writer reports.
#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Vec<StoredEvent>>>,
}

impl CommitListener for Recorder {
    fn committed(&self, events: &[Committed<'_>]) {
        for c in events {
            // What the listener gets as text is what the event is.
            let decoded: EventKind = serde_json::from_str(c.event_json).unwrap();
            assert_eq!(decoded, c.event.event);
        }
        let batch = events.iter().map(|c| c.event.clone()).collect();
        self.batches.lock().unwrap().push(batch);
    }
}

impl Recorder {
    fn events(&self) -> Vec<StoredEvent> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
    fn has(&self, id: ConversationId, seq: Seq) -> bool {
        self.events()
            .iter()
            .any(|e| e.conversation_id == id && e.seq == seq)
    }
}

struct Fixture {
    dir: TempDir,
    store: Arc<SqliteStore>,
    recorder: Arc<Recorder>,
    visitor: VisitorId,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Arc::new(Recorder::default());
        let store = Arc::new(open_at(&dir, recorder.clone()).await);
        let site = SiteRecord {
            id: "acme".into(),
            name: "Acme".into(),
            allowed_origins: vec!["https://acme.example".into()],
            prechat: Default::default(),
            options: Default::default(),
        };
        store.upsert_site(site).await.unwrap();
        let visitor = store
            .create_visitor("acme", [7; 32], 1_000)
            .await
            .unwrap()
            .id;
        Fixture {
            dir,
            store,
            recorder,
            visitor,
        }
    }

    async fn conversation(&self, status: ConversationStatus, at: i64) -> ConversationId {
        self.conversation_of(self.visitor, status, at).await
    }

    async fn conversation_of(
        &self,
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
        self.store.create_conversation(new).await.unwrap().id
    }

    async fn agent(&self, email: &str) -> AgentId {
        self.store.create_agent(new_agent(email)).await.unwrap().id
    }

    async fn append(&self, req: AppendRequest) -> Appended {
        self.store.append(req).await.unwrap()
    }

    /// Closes the store and opens the same file again.
    async fn reopen(self) -> Fixture {
        self.store.close().await;
        let store = Arc::new(open_at(&self.dir, self.recorder.clone()).await);
        Fixture { store, ..self }
    }
}

async fn open_at(dir: &TempDir, listener: Arc<dyn CommitListener>) -> SqliteStore {
    let path = dir.path().join("switchboard.db");
    SqliteStore::open(path.to_str().unwrap(), listener)
        .await
        .unwrap()
}

fn new_agent(email: &str) -> NewAgent {
    NewAgent {
        email: email.into(),
        display_name: "Anna".into(),
        password_hash: "$argon2id$stub".into(),
        role: Role::Agent,
        max_concurrent_chats: 3,
        support_level: switchboard_shared::SupportLevel::L2,
    }
}

fn cid(s: &str) -> ClientMsgId {
    ClientMsgId::try_from(s.to_string()).unwrap()
}

fn visitor_message(conversation: ConversationId, client_id: &str, body: &str) -> AppendRequest {
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

fn system_event(conversation: ConversationId, event: EventKind, at: i64) -> AppendRequest {
    AppendRequest {
        conversation_id: conversation,
        at,
        event,
        dedup: None,
        update: ConversationUpdate::default(),
    }
}

fn new_seq(a: &Appended) -> Seq {
    match a {
        Appended::New(ev) => ev.seq,
        Appended::Duplicate { seq } => panic!("expected a new event, got duplicate of {seq}"),
    }
}

/// Runs `reqs` through the writer as exactly one batch, on a connection of its own.
async fn one_batch(f: &Fixture, reqs: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
    let path = f.dir.path().join("switchboard.db");
    let mut conn = writer::open(&path).unwrap();
    let mut answers = Vec::new();
    let jobs = reqs
        .into_iter()
        .map(|req| {
            let (reply, answer) = oneshot::channel();
            answers.push(answer);
            Job::Append {
                req,
                reply,
                queued: std::time::Instant::now(),
            }
        })
        .collect();
    writer::process(&mut conn, &mut writer::Tails::default(), jobs, &*f.recorder);
    let mut results = Vec::new();
    for answer in answers {
        results.push(answer.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sequence_numbers_start_at_one_and_have_no_gaps_under_concurrent_appends() {
    let f = Fixture::new().await;
    let mut conversations = Vec::new();
    for i in 0..4 {
        conversations.push(f.conversation(ConversationStatus::Active, i).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = f.store.clone();
        let conversation = conversations[i % 4];
        tasks.spawn(async move {
            let req = visitor_message(conversation, &format!("m{i}"), "hi");
            (conversation, new_seq(&store.append(req).await.unwrap()))
        });
    }
    let mut seqs: HashMap<ConversationId, Vec<Seq>> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (conversation, seq) = done.unwrap();
        seqs.entry(conversation).or_default().push(seq);
    }
    for conversation in conversations {
        let mut got = seqs.remove(&conversation).unwrap();
        got.sort_unstable();
        assert_eq!(got, (1..=50).collect::<Vec<Seq>>());
        let stored = f.store.events_after(conversation, 0, 1000).await.unwrap();
        let stored: Vec<Seq> = stored.iter().map(|e| e.seq).collect();
        assert_eq!(stored, (1..=50).collect::<Vec<Seq>>());
        assert_eq!(
            f.store
                .conversation(conversation)
                .await
                .unwrap()
                .unwrap()
                .last_seq,
            50
        );
    }
}

#[tokio::test]
async fn a_resend_with_the_same_client_id_returns_the_first_seq_and_stores_one_row() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    f.append(system_event(c, EventKind::Started, 1)).await;
    let first = f.append(visitor_message(c, "m1", "Hallo")).await;
    assert_eq!(new_seq(&first), 2);
    let again = f.append(visitor_message(c, "m1", "Hallo")).await;
    assert_eq!(again, Appended::Duplicate { seq: 2 });
    assert_eq!(f.store.events_after(c, 0, 100).await.unwrap().len(), 2);
    assert_eq!(f.store.conversation(c).await.unwrap().unwrap().last_seq, 2);
    assert_eq!(
        f.recorder.events().len(),
        2,
        "a duplicate is not reported to the listener"
    );
}

#[tokio::test]
async fn the_same_client_id_from_the_other_side_is_a_different_message() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    f.append(visitor_message(c, "m1", "Hallo")).await;
    let mut from_agent = visitor_message(c, "m1", "Guten Tag");
    from_agent.dedup = Some((Side::Agent, cid("m1")));
    assert_eq!(new_seq(&f.append(from_agent).await), 2);
}

#[tokio::test]
async fn a_resend_in_the_same_batch_is_a_duplicate_of_the_first() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    let results = one_batch(
        &f,
        vec![
            visitor_message(c, "m1", "Hallo"),
            visitor_message(c, "m2", "noch da?"),
            visitor_message(c, "m1", "Hallo"),
        ],
    )
    .await;
    assert_eq!(new_seq(results[0].as_ref().unwrap()), 1);
    assert_eq!(new_seq(results[1].as_ref().unwrap()), 2);
    assert_eq!(
        results[2].as_ref().unwrap(),
        &Appended::Duplicate { seq: 1 }
    );
    assert_eq!(f.store.events_after(c, 0, 100).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_client_id_whose_hash_the_writer_knows_but_is_not_stored_is_a_new_message() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    f.append(visitor_message(c, "m1", "Hallo")).await;
    let path = f.dir.path().join("switchboard.db");
    let mut conn = writer::open(&path).unwrap();
    let mut tails = writer::Tails::default();
    tails
        .pretend_stored(&conn, c.0, Side::Visitor, &cid("m2"))
        .unwrap();
    let (reply, answer) = oneshot::channel();
    let (reply2, answer2) = oneshot::channel();
    let jobs = vec![
        Job::Append {
            req: visitor_message(c, "m2", "noch da?"),
            reply,
            queued: std::time::Instant::now(),
        },
        Job::Append {
            req: visitor_message(c, "m1", "Hallo"),
            reply: reply2,
            queued: std::time::Instant::now(),
        },
    ];
    writer::process(&mut conn, &mut tails, jobs, &*f.recorder);
    assert_eq!(new_seq(&answer.await.unwrap().unwrap()), 2);
    assert_eq!(
        answer2.await.unwrap().unwrap(),
        Appended::Duplicate { seq: 1 },
        "read from the file when the writer first meets the conversation"
    );
    assert_eq!(f.store.events_after(c, 0, 100).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_second_store_on_the_same_file_refuses_events_until_the_first_closes() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    f.append(visitor_message(c, "m1", "Hallo")).await;
    let second = open_at(&f.dir, Arc::new(NoListener)).await;
    assert!(matches!(
        second.append(visitor_message(c, "m2", "zwei")).await,
        Err(StoreError::InUse(_))
    ));
    assert!(matches!(
        second.record_receipt(c, Side::Agent, 1, 1).await,
        Err(StoreError::InUse(_))
    ));
    // What the command line does beside a running relay still works.
    second
        .create_agent(new_agent("b@example.com"))
        .await
        .unwrap();
    f.store.close().await;
    assert_eq!(
        new_seq(
            &second
                .append(visitor_message(c, "m2", "zwei"))
                .await
                .unwrap()
        ),
        2
    );
    second.close().await;
}

#[tokio::test]
async fn an_unknown_conversation_fails_alone_and_the_rest_of_its_batch_commits() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    let results = one_batch(
        &f,
        vec![
            visitor_message(c, "m1", "eins"),
            visitor_message(ConversationId(999), "m1", "nirgends"),
            visitor_message(c, "m2", "zwei"),
        ],
    )
    .await;
    assert_eq!(new_seq(results[0].as_ref().unwrap()), 1);
    assert!(matches!(results[1], Err(StoreError::NotFound)));
    assert_eq!(new_seq(results[2].as_ref().unwrap()), 2);
    assert_eq!(f.store.events_after(c, 0, 100).await.unwrap().len(), 2);
    let via_store = f
        .store
        .append(visitor_message(ConversationId(999), "x", "x"))
        .await;
    assert!(matches!(via_store, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn a_failing_statement_fails_alone_and_the_rest_of_its_batch_commits() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Queued, 1).await;
    let to_ghost = AppendRequest {
        update: ConversationUpdate {
            agent_id: Some(Some(AgentId(404))),
            ..ConversationUpdate::default()
        },
        ..system_event(c, EventKind::Started, 2)
    };
    let results = one_batch(
        &f,
        vec![
            visitor_message(c, "m1", "eins"),
            to_ghost,
            visitor_message(c, "m2", "zwei"),
            visitor_message(c, "m1", "eins"),
        ],
    )
    .await;
    assert_eq!(new_seq(results[0].as_ref().unwrap()), 1);
    assert!(matches!(results[1], Err(StoreError::Write(_))));
    assert_eq!(new_seq(results[2].as_ref().unwrap()), 2);
    assert_eq!(
        results[3].as_ref().unwrap(),
        &Appended::Duplicate { seq: 1 }
    );
    let stored: Vec<Seq> = f
        .store
        .events_after(c, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(stored, [1, 2]);
    let reported: Vec<Seq> = f.recorder.events().iter().map(|e| e.seq).collect();
    assert_eq!(
        reported,
        [1, 2],
        "the listener still sees each committed event once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_listener_sees_every_new_event_once_in_seq_order_before_append_returns() {
    let f = Fixture::new().await;
    let a = f.conversation(ConversationStatus::Active, 1).await;
    let b = f.conversation(ConversationStatus::Active, 2).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let store = f.store.clone();
        let recorder = f.recorder.clone();
        let conversation = if i % 3 == 0 { a } else { b };
        tasks.spawn(async move {
            // Tasks 2k and 2k+1 share a client id: where both land in one conversation,
            // the later one is a resend.
            let id = format!("m{}", i - i % 2);
            let appended = store
                .append(visitor_message(conversation, &id, "x"))
                .await
                .unwrap();
            if let Appended::New(ev) = &appended {
                assert!(
                    recorder.has(ev.conversation_id, ev.seq),
                    "reported before returning"
                );
            }
            appended
        });
    }
    let mut new = 0;
    while let Some(done) = tasks.join_next().await {
        if let Appended::New(_) = done.unwrap() {
            new += 1;
        }
    }
    let seen = f.recorder.events();
    assert_eq!(
        seen.len(),
        new,
        "each new event reported once, duplicates not at all"
    );
    let unique: HashSet<(ConversationId, Seq)> =
        seen.iter().map(|e| (e.conversation_id, e.seq)).collect();
    assert_eq!(unique.len(), seen.len());
    for conversation in [a, b] {
        let order: Vec<Seq> = seen
            .iter()
            .filter(|e| e.conversation_id == conversation)
            .map(|e| e.seq)
            .collect();
        let expected: Vec<Seq> = (1..=order.len() as Seq).collect();
        assert_eq!(order, expected, "reported in sequence order");
    }
}

#[tokio::test]
async fn an_update_is_applied_together_with_its_event() {
    let f = Fixture::new().await;
    let anna = f.agent("anna@example.com").await;
    let c = f.conversation(ConversationStatus::Queued, 10).await;
    let joined = AppendRequest {
        update: ConversationUpdate {
            status: Some(ConversationStatus::Active),
            agent_id: Some(Some(anna)),
            queue_rank: Some(None),
            assigned_at: Some(Some(20)),
            ..ConversationUpdate::default()
        },
        ..system_event(c, EventKind::LeftMessage, 20)
    };
    f.append(joined).await;
    let row = f.store.conversation(c).await.unwrap().unwrap();
    assert_eq!(row.status, ConversationStatus::Active);
    assert_eq!(row.agent_id, Some(anna));
    assert_eq!(row.queue_rank, None);
    assert_eq!(row.queued_at, Some(10), "untouched fields stay");
    assert_eq!(row.assigned_at, Some(20));
    assert_eq!(row.last_seq, 1);
}

#[tokio::test]
async fn a_failed_update_stores_no_event_and_takes_no_seq() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Queued, 10).await;
    let to_ghost = AppendRequest {
        update: ConversationUpdate {
            agent_id: Some(Some(AgentId(404))),
            ..ConversationUpdate::default()
        },
        ..system_event(c, EventKind::Started, 20)
    };
    assert!(matches!(
        f.store.append(to_ghost).await,
        Err(StoreError::Write(_))
    ));
    assert_eq!(
        new_seq(&f.append(system_event(c, EventKind::Started, 21)).await),
        1
    );
}

#[tokio::test]
async fn everything_survives_closing_and_reopening_the_file() {
    let f = Fixture::new().await;
    let anna = f.agent("anna@example.com").await;
    let c = f.conversation(ConversationStatus::Queued, 10).await;
    f.append(system_event(c, EventKind::Started, 10)).await;
    f.append(visitor_message(c, "m1", "Hallo")).await;
    let ended = AppendRequest {
        update: ConversationUpdate {
            status: Some(ConversationStatus::Ended),
            agent_id: Some(Some(anna)),
            ended_at: Some(Some(99)),
            ..ConversationUpdate::default()
        },
        ..system_event(c, EventKind::Ended { by: Side::Agent }, 99)
    };
    f.append(ended).await;
    f.store
        .record_receipt(c, Side::Visitor, 3, 2)
        .await
        .unwrap();
    let before = f.store.events_after(c, 0, 100).await.unwrap();

    let f = f.reopen().await;
    assert_eq!(f.store.events_after(c, 0, 100).await.unwrap(), before);
    let row = f.store.conversation(c).await.unwrap().unwrap();
    assert_eq!(row.last_seq, 3);
    assert_eq!((row.visitor_delivered, row.visitor_read), (3, 2));
    assert_eq!(row.status, ConversationStatus::Ended);
    assert_eq!(row.agent_id, Some(anna));
    assert_eq!(row.ended_at, Some(99));
    assert_eq!(row.info.name.as_deref(), Some("Vera"));
    assert_eq!(
        f.store.agent(anna).await.unwrap().unwrap().email,
        "anna@example.com"
    );
    // Numbering and dedup continue where they were.
    assert_eq!(
        f.append(visitor_message(c, "m1", "Hallo")).await,
        Appended::Duplicate { seq: 2 }
    );
    assert_eq!(new_seq(&f.append(visitor_message(c, "m2", "?")).await), 4);
    f.store.close().await;
}

#[tokio::test]
async fn receipts_only_rise_and_never_pass_the_last_event() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    for i in 0..5 {
        f.append(visitor_message(c, &format!("m{i}"), "x")).await;
    }
    f.store.record_receipt(c, Side::Agent, 4, 3).await.unwrap();
    f.store.record_receipt(c, Side::Agent, 2, 1).await.unwrap();
    f.store
        .record_receipt(c, Side::Visitor, u64::MAX, 9)
        .await
        .unwrap();
    let row = f.store.conversation(c).await.unwrap().unwrap();
    assert_eq!((row.agent_delivered, row.agent_read), (4, 3));
    assert_eq!((row.visitor_delivered, row.visitor_read), (5, 5));
    let unknown = f
        .store
        .record_receipt(ConversationId(999), Side::Agent, 1, 1)
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn a_second_agent_with_the_same_email_is_a_conflict() {
    let f = Fixture::new().await;
    f.agent("anna@example.com").await;
    let again = f.store.create_agent(new_agent("anna@example.com")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let other_case = f.store.create_agent(new_agent("Anna@Example.com")).await;
    assert!(
        matches!(other_case, Err(StoreError::Conflict(_))),
        "{other_case:?}"
    );
    assert_eq!(f.store.list_agents().await.unwrap().len(), 1);
}

#[tokio::test]
async fn agents_can_be_found_and_patched() {
    let f = Fixture::new().await;
    let anna = f.agent("anna@example.com").await;
    let found = f
        .store
        .agent_by_email("ANNA@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, anna);
    let patch = AgentPatch {
        role: Some(Role::Admin),
        max_concurrent_chats: Some(5),
        ..AgentPatch::default()
    };
    let patched = f.store.update_agent(anna, patch).await.unwrap();
    assert_eq!(
        (patched.role, patched.max_concurrent_chats),
        (Role::Admin, 5)
    );
    assert_eq!(patched.display_name, "Anna");
    let ghost = f
        .store
        .update_agent(AgentId(404), AgentPatch::default())
        .await;
    assert!(matches!(ghost, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn a_session_counts_only_while_unexpired_unrevoked_and_the_agent_enabled() {
    let f = Fixture::new().await;
    let anna = f.agent("anna@example.com").await;
    f.store
        .create_session([1; 32], anna, 100, 200)
        .await
        .unwrap();
    f.store
        .create_session([2; 32], anna, 100, 200)
        .await
        .unwrap();
    assert_eq!(
        f.store
            .session_agent([1; 32], 150)
            .await
            .unwrap()
            .unwrap()
            .id,
        anna
    );
    assert!(
        f.store.session_agent([1; 32], 200).await.unwrap().is_none(),
        "expired"
    );
    assert!(
        f.store.session_agent([9; 32], 150).await.unwrap().is_none(),
        "unknown"
    );

    f.store.revoke_session([1; 32], 160).await.unwrap();
    assert!(
        f.store.session_agent([1; 32], 170).await.unwrap().is_none(),
        "revoked"
    );
    assert!(f.store.session_agent([2; 32], 170).await.unwrap().is_some());

    let disable = AgentPatch {
        disabled: Some(true),
        ..AgentPatch::default()
    };
    f.store.update_agent(anna, disable).await.unwrap();
    assert!(
        f.store.session_agent([2; 32], 170).await.unwrap().is_none(),
        "disabled"
    );

    let enable = AgentPatch {
        disabled: Some(false),
        ..AgentPatch::default()
    };
    f.store.update_agent(anna, enable).await.unwrap();
    f.store.revoke_agent_sessions(anna, 180).await.unwrap();
    assert!(
        f.store.session_agent([2; 32], 190).await.unwrap().is_none(),
        "all revoked"
    );
    let orphan = f
        .store
        .create_session([3; 32], AgentId(404), 100, 200)
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn sites_and_visitors_round_trip() {
    let f = Fixture::new().await;
    let site = SiteRecord {
        id: "beta".into(),
        name: "Beta".into(),
        allowed_origins: vec!["https://b.example".into(), "https://a.example".into()],
        prechat: switchboard_shared::PrechatFields {
            name: switchboard_shared::FieldRule::Required,
            email: switchboard_shared::FieldRule::Optional,
            customer_number: switchboard_shared::FieldRule::Off,
        },
        options: Default::default(),
    };
    f.store.upsert_site(site.clone()).await.unwrap();
    assert_eq!(f.store.site("beta").await.unwrap(), Some(site.clone()));
    let renamed = SiteRecord {
        name: "Beta GmbH".into(),
        allowed_origins: vec![],
        ..site
    };
    f.store.upsert_site(renamed.clone()).await.unwrap();
    let sites = f.store.list_sites().await.unwrap();
    assert_eq!(
        sites.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["acme", "beta"]
    );
    assert_eq!(sites[1], renamed);
    assert_eq!(sites[0].allowed_origins, ["https://acme.example"]);
    assert_eq!(f.store.site("nope").await.unwrap(), None);

    let v = f.store.visitor_by_token([7; 32]).await.unwrap().unwrap();
    assert_eq!((v.id, v.site_id.as_str()), (f.visitor, "acme"));
    f.store.touch_visitor(v.id, 5_000).await.unwrap();
    assert_eq!(
        f.store
            .visitor_by_token([7; 32])
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        5_000
    );
    let twin = f.store.create_visitor("acme", [7; 32], 1).await;
    assert!(matches!(twin, Err(StoreError::Conflict(_))));
    let homeless = f.store.create_visitor("nope", [8; 32], 1).await;
    assert!(matches!(homeless, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn latest_conversation_for_visitor_honours_since() {
    let f = Fixture::new().await;
    let other = f.store.create_visitor("acme", [8; 32], 1).await.unwrap().id;
    f.conversation(ConversationStatus::Ended, 100).await;
    let newer = f.conversation(ConversationStatus::Ended, 200).await;
    f.conversation_of(other, ConversationStatus::Active, 300)
        .await;

    let latest = f
        .store
        .latest_conversation_for_visitor(f.visitor, 0)
        .await
        .unwrap();
    assert_eq!(latest.map(|c| c.id), Some(newer));
    let at_the_edge = f
        .store
        .latest_conversation_for_visitor(f.visitor, 200)
        .await
        .unwrap();
    assert_eq!(at_the_edge.map(|c| c.id), Some(newer));
    assert!(f
        .store
        .latest_conversation_for_visitor(f.visitor, 201)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn open_conversations_are_the_queued_and_active_ones() {
    let f = Fixture::new().await;
    let queued = f.conversation(ConversationStatus::Queued, 1).await;
    let active = f.conversation(ConversationStatus::Active, 2).await;
    f.conversation(ConversationStatus::Ended, 3).await;
    f.conversation(ConversationStatus::AwaitingTicket, 4).await;
    let ending = f.conversation(ConversationStatus::Active, 5).await;
    let end = AppendRequest {
        update: ConversationUpdate {
            status: Some(ConversationStatus::Ended),
            ..ConversationUpdate::default()
        },
        ..system_event(ending, EventKind::Ended { by: Side::Visitor }, 6)
    };
    f.append(end).await;
    let open: Vec<ConversationId> = f
        .store
        .open_conversations()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(open, [queued, active]);
}

#[tokio::test]
async fn recent_handle_times_are_those_of_the_last_ended_chats_newest_first() {
    let f = Fixture::new().await;
    for (assigned, ended) in [(Some(10), 70), (None, 80), (Some(50), 90), (Some(60), 100)] {
        let c = f.conversation(ConversationStatus::Active, 1).await;
        let end = AppendRequest {
            update: ConversationUpdate {
                status: Some(ConversationStatus::Ended),
                assigned_at: Some(assigned),
                ended_at: Some(Some(ended)),
                ..ConversationUpdate::default()
            },
            ..system_event(c, EventKind::Ended { by: Side::Agent }, ended)
        };
        f.append(end).await;
    }
    f.conversation(ConversationStatus::Active, 1).await;
    assert_eq!(f.store.recent_handle_times(10).await.unwrap(), [40, 40, 60]);
    assert_eq!(f.store.recent_handle_times(2).await.unwrap(), [40, 40]);
}

#[tokio::test]
async fn events_after_pages_in_ascending_order() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    for i in 0..10 {
        f.append(visitor_message(c, &format!("m{i}"), &format!("body {i}")))
            .await;
    }
    let page = f.store.events_after(c, 3, 4).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5, 6, 7]);
    assert!(matches!(&page[0].event, EventKind::Message { body, .. } if body == "body 3"));
    assert!(f.store.events_after(c, 10, 4).await.unwrap().is_empty());
}

#[tokio::test]
async fn close_finishes_queued_writes_and_refuses_new_ones() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = f.store.clone();
        tasks.spawn(async move {
            store
                .append(visitor_message(c, &format!("m{i}"), "x"))
                .await
        });
    }
    tokio::task::yield_now().await;
    f.store.close().await;
    let after = f.store.append(visitor_message(c, "late", "x")).await;
    assert!(matches!(after, Err(StoreError::Closed)));
    let mut committed = 0;
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Ok(_) => committed += 1,
            Err(e) => assert!(matches!(e, StoreError::Closed), "{e:?}"),
        }
    }
    f.store.close().await;
    let f = f.reopen().await;
    assert_eq!(
        f.store.events_after(c, 0, 100).await.unwrap().len(),
        committed
    );
}

#[tokio::test]
async fn open_takes_a_url_or_a_path_and_creates_missing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/chat.db");
    let url = format!("sqlite://{}", nested.display());
    let store = SqliteStore::open(&url, Arc::new(NoListener)).await.unwrap();
    store
        .upsert_site(SiteRecord {
            id: "x".into(),
            name: "X".into(),
            allowed_origins: vec![],
            prechat: Default::default(),
            options: Default::default(),
        })
        .await
        .unwrap();
    store.close().await;
    let store = SqliteStore::open(nested.to_str().unwrap(), Arc::new(NoListener))
        .await
        .unwrap();
    assert!(store.site("x").await.unwrap().is_some());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.read)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    store.close().await;
    assert!(SqliteStore::open("sqlite::memory:", Arc::new(NoListener))
        .await
        .is_err());
}

/// Not a pass/fail test: prints how fast group commit is on this machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_throughput_for_20000_concurrent_appends() {
    const APPENDS: usize = 20_000;
    let f = Fixture::new().await;
    let mut conversations = Vec::new();
    for i in 0..100 {
        conversations.push(f.conversation(ConversationStatus::Active, i).await);
    }
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..APPENDS {
        let store = f.store.clone();
        let req = visitor_message(conversations[i % 100], &format!("m{i}"), "throughput");
        tasks.spawn(async move { store.append(req).await.map(|a| new_seq(&a)) });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    let batches = f.recorder.batches.lock().unwrap().len();
    println!(
        "group commit: {APPENDS} concurrent appends in {:.2?} = {:.0} appends/s \
         ({batches} commits, {:.0} appends per commit)",
        elapsed,
        APPENDS as f64 / elapsed.as_secs_f64(),
        APPENDS as f64 / batches.max(1) as f64,
    );
    assert_eq!(f.recorder.events().len(), APPENDS);
}

#[tokio::test]
async fn receipts_go_through_the_writer_batch_like_appends() {
    let f = Fixture::new().await;
    let c = f.conversation(ConversationStatus::Active, 1).await;
    f.append(visitor_message(c, "m1", "x")).await;
    let path = f.dir.path().join("switchboard.db");
    let mut conn = writer::open(&path).unwrap();
    let (reply, answer) = oneshot::channel();
    let (reply2, answer2) = oneshot::channel();
    let receipt = Receipt {
        conversation_id: c,
        side: Side::Agent,
        delivered: 1,
        read: 1,
    };
    let ghost = Receipt {
        conversation_id: ConversationId(999),
        side: Side::Agent,
        delivered: 1,
        read: 1,
    };
    let jobs = vec![
        Job::Receipt { receipt, reply },
        Job::Receipt {
            receipt: ghost,
            reply: reply2,
        },
    ];
    writer::process(&mut conn, &mut writer::Tails::default(), jobs, &NoListener);
    answer.await.unwrap().unwrap();
    assert!(matches!(answer2.await.unwrap(), Err(StoreError::NotFound)));
    assert_eq!(
        f.store.conversation(c).await.unwrap().unwrap().agent_read,
        1
    );
}

#[tokio::test]
async fn canned_responses_have_unique_shortcuts_and_can_be_edited_and_deleted() {
    let f = Fixture::new().await;
    let new = |shortcut: &str| crate::NewCanned {
        shortcut: shortcut.into(),
        title: "Wartung".into(),
        body: "Die Wartung ist alle zwei Jahre fällig.".into(),
        site_id: None,
    };
    let a = f.store.create_canned(new("wartung"), 10).await.unwrap();
    assert!(matches!(
        f.store.create_canned(new("Wartung"), 11).await,
        Err(StoreError::Conflict(_))
    ));
    let b = f.store.create_canned(new("preise"), 12).await.unwrap();
    let edited = f
        .store
        .update_canned(a.id, new("wartung2"), 13)
        .await
        .unwrap();
    assert_eq!(
        (
            edited.shortcut.as_str(),
            edited.updated_at,
            edited.created_at
        ),
        ("wartung2", 13, 10)
    );
    assert!(matches!(
        f.store.update_canned(a.id, new("preise"), 14).await,
        Err(StoreError::Conflict(_))
    ));
    f.store.delete_canned(b.id).await.unwrap();
    assert!(matches!(
        f.store.delete_canned(b.id).await,
        Err(StoreError::NotFound)
    ));
    let all = f.store.list_canned().await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.shortcut.as_str()).collect::<Vec<_>>(),
        vec!["wartung2"]
    );
}

#[tokio::test]
async fn notes_belong_to_a_conversation_and_survive_a_reopen() {
    let f = Fixture::new().await;
    let conv = f.conversation(ConversationStatus::Active, 100).await;
    let agent = f.agent("anna@example.de").await;
    f.store
        .add_note(conv, agent, "Kunde ruft morgen an", 200)
        .await
        .unwrap();
    f.store
        .add_note(conv, agent, "Rückruf erledigt", 300)
        .await
        .unwrap();
    assert!(matches!(
        f.store.add_note(ConversationId(999), agent, "x", 1).await,
        Err(StoreError::NotFound)
    ));
    let f = f.reopen().await;
    let notes = f.store.notes(conv).await.unwrap();
    assert_eq!(
        notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        vec!["Kunde ruft morgen an", "Rückruf erledigt"]
    );
    assert_eq!(
        f.store.agent(agent).await.unwrap().unwrap().support_level,
        switchboard_shared::SupportLevel::L2
    );
}

#[tokio::test]
async fn a_visitors_conversations_are_listed_newest_first() {
    let f = Fixture::new().await;
    let first = f.conversation(ConversationStatus::Ended, 100).await;
    let second = f.conversation(ConversationStatus::Active, 200).await;
    let ids: Vec<_> = f
        .store
        .conversations_of_visitor(f.visitor, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![second, first]);
    assert_eq!(
        f.store
            .conversations_of_visitor(f.visitor, 1)
            .await
            .unwrap()
            .len(),
        1
    );
}
