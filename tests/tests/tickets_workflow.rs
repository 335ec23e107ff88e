//! Working a ticket over REST: changes and their history, escalation, notes and replies,
//! the SLA clock pausing while pending on the customer, closing and reopening, the list's
//! filters, order and pages, and who may do what.

use anyhow::{anyhow, ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_e2e::api::leave_message;
use switchboard_e2e::{Relay, VisitorClient};
use switchboard_shared::VisitorCommand;

/// A visitor leaves an offline message; returns its ticket.
async fn offline_ticket(relay: &Relay, token: &str, name: &str, body: &str) -> Result<Value> {
    let mut v = VisitorClient::connect(relay, name).await?;
    v.hello().await?;
    let cmd = VisitorCommand::LeaveMessage {
        client_id: v.next_client_id(),
        body: body.into(),
        name: Some(name.into()),
        email: None,
        customer_number: None,
    };
    let left = leave_message(&mut v, &cmd).await?;
    let (status, ticket) = relay.ticket_of(token, left.conversation_id).await?;
    ensure!(status == StatusCode::OK, "{status} {ticket}");
    Ok(ticket)
}

async fn call_ok(
    relay: &Relay,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    expected: StatusCode,
) -> Result<Value> {
    let (status, answer) = relay.call(method.clone(), path, Some(token), body).await?;
    ensure!(
        status == expected,
        "{method} {path} answered {status} (expected {expected}): {answer}"
    );
    Ok(answer)
}

fn id(ticket: &Value) -> Result<i64> {
    ticket["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("ticket without id: {ticket}"))
}

#[tokio::test]
async fn every_change_escalation_note_and_reply_is_recorded_in_the_history() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let ticket = offline_ticket(&relay, &token, "Jonas", "Die Anlage piept.").await?;
        let path = format!("/api/v1/tickets/{}", id(&ticket)?);

        let change = json!({"status": "open", "priority": "critical", "category": "complaint",
                            "assignee": anna.id});
        let changed = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(change),
            StatusCode::OK,
        )
        .await?;
        ensure!(
            changed["status"] == "open"
                && changed["priority"] == "critical"
                && changed["category"] == "complaint"
                && changed["assignee"] == json!(anna.id),
            "{changed}"
        );
        ensure!(
            changed["sla"]["first_response"]["due_at"].as_i64()
                < ticket["sla"]["first_response"]["due_at"].as_i64(),
            "critical is due sooner than medium: {changed} vs {ticket}"
        );
        let escalate = format!("{path}/escalate");
        let to_l2 = call_ok(
            &relay,
            Method::POST,
            &escalate,
            &token,
            Some(json!({"reason": "Hardwarefehler, L1 kommt nicht weiter"})),
            StatusCode::OK,
        )
        .await?;
        ensure!(to_l2["support_level"] == "L2", "{to_l2}");
        let to_l3 = call_ok(
            &relay,
            Method::POST,
            &escalate,
            &token,
            Some(json!({"reason": "Hersteller einbeziehen"})),
            StatusCode::OK,
        )
        .await?;
        ensure!(to_l3["support_level"] == "L3", "{to_l3}");
        call_ok(
            &relay,
            Method::POST,
            &escalate,
            &token,
            Some(json!({"reason": "noch höher"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        call_ok(
            &relay,
            Method::POST,
            &escalate,
            &token,
            Some(json!({"reason": "  "})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;

        call_ok(
            &relay,
            Method::POST,
            &format!("{path}/notes"),
            &token,
            Some(json!({"body": "Kunde ist Stammkunde."})),
            StatusCode::CREATED,
        )
        .await?;
        let replied = call_ok(
            &relay,
            Method::POST,
            &format!("{path}/replies"),
            &token,
            Some(json!({"body": "Wir schicken einen Techniker."})),
            StatusCode::CREATED,
        )
        .await?;
        ensure!(
            replied["sla"]["first_response"]["met_at"].is_i64()
                && replied["first_response_at"].is_i64(),
            "the first reply meets the first-response target: {replied}"
        );
        let second = call_ok(
            &relay,
            Method::POST,
            &format!("{path}/replies"),
            &token,
            Some(json!({"body": "Termin: Montag."})),
            StatusCode::CREATED,
        )
        .await?;
        ensure!(
            second["first_response_at"] == replied["first_response_at"],
            "a later reply does not move the first response"
        );

        let detail = call_ok(&relay, Method::GET, &path, &token, None, StatusCode::OK).await?;
        let history = detail["history"].as_array().cloned().unwrap_or_default();
        let kinds: Vec<&str> = history.iter().filter_map(|e| e["kind"].as_str()).collect();
        ensure!(
            kinds
                == vec![
                    "created",
                    "category_changed",
                    "priority_changed",
                    "assigned",
                    "status_changed",
                    "escalated",
                    "escalated",
                    "note",
                    "reply",
                    "reply"
                ],
            "history {kinds:?}"
        );
        let escalations: Vec<(&Value, &Value, &Value)> = history
            .iter()
            .filter(|e| e["kind"] == "escalated")
            .map(|e| (&e["from"], &e["to"], &e["reason"]))
            .collect();
        ensure!(
            escalations
                == vec![
                    (
                        &json!("L1"),
                        &json!("L2"),
                        &json!("Hardwarefehler, L1 kommt nicht weiter")
                    ),
                    (&json!("L2"), &json!("L3"), &json!("Hersteller einbeziehen")),
                ],
            "escalation history with reasons: {escalations:?}"
        );
        ensure!(
            history
                .iter()
                .skip(1)
                .all(|e| e["agent_id"] == json!(anna.id)),
            "each entry names who did it: {history:?}"
        );
        ensure!(
            detail["transcript"]
                .as_array()
                .is_some_and(|t| !t.is_empty()),
            "the offline message's transcript: {detail}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn pending_on_the_customer_pauses_the_sla_and_a_closed_ticket_can_only_be_reopened(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let ticket = offline_ticket(&relay, &token, "Mia", "Passwort vergessen.").await?;
        let path = format!("/api/v1/tickets/{}", id(&ticket)?);
        ensure!(
            ticket["sla"]["paused"] == false && ticket["sla_due_at"].is_i64(),
            "{ticket}"
        );

        let status = |s: &str| Some(json!({ "status": s }));
        let pending = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("pending_customer"),
            StatusCode::OK,
        )
        .await?;
        ensure!(
            pending["sla"]["paused"] == true
                && pending["pending_since"].is_i64()
                && pending["sla_due_at"].is_null(),
            "the clock stands still: {pending}"
        );
        let open = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("open"),
            StatusCode::OK,
        )
        .await?;
        ensure!(
            open["sla"]["paused"] == false
                && open["pending_since"].is_null()
                && open["sla_due_at"].is_i64()
                && open["sla"]["first_response"]["due_at"].as_i64()
                    >= ticket["sla"]["first_response"]["due_at"].as_i64(),
            "the clock runs again, due no earlier: {open}"
        );

        let resolved = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("resolved"),
            StatusCode::OK,
        )
        .await?;
        ensure!(
            resolved["resolved_at"].is_i64() && resolved["sla_due_at"].is_null(),
            "{resolved}"
        );
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("closed"),
            StatusCode::OK,
        )
        .await?;
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("pending_customer"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("new"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("on_hold"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        let reopened = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            status("open"),
            StatusCode::OK,
        )
        .await?;
        ensure!(
            reopened["status"] == "open" && reopened["resolved_at"].is_null(),
            "reopened: {reopened}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn the_list_filters_sorts_by_sla_due_time_and_pages() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let low = offline_ticket(&relay, &token, "Lea", "Frage zum Produkt").await?;
        let medium = offline_ticket(&relay, &token, "Max", "Rechnung fehlt").await?;
        let critical = offline_ticket(&relay, &token, "Kim", "Alles steht still").await?;
        for (t, p) in [(&low, "low"), (&critical, "critical")] {
            let path = format!("/api/v1/tickets/{}", id(t)?);
            call_ok(
                &relay,
                Method::PATCH,
                &path,
                &token,
                Some(json!({"priority": p})),
                StatusCode::OK,
            )
            .await?;
        }
        let resolved_path = format!("/api/v1/tickets/{}", id(&medium)?);
        call_ok(
            &relay,
            Method::PATCH,
            &resolved_path,
            &token,
            Some(json!({"status": "resolved", "assignee": anna.id})),
            StatusCode::OK,
        )
        .await?;

        let ids = |list: &[Value]| list.iter().map(|t| t["id"].clone()).collect::<Vec<_>>();
        let all = relay.tickets(&token, "").await?;
        ensure!(
            ids(&all)
                == vec![
                    critical["id"].clone(),
                    low["id"].clone(),
                    medium["id"].clone()
                ],
            "soonest due first, nothing running last: {all:?}"
        );
        let crit = relay.tickets(&token, "?priority=critical").await?;
        ensure!(ids(&crit) == vec![critical["id"].clone()], "{crit:?}");
        let mine = relay
            .tickets(&token, &format!("?assignee={}", anna.id))
            .await?;
        ensure!(ids(&mine) == vec![medium["id"].clone()], "{mine:?}");
        let resolved = relay.tickets(&token, "?status=resolved&level=L1").await?;
        ensure!(ids(&resolved) == vec![medium["id"].clone()], "{resolved:?}");
        let billing = relay.tickets(&token, "?category=billing_question").await?;
        ensure!(billing.is_empty(), "{billing:?}");

        let (status, page) = relay
            .call(Method::GET, "/api/v1/tickets?limit=2", Some(&token), None)
            .await?;
        ensure!(
            status == StatusCode::OK && page["next_offset"] == 2,
            "{page}"
        );
        let (_, rest) = relay
            .call(
                Method::GET,
                "/api/v1/tickets?limit=2&offset=2",
                Some(&token),
                None,
            )
            .await?;
        ensure!(
            ids(rest["tickets"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default())
                == vec![medium["id"].clone()]
                && rest["next_offset"].is_null(),
            "{rest}"
        );
        let (status, _) = relay
            .call(
                Method::GET,
                "/api/v1/tickets?priority=urgent",
                Some(&token),
                None,
            )
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "unknown priority: {status}"
        );
        let (status, _) = relay
            .call(Method::GET, "/api/v1/tickets", None, None)
            .await?;
        ensure!(status == StatusCode::UNAUTHORIZED, "no token: {status}");
        let (status, _) = relay
            .call(Method::GET, "/api/v1/tickets/999999", Some(&token), None)
            .await?;
        ensure!(status == StatusCode::NOT_FOUND, "unknown ticket: {status}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn only_admins_set_a_sites_business_hours_and_nonsense_is_refused() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let anna_token = relay.login(&anna).await?.token;
        let path = "/api/v1/sites/acme/business-hours";
        let defaults =
            call_ok(&relay, Method::GET, path, &anna_token, None, StatusCode::OK).await?;
        ensure!(
            defaults["timezone"] == "Europe/Berlin"
                && defaults["week"][0] == json!([480, 1020])
                && defaults["week"][6].is_null(),
            "Mon–Fri 08:00–17:00 Berlin: {defaults}"
        );
        let ny = json!({"timezone": "America/New_York",
                        "week": [[540, 1080], [540, 1080], [540, 1080], [540, 1080],
                                 [540, 1080], null, null]});
        call_ok(
            &relay,
            Method::PUT,
            path,
            &anna_token,
            Some(ny.clone()),
            StatusCode::FORBIDDEN,
        )
        .await?;
        let saved = call_ok(
            &relay,
            Method::PUT,
            path,
            &admin_token,
            Some(ny.clone()),
            StatusCode::OK,
        )
        .await?;
        ensure!(saved == ny, "{saved}");
        let mut bad_zone = ny.clone();
        bad_zone["timezone"] = json!("Mars/Olympus");
        call_ok(
            &relay,
            Method::PUT,
            path,
            &admin_token,
            Some(bad_zone),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        let closed = json!({"timezone": "UTC", "week": [null, null, null, null, null, null, null]});
        call_ok(
            &relay,
            Method::PUT,
            path,
            &admin_token,
            Some(closed),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        call_ok(
            &relay,
            Method::PUT,
            "/api/v1/sites/nowhere/business-hours",
            &admin_token,
            Some(ny),
            StatusCode::NOT_FOUND,
        )
        .await?;
        let categories = call_ok(
            &relay,
            Method::GET,
            "/api/v1/tickets/categories",
            &anna_token,
            None,
            StatusCode::OK,
        )
        .await?;
        ensure!(
            categories["categories"][0] == "technical_problem",
            "{categories}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_ticket_is_assigned_to_an_enabled_agent_only_and_null_unassigns_it() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let ben = relay.add_agent("Ben", 1).await?;
        let ticket = offline_ticket(&relay, &token, "Ida", "Lieferstatus?").await?;
        let path = format!("/api/v1/tickets/{}", id(&ticket)?);

        let assigned = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"assignee": ben.id})),
            StatusCode::OK,
        )
        .await?;
        ensure!(assigned["assignee"] == json!(ben.id), "{assigned}");
        let untouched = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"priority": "high"})),
            StatusCode::OK,
        )
        .await?;
        ensure!(
            untouched["assignee"] == json!(ben.id),
            "absent keeps it: {untouched}"
        );
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"assignee": 999_999})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        call_ok(
            &relay,
            Method::PATCH,
            &format!("/api/v1/agents/{}", ben.id),
            &admin_token,
            Some(json!({"disabled": true})),
            StatusCode::OK,
        )
        .await?;
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"assignee": anna.id})),
            StatusCode::OK,
        )
        .await?;
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"assignee": ben.id})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        let unassigned = call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"assignee": null})),
            StatusCode::OK,
        )
        .await?;
        ensure!(unassigned["assignee"].is_null(), "{unassigned}");
        call_ok(
            &relay,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"colour": "red"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// Admins set SLA targets per priority; new tickets (and priority changes) are due by them.
#[tokio::test]
async fn sla_targets_per_priority_are_the_admins_and_due_times_follow_them() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let boss = relay.add_admin("Boss", 0).await?;
        let admin = relay.login(&boss).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let agent = relay.login(&anna).await?.token;
        // Round the clock, so business time is wall time and the arithmetic is visible.
        relay
            .set_business_hours(&admin, "acme", "UTC", vec![json!([0, 1440]); 7])
            .await?;

        let put = |token: &str, priority: &str, first: u32, resolution: u32| {
            let path = format!("/api/v1/tickets/sla-policies/{priority}");
            let body = json!({"first_response_minutes": first, "resolution_minutes": resolution});
            let token = token.to_string();
            let relay = &relay;
            async move {
                relay
                    .call(Method::PUT, &path, Some(&token), Some(body))
                    .await
            }
        };
        ensure!(
            put(&agent, "low", 30, 90).await?.0 == StatusCode::FORBIDDEN,
            "agents may not"
        );
        ensure!(
            put(&admin, "low", 90, 30).await?.0 == StatusCode::UNPROCESSABLE_ENTITY,
            "resolution before first response"
        );
        ensure!(
            put(&admin, "low", 0, 30).await?.0 == StatusCode::UNPROCESSABLE_ENTITY,
            "zero"
        );
        ensure!(
            put(&admin, "urgent", 5, 30).await?.0 == StatusCode::UNPROCESSABLE_ENTITY,
            "unknown priority"
        );
        ensure!(
            put(&admin, "low", 30, 90).await?.0 == StatusCode::OK,
            "stored"
        );

        let (_, listed) = relay
            .call(
                Method::GET,
                "/api/v1/tickets/sla-policies",
                Some(&agent),
                None,
            )
            .await?;
        let low = listed["policies"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["priority"] == "low"))
            .cloned()
            .unwrap_or_default();
        ensure!(
            low["first_response_minutes"] == 30 && low["resolution_minutes"] == 90,
            "{listed}"
        );
        let critical = listed["policies"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["priority"] == "critical"))
            .cloned()
            .unwrap_or_default();
        ensure!(
            critical["first_response_minutes"] == 60,
            "defaults stay: {listed}"
        );

        // A medium offline ticket is due by the default (8 h); as low it is due in 30 min.
        let ticket = offline_ticket(&relay, &agent, "jonas", "Prüfplakette fehlt").await?;
        let id = ticket["id"].as_i64().unwrap_or_default();
        let created = ticket["created_at"].as_i64().unwrap_or_default();
        let due = |t: &Value, target: &str| {
            t["sla"][target]["due_at"].as_i64().unwrap_or_default() - created
        };
        const MINUTE: i64 = 60_000;
        ensure!(
            due(&ticket, "first_response") == 8 * 60 * MINUTE,
            "{ticket}"
        );
        let (status, low_ticket) = relay
            .call(
                Method::PATCH,
                &format!("/api/v1/tickets/{id}"),
                Some(&agent),
                Some(json!({"priority": "low"})),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{status} {low_ticket}");
        ensure!(
            due(&low_ticket, "first_response") == 30 * MINUTE
                && due(&low_ticket, "resolution") == 90 * MINUTE,
            "{low_ticket}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// `POST /tickets`: an agent logs a phone call, an integration files its form's message; the
/// defaults fill what is not given; bad input is refused with nothing stored.
#[tokio::test]
async fn tickets_are_opened_directly_by_agents_and_by_integrations_with_the_write_scope(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let boss = relay.add_admin("Boss", 0).await?;
        let admin = relay.login(&boss).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let agent = relay.login(&anna).await?.token;
        let post = |token: &str, body: Value| {
            let token = token.to_string();
            let relay = &relay;
            async move {
                relay
                    .call(Method::POST, "/api/v1/tickets", Some(&token), Some(body))
                    .await
            }
        };
        let (status, t) = post(
            &agent,
            json!({"site": "acme", "description": "Anruf: Löscher im Lager undicht\nBitte Rückruf",
                   "customer_name": "Frau Berg", "customer_contact": "+49 30 1234567",
                   "priority": "high", "assignee": anna.id.0}),
        )
        .await?;
        ensure!(status == StatusCode::CREATED, "{status} {t}");
        ensure!(
            t["subject"] == "Anruf: Löscher im Lager undicht"
                && t["channel"] == "offline_form"
                && t["priority"] == "high"
                && t["category"] == "technical_problem"
                && t["support_level"] == "L1"
                && t["assignee"] == anna.id.0
                && t["conversation_id"].is_null()
                && t["sla"]["first_response"]["due_at"].as_i64() > t["created_at"].as_i64(),
            "{t}"
        );

        // An integration: only with tickets:write.
        let reader = relay.api_token(&admin, &["tickets:read"]).await?;
        let writer = relay.api_token(&admin, &["tickets:write"]).await?;
        let mail = json!({"site": "acme", "subject": "Rechnung 4711", "description": "Bitte Gutschrift.",
                          "customer_contact": "einkauf@kunde.example", "category": "billing_question"});
        ensure!(post(&reader, mail.clone()).await?.0 == StatusCode::FORBIDDEN, "read scope");
        let (status, filed) = post(&writer, mail).await?;
        ensure!(status == StatusCode::CREATED, "{status} {filed}");
        ensure!(filed["subject"] == "Rechnung 4711" && filed["category"] == "billing_question", "{filed}");

        for bad in [
            json!({"site": "nowhere", "description": "x"}),
            json!({"site": "acme", "description": "   "}),
            json!({"site": "acme", "description": "x", "priority": "urgent"}),
            json!({"site": "acme", "description": "x", "category": "astrology"}),
            json!({"site": "acme", "description": "x", "channel": "pigeon"}),
            json!({"site": "acme", "description": "x", "assignee": 9999}),
            json!({"site": "acme"}),
        ] {
            let (status, body) = post(&agent, bad.clone()).await?;
            ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {status} {body}");
        }
        let all = relay.tickets(&admin, "").await?;
        ensure!(all.len() == 2, "only the two good ones: {all:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
