//! The event log: seq per conversation from 1, gap-free and in commit order also under many
//! appenders; a (side, client id) stored once; the listener told of every new event once,
//! in order, before `append` returns; receipts that only rise.

use crate::fixtures::{
    acme, agent, cid, client_id_of, conversation, new_seq, seqs, system_event, visitor_message,
};
use crate::harness::Db;
use std::collections::{HashMap, HashSet};
use switchboard_shared::{AgentId, ConversationId, ConversationStatus, EventKind, Seq, Side};
use switchboard_store::{AppendRequest, Appended, ConversationUpdate, StoreError};

conformance!(
    seq_starts_at_one_per_conversation_and_follows_append_order,
    a_resend_with_the_same_client_id_returns_the_first_seq_and_stores_one_row,
    the_same_client_id_from_the_other_side_is_a_different_message,
    fifty_concurrent_appenders_to_one_conversation_get_gap_free_unique_seqs,
    seqs_have_no_gaps_under_concurrent_appends_to_several_conversations,
    events_after_pages_in_ascending_order,
    all_events_reads_a_transcript_longer_than_one_page,
    the_listener_sees_every_new_event_once_in_seq_order_before_append_returns,
    receipts_only_rise_and_never_pass_the_last_event,
    an_unknown_conversation_is_not_found,
    an_update_is_applied_together_with_its_event,
    a_failed_update_stores_no_event_and_takes_no_seq,
);

async fn seq_starts_at_one_per_conversation_and_follows_append_order(db: Db) {
    let visitor = acme(&db).await;
    let a = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let b = conversation(&db.store, visitor, ConversationStatus::Active, 2).await;
    for i in 0..5 {
        for c in [a, b] {
            let req = visitor_message(c, &format!("m{i}"), &format!("{c:?} {i}"));
            let appended = db.store.append(req).await.unwrap();
            assert_eq!(new_seq(&appended), i + 1);
            let Appended::New(ev) = appended else {
                unreachable!()
            };
            assert_eq!((ev.conversation_id, ev.at), (c, 5_000));
        }
    }
    for c in [a, b] {
        let stored = db.store.events_after(c, 0, 100).await.unwrap();
        assert_eq!(seqs(&stored), [1, 2, 3, 4, 5]);
        let bodies: Vec<String> = stored
            .iter()
            .map(|e| match &e.event {
                EventKind::Message { body, .. } => body.clone(),
                other => panic!("not a message: {other:?}"),
            })
            .collect();
        let expected: Vec<String> = (0..5).map(|i| format!("{c:?} {i}")).collect();
        assert_eq!(bodies, expected, "in append order");
        assert!(stored.iter().all(|e| e.conversation_id == c));
        let row = db.store.conversation(c).await.unwrap().unwrap();
        assert_eq!(row.last_seq, 5);
    }
}

async fn a_resend_with_the_same_client_id_returns_the_first_seq_and_stores_one_row(db: Db) {
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    db.store
        .append(system_event(c, EventKind::Started, 1))
        .await
        .unwrap();
    let first = db.store.append(visitor_message(c, "m1", "Hallo")).await;
    assert_eq!(new_seq(&first.unwrap()), 2);
    let again = db.store.append(visitor_message(c, "m1", "Hallo")).await;
    assert_eq!(again.unwrap(), Appended::Duplicate { seq: 2 });
    // Even with another body: the client id decides.
    let edited = db.store.append(visitor_message(c, "m1", "Hallo?")).await;
    assert_eq!(edited.unwrap(), Appended::Duplicate { seq: 2 });
    assert_eq!(db.store.events_after(c, 0, 100).await.unwrap().len(), 2);
    assert_eq!(db.store.conversation(c).await.unwrap().unwrap().last_seq, 2);
    assert_eq!(
        db.recorder.events().len(),
        2,
        "a duplicate is not reported to the listener"
    );
}

