//! A fresh database per test and backend, opened through `switchboard_store::open` only.
//!
//! SQLite: a file in a temp dir of the test's own. PostgreSQL: a schema `sb_conf_<hex>` in
//! the database `SWITCHBOARD_TEST_DATABASE_URL` names, reached with
//! `options[search_path]=<schema>`, so tests run side by side without seeing each other's
//! rows and every store migrates an empty schema. The schema is dropped (`CASCADE`) when
//! the test ends, also when it panics: the test runs as a task of its own, its panic is
//! caught at the join, the database cleaned up, and the panic resumed.

use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use switchboard_shared::{ConversationId, EventKind, Seq};
use switchboard_store::{CommitListener, Committed, SharedStore, StoredEvent};
use tempfile::TempDir;

/// The PostgreSQL database the schemas are created in, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const URL_VAR: &str = "SWITCHBOARD_TEST_DATABASE_URL";
/// Every schema this suite creates starts with this, so leftovers are easy to find.
const SCHEMA_PREFIX: &str = "sb_conf_";
/// How long closing a store may take before the suite says so instead of hanging.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long dropping a schema may wait for the locks of a store that did not close.
const DROP_LOCK_TIMEOUT: &str = "10s";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `test` on a fresh database of `backend`, then closes the store and removes the
/// database, whether the test passed or panicked (the panic is resumed afterwards).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let place = match backend {
        Backend::Sqlite => Place::Sqlite(tempfile::tempdir().expect("temp dir")),
        Backend::Postgres => match std::env::var(URL_VAR) {
            Ok(base) if !base.trim().is_empty() => Place::Postgres(Schema::create(&base).await),
            _ => {
                static SAID: Once = Once::new();
                // Straight to stderr: libtest would swallow a print of a passing test.
                SAID.call_once(|| {
                    let _ = writeln!(
                        std::io::stderr(),
                        "conformance: PostgreSQL skipped ({URL_VAR} unset)"
                    );
                });
                return;
            }
        },
    };
    let place = Arc::new(place);
    let current = Arc::new(Mutex::new(None));
    let db = Db::open(
        place.clone(),
        Arc::new(Recorder::default()),
        current.clone(),
    )
    .await;
    let outcome = tokio::spawn(test(db)).await;

    // Whatever store the test left open (it may have reopened) is closed before its
    // database goes away.
    let last = current.lock().unwrap().take();
    if let Some(store) = last {
        if tokio::time::timeout(CLOSE_TIMEOUT, store.close())
            .await
            .is_err()
        {
            let _ = writeln!(
                std::io::stderr(),
                "conformance: close() hung after the test"
            );
        }
    }
    if let Place::Postgres(schema) = &*place {
        schema.drop_now().await;
    }
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Where a test's database lives.
enum Place {
    Sqlite(TempDir),
    Postgres(Schema),
}

impl Place {
    fn url(&self) -> String {
        match self {
            Place::Sqlite(dir) => {
                format!("sqlite://{}", dir.path().join("conformance.db").display())
            }
            Place::Postgres(schema) => schema.url.clone(),
        }
    }
}

/// A test's view of its database: the open store and what its listener saw.
pub struct Db {
    pub store: SharedStore,
    /// Every event the store reported as committed, across reopens.
    pub recorder: Arc<Recorder>,
    place: Arc<Place>,
    /// The store currently open, for the harness to close after the test.
    current: Arc<Mutex<Option<SharedStore>>>,
}

impl Db {
    async fn open(
        place: Arc<Place>,
        recorder: Arc<Recorder>,
        current: Arc<Mutex<Option<SharedStore>>>,
    ) -> Db {
        let url = place.url();
        let store = switchboard_store::open(&url, recorder.clone())
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
        *current.lock().unwrap() = Some(store.clone());
        Db {
            store,
            recorder,
            place,
            current,
        }
    }

    /// Closes the store and opens the same database again (same file, same schema), with
    /// the same recorder.
    pub async fn reopen(self) -> Db {
        self.store.close().await;
        let Db {
            store,
            recorder,
            place,
            current,
        } = self;
        drop(store);
        Db::open(place, recorder, current).await
    }
}

/// Remembers every event the store reports, with its log position, and checks that the
/// JSON text it gets is the event.
#[derive(Default)]
pub struct Recorder {
    seen: Mutex<Vec<(i64, StoredEvent)>>,
}

impl CommitListener for Recorder {
    fn committed(&self, events: &[Committed<'_>]) {
        let mut batch = Vec::with_capacity(events.len());
        for c in events {
            let decoded: EventKind = serde_json::from_str(c.event_json).expect("event_json");
            assert_eq!(decoded, c.event.event, "event_json is the event");
            batch.push((c.pos, c.event.clone()));
        }
        self.seen.lock().unwrap().extend(batch);
    }
}

impl Recorder {
    /// Every reported event in the order reported.
    pub fn events(&self) -> Vec<StoredEvent> {
        let seen = self.seen.lock().unwrap();
        seen.iter().map(|(_, e)| e.clone()).collect()
    }

    /// Every reported event with its log position, in the order reported.
    pub fn positions(&self) -> Vec<(i64, StoredEvent)> {
        self.seen.lock().unwrap().clone()
    }

    pub fn has(&self, id: ConversationId, seq: Seq) -> bool {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .any(|(_, e)| e.conversation_id == id && e.seq == seq)
    }
}

/// A PostgreSQL schema of the test's own. Dropped by [`Schema::drop_now`] after the test;
/// if that never ran (a panic while opening), `Drop` does it on a thread of its own.
struct Schema {
    name: String,
    base_url: String,
    url: String,
    dropped: AtomicBool,
}

impl Schema {
    async fn create(base_url: &str) -> Schema {
        let name = format!("{SCHEMA_PREFIX}{:016x}", random());
        let mut conn = PgConnection::connect(base_url)
            .await
            .unwrap_or_else(|e| panic!("{URL_VAR}: cannot connect: {e}"));
        // The name is ours (prefix + hex): no quoting needed.
        conn.execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("creating schema {name}: {e}"));
        let _ = conn.close().await;
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options[search_path]={name}");
        Schema {
            name,
            base_url: base_url.to_string(),
            url,
            dropped: AtomicBool::new(false),
        }
    }

    async fn drop_now(&self) {
        if self.dropped.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = drop_schema(&self.base_url, &self.name).await {
            let _ = writeln!(
                std::io::stderr(),
                "conformance: schema {} left behind: {e}",
                self.name
            );
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if self.dropped.swap(true, Ordering::SeqCst) {
            return;
        }
        let (base, name) = (self.base_url.clone(), self.name.clone());
        // A runtime of its own on a thread of its own: this may run inside a test's runtime.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(drop_schema(&base, &name))
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "conformance: schema {} left behind",
                self.name
            );
        }
    }
}

async fn drop_schema(base_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(base_url).await?;
    conn.execute(format!("SET lock_timeout = '{DROP_LOCK_TIMEOUT}'").as_str())
        .await?;
    conn.execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
        .await?;
    let _ = conn.close().await;
    Ok(())
}

/// 64 random-enough bits for a schema name without a dependency: the process's random
/// hash seed, the clock, the process id and a counter.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.finish()
}
