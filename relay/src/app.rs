//! Assembly: opens the store, rebuilds routing from it, wires the service, the hub and the
//! edges into one axum app, and runs it until shutdown.

use crate::config::ServeArgs;
use crate::conversations::{works_for, Chat, ChatConfig, Publisher, Reactions};
use crate::fanout::Hub;
use crate::ratelimit::{FrameQuotas, IpLimiter, LoginThrottle};
use crate::routing::{LiveConversation, Router as Routing};
use crate::stream::Stream;
use crate::ws::connection::EdgeLimits;
use crate::{http, ws};
use anyhow::Context;
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_shared::ConversationStatus;
use switchboard_store::SharedStore;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

/// Shared state of every handler: cheap handles only.
#[derive(Clone)]
pub struct AppState {
    /// The conversation service (router, hub, the stream's readers inside).
    pub chat: Chat,
    /// The store, for the REST routes' plain reads and writes of records.
    pub store: SharedStore,
    /// New-connection limit per IP address.
    pub ip_limiter: IpLimiter,
    /// Frame quotas and the stalled-write limit every WebSocket connection shares.
    pub edge: Arc<EdgeLimits>,
    /// Failed logins per account and address; one password check per address at a time.
    pub logins: LoginThrottle,
    /// Development mode (localhost origins allowed).
    pub dev: bool,
    /// Owns every WebSocket connection task, so shutdown can wait for them.
    pub connections: TaskTracker,
}

pub struct Application {
    listener: TcpListener,
    app: Router,
    state: AppState,
    store: SharedStore,
    /// The committed stream's readers; they stop on shutdown, before the store closes.
    readers: TaskTracker,
    shutdown: CancellationToken,
    banner: Vec<String>,
    header_timeout: Duration,
    pending_per_ip: usize,
}

/// Opens the store and restores routing: queued conversations in their stored order,
/// active ones with their agents (who get a grace period to reconnect).
async fn open_store(
    url: &str,
    hub: &Hub,
    stream: &Stream,
) -> anyhow::Result<(SharedStore, Routing)> {
    let publisher = Publisher::new(hub.clone(), stream.clone());
    let store: SharedStore = switchboard_store::open(url, Arc::new(publisher))
        .await
        .with_context(|| format!("opening the database {}", switchboard_store::masked(url)))?;
    let agents = store.list_agents().await?;
    let open = store.open_conversations().await?;
    let handle_times = store.recent_handle_times(50).await?;
    let agent_sites = store.all_agent_sites().await?;
    let mut routing = Routing::restore(
        agents
            .iter()
            .filter(|a| !a.disabled)
            .map(|a| (a.id, a.display_name.clone(), a.max_concurrent_chats)),
        open.into_iter().map(|c| {
            let agent = if c.status == ConversationStatus::Active {
                c.agent_id
            } else {
                None
            };
            let mut live = LiveConversation::new(
                c.visitor_id,
                c.site_id.clone(),
                c.info.clone(),
                c.created_at,
                c.queued_at.unwrap_or(c.created_at),
            );
            live.agent = agent;
            live.assigned_at = c.assigned_at;
            (c.id, live, c.queue_rank)
        }),
        handle_times,
    );
    // Agents limited to sites.
    for agent in &agents {
        let sites: Vec<String> = agent_sites
            .iter()
            .filter(|(id, _)| *id == agent.id)
            .map(|(_, site)| site.clone())
            .collect();
        if let Some(sites) = works_for(agent.role, sites) {
            routing.set_agent_sites(agent.id, Some(Arc::from(sites)));
        }
    }
    Ok((store, routing))
}

/// Handshakes the kernel completes before the relay accepts them. std's `bind` (and so
/// tokio's) asks for 128, which a burst of new visitors overflows: the kernel then drops
/// SYNs and clients retry only after a second (the bench's connect steps showed it). The
/// kernel caps this at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As std's listener does: a restarted relay can bind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