async fn the_same_client_id_from_the_other_side_is_a_different_message(db: Db) {
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let other = conversation(&db.store, visitor, ConversationStatus::Active, 2).await;
    db.store
        .append(visitor_message(c, "m1", "Hallo"))
        .await
        .unwrap();
    let from_agent = || AppendRequest {
        dedup: Some((Side::Agent, cid("m1"))),
        ..visitor_message(c, "m1", "Guten Tag")
    };
    assert_eq!(new_seq(&db.store.append(from_agent()).await.unwrap()), 2);
    assert_eq!(
        db.store.append(from_agent()).await.unwrap(),
        Appended::Duplicate { seq: 2 }
    );
    // And the same id in another conversation is another message too.
    let elsewhere = db.store.append(visitor_message(other, "m1", "Hallo"));
    assert_eq!(new_seq(&elsewhere.await.unwrap()), 1);
    assert_eq!(db.store.events_after(c, 0, 100).await.unwrap().len(), 2);
}

/// 50 tasks append 20 messages each to one conversation, resend some of their own, and all
/// race on 5 shared client ids: seq is 1..=N without gaps, every client id stored once,
/// every `New` seq unique, every resend answered with the first seq.
async fn fifty_concurrent_appenders_to_one_conversation_get_gap_free_unique_seqs(db: Db) {
    const TASKS: usize = 50;
    const OWN: usize = 20;
    const SHARED: usize = 5;
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let store = db.store.clone();
        tasks.spawn(async move {
            // (client id, answer) in the order this task got them.
            let mut answers = Vec::new();
            let mut mine: Vec<(String, Seq)> = Vec::new();
            for m in 0..OWN {
                let id = format!("t{t}-m{m}");
                let seq = new_seq(&store.append(visitor_message(c, &id, "x")).await.unwrap());
                if let Some((_, last)) = mine.last() {
                    assert!(seq > *last, "one task's appends in its order");
                }
                mine.push((id.clone(), seq));
                answers.push((id, Answer::New(seq)));
                if m % 5 == 4 {
                    // A resend of one of this task's earlier messages.
                    let (old, first) = mine[m / 2].clone();
                    let again = store.append(visitor_message(c, &old, "x")).await.unwrap();
                    assert_eq!(again, Appended::Duplicate { seq: first }, "{old}");
                }
                if m < SHARED {
                    let id = format!("shared-{m}");
                    let got = store.append(visitor_message(c, &id, "x")).await.unwrap();
                    answers.push((id, Answer::from(got)));
                }
            }
            answers
        });
    }
    let mut new_seqs = Vec::new();
    let mut shared: HashMap<String, (Vec<Seq>, Vec<Seq>)> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        for (id, answer) in done.unwrap() {
            let entry = id
                .starts_with("shared-")
                .then(|| shared.entry(id).or_default());
            match (answer, entry) {
                (Answer::New(seq), Some((new, _))) => {
                    new.push(seq);
                    new_seqs.push(seq);
                }
                (Answer::New(seq), None) => new_seqs.push(seq),
                (Answer::Duplicate(seq), Some((_, dup))) => dup.push(seq),
                (Answer::Duplicate(seq), None) => panic!("own message a duplicate of {seq}"),
            }
        }
    }
    let total = TASKS * OWN + SHARED;
    let unique: HashSet<Seq> = new_seqs.iter().copied().collect();
    assert_eq!(unique.len(), new_seqs.len(), "every New seq is unique");
    assert_eq!(new_seqs.len(), total);
    for (id, (new, dup)) in &shared {
        assert_eq!(new.len(), 1, "{id} stored once: {new:?}");
        assert_eq!(dup.len(), TASKS - 1, "{id}");
        assert!(dup.iter().all(|s| *s == new[0]), "{id}: {dup:?} vs {new:?}");
    }
    assert_eq!(shared.len(), SHARED);

    let stored = db.store.events_after(c, 0, 10_000).await.unwrap();
    let expected: Vec<Seq> = (1..=total as Seq).collect();
    assert_eq!(seqs(&stored), expected, "gap-free from 1");
    let ids: Vec<String> = stored
        .iter()
        .map(|e| client_id_of(&e.event).expect("a client message"))
        .collect();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), total, "each client id exactly once");
    let row = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!(row.last_seq, total as Seq);
}

/// What one append was answered with (`Appended` without the event, comparable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    New(Seq),
    Duplicate(Seq),
}

impl From<Appended> for Answer {
    fn from(a: Appended) -> Answer {
        match a {
            Appended::New(ev) => Answer::New(ev.seq),
            Appended::Duplicate { seq } => Answer::Duplicate(seq),
        }
    }
}

