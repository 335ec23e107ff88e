//! Hardening against hostile clients (issue 16): sockets that never finish a request,
//! one visitor on many sockets, password guessing, a token reading more than its scope,
//! oversized input, frames with extra fields, a reader that stops reading, and closes that
//! say why. Each specification failed on the relay before the issue was worked.

use anyhow::{anyhow, bail, ensure, Context, Result};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use switchboard_e2e::ws::ConnectError;
use switchboard_e2e::{
    AgentClient, Incoming, Relay, RelayOptions, VisitorClient, WsConn, SITE_ORIGIN,
};
use switchboard_shared::{
    close, ConversationId, ErrorCode, EventKind, ServerFrame, VisitorCommand,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn relay_with(args: &[&str]) -> RelayOptions {
    RelayOptions {
        extra_args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

/// A loopback address of its own: every 127.x.y.z reaches the relay on 127.0.0.1.
fn addr(last: u8) -> IpAddr {
    [127, 0, 0, last].into()
}

async fn tcp_from(relay: &Relay, source: IpAddr) -> Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    Ok(socket
        .connect(format!("127.0.0.1:{}", relay.port()).parse()?)
        .await?)
}

/// Reads until the relay closes the socket; false when it is still open at `deadline`.
async fn closed_by_relay(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

fn http_from(source: IpAddr) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .local_address(source)
        .timeout(Duration::from_secs(30))
        .build()?)
}

async fn login_from(
    http: &reqwest::Client,
    relay: &Relay,
    email: &str,
    password: &str,
) -> Result<(StatusCode, Option<String>)> {
    let resp = http
        .post(relay.http_url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((resp.status(), retry))
}

// ------------------------------------------------------------------ unfinished sockets

#[tokio::test]
async fn a_socket_that_never_finishes_its_request_is_closed_after_the_header_timeout() -> Result<()>
{
    let relay = Relay::spawn_with(relay_with(&["--header-read-timeout-ms", "1000"])).await?;
    let outcome: Result<()> = async {
        let mut partial = tcp_from(&relay, addr(1)).await?;
        partial
            .write_all(b"GET /ws/visitor HTTP/1.1\r\nHost: x\r\n")
            .await?;
        let mut silent = tcp_from(&relay, addr(1)).await?;
        let started = Instant::now();
        ensure!(
            closed_by_relay(&mut partial, Duration::from_secs(5)).await,
            "a half-sent request head was still held after 5 s"
        );
        ensure!(
            closed_by_relay(&mut silent, Duration::from_secs(5)).await,
            "a silent socket was still held after 5 s"
        );
        ensure!(
            started.elapsed() >= Duration::from_millis(800),
            "closed before the timeout: {:?}",
            started.elapsed()
        );
        // A kept-alive HTTP socket that goes idle is closed the same way.
        let mut idle = tcp_from(&relay, addr(1)).await?;
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await?;
        ensure!(
            closed_by_relay(&mut idle, Duration::from_secs(5)).await,
            "an idle keep-alive socket was still held after 5 s"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn hundreds_of_silent_sockets_from_one_address_lock_out_no_visitor_or_agent() -> Result<()> {
    let relay = Relay::spawn_with(RelayOptions {
        nofile: Some(256),
        ..Default::default()
    })
    .await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 2).await?;
        // The attacker: 250 sockets from one address that never send a byte.
        let mut held = Vec::new();
        for _ in 0..250 {
            if let Ok(s) = tcp_from(&relay, addr(66)).await {
                held.push(s);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // A visitor from another address gets in at once and chats.
        let url = relay.ws_url("/ws/visitor");
        let conn = WsConn::connect_via(&url, Some(SITE_ORIGIN), "visitor", Some(addr(2)))
            .await
            .map_err(|e| anyhow!("a visitor was locked out by another address: {e}"))?;
        let mut v = VisitorClient::from_conn(&relay, "Jonas", conn);
        v.hello().await?;
        // So does an agent.
        let http = http_from(addr(3))?;
        let (status, _) = login_from(&http, &relay, &anna.email, &anna.password).await?;
        ensure!(status == StatusCode::OK, "agent login answered {status}");
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        v.start().await?;
        a.expect_assigned().await?;
        drop(held);
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn agents_still_get_in_when_visitors_hold_their_whole_share() -> Result<()> {
    let relay = Relay::spawn_with(RelayOptions {
        nofile: Some(160),
        ..Default::default()
    })
    .await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 2).await?;
        let login = relay.login(&anna).await?;
        let url = relay.ws_url("/ws/visitor");
        let mut visitors = Vec::new();
        let mut refused = None;
        for n in 0..200u32 {
            let source = addr(10 + (n % 100) as u8);
            match WsConn::connect_via(&url, Some(SITE_ORIGIN), "v", Some(source)).await {
                Ok(conn) => visitors.push(conn),
                Err(ConnectError::Refused(status)) => {
                    refused = Some(status);
                    break;
                }
                Err(e) => bail!("visitor {n}: {e}"),
            }
        }
        ensure!(
            refused
                == Some(
                    reqwest::StatusCode::SERVICE_UNAVAILABLE
                        .as_u16()
                        .try_into()?
                ),
            "visitors were never refused ({} connected): {refused:?}",
            visitors.len()
        );
        let mut a = AgentClient::connect_with_token(&relay, &anna, &login.token)
            .await
            .context("an agent must get in while visitors are at their limit")?;
        a.hello(Vec::new()).await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

// ------------------------------------------------------------------ rates across sockets

/// Sends `n` pings at once on each connection, then counts pongs and rate-limit errors.
async fn ping_burst(conns: &mut [&mut WsConn], n: usize) -> Result<(usize, usize)> {
    for c in conns.iter_mut() {
        for _ in 0..n {
            c.send_text(r#"{"type":"ping"}"#).await?;
        }
    }
    let (mut pongs, mut limited) = (0, 0);
    for c in conns.iter_mut() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Some(incoming) = c.read_until(deadline).await? {
            match incoming {
                Incoming::Frame(ServerFrame::Pong) => pongs += 1,
                Incoming::Frame(ServerFrame::Error {
                    code: ErrorCode::RateLimited,
                    ..
                }) => limited += 1,
                Incoming::Frame(_) => {}
                Incoming::Closed(_) => break,
            }
        }
    }
    Ok((pongs, limited))
}

#[tokio::test]
async fn one_visitor_on_ten_sockets_gets_one_visitors_frame_rate() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let first = VisitorClient::greeted(&relay, "Jonas").await?;
        let mut sockets = Vec::new();
        for _ in 0..10 {
            let mut v = VisitorClient::connect(&relay, "Jonas").await?;
            v.token = first.token.clone();
            v.hello().await?;
            sockets.push(v);
        }
        let mut conns: Vec<&mut WsConn> = sockets.iter_mut().map(|v| &mut v.conn).collect();
        let (pongs, limited) = ping_burst(&mut conns, 30).await?;
        // One visitor's burst is 40 frames, whatever the number of sockets (a few more pass
        // as the quota refills during the burst).
        ensure!(
            pongs <= 60,
            "10 sockets of one visitor got {pongs} pongs for 300 pings ({limited} refused)"
        );
        ensure!(limited > 0, "nothing was refused");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_noisy_site_is_limited_and_other_sites_are_not() -> Result<()> {
    let relay = Relay::spawn_with(relay_with(&["--site-frames-per-second", "10"])).await?;
    let outcome: Result<()> = async {
        relay
            .cli(&["site", "add", "--id", "quiet", "--origin", SITE_ORIGIN])
            .await?;
        let mut noisy = Vec::new();
        for n in 0..3 {
            noisy.push(VisitorClient::greeted(&relay, &format!("laut-{n}")).await?);
        }
        let mut quiet = VisitorClient::connect(&relay, "leise").await?;
        quiet.site = "quiet".into();
        quiet.hello().await?;
        let mut conns: Vec<&mut WsConn> = noisy.iter_mut().map(|v| &mut v.conn).collect();
        let (pongs, _) = ping_burst(&mut conns, 20).await?;
        ensure!(
            pongs <= 30,
            "three visitors of a site limited to 10/s (burst 20) got {pongs} of 60 pongs"
        );
        let (pongs, limited) = ping_burst(&mut [&mut quiet.conn], 20).await?;
        ensure!(
            pongs == 20 && limited == 0,
            "the other site's visitor got {pongs} pongs, {limited} refusals"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

// ------------------------------------------------------------------ logins

#[tokio::test]
async fn wrong_passwords_are_answered_429_with_retry_after() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let ben = relay.add_agent("Ben", 1).await?;
        let http = http_from(addr(1))?;
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(login_from(&http, &relay, &anna.email, "falsch").await?);
        }
        ensure!(
            statuses[..5]
                .iter()
                .all(|(s, _)| *s == StatusCode::UNAUTHORIZED),
            "the first five wrong passwords: {statuses:?}"
        );
        let (status, retry) = &statuses[5];
        ensure!(
            *status == StatusCode::TOO_MANY_REQUESTS,
            "the sixth: {statuses:?}"
        );
        let retry: u64 = retry
            .as_deref()
            .ok_or_else(|| anyhow!("429 without Retry-After"))?
            .parse()?;
        ensure!((1..=60).contains(&retry), "Retry-After {retry}");
        // While the account waits, even the right password is not checked.
        let (status, _) = login_from(&http, &relay, &anna.email, &anna.password).await?;
        ensure!(status == StatusCode::TOO_MANY_REQUESTS, "{status}");
        // Another account from another address is not affected.
        let (status, _) =
            login_from(&http_from(addr(2))?, &relay, &ben.email, &ben.password).await?;
        ensure!(status == StatusCode::OK, "Ben answered {status}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn an_unknown_email_takes_as_long_as_a_wrong_password() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let http = http_from(addr(1))?;
        // Warm up (the dummy hash, connections).
        login_from(&http, &relay, "warm@nowhere.example", "x").await?;
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for n in 0..4 {
            let t = Instant::now();
            login_from(&http, &relay, &anna.email, "falsch").await?;
            known.push(t.elapsed());
            let t = Instant::now();
            login_from(&http, &relay, &format!("niemand{n}@acme.example"), "falsch").await?;
            unknown.push(t.elapsed());
        }
        known.sort();
        unknown.sort();
        let (k, u) = (known[1].as_secs_f64(), unknown[1].as_secs_f64());
        ensure!(
            u > k * 0.5 && u < k * 2.0,
            "median-ish times differ: known {known:?}, unknown {unknown:?}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn guesses_queued_from_one_address_do_not_delay_another_agents_login() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let ben = relay.add_agent("Ben", 1).await?;
        let ben_http = http_from(addr(2))?;
        // One login alone, for comparison.
        let t = Instant::now();
        let (status, _) = login_from(&ben_http, &relay, &ben.email, &ben.password).await?;
        ensure!(status == StatusCode::OK, "{status}");
        let alone = t.elapsed();
        // 20 wrong guesses at once from one address, then Ben's login from his.
        let attacker = http_from(addr(66))?;
        let guesses = join_all((0..20).map(|n| {
            let attacker = attacker.clone();
            let email = anna.email.clone();
            let relay = &relay;
            async move { login_from(&attacker, relay, &email, &format!("rate{n}")).await }
        }));
        let ben_login = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let t = Instant::now();
            let answer = login_from(&ben_http, &relay, &ben.email, &ben.password).await;
            (answer, t.elapsed())
        };
        let (guesses, (answer, under_attack)) = tokio::join!(guesses, ben_login);
        let (status, _) = answer?;
        ensure!(status == StatusCode::OK, "Ben's login answered {status}");
        let limit = alone * 3 + Duration::from_millis(300);
        ensure!(
            under_attack <= limit.max(Duration::from_secs(1)),
            "Ben's login took {under_attack:?} under attack ({alone:?} alone)"
        );
        let refused = guesses
            .into_iter()
            .filter(|g| matches!(g, Ok((StatusCode::TOO_MANY_REQUESTS, _))))
            .count();
        ensure!(
            refused > 0,
            "20 simultaneous guesses from one address all queued"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

// ------------------------------------------------------------------ scopes

#[tokio::test]
async fn a_tickets_read_token_sees_the_ticket_but_not_the_chat_transcript() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Admin", 2).await?;
        let admin_token = relay.login(&admin).await?.token;
        let (mut a, _) = AgentClient::connect(&relay, &admin).await?;
        let mut v = VisitorClient::started(&relay, "Jonas").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        v.send("Meine Kundennummer ist K-4711").await?;
        let path = format!("/api/v1/conversations/{conv}/ticket");
        let (status, ticket) = relay
            .call(
                Method::POST,
                &path,
                Some(&admin_token),
                Some(json!({"category": "billing_question", "priority": "high",
                             "support_level": "L1", "summary": "Kundennummer prüfen"})),
            )
            .await?;
        ensure!(status.is_success(), "convert answered {status}: {ticket}");
        let id = ticket["id"]
            .as_i64()
            .or_else(|| ticket["ticket"]["id"].as_i64())
            .ok_or_else(|| anyhow!("no ticket id in {ticket}"))?;
        let detail = format!("/api/v1/tickets/{id}");
        let tickets_only = relay.api_token(&admin_token, &["tickets:read"]).await?;
        let (status, body) = relay
            .call(Method::GET, &detail, Some(&tickets_only), None)
            .await?;
        ensure!(status == StatusCode::OK, "{status}: {body}");
        ensure!(
            body["transcript"].is_null() && !body.to_string().contains("K-4711"),
            "a tickets:read token read the chat: {body}"
        );
        let both = relay
            .api_token(&admin_token, &["tickets:read", "conversations:read"])
            .await?;
        let (status, body) = relay.call(Method::GET, &detail, Some(&both), None).await?;
        ensure!(status == StatusCode::OK, "{status}: {body}");
        ensure!(
            body["transcript"].to_string().contains("K-4711"),
            "with conversations:read the transcript is there: {body}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

// ------------------------------------------------------------------ bad input, no 5xx

#[tokio::test]
async fn an_oversized_ticket_search_is_refused_before_the_database() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        // A ticket for searches to run over: SQLite evaluates a LIKE only against rows.
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/tickets",
                Some(&token),
                Some(json!({"site": "acme", "description": "Wartung fällig"})),
            )
            .await?;
        ensure!(status == StatusCode::CREATED, "{status}");
        let q = "a".repeat(50_001);
        let (status, body) = relay
            .call(
                Method::GET,
                &format!("/api/v1/tickets?q={q}"),
                Some(&token),
                None,
            )
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "a 50,001 character search answered {status}: {body}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// Values for a path parameter that no handler should take for an id.
const BAD_PATH_VALUES: &[&str] = &[
    "x",
    "-1",
    "0",
    "99999999999999999999999",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "%F0%9F%98%80",
];

#[tokio::test]
async fn no_route_answers_5xx_to_oversized_or_malformed_input() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Admin", 2).await?;
        let token = relay.login(&admin).await?.token;
        // A ticket for searches to run over: SQLite evaluates a LIKE only against rows.
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/tickets",
                Some(&token),
                Some(json!({"site": "acme", "description": "Wartung fällig"})),
            )
            .await?;
        ensure!(status == StatusCode::CREATED, "{status}");
        let (status, doc) = relay
            .call(Method::GET, "/api/v1/openapi.json", None, None)
            .await?;
        ensure!(status == StatusCode::OK, "{status}");
        let paths = doc["paths"]
            .as_object()
            .ok_or_else(|| anyhow!("no paths in the OpenAPI document"))?;
        // Longer than any field's limit, yet all of them together under the 64 KiB body limit
        // (a larger body is answered 413 from its length, which a test of the bodies' checks
        // would not reach); query parameters get 50,001 characters.
        let huge = "a".repeat(50_001);
        let long = "a".repeat(4_100);
        let mut failures = Vec::new();
        let mut requests = 0;
        // A fresh connection per request: a handler that answers without reading a body
        // lets hyper close the connection, and a pooled client may not notice in time.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()?;
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                    continue;
                };
                if path.ends_with("/auth/logout") {
                    continue; // would end this test's session
                }
                let params: Vec<&Value> = op["parameters"]
                    .as_array()
                    .map(|a| a.iter().collect())
                    .unwrap_or_default();
                let query_names: Vec<&str> = params
                    .iter()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                let mut urls = Vec::new();
                let fill = |value: &str| {
                    path.split('/')
                        .map(|seg| {
                            if seg.starts_with('{') {
                                value.to_string()
                            } else {
                                seg.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("/")
                };
                if path.contains('{') {
                    for v in BAD_PATH_VALUES {
                        urls.push(fill(v));
                    }
                }
                let base = fill("1");
                for name in &query_names {
                    urls.push(format!("{base}?{name}={huge}"));
                    urls.push(format!("{base}?{name}=%00%FF"));
                    urls.push(format!("{base}?{name}=-99999999999999999999"));
                }
                urls.push(format!("{base}?unknown=1"));
                let bodies: Vec<Option<Value>> = if method == Method::GET {
                    vec![None]
                } else {
                    vec![
                        None,
                        Some(json!("not an object")),
                        Some(
                            json!({"name": long, "email": long, "body": long, "site": long,
                            "description": long, "scopes": [long], "url": long, "events": [long],
                            "timezone": long, "status": long, "priority": long, "tags": [long]}),
                        ),
                        Some(json!({"max_chats": -1, "score": 1e300, "week": [[1, 2, 3]],
                            "assignee": "x", "role": {"a": [1]}})),
                    ]
                };
                for url in &urls {
                    for body in &bodies {
                        requests += 1;
                        let mut req = http
                            .request(method.clone(), relay.http_url(url))
                            .bearer_auth(&token);
                        if let Some(body) = body {
                            req = req.json(body);
                        }
                        let resp = req
                            .send()
                            .await
                            .with_context(|| format!("{method} {}", &url[..url.len().min(120)]))?;
                        let status = resp.status();
                        let answer = resp.text().await.unwrap_or_default();
                        if status.is_server_error() {
                            failures.push(format!(
                                "{method} {} body {} → {status} {answer}",
                                &url[..url.len().min(120)],
                                body.as_ref()
                                    .map(|b| b.to_string().chars().take(60).collect::<String>())
                                    .unwrap_or_default()
                            ));
                        }
                    }
                }
            }
        }
        ensure!(requests > 300, "only {requests} requests were made");
        ensure!(
            failures.is_empty(),
            "{} server errors:\n{}",
            failures.len(),
            failures.join("\n")
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_body_larger_than_allowed_is_answered_413_from_its_content_length() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let mut s = tcp_from(&relay, addr(1)).await?;
        s.write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 52428800\r\n\r\n{\"email\":\"",
        )
        .await?;
        let mut answer = vec![0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer))
            .await
            .context("no answer to a 50 MB Content-Length")??;
        let head = String::from_utf8_lossy(&answer[..n]);
        ensure!(head.starts_with("HTTP/1.1 413"), "answered: {head}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

// ------------------------------------------------------------------ frames

#[tokio::test]
async fn every_frame_refuses_unknown_fields_and_nobody_ends_a_conversation_by_naming_it(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 2).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut victim = VisitorClient::started(&relay, "Opfer").await?;
        victim.expect_agent_joined().await?;
        let victims_conv = a.expect_assigned().await?.id;
        let mut v = VisitorClient::started(&relay, "Jonas").await?;
        v.expect_agent_joined().await?;
        a.expect_assigned().await?;

        v.raw_text(r#"{"type":"ping","x":1}"#).await?;
        let (code, _) = v.conn.expect_error().await?;
        ensure!(
            code == ErrorCode::InvalidField,
            "ping with a field: {code:?}"
        );
        a.raw_text(r#"{"type":"ping","x":1}"#).await?;
        let (code, _) = a.conn.expect_error().await?;
        ensure!(
            code == ErrorCode::InvalidField,
            "agent ping with a field: {code:?}"
        );

        v.raw_text(format!(
            r#"{{"type":"end_conversation","conversation_id":{victims_conv}}}"#
        ))
        .await?;
        let (code, _) = v.conn.expect_error().await?;
        ensure!(
            code == ErrorCode::UnknownConversation,
            "end_conversation naming someone else's chat: {code:?}"
        );
        // Neither chat ended: both visitors still write.
        v.send("noch da").await?;
        victim.send("ich auch").await?;
        // Naming one's own conversation ends it.
        let own = v.conversation_id()?;
        v.send_cmd(&VisitorCommand::EndConversation {
            conversation_id: Some(own),
        })
        .await?;
        v.expect_event("the end", |e| matches!(e, EventKind::Ended { .. }))
            .await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_page_url_with_control_characters_is_refused() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let mut v = VisitorClient::greeted(&relay, "Jonas").await?;
        v.raw_text(
            json!({"type": "start_conversation", "name": "Jonas",
                   "page_url": "https://shop.example/\u{1b}[31mALARM\nSeite: gefälscht"})
            .to_string(),
        )
        .await?;
        let (code, _) = v.conn.expect_error().await?;
        ensure!(code == ErrorCode::InvalidField, "{code:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

// ------------------------------------------------------------------ slow readers, closes

#[tokio::test]
async fn a_reader_that_stops_reading_is_closed_and_resumes_without_loss() -> Result<()> {
    let relay = Relay::spawn_with(relay_with(&["--stalled-write-secs", "2"])).await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 40).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut visitors = Vec::new();
        let mut convs = Vec::new();
        for n in 0..30 {
            let mut v = VisitorClient::started(&relay, &format!("v{n}")).await?;
            v.expect_agent_joined().await?;
            convs.push(a.expect_assigned().await?.id);
            visitors.push(v);
        }
        // The agent stops reading; visitors write long messages until the relay gives up on
        // the agent's socket.
        let body = "x".repeat(3_900);
        let mut acked: Vec<(ConversationId, u64)> = Vec::new();
        let started = Instant::now();
        let log = relay.log_path();
        let gave_up = |text: &str| {
            text.contains("client stopped reading") || text.contains("too slow or gone")
        };
        while started.elapsed() < Duration::from_secs(30) {
            for v in visitors.iter_mut() {
                let seq = v.send(&body).await?;
                acked.push((v.conversation_id()?, seq));
            }
            if gave_up(&std::fs::read_to_string(&log).unwrap_or_default()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        ensure!(
            gave_up(&std::fs::read_to_string(&log).unwrap_or_default()),
            "after {:?} and {} messages the relay still held the stalled agent",
            started.elapsed(),
            acked.len()
        );
        // The agent comes back and gets every acknowledged message.
        a.cut();
        a.reconnect().await?;
        for (conv, seq) in &acked {
            let deadline = Instant::now() + Duration::from_secs(20);
            while a.last_seq(*conv) < *seq {
                ensure!(
                    Instant::now() < deadline,
                    "conversation {conv} stopped before {seq}"
                );
                a.next_frame().await?;
            }
        }
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_flooding_client_reads_its_1008_close() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let mut v = VisitorClient::greeted(&relay, "Flut").await?;
        for _ in 0..300 {
            if v.raw_text(r#"{"type":"typing","active":true}"#)
                .await
                .is_err()
            {
                break;
            }
        }
        let code = v.conn.expect_closed(Duration::from_secs(10)).await?;
        ensure!(code == Some(close::POLICY), "closed with {code:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// Opens `/ws/visitor` by hand and returns the socket after the 101.
async fn raw_websocket(relay: &Relay) -> Result<TcpStream> {
    let mut s = tcp_from(relay, addr(1)).await?;
    s.write_all(
        format!(
            "GET /ws/visitor HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nOrigin: {SITE_ORIGIN}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        ensure!(s.read(&mut byte).await? == 1, "closed during the handshake");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    ensure!(head.starts_with("HTTP/1.1 101"), "no upgrade: {head}");
    Ok(s)
}

/// Reads frames until a close frame and returns its code.
async fn read_close_code(s: &mut TcpStream) -> Result<Option<u16>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        // Parse whatever frames are complete (server frames are unmasked).
        while buf.len() >= 2 {
            let opcode = buf[0] & 0x0f;
            let (len, start) = match buf[1] & 0x7f {
                126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
                127 => bail!("unexpectedly long frame"),
                126 => break,
                n => (n as usize, 2),
            };
            if buf.len() < start + len {
                break;
            }
            if opcode == 0x8 {
                let payload = &buf[start..start + len];
                return Ok(
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
                );
            }
            buf.drain(..start + len);
        }
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => bail!("no close frame within 5 s"),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(None),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn websocket_protocol_violations_close_with_1002_and_bad_utf8_with_1007() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        // An unmasked text frame from a client.
        let mut s = raw_websocket(&relay).await?;
        s.write_all(&[0x81, 0x02, b'h', b'i']).await?;
        let code = read_close_code(&mut s).await?;
        ensure!(
            code == Some(close::PROTOCOL_ERROR),
            "unmasked frame: {code:?}"
        );
        // A reserved opcode.
        let mut s = raw_websocket(&relay).await?;
        s.write_all(&[0x83, 0x80, 0, 0, 0, 0]).await?;
        let code = read_close_code(&mut s).await?;
        ensure!(
            code == Some(close::PROTOCOL_ERROR),
            "reserved opcode: {code:?}"
        );
        // A masked text frame that is not UTF-8 (mask of zeros keeps the bytes as they are).
        let mut s = raw_websocket(&relay).await?;
        s.write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]).await?;
        let code = read_close_code(&mut s).await?;
        ensure!(code == Some(close::INVALID_DATA), "bad UTF-8: {code:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_disabled_agents_chats_are_requeued_at_once() -> Result<()> {
    let relay = Relay::spawn().await?; // the default grace period: 30 s
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Admin", 0).await?;
        let admin_token = relay.login(&admin).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let ben = relay.add_agent("Ben", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v = VisitorClient::started(&relay, "Jonas").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        let (mut b, _) = AgentClient::connect(&relay, &ben).await?;
        let started = Instant::now();
        let (status, body) = relay
            .call(
                Method::PATCH,
                &format!("/api/v1/agents/{}", anna.id),
                Some(&admin_token),
                Some(json!({"disabled": true})),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{status}: {body}");
        let taken = b.expect_assigned().await?.id;
        ensure!(taken == conv, "Ben got {taken}, not {conv}");
        ensure!(
            started.elapsed() < Duration::from_secs(5),
            "the chat waited {:?} for a disabled agent",
            started.elapsed()
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
