//! Near its open-file limit the relay refuses new connections cleanly (HTTP 503, a
//! rate-limited log line per kind of refusal) and keeps serving the chats it holds; once sockets close it admits
//! new ones again. The relay runs with a soft `RLIMIT_NOFILE` of 200 (inherited from this
//! process around the spawn), so the limit is reached with a few hundred sockets, in seconds.

use anyhow::{ensure, Context, Result};
use futures_util::future::join_all;
use std::net::IpAddr;
use std::time::Duration;
use switchboard_e2e::visitor::VisitorClient as V;
use switchboard_e2e::ws::ConnectError;
use switchboard_e2e::{AgentClient, Relay, VisitorClient};
use switchboard_shared::EventKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The relay's soft open-file limit in this test.
const RELAY_NOFILE: u64 = 200;
/// More sockets than the relay may hold under that limit.
const SOCKETS: usize = 300;

/// Sets this process's soft `RLIMIT_NOFILE` and returns the previous one.
fn set_soft_nofile(soft: u64) -> Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only the struct we pass.
    unsafe {
        ensure!(
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0,
            "getrlimit"
        );
        let old = lim.rlim_cur;
        lim.rlim_cur = soft.min(lim.rlim_max);
        ensure!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0, "setrlimit");
        Ok(old)
    }
}

/// Starts a relay whose soft open-file limit is `RELAY_NOFILE`; this process gets its own
/// limit back at once (the child keeps what it inherited).
async fn spawn_with_low_nofile() -> Result<Relay> {
    // Build/locate the binary first: cargo must not run under the low limit.
    tokio::task::spawn_blocking(switchboard_e2e::binary::relay_binary).await??;
    let old = set_soft_nofile(RELAY_NOFILE)?;
    let relay = Relay::spawn().await;
    set_soft_nofile(old)?;
    relay
}

/// How one raw socket was answered to `GET /healthz`.
#[derive(Debug, PartialEq)]
enum Answer {
    Ok,
    Unavailable,
    /// Closed (or reset) without a response: still not a hang.
    Closed,
    Other(String),
}

/// Opens a visitor WebSocket by hand from the loopback address `source` (so per-address
/// limits stay out of the way) and reads the status line. An admitted socket stays open (a
/// WebSocket the relay holds) in the returned stream.
async fn probe(port: u16, source: IpAddr) -> (Answer, Option<TcpStream>) {
    let connect = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind((source, 0).into())?;
        socket.connect(([127, 0, 0, 1], port).into()).await
    };
    let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(5), connect).await else {
        return (Answer::Closed, None);
    };
    let req = format!(
        "GET /ws/visitor HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nOrigin: {}\r\n\r\n",
        switchboard_e2e::SITE_ORIGIN
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return (Answer::Closed, None);
    }
    let mut buf = vec![0u8; 1024];
    match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if text.starts_with("HTTP/1.1 101") {
                (Answer::Ok, Some(s))
            } else if text.starts_with("HTTP/1.1 503") {
                (Answer::Unavailable, None)
            } else {
                (Answer::Other(text), None)
            }
        }
        Ok(_) => (Answer::Closed, None),
        Err(_) => (Answer::Other("no answer within 5 s (hang)".into()), None),
    }
}

#[tokio::test]
async fn at_the_open_file_limit_new_connections_get_503_and_held_chats_keep_working() -> Result<()>
{
    let relay = spawn_with_low_nofile().await?;
    let outcome: Result<()> = async {
        // A chat in progress before the limit is reached.
        let info = relay.add_agent("Anna", 2).await?;
        let (mut agent, _) = AgentClient::connect(&relay, &info).await?;
        let mut visitor = VisitorClient::started(&relay, "held").await?;
        visitor.expect_agent_joined().await?;
        let conv = agent.expect_assigned().await?.id;

        // Far more sockets than the budget, in parallel batches.
        let mut held = Vec::new();
        let mut answers = Vec::new();
        for round in 0..SOCKETS / 50 {
            let batch = join_all((0..50).map(|n| {
                let source = IpAddr::from([127, 0, 1 + round as u8, 1 + n as u8]);
                probe(relay.port(), source)
            }))
            .await;
            for (answer, stream) in batch {
                held.extend(stream);
                answers.push(answer);
            }
        }
        let ok = answers.iter().filter(|a| **a == Answer::Ok).count();
        let refused = answers.iter().filter(|a| **a == Answer::Unavailable).count();
        let closed = answers.iter().filter(|a| **a == Answer::Closed).count();
        let other: Vec<_> = answers
            .iter()
            .filter(|a| matches!(a, Answer::Other(_)))
            .collect();
        eprintln!(
            "{SOCKETS} sockets: {ok} admitted, {refused} refused with 503, {closed} closed, {} other",
            other.len()
        );
        ensure!(other.is_empty(), "unexpected answers: {:?}", &other[..other.len().min(3)]);
        ensure!(
            ok >= 50 && (ok as u64) < RELAY_NOFILE,
            "admitted {ok} of {SOCKETS} (the budget is the limit minus a reserve)"
        );
        ensure!(
            refused >= SOCKETS - RELAY_NOFILE as usize && refused * 10 >= (SOCKETS - ok) * 9,
            "only {refused} refusals with 503 ({closed} closed without a response)"
        );

        // A new WebSocket is refused the same way, with a status the widget can back off on.
        match V::connect_from(&relay, "late", switchboard_e2e::SITE_ORIGIN).await {
            Err(ConnectError::Refused(status)) => ensure!(
                status.as_u16() == 503,
                "a visitor beyond the limit got HTTP {status}"
            ),
            Err(e) => anyhow::bail!("a visitor beyond the limit: {e}"),
            Ok(_) => anyhow::bail!("a visitor beyond the limit was admitted"),
        }

        // The chat held all along still works both ways.
        visitor.send("still there?").await?;
        agent
            .expect_event(conv, "the visitor's message", |e| {
                matches!(e, EventKind::Message { body, .. } if body == "still there?")
            })
            .await?;
        agent.send(conv, "yes").await?;
        visitor
            .expect_event("the agent's reply", |e| {
                matches!(e, EventKind::Message { body, .. } if body == "yes")
            })
            .await?;

        // One warning for the whole burst (rate-limited), not one per refusal.
        let log = std::fs::read_to_string(relay.log_path()).context("reading the relay log")?;
        let warnings = log.matches("refusing").count();
        ensure!(
            (1..=4).contains(&warnings),
            "{warnings} refusal warnings logged for {refused} refusals"
        );

        // Sockets close: their slots come back and a new visitor gets a chat.
        drop(held);
        let mut admitted = None;
        for _ in 0..50 {
            if let Ok(v) = VisitorClient::started(&relay, "after").await {
                admitted = Some(v);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut after = admitted.context("no visitor admitted after the sockets closed")?;
        after.expect_agent_joined().await?;
        after.send("hello after the storm").await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
