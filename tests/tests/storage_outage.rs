//! The database goes away while the relay serves (PostgreSQL; issue 18): the relay keeps
//! running, refuses new messages with `unavailable` (the client keeps them and resends),
//! acknowledges nothing it did not store, reconnects by itself once the database is back,
//! and then stores each resent message exactly once.
//!
//! The cut is a TCP proxy between relay and server that drops every connection and refuses
//! new ones (as a server restart or a lost route does), then lets them through again; the
//! shared server itself is never stopped.

use anyhow::{bail, ensure, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_e2e::database::Backend;
use switchboard_e2e::{AgentClient, Relay, RelayOptions, VisitorClient};
use switchboard_shared::{ClientMsgId, ErrorCode, EventKind, ServerFrame, VisitorCommand};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy that can cut every connection through it and refuse new ones.
struct Cut {
    port: u16,
    refusing: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Cut {
    async fn start(upstream: String) -> Result<Cut> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let refusing = Arc::new(AtomicBool::new(false));
        let pipes: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (r, p) = (refusing.clone(), pipes.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                p.lock().unwrap_or_else(|e| e.into_inner()).push(pipe);
            }
        });
        Ok(Cut {
            port,
            refusing,
            pipes,
            accept,
        })
    }

    /// Drops every connection through the proxy and refuses new ones.
    fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        for pipe in self
            .pipes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

#[tokio::test]
async fn messages_during_a_database_outage_are_refused_then_stored_once_after_it() -> Result<()> {
    if Backend::from_env()? != Backend::Postgres {
        eprintln!("skipped on SQLite: a database server outage needs a server (PostgreSQL)");
        return Ok(());
    }
    let upstream = switchboard_e2e::database::server_address()?;
    let proxy = Cut::start(upstream).await?;
    let relay = Relay::spawn_with(RelayOptions {
        database_port: Some(proxy.port),
        ..Default::default()
    })
    .await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 2).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v = VisitorClient::started(&relay, "Vera").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        v.send("eins").await?;

        proxy.cut();
        // Refused, not acknowledged: the relay cannot store it.
        let two = ClientMsgId::try_from("outage-2".to_string()).map_err(anyhow::Error::msg)?;
        let refused_at = Instant::now();
        let code = v
            .refused(&VisitorCommand::Send {
                client_id: two.clone(),
                body: "zwei".into(),
            })
            .await?;
        ensure!(code == ErrorCode::Unavailable, "refused with {code:?}");

        proxy.restore();
        // The widget resends what is in its outbox; the relay is back without a restart.
        let deadline = Instant::now() + Duration::from_secs(30);
        let (seq, duplicate) = loop {
            v.send_cmd(&VisitorCommand::Send {
                client_id: two.clone(),
                body: "zwei".into(),
            })
            .await?;
            let frame = v
                .expect("sent or an error", |f| {
                    matches!(f, ServerFrame::Sent { client_id, .. } if *client_id == two)
                        || matches!(f, ServerFrame::Error { .. })
                })
                .await?;
            match frame {
                ServerFrame::Sent { seq, duplicate, .. } => break (seq, duplicate),
                other if Instant::now() > deadline => bail!("still refused: {other:?}"),
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        ensure!(
            !duplicate,
            "the refused message was stored after all (seq {seq})"
        );
        let recovered = refused_at.elapsed();
        v.send("drei").await?;

        // Each message once, in order, for the agent too.
        let mut bodies = Vec::new();
        while bodies.len() < 3 {
            let (_, ev) = a
                .expect_event(conv, "a message", |e| {
                    matches!(e, EventKind::Message { .. })
                })
                .await?;
            if let EventKind::Message { body, .. } = ev {
                bodies.push(body);
            }
        }
        ensure!(bodies == ["eins", "zwei", "drei"], "agent saw {bodies:?}");
        let token = relay.login(&anna).await?.token;
        let transcript: Vec<String> = relay
            .history(&token, conv)
            .await?
            .into_iter()
            .filter_map(|e| match e.event {
                EventKind::Message { body, .. } => Some(body),
                _ => None,
            })
            .collect();
        ensure!(
            transcript == ["eins", "zwei", "drei"],
            "stored transcript {transcript:?}"
        );
        eprintln!("recovered {recovered:?} after the cut");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
