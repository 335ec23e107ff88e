//! Specifications of what only the SQLite store has: the writer's batches (one statement
//! failing alone, resends within a batch, the tails' memory), the file lock against a second
//! process, opening by path and WAL mode. Each test opens a fresh database file in its own
//! temporary directory. What every backend promises is in `store/tests/conformance/`.

use super::writer::{self, Job, Receipt};
use super::SqliteStore;
use crate::{
    AppendRequest, Appended, CommitListener, Committed, ConversationUpdate, EventLog, NewAgent,
    NewConversation, NoListener, Records, Role, SiteRecord, StoreError, StoredEvent, VisitorId,
};
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
        let new = NewConversation {
            site_id: "acme".into(),
            visitor_id: self.visitor,
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

    async fn append(&self, req: AppendRequest) -> Appended {
        self.store.append(req).await.unwrap()
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