impl Application {
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        if args.store.database_url.is_none() {
            std::fs::create_dir_all(&args.store.data_dir).with_context(|| {
                format!(
                    "creating the data directory {}",
                    args.store.data_dir.display()
                )
            })?;
        }
        let shutdown = CancellationToken::new();
        if args.hop_times || args.hop_times_file.is_some() {
            crate::hops::start(args.hop_times_file.clone(), shutdown.clone())?;
        }
        let hub = Hub::default();
        let stream = Stream::default();
        let (store, routing) = open_store(&args.store.url(), &hub, &stream).await?;
        let listener = bind(args.listen).with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        let mut banner = vec![format!("switchboard listening on http://{addr}")];
        if args.demo {
            banner.extend(crate::cli::seed_demo(&store, addr).await?);
        }
        let cfg = ChatConfig {
            agent_grace: Duration::from_millis(args.agent_grace_ms),
            visitor_resume: Duration::from_secs(args.visitor_resume_secs),
            session_ttl: Duration::from_secs(args.session_ttl_secs),
        };
        let chat = Chat::new(
            crate::auth::PasswordWorker::start()?,
            store.clone(),
            Arc::new(Mutex::new(routing)),
            hub,
            cfg,
            shutdown.clone(),
            Reactions {
                events: crate::webhooks::Events::start(
                    store.clone(),
                    args.webhooks(),
                    shutdown.clone(),
                )?,
                stream: stream.clone(),
            },
        );
        // Reactions to committed events (see `stream`).
        let readers = TaskTracker::new();
        stream.spawn(
            crate::stream::tickets::TicketConversion { chat: chat.clone() },
            store.clone(),
            shutdown.clone(),
            &readers,
        );
        stream.spawn(
            crate::stream::webhooks::ConversationWebhooks {
                events: chat.events().clone(),
            },
            store.clone(),
            shutdown.clone(),
            &readers,
        );
        readers.close();
        let state = AppState {
            chat,
            store: store.clone(),
            ip_limiter: IpLimiter::per_minute(args.ip_connections_per_minute),
            edge: Arc::new(EdgeLimits {
                quotas: FrameQuotas::new(args.site_frames_per_second),
                stalled_write: Duration::from_secs(args.stalled_write_secs.max(1)),
            }),
            logins: LoginThrottle::new(),
            dev: args.dev || args.demo,
            connections: TaskTracker::new(),
        };
        let mut app = ws::router().merge(http::router());
        if let Some(assets) = http::assets::router(args.assets_dir.as_deref()) {
            app = app.merge(assets);
        }
        // The address printed on start leads to a page, unless the static directory has one.
        let has_index = |path: &str| {
            args.static_dir
                .as_ref()
                .is_some_and(|d| d.join(path).is_file())
        };
        if !has_index("index.html") {
            app = app.merge(http::landing::router(http::landing::Served {
                console: args.assets_dir.is_some(),
                example: has_index("acme/index.html"),
            }));
        }
        let mut app = app.with_state(state.clone());
        if let Some(dir) = &args.static_dir {
            app = app.fallback_service(ServeDir::new(dir));
        }
        let app = app.layer(TraceLayer::new_for_http());
        Ok(Self {
            listener,
            app,
            state,
            store,
            readers,
            shutdown,
            banner,
            header_timeout: Duration::from_millis(args.header_read_timeout_ms.max(1)),
            pending_per_ip: args.pending_per_ip.max(1),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until SIGINT/SIGTERM, then closes every connection (1001), lets in-flight
    /// writes commit and closes the database.
    pub async fn run(self) -> anyhow::Result<()> {
        for line in &self.banner {
            println!("{line}");
        }
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested");
            shutdown.cancel();
        });
        let limiter = self.state.ip_limiter.clone();
        let edge = self.state.edge.clone();
        let sweeper_stop = self.shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        limiter.shrink();
                        edge.quotas.shrink();
                    }
                    _ = sweeper_stop.cancelled() => break,
                }
            }
        });
        // Connection gate and shares (listener.rs), served by our own loop (server.rs).
        let budget =
            crate::listener::connection_budget().unwrap_or(tokio::sync::Semaphore::MAX_PERMITS);
        let listener =
            crate::listener::GatedListener::new(self.listener, budget, self.pending_per_ip);
        crate::server::serve(
            listener,
            self.app,
            self.header_timeout,
            self.shutdown.clone(),
        )
        .await;
        let conns = self.state.connections.clone();
        conns.close();
        if tokio::time::timeout(Duration::from_secs(10), conns.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close within 10 s");
        }
        self.state.chat.wait_idle().await;
        self.readers.wait().await;
        self.state.chat.events().stopped().await;
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
