//! Webhooks against a real HTTP receiver on 127.0.0.1: every event arrives signed (the
//! test recomputes the HMAC itself) with its data, failures are retried with growing gaps,
//! and the delivery log shows every attempt — answered or not — also across a restart.

use anyhow::{anyhow, bail, ensure, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use switchboard_e2e::api::leave_message;
use switchboard_e2e::{AgentClient, Relay, RelayOptions, VisitorClient};
use switchboard_shared::VisitorCommand;

const ALL_EVENTS: [&str; 5] = [
    "conversation.started",
    "conversation.ended",
    "ticket.created",
    "ticket.updated",
    "ticket.resolved",
];

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Hit {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn header(&self, name: &str) -> Result<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("no {name} header"))
    }
    fn json(&self) -> Result<Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

#[derive(Default)]
struct Script {
    /// Status codes to answer with, in order; 200 once they run out.
    answers: VecDeque<u16>,
    hits: Vec<Hit>,
}

/// A tiny webhook receiver: records every request and answers as scripted.
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
    server: tokio::task::JoinHandle<()>,
}

async fn record(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    let mut s = script.lock().unwrap_or_else(|p| p.into_inner());
    s.hits.push(Hit {
        at: Instant::now(),
        headers,
        body,
    });
    let code = s.answers.pop_front().unwrap_or(200);
    AxumStatus::from_u16(code).unwrap_or(AxumStatus::OK)
}