async fn seqs_have_no_gaps_under_concurrent_appends_to_several_conversations(db: Db) {
    let visitor = acme(&db).await;
    let mut conversations = Vec::new();
    for i in 0..4 {
        conversations.push(conversation(&db.store, visitor, ConversationStatus::Active, i).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = db.store.clone();
        let c = conversations[i % 4];
        tasks.spawn(async move {
            let req = visitor_message(c, &format!("m{i}"), "hi");
            (c, new_seq(&store.append(req).await.unwrap()))
        });
    }
    let mut got: HashMap<ConversationId, Vec<Seq>> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (c, seq) = done.unwrap();
        got.entry(c).or_default().push(seq);
    }
    let expected: Vec<Seq> = (1..=50).collect();
    for c in conversations {
        let mut seqs_got = got.remove(&c).unwrap();
        seqs_got.sort_unstable();
        assert_eq!(seqs_got, expected);
        let stored = db.store.events_after(c, 0, 1000).await.unwrap();
        assert_eq!(seqs(&stored), expected);
        assert_eq!(
            db.store.conversation(c).await.unwrap().unwrap().last_seq,
            50
        );
    }
}

async fn events_after_pages_in_ascending_order(db: Db) {
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    for i in 0..10 {
        let req = visitor_message(c, &format!("m{i}"), &format!("body {i}"));
        db.store.append(req).await.unwrap();
    }
    let page = db.store.events_after(c, 3, 4).await.unwrap();
    assert_eq!(seqs(&page), [4, 5, 6, 7]);
    assert!(matches!(&page[0].event, EventKind::Message { body, .. } if body == "body 3"));
    assert_eq!(
        seqs(&db.store.events_after(c, 7, 4).await.unwrap()),
        [8, 9, 10]
    );
    assert!(db.store.events_after(c, 10, 4).await.unwrap().is_empty());
    assert_eq!(db.store.events_after(c, 0, 100).await.unwrap().len(), 10);
}

async fn all_events_reads_a_transcript_longer_than_one_page(db: Db) {
    const EVENTS: usize = 1_234;
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..EVENTS {
        let store = db.store.clone();
        tasks.spawn(async move {
            store
                .append(visitor_message(c, &format!("m{i}"), "x"))
                .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        new_seq(&done.unwrap().unwrap());
    }
    let all = db.store.all_events(c).await.unwrap();
    let expected: Vec<Seq> = (1..=EVENTS as Seq).collect();
    assert_eq!(seqs(&all), expected);
    let first_page = db.store.events_after(c, 0, 1000).await.unwrap();
    assert_eq!(first_page.len(), 1000, "a page holds at most `limit`");
    assert_eq!(&all[..1000], &first_page[..]);
}

async fn the_listener_sees_every_new_event_once_in_seq_order_before_append_returns(db: Db) {
    let visitor = acme(&db).await;
    let a = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let b = conversation(&db.store, visitor, ConversationStatus::Active, 2).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let store = db.store.clone();
        let recorder = db.recorder.clone();
        let c = if i % 3 == 0 { a } else { b };
        tasks.spawn(async move {
            // Tasks 2k and 2k+1 share a client id: where both land in one conversation,
            // the later one is a resend.
            let id = format!("m{}", i - i % 2);
            let appended = store.append(visitor_message(c, &id, "x")).await.unwrap();
            if let Appended::New(ev) = &appended {
                assert!(
                    recorder.has(ev.conversation_id, ev.seq),
                    "reported before returning"
                );
            }
            appended
        });
    }
    let mut new = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Appended::New(ev) = done.unwrap() {
            new.push(ev);
        }
    }
    let seen = db.recorder.events();
    assert_eq!(
        seen.len(),
        new.len(),
        "each new event reported once, duplicates not at all"
    );
    let unique: HashSet<(ConversationId, Seq)> =
        seen.iter().map(|e| (e.conversation_id, e.seq)).collect();
    assert_eq!(unique.len(), seen.len());
    for ev in &new {
        assert!(seen.contains(ev), "reported as returned: {ev:?}");
    }
    for c in [a, b] {
        let order: Vec<Seq> = seen
            .iter()
            .filter(|e| e.conversation_id == c)
            .map(|e| e.seq)
            .collect();
        let expected: Vec<Seq> = (1..=order.len() as Seq).collect();
        assert_eq!(order, expected, "reported in sequence order");
        assert_eq!(
            db.store.events_after(c, 0, 1000).await.unwrap().len(),
            order.len()
        );
    }
}

