//! Reports over real data: chats answered, ended, rated and converted through the relay,
//! an offline message answered and resolved over REST; the KPI report counts them, filters
//! by date range and site, is for admins only, and its CSV download parses back to the very
//! numbers of the JSON. (Exact values against a hand-computed world, with chosen times, are
//! in `store/src/sqlite/reports_tests.rs` and `relay/src/reports/fixture_tests.rs`; here
//! the clock is real, so durations are checked for sanity and counts exactly.)

use anyhow::{anyhow, ensure, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use switchboard_e2e::api::leave_message;
use switchboard_e2e::{AgentClient, AgentInfo, Relay, VisitorClient};
use switchboard_shared::{EventKind, RemovalReason, ServerFrame, VisitorCommand};

const DAY: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn date(ms: i64) -> String {
    // Days since the epoch → civil date (Howard Hinnant's algorithm), to avoid a
    // date crate in the tests for one format.
    let z = ms.div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn get(relay: &Relay, path: &str, token: Option<&str>) -> Result<(StatusCode, Value)> {
    relay.call(Method::GET, path, token, None).await
}

async fn ok(relay: &Relay, method: Method, path: &str, token: &str, body: Value) -> Result<Value> {
    let (status, answer) = relay.call(method, path, Some(token), Some(body)).await?;
    ensure!(status.is_success(), "{path} answered {status}: {answer}");
    Ok(answer)
}

/// Two live chats with Anna (one ended and rated 4, one converted to a ticket) and one
/// offline message that Anna answers and resolves, rated 2 by its customer. Returns Anna's
/// agent id.
async fn build_world(relay: &Relay, anna_info: &AgentInfo, anna_token: &str) -> Result<i64> {
    // The offline message first, while nobody is online.
    let mut offline = VisitorClient::connect(relay, "Jonas").await?;
    offline.hello().await?;
    let cmd = VisitorCommand::LeaveMessage {
        client_id: offline.next_client_id(),
        body: "Die Rechnung stimmt nicht.".into(),
        name: Some("Jonas".into()),
        email: None,
        customer_number: None,
    };
    let left = leave_message(&mut offline, &cmd).await?;
    let (status, ticket) = relay.ticket_of(anna_token, left.conversation_id).await?;
    ensure!(status == StatusCode::OK, "{status} {ticket}");
    let offline_ticket = ticket["id"].as_i64().ok_or_else(|| anyhow!("{ticket}"))?;

    let (mut anna, _) = AgentClient::connect(relay, anna_info).await?;
    // Chat 1: answered, ended by the visitor, rated 4.
    let mut v1 = VisitorClient::started(relay, "Mia").await?;
    v1.expect_agent_joined().await?;
    let c1 = anna.expect_assigned().await?.id;
    anna.send(c1, "Guten Tag, wie kann ich helfen?").await?;
    v1.expect_event("agent message", |e| matches!(e, EventKind::Message { .. }))
        .await?;
    v1.end().await?;
    ensure!(anna.expect_removed(c1).await? == RemovalReason::Ended);
    v1.send_cmd(&VisitorCommand::Rate {
        score: 4,
        comment: Some("Schnell".into()),
    })
    .await?;
    v1.expect_event("rated", |e| matches!(e, EventKind::Rated { .. }))
        .await?;

    // Chat 2: answered, then converted to a ticket (not resolved on first contact).
    let mut v2 = VisitorClient::started(relay, "Noah").await?;
    v2.expect_agent_joined().await?;
    let c2 = anna.expect_assigned().await?.id;
    anna.send(c2, "Das schaue ich mir an.").await?;
    let convert = json!({"category": "technical_problem", "priority": "high",
                         "support_level": "L1", "summary": "Gerät startet nicht"});
    ok(
        relay,
        Method::POST,
        &format!("/api/v1/conversations/{c2}/ticket"),
        anna_token,
        convert,
    )
    .await?;
    anna.expect_removed(c2).await?;

    // The offline ticket: a public reply (first response), then assigned and resolved.
    let path = format!("/api/v1/tickets/{offline_ticket}");
    ok(
        relay,
        Method::POST,
        &format!("{path}/replies"),
        anna_token,
        json!({"body": "Wir prüfen das."}),
    )
    .await?;
    let anna_id = anna_info.id.0;
    ok(
        relay,
        Method::PATCH,
        &path,
        anna_token,
        json!({"status": "resolved", "assignee": anna_id}),
    )
    .await?;
    // The customer rates the resolved ticket 2 in the widget; it counts for Anna.
    let rate = VisitorCommand::RateTicket {
        ticket_id: offline_ticket,
        score: 2,
        comment: None,
    };
    offline.send_cmd(&rate).await?;
    offline
        .expect("the rated ticket", |f| {
            matches!(f, ServerFrame::Tickets { tickets }
                if tickets.iter().any(|t| t.rating == Some(2)))
        })
        .await?;
    Ok(anna_id)
}

fn num(v: &Value, pointer: &str) -> Result<f64> {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .ok_or_else(|| anyhow!("no number at {pointer}"))
}

#[tokio::test]
async fn the_kpi_report_counts_real_chats_and_tickets_and_exports_the_same_numbers_as_csv(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let boss = relay.add_admin("Boss", 1).await?;
        let anna = relay.add_agent("Anna", 2).await?;
        let admin = relay.login(&boss).await?.token;
        let anna_token = relay.login(&anna).await?.token;
        let start = now_ms();
        let anna_id = build_world(&relay, &anna, &anna_token).await?;
        let end = now_ms() + 1;

        let query = format!("from={start}&to={end}&site=acme");
        let (status, report) = get(
            &relay,
            &format!("/api/v1/reports/kpis?{query}"),
            Some(&admin),
        )
        .await?;
        ensure!(status == StatusCode::OK, "{status} {report}");
        ensure!(
            report["range"]
                == json!({"from": start, "to": end, "site": "acme", "time_zone": "UTC"}),
            "{}",
            report["range"]
        );
        let k = &report["overall"];
        ensure!(
            k["volume"]["chats"] == 2 && k["volume"]["tickets"] == 2,
            "{}",
            k["volume"]
        );
        ensure!(k["volume"]["tickets_by_channel"] == json!({"live_chat": 1, "offline_form": 1}));
        ensure!(
            k["volume"]["tickets_by_priority"]
                == json!({"critical": 0, "high": 1, "low": 0, "medium": 1})
        );
        // Converted as technical_problem; offline messages get the first category, the same.
        ensure!(k["volume"]["tickets_by_category"]["technical_problem"] == 2);
        // Both chats had an agent message, both ended with an agent: durations exist and are
        // no longer than the whole test.
        for p in ["/first_response/chats", "/handle_time"] {
            ensure!(num(k, &format!("{p}/count"))? == 2.0, "{p}: {k}");
            let mean = num(k, &format!("{p}/mean_ms"))?;
            ensure!(
                (0.0..=(end - start) as f64).contains(&mean),
                "{p} mean {mean}"
            );
        }
        // The live-chat ticket's first response was the chat: only the offline one counts.
        ensure!(num(k, "/first_response/tickets/count")? == 1.0);
        ensure!(num(k, "/resolution_time/count")? == 1.0);
        // Chat 1 resolved on first contact, chat 2 became a ticket: 1 of 2.
        ensure!(
            k["first_contact_resolution"]["chats"] == json!({"eligible": 2, "met": 1, "rate": 0.5})
        );
        // The offline ticket: one reply, resolved, never escalated.
        ensure!(
            k["first_contact_resolution"]["tickets"]
                == json!({"eligible": 1, "met": 1, "rate": 1.0})
        );
        ensure!(
            k["csat"]["chats"] == json!({"count": 1, "average": 4.0, "satisfied": 1, "rate": 1.0})
        );
        // The ticket rating 2: not satisfied. Together: (4 + 2) / 2 = 3.0, one of two.
        ensure!(
            k["csat"]["tickets"]
                == json!({"count": 1, "average": 2.0, "satisfied": 0, "rate": 0.0}),
            "{}",
            k["csat"]
        );
        ensure!(
            k["csat"]["all"] == json!({"count": 2, "average": 3.0, "satisfied": 1, "rate": 0.5})
        );
        // Both first responses came before any due time; only the offline ticket resolved.
        ensure!(
            k["sla"]["first_response"] == json!({"eligible": 2, "met": 2, "rate": 1.0}),
            "{}",
            k["sla"]
        );
        ensure!(
            k["sla"]["resolution"] == json!({"eligible": 1, "met": 1, "rate": 1.0}),
            "{}",
            k["sla"]
        );

        // Everything is Anna's; she is L1.
        let by_agent = report["by_agent"].as_array().context("by_agent")?;
        ensure!(by_agent.len() == 1, "{by_agent:?}");
        ensure!(by_agent[0]["agent_id"] == anna_id && by_agent[0]["agent_name"] == "Anna");
        ensure!(
            by_agent[0]["kpis"] == report["overall"],
            "Anna's KPIs are all of them"
        );
        let levels: Vec<&Value> = report["by_level"]
            .as_array()
            .context("by_level")?
            .iter()
            .map(|l| &l["support_level"])
            .collect();
        ensure!(
            levels == [&json!("L1"), &json!("L2"), &json!("L3")],
            "{levels:?}"
        );
        ensure!(report["by_level"][0]["kpis"]["volume"]["chats"] == 2);

        // Dates: the days around today include everything; a range before it nothing.
        let days = format!("from={}&to={}", date(start - DAY), date(end + DAY));
        let (_, by_date) = get(
            &relay,
            &format!("/api/v1/reports/kpis?{days}"),
            Some(&admin),
        )
        .await?;
        ensure!(
            by_date["range"]["from"].as_i64() == Some((start - DAY).div_euclid(DAY) * DAY),
            "{}",
            by_date["range"]
        );
        ensure!(
            by_date["overall"]["volume"]["chats"] == 2
                && by_date["overall"]["volume"]["tickets"] == 2
        );
        let before = format!("from={}&to={start}", start - DAY);
        let (_, empty) = get(
            &relay,
            &format!("/api/v1/reports/kpis?{before}"),
            Some(&admin),
        )
        .await?;
        ensure!(
            empty["overall"]["volume"]["chats"] == 0 && empty["overall"]["volume"]["tickets"] == 0,
            "{}",
            empty["overall"]["volume"]
        );
        ensure!(
            empty["overall"]["handle_time"]
                == json!({"count": 0, "mean_ms": null, "median_ms": null})
        );
        ensure!(empty["by_agent"] == json!([]));

        check_csv(&relay, &admin, &query, &report).await
    }
    .await;
    relay.finish(outcome)
}

/// The CSV: a download with a file name, a header, and rows equal to the JSON numbers.
async fn check_csv(relay: &Relay, admin: &str, query: &str, report: &Value) -> Result<()> {
    let resp = reqwest::Client::new()
        .get(relay.http_url(&format!("/api/v1/reports/kpis.csv?{query}")))
        .bearer_auth(admin)
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "{}", resp.status());
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    ensure!(
        header("content-type").starts_with("text/csv"),
        "{}",
        header("content-type")
    );
    let (from, to) = (
        report["range"]["from"].as_i64(),
        report["range"]["to"].as_i64(),
    );
    let disposition = header("content-disposition");
    ensure!(
        disposition.starts_with("attachment; filename=\"kpis_acme_")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    ensure!(from.is_some() && to.is_some());
    let text = resp.text().await?;
    // Nothing in this world needs quoting (the quoting itself is unit-tested with the csv
    // crate in relay/src/reports/csv.rs), so a plain split reads it back.
    let mut lines = text.lines();
    ensure!(lines.next() == Some("group,agent_id,agent_name,support_level,metric,value"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    ensure!(rows.iter().all(|r| r.len() == 6), "ragged rows");
    let mut overall = 0;
    for r in rows.iter().filter(|r| r[0] == "overall") {
        let pointer = format!("/overall/{}", r[4].replace('.', "/"));
        let json = report
            .pointer(&pointer)
            .ok_or_else(|| anyhow!("{pointer} not in JSON"))?;
        let expected = match json {
            Value::Null => String::new(),
            other => other.to_string(),
        };
        ensure!(
            r[5] == expected,
            "{pointer}: CSV {} vs JSON {expected}",
            r[5]
        );
        overall += 1;
    }
    ensure!(overall >= 30, "only {overall} overall metrics");
    let anna: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == "agent").collect();
    ensure!(anna.len() == overall && anna.iter().all(|r| r[2] == "Anna" && r[3] == "L1"));
    Ok(())
}

#[tokio::test]
async fn reports_are_for_admins_and_refuse_bad_ranges_and_unknown_sites() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let boss = relay.add_admin("Boss", 1).await?;
        let anna = relay.add_agent("Anna", 1).await?;
        let admin = relay.login(&boss).await?.token;
        let agent = relay.login(&anna).await?.token;
        let path = "/api/v1/reports/kpis?from=2026-11-01&to=2026-12-01";
        ensure!(get(&relay, path, None).await?.0 == StatusCode::UNAUTHORIZED);
        let (status, body) = get(&relay, path, Some(&agent)).await?;
        ensure!(
            status == StatusCode::FORBIDDEN && body["error"]["code"] == "forbidden",
            "{status} {body}"
        );
        let csv = "/api/v1/reports/kpis.csv?from=2026-11-01&to=2026-12-01";
        ensure!(get(&relay, csv, Some(&agent)).await?.0 == StatusCode::FORBIDDEN);
        ensure!(get(&relay, path, Some(&admin)).await?.0 == StatusCode::OK);
        // Integrations: a token with `reports:read` reads them, one without is refused.
        for (scope, expected) in [
            ("reports:read", StatusCode::OK),
            ("tickets:read", StatusCode::FORBIDDEN),
        ] {
            let secret = relay.api_token(&admin, &[scope]).await?;
            let (status, body) = get(&relay, csv, Some(&secret)).await?;
            ensure!(status == expected, "{scope}: {status} {body}");
        }

        for bad in [
            "from=2026-12-01&to=2026-11-01",     // backwards
            "from=2026-11-01&to=2026-11-01",     // empty
            "from=01.11.2026&to=2026-12-01",     // not ISO
            "from=2024-01-01&to=2026-12-01",     // longer than 367 days
            "to=2026-12-01",                     // from missing
            "from=2026-11-01&to=2026-12-01&x=1", // unknown parameter
        ] {
            let (status, body) =
                get(&relay, &format!("/api/v1/reports/kpis?{bad}"), Some(&admin)).await?;
            ensure!(
                status == StatusCode::UNPROCESSABLE_ENTITY && body["error"]["code"] == "invalid",
                "{bad}: {status} {body}"
            );
        }
        let unknown = "/api/v1/reports/kpis?from=2026-11-01&to=2026-12-01&site=nowhere";
        ensure!(get(&relay, unknown, Some(&admin)).await?.0 == StatusCode::NOT_FOUND);
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
