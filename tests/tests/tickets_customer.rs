//! The customer's side of a ticket: public replies reach the visitor's widget (live, and at
//! the next visit with the same visitor token), notes never do, and once the ticket is
//! resolved the visitor rates it once (CSAT against the ticket and its agent).

use anyhow::{bail, ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_e2e::api::leave_message;
use switchboard_e2e::{Relay, VisitorClient};
use switchboard_shared::{CustomerTicket, ErrorCode, ServerFrame, VisitorCommand};

async fn tickets_frame(v: &mut VisitorClient) -> Result<Vec<CustomerTicket>> {
    match v
        .expect("tickets", |f| matches!(f, ServerFrame::Tickets { .. }))
        .await?
    {
        ServerFrame::Tickets { tickets } => Ok(tickets),
        other => bail!("expected tickets, got {other:?}"),
    }
}

/// A visitor who left an offline message, and the ticket id it became.
async fn offline_ticket(relay: &Relay, token: &str, name: &str) -> Result<(VisitorClient, i64)> {
    let mut v = VisitorClient::greeted(relay, name).await?;
    let form = VisitorCommand::LeaveMessage {
        client_id: v.next_client_id(),
        body: "Der Feuerlöscher verliert Druck.".into(),
        name: Some(name.into()),
        email: Some(format!("{name}@example.de")),
        customer_number: None,
    };
    let left = leave_message(&mut v, &form).await?;
    let (status, ticket) = relay.ticket_of(token, left.conversation_id).await?;
    ensure!(status == StatusCode::OK, "{status} {ticket}");
    let id = ticket["id"].as_i64().unwrap_or_default();
    // The widget lists the new request at once, with no reply yet.
    let listed = tickets_frame(&mut v).await?;
    ensure!(
        listed.len() == 1
            && listed[0].id == id
            && listed[0].status == "new"
            && listed[0].replies.is_empty(),
        "{listed:?}"
    );
    Ok((v, id))
}

async fn post(relay: &Relay, token: &str, path: &str, body: Value) -> Result<Value> {
    let (status, answer) = relay
        .call(Method::POST, path, Some(token), Some(body))
        .await?;
    ensure!(status.is_success(), "POST {path}: {status} {answer}");
    Ok(answer)
}

async fn patch(relay: &Relay, token: &str, path: &str, body: Value) -> Result<Value> {
    let (status, answer) = relay
        .call(Method::PATCH, path, Some(token), Some(body))
        .await?;
    ensure!(status.is_success(), "PATCH {path}: {status} {answer}");
    Ok(answer)
}

#[tokio::test]
async fn a_reply_reaches_the_open_widget_and_waits_for_the_next_visit_notes_never() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let (mut v, id) = offline_ticket(&relay, &token, "jonas").await?;

        let path = format!("/api/v1/tickets/{id}");
        post(
            &relay,
            &token,
            &format!("{path}/notes"),
            json!({"body": "intern: Kunde seit 2019"}),
        )
        .await?;
        post(
            &relay,
            &token,
            &format!("{path}/replies"),
            json!({"body": "Bitte prüfen Sie das Ventil."}),
        )
        .await?;
        let live = tickets_frame(&mut v).await?;
        ensure!(live.len() == 1 && live[0].id == id, "{live:?}");
        let replies: Vec<&str> = live[0].replies.iter().map(|r| r.body.as_str()).collect();
        ensure!(
            replies == ["Bitte prüfen Sie das Ventil."],
            "only the public reply: {replies:?}"
        );
        ensure!(
            live[0].replies[0].author.as_deref() == Some("Anna"),
            "{live:?}"
        );
        ensure!(live[0].status == "open" && !live[0].can_rate, "{live:?}");

        // The widget is closed; the next visit with the same token shows the reply.
        v.cut();
        let welcome = v.reconnect().await?;
        ensure!(!welcome.token_issued, "same visitor");
        let later = tickets_frame(&mut v).await?;
        ensure!(later == live, "the same list at the next visit: {later:?}");

        // A stranger (new token) sees nothing of it.
        let mut stranger = VisitorClient::greeted(&relay, "stranger").await?;
        stranger.send_cmd(&VisitorCommand::Ping {}).await?;
        let frame = stranger
            .expect("pong", |f| {
                matches!(f, ServerFrame::Pong | ServerFrame::Tickets { .. })
            })
            .await?;
        ensure!(
            frame == ServerFrame::Pong,
            "no tickets for a stranger: {frame:?}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_resolved_ticket_is_rated_once_by_its_customer_and_the_rating_names_the_agent(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let (mut v, id) = offline_ticket(&relay, &token, "jonas").await?;
        let (mut other, other_id) = offline_ticket(&relay, &token, "mia").await?;
        let path = format!("/api/v1/tickets/{id}");
        patch(&relay, &token, &path, json!({"assignee": anna.id.0})).await?;

        let rate = |ticket_id, score| VisitorCommand::RateTicket {
            ticket_id,
            score,
            comment: Some("Schnelle Hilfe".into()),
        };
        // Not resolved yet: refused.
        ensure!(
            v.refused(&rate(id, 5)).await? == ErrorCode::NotRatable,
            "open ticket"
        );

        patch(&relay, &token, &path, json!({"status": "resolved"})).await?;
        let asked = tickets_frame(&mut v).await?;
        ensure!(
            asked[0].status == "resolved" && asked[0].can_rate,
            "{asked:?}"
        );

        // Someone else's ticket, and a score out of range: refused.
        ensure!(
            other.refused(&rate(id, 4)).await? == ErrorCode::NotRatable,
            "not theirs"
        );
        ensure!(
            v.refused(&rate(id, 6)).await? == ErrorCode::InvalidField,
            "score 6"
        );
        ensure!(
            v.refused(&rate(other_id, 4)).await? == ErrorCode::NotRatable,
            "not mine"
        );

        v.send_cmd(&rate(id, 4)).await?;
        let rated = tickets_frame(&mut v).await?;
        ensure!(
            rated[0].rating == Some(4) && !rated[0].can_rate,
            "{rated:?}"
        );
        ensure!(
            v.refused(&rate(id, 1)).await? == ErrorCode::NotRatable,
            "only once"
        );

        let (status, detail) = relay.call(Method::GET, &path, Some(&token), None).await?;
        ensure!(status == StatusCode::OK, "{status}");
        ensure!(
            detail["rating"]["score"] == 4
                && detail["rating"]["agent_id"] == anna.id.0
                && detail["rating"]["comment"] == "Schnelle Hilfe",
            "{detail}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn tags_are_normalised_recorded_and_found_with_search() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let (_v, id) = offline_ticket(&relay, &token, "jonas").await?;
        let (_w, _other) = offline_ticket(&relay, &token, "mia").await?;
        let path = format!("/api/v1/tickets/{id}/tags");
        let (status, tags) = relay
            .call(
                Method::PUT,
                &path,
                Some(&token),
                Some(json!({"tags": [" Rückruf ", "wartung", "rückruf"]})),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{status} {tags}");
        ensure!(tags["tags"] == json!(["rückruf", "wartung"]), "{tags}");
        let (status, bad) = relay
            .call(
                Method::PUT,
                &path,
                Some(&token),
                Some(json!({"tags": ["   "]})),
            )
            .await?;
        ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status} {bad}");

        let tagged = relay.tickets(&token, "?tag=wartung").await?;
        ensure!(tagged.len() == 1 && tagged[0]["id"] == id, "{tagged:?}");
        let found = relay.tickets(&token, "?q=mia%40example").await?;
        ensure!(
            found.len() == 1 && found[0]["customer_contact"] == "mia@example.de",
            "{found:?}"
        );
        let both = relay.tickets(&token, "?q=FEUERL").await?;
        ensure!(both.len() == 2, "{both:?}");
        // Fresh tickets run against their SLA; none is breached or paused yet.
        ensure!(
            relay.tickets(&token, "?sla=running").await?.len() == 2,
            "running"
        );
        ensure!(
            relay.tickets(&token, "?sla=breached").await?.is_empty(),
            "breached"
        );
        let (status, _) = relay
            .call(Method::GET, "/api/v1/tickets?sla=late", Some(&token), None)
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "unknown SLA state: {status}"
        );

        let (_, detail) = relay
            .call(
                Method::GET,
                &format!("/api/v1/tickets/{id}"),
                Some(&token),
                None,
            )
            .await?;
        ensure!(detail["tags"] == json!(["rückruf", "wartung"]), "{detail}");
        let kinds: Vec<&str> = detail["history"]
            .as_array()
            .map(|h| h.iter().filter_map(|e| e["kind"].as_str()).collect())
            .unwrap_or_default();
        ensure!(kinds.contains(&"tags_changed"), "{kinds:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
