//! The conversation service: the domain between the edges (ws/, http/) and the store. It
//! asks the router for decisions, makes them durable, and tells the clients through the hub.
//! It knows no HTTP or WebSocket types beyond the pre-encoded frames the hub carries.
//!
//! - [`lifecycle`]: start, assign, transfer, requeue, end, leave a message.
//! - [`messages`]: chat messages, typing, receipts.
//! - [`agents`]: login sessions, presence, caps, the grace period.
//! - [`visitors`]: visitor identity and their conversation.
//! - [`publish`]: committed events to subscribers; queue, availability and load updates.

mod agents;
mod lifecycle;
mod messages;
mod publish;
mod sites;
mod visitors;

pub use agents::works_for;
pub use publish::{encode, event_frame, Publisher};
pub use visitors::VisitorIdentity;

use crate::fanout::Hub;
use crate::routing::Router;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use switchboard_shared::ErrorCode;
use switchboard_store::{SharedStore, StoreError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The client asked for something the rules refuse; the code goes back to it.
    #[error("refused: {0:?}")]
    Refused(ErrorCode),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

impl ChatError {
    /// The code a client sees; internal failures are logged here and hidden behind
    /// `internal`.
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::Refused(code) => *code,
            ChatError::Store(StoreError::Invalid(_)) => ErrorCode::InvalidField,
            // Nothing was stored (the database is unreachable or the relay is stopping):
            // the client keeps the frame and resends it.
            ChatError::Store(
                StoreError::CommitFailed(_)
                | StoreError::Closed
                | StoreError::Unreachable { .. }
                | StoreError::Backend(_),
            ) => {
                tracing::warn!(error = %self, "refused: the store is unavailable");
                ErrorCode::Unavailable
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ErrorCode::Internal
            }
        }
    }
}

impl From<ErrorCode> for ChatError {
    fn from(code: ErrorCode) -> Self {
        ChatError::Refused(code)
    }
}

pub type ChatResult<T> = Result<T, ChatError>;

#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// How long a disconnected agent keeps their chats.
    pub agent_grace: Duration,
    /// How long a visitor can return to the same conversation.
    pub visitor_resume: Duration,
    /// Agent login session lifetime.
    pub session_ttl: Duration,
}

/// What reacts to the service's changes beyond the connections: webhooks, and the readers
/// of the committed stream.
pub struct Reactions {
    pub events: crate::webhooks::Events,
    pub stream: crate::stream::Stream,
}

/// Cheap cloneable handle to the conversation service.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    /// Routing decisions; std mutex, never held across `.await`.
    router: Arc<Mutex<Router>>,
    hub: Hub,
    cfg: ChatConfig,
    /// Grace timers select on this so shutdown does not wait for them.
    shutdown: CancellationToken,
    /// Owns the grace timers.
    tasks: TaskTracker,
    /// Password hashing and checking, on its own thread.
    passwords: crate::auth::PasswordWorker,
    /// Where conversation (and, through `Tickets`, ticket) events go out as webhooks.
    events: crate::webhooks::Events,
    /// Serialises the start of conversations (see `start_conversation`).
    intake: tokio::sync::Mutex<()>,
    /// What the last queue announcement said, to send only changes.
    announced: Mutex<publish::Announced>,
    /// Wakes the queue announcer (coalesced; see `publish`).
    queue_dirty: tokio::sync::Notify,
    /// Sites as the hello path reads them (see `sites`).
    sites: sites::SiteCache,
    /// The readers of the committed stream (tickets, webhooks), to wait for their reaction.
    stream: crate::stream::Stream,
}

impl Chat {
    /// `router` must already be restored from the store (see `app::build`). Starts grace
    /// timers for agents who held chats when the relay stopped.
    pub fn new(
        passwords: crate::auth::PasswordWorker,
        store: SharedStore,
        router: Arc<Mutex<Router>>,
        hub: Hub,
        cfg: ChatConfig,
        shutdown: CancellationToken,
        Reactions { events, stream }: Reactions,
    ) -> Self {
        let chat = Chat {
            inner: Arc::new(Inner {
                store,
                router,
                hub,
                cfg,
                shutdown,
                tasks: TaskTracker::new(),
                passwords,
                events,
                intake: tokio::sync::Mutex::new(()),
                announced: Mutex::default(),
                queue_dirty: tokio::sync::Notify::new(),
                sites: sites::SiteCache::default(),
                stream,
            }),
        };
        chat.inner.tasks.spawn(chat.clone().announce_queue_loop());
        let pending = chat.router().disconnected_with_chats();
        for (agent, generation) in pending {
            chat.start_grace_timer(agent, generation);
        }
        chat
    }

    fn router(&self) -> MutexGuard<'_, Router> {
        self.inner.router.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    pub fn events(&self) -> &crate::webhooks::Events {
        &self.inner.events
    }

    pub fn stream(&self) -> &crate::stream::Stream {
        &self.inner.stream
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Waits for background timers to notice shutdown.
    pub async fn wait_idle(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}