async fn receipts_only_rise_and_never_pass_the_last_event(db: Db) {
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let row = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!(
        (
            row.visitor_delivered,
            row.visitor_read,
            row.agent_delivered,
            row.agent_read
        ),
        (0, 0, 0, 0)
    );
    for i in 0..5 {
        let req = visitor_message(c, &format!("m{i}"), "x");
        db.store.append(req).await.unwrap();
    }
    db.store.record_receipt(c, Side::Agent, 4, 3).await.unwrap();
    db.store.record_receipt(c, Side::Agent, 2, 1).await.unwrap();
    db.store
        .record_receipt(c, Side::Visitor, u64::MAX, 9)
        .await
        .unwrap();
    let row = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!((row.agent_delivered, row.agent_read), (4, 3));
    assert_eq!((row.visitor_delivered, row.visitor_read), (5, 5));
    // Later events raise the ceiling.
    db.store
        .append(visitor_message(c, "m5", "x"))
        .await
        .unwrap();
    db.store.record_receipt(c, Side::Agent, 6, 6).await.unwrap();
    let row = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!((row.agent_delivered, row.agent_read), (6, 6));
    assert_eq!((row.visitor_delivered, row.visitor_read), (5, 5));
}

async fn an_unknown_conversation_is_not_found(db: Db) {
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let ghost = ConversationId(c.0 + 1_000);
    let append = db.store.append(visitor_message(ghost, "m1", "x")).await;
    assert!(matches!(append, Err(StoreError::NotFound)), "{append:?}");
    let system = db
        .store
        .append(system_event(ghost, EventKind::Started, 1))
        .await;
    assert!(matches!(system, Err(StoreError::NotFound)), "{system:?}");
    let receipt = db.store.record_receipt(ghost, Side::Agent, 1, 1).await;
    assert!(matches!(receipt, Err(StoreError::NotFound)), "{receipt:?}");
    assert!(db.store.conversation(ghost).await.unwrap().is_none());
    // The failure is the ghost's alone.
    let appended = db.store.append(visitor_message(c, "m1", "x")).await;
    assert_eq!(new_seq(&appended.unwrap()), 1);
    assert!(db.recorder.events().iter().all(|e| e.conversation_id == c));
}

async fn an_update_is_applied_together_with_its_event(db: Db) {
    let visitor = acme(&db).await;
    let anna = agent(&db.store, "anna@example.com").await;
    let c = conversation(&db.store, visitor, ConversationStatus::Queued, 10).await;
    let before = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!((before.queue_rank, before.queued_at), (Some(10), Some(10)));
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
    db.store.append(joined).await.unwrap();
    let row = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!(row.status, ConversationStatus::Active);
    assert_eq!(row.agent_id, Some(anna));
    assert_eq!(row.queue_rank, None);
    assert_eq!(row.queued_at, Some(10), "untouched fields stay");
    assert_eq!(row.assigned_at, Some(20));
    assert_eq!(row.last_seq, 1);
}

async fn a_failed_update_stores_no_event_and_takes_no_seq(db: Db) {
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Queued, 10).await;
    let to_ghost = AppendRequest {
        update: ConversationUpdate {
            agent_id: Some(Some(AgentId(404))),
            ..ConversationUpdate::default()
        },
        ..system_event(c, EventKind::Started, 20)
    };
    let failed = db.store.append(to_ghost).await;
    assert!(matches!(failed, Err(StoreError::Write(_))), "{failed:?}");
    assert!(db.store.events_after(c, 0, 10).await.unwrap().is_empty());
    assert!(db.recorder.events().is_empty(), "nothing reported");
    let next = db.store.append(system_event(c, EventKind::Started, 21));
    assert_eq!(new_seq(&next.await.unwrap()), 1);
    let row = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!((row.agent_id, row.last_seq), (None, 1));
}
