//! Isolation, authentication and hostile input: nobody reaches a conversation that is not
//! theirs, revoked tokens stop working, foreign origins are refused, and every malformed
//! frame gets its error code without hurting anyone else on the relay.

use anyhow::{anyhow, bail, ensure, Result};
use std::time::Duration;
use switchboard_e2e::ws::ConnectError;
use switchboard_e2e::{
    AgentClient, Incoming, Relay, VisitorClient, WsConn, DEFAULT_TIMEOUT, SITE_ORIGIN,
};
use switchboard_shared::limits::{MAX_FIELD_CHARS, MAX_FRAME_BYTES, MAX_MESSAGE_CHARS};
use switchboard_shared::{
    AgentCommand, AgentId, ConversationId, ErrorCode, EventKind, ServerFrame,
};

fn is_message(f: &ServerFrame) -> bool {
    matches!(
        f,
        ServerFrame::Event {
            event: EventKind::Message { .. },
            ..
        }
    )
}

#[tokio::test]
async fn nobody_can_read_or_write_a_conversation_that_is_not_theirs() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let ben = relay.add_agent("Ben", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v1 = VisitorClient::started(&relay, "victim").await?;
        v1.expect_agent_joined().await?;
        let conv1 = a.expect_assigned().await?.id;
        v1.send("meine Kundennummer ist K-1").await?;
        let (mut b, _) = AgentClient::connect(&relay, &ben).await?;
        let mut v2 = VisitorClient::started(&relay, "thief").await?;
        v2.expect_agent_joined().await?;
        let conv2 = b.expect_assigned().await?.id;
        let before = relay.history(&a.token, conv1).await?;
        // Let the echoes of the victim's own message arrive, so only new frames count below.
        v1.expect_event("the echo of its own message", |e| {
            matches!(e, EventKind::Message { .. })
        })
        .await?;
        a.expect_event(conv1, "the victim's message", |e| {
            matches!(e, EventKind::Message { .. })
        })
        .await?;

        // A visitor frame has no conversation id; smuggling one in is refused outright.
        v2.raw_text(format!(
            r#"{{"type":"send","conversation_id":{conv1},"client_id":"steal-1","body":"hallo"}}"#
        ))
        .await?;
        let (code, _) = v2.conn.expect_error().await?;
        ensure!(
            code == ErrorCode::InvalidField,
            "send with a foreign conversation_id answered {code:?}"
        );
        // A guessed token is refused; no hello means no conversation.
        let mut forger = VisitorClient::connect(&relay, "forger").await?;
        forger.token = Some("0".repeat(64));
        forger
            .raw_text(format!(
                r#"{{"type":"hello","protocol":1,"site":"acme","token":"{}","last_seq":0}}"#,
                "0".repeat(64)
            ))
            .await?;
        let (code, _) = forger.conn.expect_error().await?;
        ensure!(
            code == ErrorCode::InvalidToken,
            "forged token answered {code:?}"
        );

        // Agent Ben cannot touch Anna's conversation by id.
        let client_id = b.next_client_id();
        for cmd in [
            AgentCommand::Send {
                conversation_id: conv1,
                client_id,
                body: "Hallo".into(),
            },
            AgentCommand::EndConversation {
                conversation_id: conv1,
            },
            AgentCommand::Transfer {
                conversation_id: conv1,
                to_agent: ben.id,
            },
            AgentCommand::Read {
                conversation_id: conv1,
                seq: 1,
            },
        ] {
            let code = b.refused(&cmd).await?;
            ensure!(
                code == ErrorCode::UnknownConversation,
                "{cmd:?} answered {code:?}"
            );
        }
        let (status, _) = relay.conversation_status(&b.token, conv1).await?;
        ensure!(status == 404, "Ben reading Anna's transcript: {status}");
        let (status, _) = relay
            .conversation_status(&b.token, ConversationId(999_999))
            .await?;
        ensure!(status == 404, "a transcript that does not exist: {status}");
        let (status, _) = relay.conversation_status(&a.token, conv2).await?;
        ensure!(status == 404, "Anna reading Ben's transcript: {status}");

        // Nothing reached the victim, and the stored conversation is unchanged.
        v1.conn.expect_none("a message", is_message).await?;
        a.conn.expect_none("a foreign message", is_message).await?;
        ensure!(
            relay.history(&a.token, conv1).await? == before,
            "conversation {conv1} changed"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn logging_out_revokes_the_session_for_rest_and_websockets() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let (status, _) = relay.list_agents(&a.token).await?;
        ensure!(
            status == 200,
            "GET /api/v1/agents with a fresh session: {status}"
        );
        let (status, _) = relay.login_status(&anna.email, "wrong password").await?;
        ensure!(status == 401, "login with a wrong password: {status}");

        let status = relay.logout(&a.token).await?;
        ensure!(status == 204, "logout answered {status}");
        // The open console is closed as revoked.
        let code = a.conn.expect_closed(DEFAULT_TIMEOUT).await?;
        ensure!(
            code == Some(4003),
            "open agent socket closed with {code:?} after logout, expected 4003"
        );
        let (status, _) = relay.list_agents(&a.token).await?;
        ensure!(status == 401, "GET /api/v1/agents after logout: {status}");
        let mut again = AgentClient::connect_with_token(&relay, &anna, &a.token).await?;
        again
            .raw_text(format!(
                r#"{{"type":"hello","protocol":1,"token":"{}"}}"#,
                a.token
            ))
            .await?;
        let (code, _) = again.conn.expect_error().await?;
        ensure!(
            code == ErrorCode::InvalidToken,
            "hello with a revoked token answered {code:?}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_visitor_from_an_origin_the_site_does_not_list_is_refused() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        match VisitorClient::connect_from(&relay, "intruder", "https://evil.example").await {
            Err(ConnectError::Refused(status)) => {
                ensure!(
                    status == 403,
                    "upgrade from a foreign origin refused with {status}, expected 403"
                );
            }
            Err(ConnectError::Other(e)) => bail!("connecting failed: {e:#}"),
            Ok(mut v) => {
                v.raw_text(r#"{"type":"hello","protocol":1,"site":"acme"}"#)
                    .await?;
                match v.conn.recv(DEFAULT_TIMEOUT).await? {
                    Incoming::Frame(ServerFrame::Error {
                        code: ErrorCode::OriginNotAllowed,
                        ..
                    }) => {
                        let code = v.conn.expect_closed(DEFAULT_TIMEOUT).await?;
                        ensure!(
                            code == Some(1008),
                            "closed with {code:?} after origin_not_allowed, expected 1008"
                        );
                    }
                    other => bail!("hello from a foreign origin answered {other:?}"),
                }
            }
        }
        // The listed origin still works.
        VisitorClient::greeted(&relay, "customer").await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed_with_4001() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let mut conn = WsConn::connect(&relay.ws_url("/ws/visitor"), Some(SITE_ORIGIN), "silent")
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let code = conn.expect_closed(Duration::from_secs(15)).await?;
        ensure!(code == Some(4001), "silent connection closed with {code:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// Frames sent at once in the flood row: over FRAME_BURST (40), under 40 + 20 strikes.
const FLOOD_BURST: usize = 52;

#[derive(Clone, Copy, Debug)]
enum Side {
    Visitor,
    Agent,
}

/// What a row's connection has done before the bad input.
#[derive(Clone, Copy, Debug)]
enum Setup {
    /// Connected, no hello.
    Fresh,
    /// Hello done, no conversation (the agent: hello done).
    Greeted,
    /// Visitor: a conversation started. Agent: holds the main conversation.
    InChat,
}

#[derive(Clone, Debug)]
enum Input {
    Text(String),
    Binary(Vec<u8>),
    /// The same frame many times in a row, as fast as possible.
    Flood(String, usize),
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    Error(ErrorCode),
    /// The protocol does not say; either this error or no error at all is acceptable.
    ErrorOrNothing(ErrorCode),
    Close(u16),
    /// At least one such error, after which the relay may close with 1008.
    ErrorThenMaybeClose(ErrorCode),
}

struct Row {
    what: &'static str,
    side: Side,
    setup: Setup,
    input: Input,
    expect: Expect,
}

fn row(what: &'static str, side: Side, setup: Setup, input: Input, expect: Expect) -> Row {
    Row {
        what,
        side,
        setup,
        input,
        expect,
    }
}

fn text(s: impl Into<String>) -> Input {
    Input::Text(s.into())
}

fn send_body(body: &str) -> Input {
    text(serde_json::json!({"type":"send","client_id":"bad-1","body":body}).to_string())
}

fn table(conv: ConversationId) -> Vec<Row> {
    use Expect::*;
    use Setup::*;
    use Side::*;
    let long_name = "n".repeat(MAX_FIELD_CHARS + 1);
    vec![
        row("malformed JSON", Visitor, Greeted, text(r#"{"type":"send","#), Error(ErrorCode::BadJson)),
        row("unknown type", Visitor, Greeted, text(r#"{"type":"dance"}"#), Error(ErrorCode::UnknownType)),
        row("a frame as a JSON array (tag first)", Visitor, Greeted, text(r#"["ping"]"#), Error(ErrorCode::UnknownType)),
        row("a send as a JSON array", Visitor, InChat, text(r#"["send","arr-1","Hallo"]"#), Error(ErrorCode::UnknownType)),
        row("agent command on the visitor endpoint", Visitor, Greeted, text(r#"{"type":"set_presence","presence":"online"}"#), Error(ErrorCode::WrongEndpoint)),
        row("visitor command on the agent endpoint", Agent, Greeted, text(r#"{"type":"start_conversation"}"#), Error(ErrorCode::WrongEndpoint)),
        row("missing field", Visitor, InChat, text(r#"{"type":"send","body":"hallo"}"#), Error(ErrorCode::InvalidField)),
        row("wrong field type", Visitor, InChat, text(r#"{"type":"send","client_id":"bad-2","body":5}"#), Error(ErrorCode::InvalidField)),
        row("unknown field", Visitor, InChat, text(r#"{"type":"typing","active":true,"x":1}"#), Error(ErrorCode::InvalidField)),
        row("empty body", Visitor, InChat, send_body("   \n "), Error(ErrorCode::EmptyBody)),
        row("body over MAX_MESSAGE_CHARS", Visitor, InChat, send_body(&"ä".repeat(MAX_MESSAGE_CHARS + 1)), Error(ErrorCode::BodyTooLong)),
        row("control character in the body", Visitor, InChat, send_body("a\u{0}b"), Error(ErrorCode::InvalidField)),
        row("name over MAX_FIELD_CHARS", Visitor, Greeted, text(serde_json::json!({"type":"start_conversation","name":long_name}).to_string()), Error(ErrorCode::FieldTooLong)),
        row("binary frame", Visitor, Greeted, Input::Binary(b"{\"type\":\"ping\"}".to_vec()), Error(ErrorCode::BinaryNotSupported)),
        row("send before hello", Visitor, Fresh, send_body("hallo"), Error(ErrorCode::HelloRequired)),
        row("ping before hello on the agent endpoint", Agent, Fresh, text(r#"{"type":"ping"}"#), Error(ErrorCode::HelloRequired)),
        row("second hello", Visitor, Greeted, text(r#"{"type":"hello","protocol":1,"site":"acme"}"#), Error(ErrorCode::AlreadyGreeted)),
        row("wrong protocol version", Visitor, Fresh, text(r#"{"type":"hello","protocol":2,"site":"acme"}"#), Error(ErrorCode::UnsupportedVersion)),
        row("unknown site", Visitor, Fresh, text(r#"{"type":"hello","protocol":1,"site":"nope"}"#), Error(ErrorCode::UnknownSite)),
        row("unknown agent token", Agent, Fresh, text(r#"{"type":"hello","protocol":1,"token":"not-a-token"}"#), Error(ErrorCode::InvalidToken)),
        row("client_id with a space", Visitor, InChat, text(r#"{"type":"send","client_id":"a b","body":"hallo"}"#), Error(ErrorCode::InvalidField)),
        row("client_id over 64 characters", Visitor, InChat, text(serde_json::json!({"type":"send","client_id":"c".repeat(65),"body":"hallo"}).to_string()), Error(ErrorCode::InvalidField)),
        // protocol.rs only says `ack` means "everything up to seq has reached the client";
        // acknowledging a seq that does not exist yet is nonsense, and the relay may refuse it
        // (invalid_field) or ignore it. It must not be an error of any other kind.
        row("ack for a future seq", Visitor, InChat, text(r#"{"type":"ack","seq":999999}"#), ErrorOrNothing(ErrorCode::InvalidField)),
        row("send without a conversation", Visitor, Greeted, send_body("hallo"), Error(ErrorCode::NoConversation)),
        row("second start_conversation", Visitor, InChat, text(r#"{"type":"start_conversation"}"#), Error(ErrorCode::ConversationExists)),
        row("send to a conversation id that does not exist", Agent, Greeted, text(serde_json::json!({"type":"send","conversation_id":999999,"client_id":"a-x","body":"hallo"}).to_string()), Error(ErrorCode::UnknownConversation)),
        row("transfer to an unknown agent", Agent, InChat, text(serde_json::json!({"type":"transfer","conversation_id":conv,"to_agent":999999}).to_string()), Error(ErrorCode::UnknownAgent)),
        row("invalid presence value", Agent, Greeted, text(r#"{"type":"set_presence","presence":"asleep"}"#), Error(ErrorCode::InvalidField)),
        row("frame over MAX_FRAME_BYTES", Visitor, Greeted, send_body(&"x".repeat(MAX_FRAME_BYTES + 100)), Close(1009)),
        row("flood of pings", Visitor, Greeted, Input::Flood(r#"{"type":"ping"}"#.into(), FLOOD_BURST), ErrorThenMaybeClose(ErrorCode::RateLimited)),
    ]
}

/// Opens the row's connection in the state its setup names.
async fn prepare(relay: &Relay, agent: &AgentClient, r: &Row, n: usize) -> Result<WsConn> {
    let label = format!("row{n}");
    match r.side {
        Side::Visitor => {
            let mut v = VisitorClient::connect(relay, &label).await?;
            if !matches!(r.setup, Setup::Fresh) {
                v.hello().await?;
            }
            if matches!(r.setup, Setup::InChat) {
                v.start().await?;
            }
            Ok(v.conn)
        }
        Side::Agent => {
            let mut a = AgentClient::connect_with_token(relay, &agent.info, &agent.token).await?;
            if !matches!(r.setup, Setup::Fresh) {
                a.hello(Vec::new()).await?;
            }
            Ok(a.conn)
        }
    }
}

async fn check_row(conn: &mut WsConn, r: &Row) -> Result<()> {
    match &r.input {
        Input::Text(t) => conn.send_text(t.clone()).await?,
        Input::Binary(b) => conn.send_binary(b.clone()).await?,
        Input::Flood(t, n) => {
            for _ in 0..*n {
                if conn.send_text(t.clone()).await.is_err() {
                    break; // closed under us: judged below
                }
            }
        }
    }
    match r.expect {
        Expect::Error(want) => {
            let (code, _) = conn.expect_error().await?;
            ensure!(code == want, "answered {code:?}, expected {want:?}");
        }
        Expect::ErrorOrNothing(allowed) => {
            if matches!(r.setup, Setup::Fresh) {
                bail!("ErrorOrNothing needs a greeted connection");
            }
            // Read up to the pong of a barrier ping; any error on the way must be `allowed`.
            conn.send_text(r#"{"type":"ping"}"#).await?;
            loop {
                match conn.next_frame().await? {
                    ServerFrame::Pong => break,
                    ServerFrame::Error { code, .. } => {
                        ensure!(
                            code == allowed,
                            "answered {code:?}, expected {allowed:?} or nothing"
                        )
                    }
                    _ => {}
                }
            }
        }
        Expect::Close(want) => {
            let code = conn.expect_closed(DEFAULT_TIMEOUT).await?;
            ensure!(code == Some(want), "closed with {code:?}, expected {want}");
            return Ok(());
        }
        Expect::ErrorThenMaybeClose(want) => {
            // The burst (sent without reading) is bigger than FRAME_BURST but smaller than
            // FRAME_BURST + RATE_STRIKES_BEFORE_CLOSE, so some frames are refused and the
            // connection survives. (A larger unread burst would make the relay close a socket
            // with unread input, which resets TCP and can swallow the close frame.)
            let mut refused = 0;
            let mut answered = 0;
            while answered < FLOOD_BURST {
                match conn.next_frame().await? {
                    ServerFrame::Pong => answered += 1,
                    ServerFrame::Error { code, .. } if code == want => {
                        refused += 1;
                        answered += 1;
                    }
                    other => bail!("flood answered {other:?}"),
                }
            }
            ensure!(
                refused > 0,
                "a burst of {FLOOD_BURST} frames got no {want:?}"
            );
            // Keep going in lock-step: every frame refused. The relay may close with 1008
            // after enough strikes; if it does, it must be 1008.
            for _ in 0..100 {
                if conn.send_text(r#"{"type":"ping"}"#).await.is_err() {
                    break;
                }
                match conn.recv(DEFAULT_TIMEOUT).await? {
                    Incoming::Closed(code) => {
                        ensure!(
                            code == Some(1008),
                            "flooding connection closed with {code:?}, expected 1008"
                        );
                        return Ok(());
                    }
                    Incoming::Frame(
                        ServerFrame::Pong
                        | ServerFrame::Error {
                            code: ErrorCode::RateLimited,
                            ..
                        },
                    ) => {}
                    Incoming::Frame(other) => bail!("flood answered {other:?}"),
                }
            }
            if let Some(code) = conn.closed() {
                ensure!(
                    code == Some(1008),
                    "flooding connection closed with {code:?}, expected 1008"
                );
            }
            return Ok(());
        }
    }
    // The connection is still usable: greeted ones answer ping, fresh ones still take hello.
    if matches!(r.setup, Setup::Fresh) {
        ensure!(
            conn.closed().is_none(),
            "connection closed after {:?}",
            r.expect
        );
    } else {
        conn.sync()
            .await
            .map_err(|e| anyhow!("connection unusable afterwards: {e:#}"))?;
    }
    Ok(())
}

#[tokio::test]
async fn every_bad_input_is_refused_with_its_error_code_and_the_relay_keeps_serving_everyone(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v = VisitorClient::started(&relay, "regular").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        let s1 = v.send("Guten Tag").await?;
        let s2 = a.send(conv, "Hallo, wie kann ich helfen?").await?;
        let before = relay.history(&a.token, conv).await?;

        let rows = table(conv);
        ensure!(rows.len() >= 15, "the table needs at least 15 rows");
        let mut failures = Vec::new();
        for (n, r) in rows.iter().enumerate() {
            let result = match prepare(&relay, &a, r, n).await {
                Ok(mut conn) => check_row(&mut conn, r).await,
                Err(e) => Err(e.context("setting up the row")),
            };
            if let Err(e) = result {
                failures.push(format!(
                    "row {n} ({}, {:?}, {:?}): {e:#}",
                    r.what, r.side, r.setup
                ));
            }
        }

        // Everyone else is unaffected: the chat goes on, and nothing stored was lost.
        let s3 = v.send("Sind Sie noch da?").await?;
        a.expect_event(
            conv,
            "the visitor's message",
            |e| matches!(e, EventKind::Message { body, .. } if body == "Sind Sie noch da?"),
        )
        .await?;
        let s4 = a.send(conv, "Ja").await?;
        v.expect_event(
            "the agent's answer",
            |e| matches!(e, EventKind::Message { body, .. } if body == "Ja"),
        )
        .await?;
        ensure!(
            s3 > s2 && s2 > s1 && s4 == s3 + 1,
            "seqs {s1} {s2} {s3} {s4}"
        );
        let after = relay.history(&a.token, conv).await?;
        ensure!(
            after.len() >= before.len() && after[..before.len()] == before[..],
            "history before the table changed"
        );
        // And a new chat can start and reach a (new) agent.
        let ben = relay.add_agent("Ben", 50).await?;
        let (mut b, _) = AgentClient::connect(&relay, &ben).await?;
        let mut newcomer = VisitorClient::started(&relay, "newcomer").await?;
        let joined = newcomer.expect_agent_joined().await?;
        ensure!(joined.id == ben.id, "newcomer joined by {joined:?}");
        let nc = newcomer.conversation_id()?;
        newcomer.send("Neue Frage").await?;
        b.expect_event(nc, "the newcomer's message", |e| {
            matches!(e, EventKind::Message { .. })
        })
        .await?;
        let _: AgentId = ben.id;

        ensure!(
            failures.is_empty(),
            "{} of {} rows failed:\n{}",
            failures.len(),
            rows.len(),
            failures.join("\n")
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