impl Receiver {
    async fn start(answers: &[u16]) -> Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::serve(listener, answers)
    }

    /// On a given port (a receiver that comes back up where it was down).
    async fn start_on(port: u16) -> Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        Self::serve(listener, &[])
    }

    fn serve(listener: tokio::net::TcpListener, answers: &[u16]) -> Result<Receiver> {
        let url = format!("http://{}/hooks/switchboard", listener.local_addr()?);
        let script = Arc::new(Mutex::new(Script {
            answers: answers.iter().copied().collect(),
            hits: Vec::new(),
        }));
        let app = axum::Router::new()
            .fallback(record)
            .with_state(script.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver {
            url,
            script,
            server,
        })
    }

    fn hits(&self) -> Vec<Hit> {
        self.script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hits
            .clone()
    }

    /// Waits until `n` requests arrived.
    async fn wait_for(&self, n: usize, within: Duration) -> Result<Vec<Hit>> {
        let deadline = Instant::now() + within;
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return Ok(hits);
            }
            if Instant::now() > deadline {
                bail!("{} of {n} webhook requests within {within:?}", hits.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a request of `kind` arrived.
    async fn wait_for_type(&self, kind: &str, within: Duration) -> Result<Hit> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(hit) = self
                .hits()
                .into_iter()
                .find(|h| h.header("Switchboard-Event").ok() == Some(kind))
            {
                return Ok(hit);
            }
            if Instant::now() > deadline {
                bail!("no {kind} within {within:?}; got {:?}", self.types());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn types(&self) -> Vec<String> {
        self.hits()
            .iter()
            .filter_map(|h| h.header("Switchboard-Event").ok().map(str::to_string))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> Result<u16> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    Ok(l.local_addr()?.port())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What a receiver does, written here from the documented scheme (not the relay's code):
/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
fn check_signature(secret: &str, hit: &Hit) -> Result<()> {
    let header = hit.header("Switchboard-Signature")?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>()?),
            Some(("v1", v)) => v1 = Some(v.to_string()),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| anyhow!("no timestamp in {header}"))?;
    let v1 = v1.ok_or_else(|| anyhow!("no v1 in {header}"))?;
    ensure!((unix_now() - t).abs() <= 60, "timestamp {t} is not now");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(format!("{t}.").as_bytes());
    mac.update(&hit.body);
    let expected = hex::encode(mac.finalize().into_bytes());
    ensure!(v1 == expected, "signature {v1} != recomputed {expected}");
    // The same signature under another secret must not verify.
    let mut other = Hmac::<Sha256>::new_from_slice(b"whsec_wrong")?;
    other.update(format!("{t}.").as_bytes());
    other.update(&hit.body);
    ensure!(
        hex::encode(other.finalize().into_bytes()) != v1,
        "a wrong secret verified"
    );
    Ok(())
}

async fn admin_token(relay: &Relay) -> Result<String> {
    let admin = relay.add_admin("Greta", 1).await?;
    Ok(relay.login(&admin).await?.token)
}

/// Subscribes `url` to `events`; returns (webhook id, secret).
async fn subscribe(
    relay: &Relay,
    token: &str,
    url: &str,
    events: &[&str],
) -> Result<(i64, String)> {
    let (status, answer) = relay
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(token),
            Some(json!({"url": url, "events": events})),
        )
        .await?;
    ensure!(status == StatusCode::CREATED, "{status} {answer}");
    let secret = answer["secret"]
        .as_str()
        .ok_or_else(|| anyhow!("no secret: {answer}"))?
        .to_string();
    let id = answer["webhook"]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no id: {answer}"))?;
    Ok((id, secret))
}

async fn delivery_log(relay: &Relay, token: &str, webhook: i64) -> Result<Vec<Value>> {
    let path = format!("/api/v1/webhooks/{webhook}/deliveries");
    let (status, answer) = relay.call(Method::GET, &path, Some(token), None).await?;
    ensure!(status == StatusCode::OK, "{status} {answer}");
    answer["deliveries"]
        .as_array()
        .cloned()
        .ok_or_else(|| anyhow!("no deliveries: {answer}"))
}

/// Polls the log until the first delivery has `status`.
async fn wait_for_status(relay: &Relay, token: &str, webhook: i64, status: &str) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = delivery_log(relay, token, webhook).await?;
        if let Some(d) = log.first().filter(|d| d["status"] == status) {
            return Ok(d.clone());
        }
        if Instant::now() > deadline {
            bail!("no delivery became {status}: {log:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A visitor's offline message: a ticket, so `ticket.created`.
async fn offline_ticket(relay: &Relay) -> Result<()> {
    let mut v = VisitorClient::connect(relay, "Jonas").await?;
    v.hello().await?;
    let cmd = VisitorCommand::LeaveMessage {
        client_id: v.next_client_id(),
        body: "Der Drucker druckt nur noch Streifen.".into(),
        name: Some("Jonas".into()),
        email: Some("jonas@example.de".into()),
        customer_number: None,
    };
    leave_message(&mut v, &cmd).await?;
    Ok(())
}

fn fast_retries(attempts: u32, retry_ms: u64) -> RelayOptions {
    RelayOptions {
        extra_args: vec![
            "--webhook-attempts".into(),
            attempts.to_string(),
            "--webhook-retry-ms".into(),
            retry_ms.to_string(),
            "--webhook-timeout-ms".into(),
            "2000".into(),
        ],
        ..Default::default()
    }
}

#[tokio::test]
async fn each_of_the_five_events_arrives_signed_with_its_data() -> Result<()> {
    let receiver = Receiver::start(&[]).await?;
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let token = admin_token(&relay).await?;
        let (_, secret) = subscribe(&relay, &token, &receiver.url, &ALL_EVENTS).await?;
        ensure!(
            secret.starts_with("whsec_") && secret.len() > 40,
            "{secret}"
        );

        // A chat starts, is taken, converted to a ticket (which ends it), then resolved.
        let anna = relay.add_agent("Anna", 1).await?;
        let anna_token = relay.login(&anna).await?.token;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v = VisitorClient::started(&relay, "Vera").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        let request = json!({"category": "billing_question", "priority": "high",
                             "support_level": "L1", "summary": "Doppelte Abbuchung"});
        let (status, ticket) = relay
            .call(
                Method::POST,
                &format!("/api/v1/conversations/{conv}/ticket"),
                Some(&anna_token),
                Some(request),
            )
            .await?;
        ensure!(status == StatusCode::CREATED, "{status} {ticket}");
        let ticket_id = ticket["id"].as_i64().ok_or_else(|| anyhow!("{ticket}"))?;
        let resolving = Instant::now();
        let (status, resolved) = relay
            .call(
                Method::PATCH,
                &format!("/api/v1/tickets/{ticket_id}"),
                Some(&anna_token),
                Some(json!({"status": "resolved"})),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{status} {resolved}");

        let within = Duration::from_secs(10);
        let hit = receiver.wait_for_type("ticket.resolved", within).await?;
        eprintln!(
            "PATCH sent → ticket.resolved received: {:?}",
            hit.at - resolving
        );
        for kind in ALL_EVENTS {
            let hit = receiver.wait_for_type(kind, within).await?;
            check_signature(&secret, &hit)?;
            let body = hit.json()?;
            ensure!(body["type"] == kind, "{body}");
            ensure!(
                body["id"].as_str().is_some_and(|id| id.starts_with("evt_")),
                "{body}"
            );
            ensure!(body["created_at"].is_i64(), "{body}");
            ensure!(
                hit.header("Switchboard-Delivery")?.parse::<i64>().is_ok(),
                "delivery id"
            );
            ensure!(
                hit.header("content-type")? == "application/json",
                "content type"
            );
            let data = &body["data"];
            match kind {
                "conversation.started" | "conversation.ended" => {
                    ensure!(data["conversation"]["id"] == json!(conv), "{body}");
                    ensure!(data["conversation"]["site_id"] == "acme", "{body}");
                    if kind == "conversation.ended" {
                        ensure!(data["conversation"]["status"] == "ended", "{body}");
                        ensure!(data["conversation"]["ended_at"].is_i64(), "{body}");
                    }
                }
                "ticket.created" => {
                    ensure!(data["ticket"]["id"] == ticket_id, "{body}");
                    ensure!(data["ticket"]["conversation_id"] == json!(conv), "{body}");
                    ensure!(data["ticket"]["subject"] == "Doppelte Abbuchung", "{body}");
                }
                "ticket.updated" => {
                    ensure!(data["ticket"]["id"] == ticket_id, "{body}");
                    ensure!(
                        data["changed"]
                            .as_array()
                            .is_some_and(|c| c.contains(&json!("status"))),
                        "{body}"
                    );
                }
                _ => {
                    ensure!(data["ticket"]["id"] == ticket_id, "{body}");
                    ensure!(data["ticket"]["status"] == "resolved", "{body}");
                    ensure!(data["ticket"]["resolved_at"].is_i64(), "{body}");
                }
            }
        }
        // Each event exactly once (the conversion's retry-safety must not double them).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut types = receiver.types();
        types.sort();
        let mut expected: Vec<String> = ALL_EVENTS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        ensure!(types == expected, "{types:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_receiver_answering_500_twice_gets_three_attempts_with_growing_gaps() -> Result<()> {
    let receiver = Receiver::start(&[500, 500]).await?;
    let relay = Relay::spawn_with(fast_retries(5, 200)).await?;
    let outcome: Result<()> = async {
        let token = admin_token(&relay).await?;
        let (webhook, secret) =
            subscribe(&relay, &token, &receiver.url, &["ticket.created"]).await?;
        offline_ticket(&relay).await?;
        let hits = receiver.wait_for(3, Duration::from_secs(10)).await?;
        ensure!(hits.len() == 3, "{} requests", hits.len());
        for hit in &hits {
            check_signature(&secret, hit)?;
        }
        // The same event and delivery every time: receivers can deduplicate.
        ensure!(
            hits[0].body == hits[1].body && hits[1].body == hits[2].body,
            "bodies differ"
        );
        ensure!(
            hits[0].header("Switchboard-Delivery")? == hits[2].header("Switchboard-Delivery")?,
            "delivery ids differ"
        );
        let first_gap = hits[1].at - hits[0].at;
        let second_gap = hits[2].at - hits[1].at;
        eprintln!("retry gaps with a 200 ms base: {first_gap:?}, {second_gap:?}");
        ensure!(
            first_gap >= Duration::from_millis(150),
            "first retry after {first_gap:?}"
        );
        ensure!(
            second_gap > first_gap,
            "gaps {first_gap:?} then {second_gap:?}"
        );
        ensure!(
            second_gap >= Duration::from_millis(600),
            "second retry after {second_gap:?}"
        );

        let d = wait_for_status(&relay, &token, webhook, "delivered").await?;
        ensure!(d["type"] == "ticket.created", "{d}");
        let attempts = d["attempts"].as_array().ok_or_else(|| anyhow!("{d}"))?;
        let codes: Vec<&Value> = attempts.iter().map(|a| &a["status_code"]).collect();
        ensure!(codes == [&json!(500), &json!(500), &json!(200)], "{d}");
        let numbers: Vec<&Value> = attempts.iter().map(|a| &a["attempt"]).collect();
        ensure!(numbers == [&json!(1), &json!(2), &json!(3)], "{d}");
        let starts: Vec<i64> = attempts
            .iter()
            .filter_map(|a| a["started_at"].as_i64())
            .collect();
        ensure!(
            starts.len() == 3 && starts[0] < starts[1] && starts[1] < starts[2],
            "{d}"
        );
        ensure!(
            starts[2] - starts[1] > starts[1] - starts[0],
            "logged gaps grow: {d}"
        );
        ensure!(
            attempts
                .iter()
                .all(|a| a["duration_ms"].as_i64().is_some_and(|ms| ms >= 0)),
            "{d}"
        );
        ensure!(attempts.iter().all(|a| a["error"].is_null()), "{d}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_receiver_that_is_down_is_retried_and_the_log_shows_each_error() -> Result<()> {
    let port = closed_port().await?;
    let relay = Relay::spawn_with(fast_retries(3, 100)).await?;
    let outcome: Result<()> = async {
        let token = admin_token(&relay).await?;
        let url = format!("http://127.0.0.1:{port}/hooks");
        let (webhook, _) = subscribe(&relay, &token, &url, &["ticket.created"]).await?;
        offline_ticket(&relay).await?;
        let d = wait_for_status(&relay, &token, webhook, "failed").await?;
        let attempts = d["attempts"].as_array().ok_or_else(|| anyhow!("{d}"))?;
        ensure!(attempts.len() == 3, "three attempts, then it gives up: {d}");
        for a in attempts {
            ensure!(a["status_code"].is_null(), "no answer came: {d}");
            let error = a["error"].as_str().unwrap_or("");
            ensure!(error.contains("connect"), "the error says why: {d}");
        }
        ensure!(
            d["next_attempt_at"].is_null(),
            "nothing more is planned: {d}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_pending_delivery_is_sent_after_a_restart() -> Result<()> {
    let port = closed_port().await?;
    // The retry after the first failure is 3 s away: the relay is killed before it.
    let mut relay = Relay::spawn_with(fast_retries(5, 3_000)).await?;
    let outcome: Result<()> = async {
        let token = admin_token(&relay).await?;
        let url = format!("http://127.0.0.1:{port}/hooks");
        let (webhook, _) = subscribe(&relay, &token, &url, &["ticket.created"]).await?;
        offline_ticket(&relay).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = delivery_log(&relay, &token, webhook).await?;
            if log
                .first()
                .is_some_and(|d| d["attempts"].as_array().is_some_and(|a| a.len() == 1))
            {
                break;
            }
            ensure!(Instant::now() < deadline, "no first attempt: {log:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        relay.kill().await?;
        let receiver = Receiver::start_on(port).await?;
        relay.restart().await?;
        let hit = receiver.wait_for(1, Duration::from_secs(10)).await?;
        ensure!(
            hit[0].header("Switchboard-Event")? == "ticket.created",
            "after restart"
        );
        // Sessions are stored, so the admin's token still works after the restart.
        let d = wait_for_status(&relay, &token, webhook, "delivered").await?;
        ensure!(
            d["attempts"].as_array().is_some_and(|a| a.len() == 2),
            "{d}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// A public reply reaches the site's webhook with its text and author, so the site can
/// e-mail the customer; an internal note never carries its text out.
#[tokio::test]
async fn a_public_reply_is_in_the_ticket_updated_event_and_a_note_is_not() -> Result<()> {
    let receiver = Receiver::start(&[]).await?;
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let token = admin_token(&relay).await?;
        let (_, secret) = subscribe(&relay, &token, &receiver.url, &["ticket.updated"]).await?;
        offline_ticket(&relay).await?;
        let tickets = relay.tickets(&token, "").await?;
        let id = tickets[0]["id"]
            .as_i64()
            .ok_or_else(|| anyhow!("{tickets:?}"))?;
        let path = format!("/api/v1/tickets/{id}");
        for (what, body) in [
            ("notes", "intern: Garantie prüfen"),
            ("replies", "Wir tauschen die Patrone kostenlos."),
        ] {
            let (status, answer) = relay
                .call(
                    Method::POST,
                    &format!("{path}/{what}"),
                    Some(&token),
                    Some(json!({"body": body})),
                )
                .await?;
            ensure!(status == StatusCode::CREATED, "{status} {answer}");
        }
        // The note and the reply are two changes: two `ticket.updated`, in order.
        receiver.wait_for(2, Duration::from_secs(10)).await?;
        let mut replies = Vec::new();
        for hit in receiver.hits() {
            check_signature(&secret, &hit)?;
            let body = hit.json()?;
            ensure!(
                !body.to_string().contains("Garantie"),
                "a note leaked: {body}"
            );
            if body["data"]["reply"].is_object() {
                replies.push(body["data"]["reply"].clone());
            }
        }
        ensure!(
            replies.len() == 1,
            "one event carries the reply: {replies:?}"
        );
        let reply = &replies[0];
        ensure!(
            reply["body"] == "Wir tauschen die Patrone kostenlos."
                && reply["agent_name"] == "Greta",
            "{reply}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
