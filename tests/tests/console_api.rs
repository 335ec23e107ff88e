//! The REST API the agent console stands on: account administration, canned responses,
//! internal notes that never reach the visitor, and a visitor's earlier conversations.

use anyhow::{ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::json;
use switchboard_e2e::{AgentClient, Relay, VisitorClient};

#[tokio::test]
async fn an_admin_creates_and_edits_agent_accounts_and_nobody_else_can() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let new = json!({"email": "Ben@Acme.example", "name": "Ben", "password": "geheim-123",
                         "max_concurrent_chats": 2, "support_level": "L2"});
        let (status, ben) = relay
            .call(
                Method::POST,
                "/api/v1/agents",
                Some(&admin_token),
                Some(new.clone()),
            )
            .await?;
        ensure!(
            status == StatusCode::CREATED,
            "create answered {status}: {ben}"
        );
        ensure!(
            ben["email"] == "ben@acme.example" && ben["support_level"] == "L2",
            "{ben}"
        );
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/agents",
                Some(&admin_token),
                Some(new),
            )
            .await?;
        ensure!(
            status == StatusCode::CONFLICT,
            "a second account with the e-mail: {status}"
        );

        let (status, login) = relay.login_status("ben@acme.example", "geheim-123").await?;
        ensure!(status == StatusCode::OK, "the new agent logs in: {status}");
        let ben_token = login["token"].as_str().unwrap_or_default().to_string();
        let attempt = json!({"email": "x@acme.example", "name": "X", "password": "geheim-123"});
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/agents",
                Some(&ben_token),
                Some(attempt),
            )
            .await?;
        ensure!(
            status == StatusCode::FORBIDDEN,
            "an agent creating accounts: {status}"
        );

        let path = format!("/api/v1/agents/{}", ben["id"]);
        let patch = json!({"support_level": "L3", "role": "admin", "password": "neues-passwort"});
        let (status, ben) = relay
            .call(Method::PATCH, &path, Some(&admin_token), Some(patch))
            .await?;
        ensure!(
            status == StatusCode::OK && ben["support_level"] == "L3" && ben["role"] == "admin",
            "{ben}"
        );
        let (status, _) = relay
            .login_status("ben@acme.example", "neues-passwort")
            .await?;
        ensure!(status == StatusCode::OK, "the new password works: {status}");
        let (status, _) = relay.login_status("ben@acme.example", "geheim-123").await?;
        ensure!(
            status == StatusCode::UNAUTHORIZED,
            "the old one does not: {status}"
        );

        let short = json!({"password": "kurz"});
        let (status, _) = relay
            .call(Method::PATCH, &path, Some(&admin_token), Some(short))
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "a short password: {status}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn admins_manage_canned_responses_that_every_agent_can_read() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let anna = relay.add_agent("Anna", 2).await?;
        let anna_token = relay.login(&anna).await?.token;
        let wartung = json!({"shortcut": "/wartung", "title": "Wartung",
                             "body": "Die Wartung nach DIN 14406-4 ist alle zwei Jahre fällig."});
        let (status, created) = relay
            .call(
                Method::POST,
                "/api/v1/canned-responses",
                Some(&admin_token),
                Some(wartung.clone()),
            )
            .await?;
        ensure!(
            status == StatusCode::CREATED && created["shortcut"] == "wartung",
            "{status} {created}"
        );
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/canned-responses",
                Some(&admin_token),
                Some(wartung.clone()),
            )
            .await?;
        ensure!(
            status == StatusCode::CONFLICT,
            "same shortcut twice: {status}"
        );
        let bad = json!({"shortcut": "zwei worte", "title": "x", "body": "y"});
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/canned-responses",
                Some(&admin_token),
                Some(bad),
            )
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "a shortcut with a space: {status}"
        );
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/canned-responses",
                Some(&anna_token),
                Some(wartung),
            )
            .await?;
        ensure!(
            status == StatusCode::FORBIDDEN,
            "an agent creating one: {status}"
        );

        let (status, list) = relay
            .call(
                Method::GET,
                "/api/v1/canned-responses",
                Some(&anna_token),
                None,
            )
            .await?;
        ensure!(
            status == StatusCode::OK && list["canned_responses"][0]["shortcut"] == "wartung",
            "{list}"
        );
        let path = format!("/api/v1/canned-responses/{}", created["id"]);
        let edit = json!({"shortcut": "wartung", "title": "Wartung", "body": "Alle zwei Jahre."});
        let (status, edited) = relay
            .call(Method::PUT, &path, Some(&admin_token), Some(edit))
            .await?;
        ensure!(
            status == StatusCode::OK && edited["body"] == "Alle zwei Jahre.",
            "{edited}"
        );
        let (status, _) = relay
            .call(Method::DELETE, &path, Some(&admin_token), None)
            .await?;
        ensure!(status == StatusCode::NO_CONTENT, "delete: {status}");
        let (status, _) = relay
            .call(Method::DELETE, &path, Some(&admin_token), None)
            .await?;
        ensure!(status == StatusCode::NOT_FOUND, "delete again: {status}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn internal_notes_stay_with_agents_and_the_transcript_lists_the_visitors_earlier_chats(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let ben = relay.add_agent("Ben", 1).await?;
        let ben_token = relay.login(&ben).await?.token;
        let mut v = VisitorClient::started(&relay, "Vera").await?;
        v.expect_agent_joined().await?;
        let first = a.expect_assigned().await?.id;
        v.end().await?;
        a.expect_removed(first).await?;
        let second = v.start().await?;
        v.expect_agent_joined().await?;
        a.expect_assigned().await?;

        let secret = "Kundin wirkt verärgert – Rückruf durch Teamleitung";
        let path = format!("/api/v1/conversations/{second}/notes");
        let (status, note) = relay
            .call(
                Method::POST,
                &path,
                Some(&a.token),
                Some(json!({"body": secret})),
            )
            .await?;
        ensure!(
            status == StatusCode::CREATED && note["body"] == secret,
            "{status} {note}"
        );
        let (status, _) = relay
            .call(
                Method::POST,
                &path,
                Some(&ben_token),
                Some(json!({"body": "x"})),
            )
            .await?;
        ensure!(
            status == StatusCode::NOT_FOUND,
            "a note on someone else's chat: {status}"
        );
        let (status, _) = relay
            .call(
                Method::POST,
                &path,
                Some(&a.token),
                Some(json!({"body": "  "})),
            )
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "an empty note: {status}"
        );

        // The visitor's connection carries on and never sees the note.
        v.send("Hallo?").await?;
        v.conn
            .expect_none("the internal note", |f| {
                format!("{f:?}").contains("Rückruf durch Teamleitung")
            })
            .await?;

        let (status, t) = relay
            .call(
                Method::GET,
                &format!("/api/v1/conversations/{second}"),
                Some(&a.token),
                None,
            )
            .await?;
        ensure!(status == StatusCode::OK, "transcript: {status}");
        ensure!(
            t["notes"][0]["body"] == secret,
            "notes in the transcript: {t}"
        );
        ensure!(
            t["earlier"][0]["id"] == first.0 && t["earlier"][0]["status"] == "ended",
            "earlier: {t}"
        );
        ensure!(
            !t["events"].to_string().contains("Teamleitung"),
            "the note is not an event: {t}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn disabling_an_agent_closes_their_console_and_their_token_stops_working() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let anna = relay.add_agent("Anna", 2).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let path = format!("/api/v1/agents/{}", anna.id);
        let (status, _) = relay
            .call(
                Method::PATCH,
                &path,
                Some(&admin_token),
                Some(json!({"disabled": true})),
            )
            .await?;
        ensure!(status == StatusCode::OK, "disable: {status}");
        let code = a
            .conn
            .expect_closed(std::time::Duration::from_secs(5))
            .await?;
        ensure!(
            code == Some(4003),
            "console closed with {code:?}, expected 4003"
        );
        let (status, _) = relay
            .call(Method::GET, "/api/v1/agents", Some(&a.token), None)
            .await?;
        ensure!(
            status == StatusCode::UNAUTHORIZED,
            "the old token: {status}"
        );
        let (status, _) = relay.login_status(&anna.email, &anna.password).await?;
        ensure!(
            status == StatusCode::UNAUTHORIZED,
            "a disabled agent logging in: {status}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
