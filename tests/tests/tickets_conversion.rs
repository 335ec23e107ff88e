//! How conversations become tickets: an offline message, a queued visitor who leaves a
//! message instead, an agent converting a live chat, and (by a site setting) an unresolved
//! chat. Each path is idempotent.

use anyhow::{ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_e2e::api::leave_message;
use switchboard_e2e::{AgentClient, Relay, VisitorClient};
use switchboard_shared::{ErrorCode, EventKind, RemovalReason, ServerFrame, Side, VisitorCommand};

fn offline_form(v: &mut VisitorClient, body: &str) -> VisitorCommand {
    VisitorCommand::LeaveMessage {
        client_id: v.next_client_id(),
        body: body.into(),
        name: Some("Jonas".into()),
        email: Some("jonas@example.de".into()),
        customer_number: Some("K-1007".into()),
    }
}

#[tokio::test]
async fn an_offline_message_becomes_one_ticket_even_when_the_visitor_sends_it_twice() -> Result<()>
{
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let mut v = VisitorClient::connect(&relay, "offline").await?;
        v.hello().await?;
        let form = offline_form(
            &mut v,
            "Wartung der Anlage fällig\nBitte rufen Sie mich zurück.",
        );
        let first = leave_message(&mut v, &form).await?;
        let again = leave_message(&mut v, &form).await?;
        ensure!(again.duplicate, "the resend is a duplicate");

        let (status, ticket) = relay.ticket_of(&token, first.conversation_id).await?;
        ensure!(status == StatusCode::OK, "{status} {ticket}");
        ensure!(
            ticket["channel"] == "offline_form"
                && ticket["status"] == "new"
                && ticket["priority"] == "medium"
                && ticket["support_level"] == "L1"
                && ticket["category"] == "technical_problem",
            "defaults of an offline ticket: {ticket}"
        );
        ensure!(
            ticket["subject"] == "Wartung der Anlage fällig"
                && ticket["customer_name"] == "Jonas"
                && ticket["customer_contact"] == "jonas@example.de"
                && ticket["customer_number"] == "K-1007",
            "customer and subject from the form: {ticket}"
        );
        ensure!(
            ticket["sla"]["first_response"]["due_at"].as_i64() > ticket["created_at"].as_i64(),
            "a first-response due time: {ticket}"
        );
        // A second message on the same conversation adds to the transcript, not a ticket.
        let more = offline_form(&mut v, "Noch eine Frage zur Rechnung.");
        leave_message(&mut v, &more).await?;
        let all = relay.tickets(&token, "").await?;
        ensure!(all.len() == 1, "exactly one ticket: {all:?}");
        ensure!(all[0]["id"] == ticket["id"], "{all:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_queued_visitor_who_leaves_a_message_instead_gets_a_ticket() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut busy = VisitorClient::started(&relay, "first").await?;
        busy.expect_agent_joined().await?;
        a.expect_assigned().await?;

        let mut waiting = VisitorClient::started(&relay, "second").await?;
        waiting.expect_queue_position().await?;
        let conv = waiting.conversation_id()?;
        let (status, _) = relay.ticket_of(&token, conv).await?;
        ensure!(
            status == StatusCode::NOT_FOUND,
            "no ticket while queued: {status}"
        );
        let form = offline_form(&mut waiting, "Ich kann nicht länger warten.");
        let left = leave_message(&mut waiting, &form).await?;
        ensure!(left.conversation_id == conv, "the same conversation");

        let (status, ticket) = relay.ticket_of(&token, conv).await?;
        ensure!(status == StatusCode::OK, "{status} {ticket}");
        ensure!(
            ticket["channel"] == "offline_form"
                && ticket["description"] == "Ich kann nicht länger warten.",
            "{ticket}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn an_agent_converts_their_live_chat_once_and_the_chat_ends_for_them() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let anna_token = relay.login(&anna).await?.token;
        let ben = relay.add_agent("Ben", 1).await?;
        let ben_token = relay.login(&ben).await?.token;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v = VisitorClient::started(&relay, "Vera").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        v.send("Meine Rechnung ist doppelt abgebucht worden.")
            .await?;

        let path = format!("/api/v1/conversations/{conv}/ticket");
        let request = json!({"category": "billing_question", "priority": "high",
                             "support_level": "L2",
                             "summary": "Doppelte Abbuchung\nRechnung 4711 prüfen"});
        let (status, _) = relay
            .call(Method::POST, &path, Some(&ben_token), Some(request.clone()))
            .await?;
        ensure!(
            status == StatusCode::NOT_FOUND,
            "an agent not holding the chat: {status}"
        );
        let mut bad = request.clone();
        bad["category"] = json!("astrology");
        let (status, _) = relay
            .call(Method::POST, &path, Some(&anna_token), Some(bad))
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "an unknown category: {status}"
        );

        let (status, ticket) = relay
            .call(
                Method::POST,
                &path,
                Some(&anna_token),
                Some(request.clone()),
            )
            .await?;
        ensure!(status == StatusCode::CREATED, "{status} {ticket}");
        ensure!(
            ticket["channel"] == "live_chat"
                && ticket["assignee"] == json!(anna.id)
                && ticket["support_level"] == "L2"
                && ticket["priority"] == "high"
                && ticket["category"] == "billing_question"
                && ticket["subject"] == "Doppelte Abbuchung"
                && ticket["conversation_id"] == json!(conv),
            "{ticket}"
        );
        ensure!(
            ticket["sla"]["first_response"]["met_at"].is_i64(),
            "the live chat was the first response: {ticket}"
        );
        ensure!(
            a.expect_removed(conv).await? == RemovalReason::Ended,
            "the chat ends for the agent"
        );
        let (_, ended) = v
            .expect_event("Ended", |e| matches!(e, EventKind::Ended { .. }))
            .await?;
        ensure!(ended == EventKind::Ended { by: Side::Agent }, "{ended:?}");

        let (status, again) = relay
            .call(Method::POST, &path, Some(&anna_token), Some(request))
            .await?;
        ensure!(
            status == StatusCode::OK && again["id"] == ticket["id"],
            "a retry returns the same ticket: {status} {again}"
        );

        let (status, detail) = relay
            .call(
                Method::GET,
                &format!("/api/v1/tickets/{}", ticket["id"]),
                Some(&ben_token),
                None,
            )
            .await?;
        ensure!(status == StatusCode::OK, "{status} {detail}");
        let transcript = detail["transcript"].as_array().cloned().unwrap_or_default();
        ensure!(
            transcript
                .iter()
                .any(|e| e["event"]["body"] == "Meine Rechnung ist doppelt abgebucht worden."),
            "the transcript is linked: {detail}"
        );
        let kinds: Vec<&Value> = detail["history"]
            .as_array()
            .map(|h| h.iter().map(|e| &e["kind"]).collect())
            .unwrap_or_default();
        ensure!(kinds == vec!["created"], "history: {detail}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn converting_a_chat_frees_the_agents_slot_for_the_next_visitor_in_the_queue() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let token = relay.login(&anna).await?.token;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut first = VisitorClient::started(&relay, "first").await?;
        first.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        let mut second = VisitorClient::started(&relay, "second").await?;
        second.expect_queue_position().await?;

        let request = json!({"category": "complaint", "priority": "medium",
                             "support_level": "L1", "summary": "Lieferung beschädigt"});
        let (status, _) = relay
            .call(
                Method::POST,
                &format!("/api/v1/conversations/{conv}/ticket"),
                Some(&token),
                Some(request),
            )
            .await?;
        ensure!(status == StatusCode::CREATED, "{status}");
        ensure!(
            a.expect_removed(conv).await? == RemovalReason::Ended,
            "ended"
        );
        let next = a.expect_assigned().await?;
        ensure!(
            next.id == second.conversation_id()?,
            "the queued visitor gets the freed slot"
        );
        second.expect_agent_joined().await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// Ends the visitor's chat and waits until the relay has finished handling the end (a
/// connection's frames are handled in order, so the `pong` comes after any ticket).
async fn end_and_settle(v: &mut VisitorClient) -> Result<()> {
    v.end().await?;
    v.send_cmd(&VisitorCommand::Ping {}).await?;
    v.expect("pong", |f| matches!(f, ServerFrame::Pong)).await?;
    Ok(())
}

async fn unresolved_to_ticket(relay: &Relay, admin: &str, on: bool) -> Result<()> {
    let (status, body) = relay
        .call(
            Method::PATCH,
            "/api/v1/sites/acme",
            Some(admin),
            Some(json!({"unresolved_to_ticket": on})),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(())
}

/// Path 4: with the site's `unresolved_to_ticket` on, a visitor who gives up in the queue
/// and a chat no agent ever answered become tickets; an answered chat does not, and with
/// the setting off nothing does.
#[tokio::test]
async fn unresolved_chats_become_tickets_only_when_the_site_says_so() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let boss = relay.add_admin("Boss", 0).await?;
        let admin = relay.login(&boss).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;

        // Setting off: a visitor who leaves the queue leaves no ticket.
        let mut first = VisitorClient::started(&relay, "first").await?;
        first.expect_agent_joined().await?;
        let busy = a.expect_assigned().await?.id;
        let mut quitter = VisitorClient::started(&relay, "quitter").await?;
        quitter.expect_queue_position().await?;
        quitter.send("Hallo, ist jemand da?").await?;
        end_and_settle(&mut quitter).await?;
        let (status, _) = relay.ticket_of(&admin, quitter.conversation_id()?).await?;
        ensure!(status == StatusCode::NOT_FOUND, "setting off: {status}");

        unresolved_to_ticket(&relay, &admin, true).await?;

        // Gave up in the queue after writing: a ticket with their words.
        let mut waiting = VisitorClient::started(&relay, "waiting").await?;
        waiting.expect_queue_position().await?;
        waiting.send("Mein Feuerlöscher zeigt 0 bar.").await?;
        waiting.send("Ich melde mich später.").await?;
        end_and_settle(&mut waiting).await?;
        let (status, ticket) = relay.ticket_of(&admin, waiting.conversation_id()?).await?;
        ensure!(status == StatusCode::OK, "{status} {ticket}");
        ensure!(
            ticket["channel"] == "live_chat"
                && ticket["status"] == "new"
                && ticket["subject"] == "Mein Feuerlöscher zeigt 0 bar."
                && ticket["description"]
                    == "Mein Feuerlöscher zeigt 0 bar.\nIch melde mich später."
                && ticket["first_response_at"].is_null(),
            "{ticket}"
        );

        // Gave up in the queue without a word: nothing to answer, no ticket.
        let mut silent = VisitorClient::started(&relay, "silent").await?;
        silent.expect_queue_position().await?;
        end_and_settle(&mut silent).await?;
        let (status, _) = relay.ticket_of(&admin, silent.conversation_id()?).await?;
        ensure!(status == StatusCode::NOT_FOUND, "silent visitor: {status}");

        // An answered chat ends resolved: no ticket.
        a.send(busy, "Wie kann ich helfen?").await?;
        first.send("Danke, alles klar.").await?;
        end_and_settle(&mut first).await?;
        a.expect_removed(busy).await?;
        let (status, _) = relay.ticket_of(&admin, busy).await?;
        ensure!(status == StatusCode::NOT_FOUND, "answered chat: {status}");

        // A chat the agent never answered: a ticket.
        let mut ignored = VisitorClient::started(&relay, "ignored").await?;
        ignored.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        ignored.send("Brauche ein Angebot für 20 Löscher.").await?;
        end_and_settle(&mut ignored).await?;
        a.expect_removed(conv).await?;
        let (status, ticket) = relay.ticket_of(&admin, conv).await?;
        ensure!(
            status == StatusCode::OK,
            "unanswered chat: {status} {ticket}"
        );
        ensure!(
            ticket["description"] == "Brauche ein Angebot für 20 Löscher.",
            "{ticket}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// Path 1, second half: on a site whose admin chose "live chat only within business hours",
/// outside them there is no live chat even with agents online: the welcome says nobody is
/// available, a chat is refused, and the offline form's message becomes a ticket. Inside the
/// hours chat works again.
#[tokio::test]
async fn outside_business_hours_visitors_get_the_offline_form_and_their_message_a_ticket(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let boss = relay.add_admin("Boss", 0).await?;
        let admin = relay.login(&boss).await?.token;
        let anna = relay.add_agent("Anna", 1).await?;
        let (_a, _) = AgentClient::connect(&relay, &anna).await?;
        // Open round the clock on every day but today (UTC, Monday first).
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
            / 86_400;
        let today = ((days + 3) % 7) as usize; // 1970-01-01 was a Thursday
        let mut week = vec![json!([0, 1440]); 7];
        week[today] = Value::Null;
        relay
            .set_business_hours(&admin, "acme", "UTC", week)
            .await?;
        // Hours alone only drive SLA due times: chat stays open until the admin says
        // "live chat only within business hours".
        let mut before = VisitorClient::connect(&relay, "before").await?;
        ensure!(
            before.hello().await?.agents_online == 1,
            "hours alone do not close"
        );
        let (status, body) = relay
            .call(
                Method::PATCH,
                "/api/v1/sites/acme",
                Some(&admin),
                Some(json!({"chat_within_hours": true})),
            )
            .await?;
        ensure!(status == StatusCode::OK, "{status} {body}");

        let mut v = VisitorClient::connect(&relay, "late").await?;
        let welcome = v.hello().await?;
        ensure!(welcome.agents_online == 0, "closed: nobody to chat with");
        let start = VisitorCommand::StartConversation {
            name: Some("Jonas".into()),
            email: None,
            customer_number: None,
            page_url: None,
        };
        ensure!(
            v.refused(&start).await? == ErrorCode::OutsideBusinessHours,
            "no live chat outside the hours"
        );
        let form = offline_form(&mut v, "Bitte morgen zurückrufen.");
        let left = leave_message(&mut v, &form).await?;
        let (status, ticket) = relay.ticket_of(&admin, left.conversation_id).await?;
        ensure!(
            status == StatusCode::OK && ticket["channel"] == "offline_form",
            "{status} {ticket}"
        );

        relay
            .set_business_hours(&admin, "acme", "UTC", vec![json!([0, 1440]); 7])
            .await?;
        let mut w = VisitorClient::connect(&relay, "early").await?;
        ensure!(w.hello().await?.agents_online == 1, "open again");
        w.start().await?;
        w.expect_agent_joined().await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
