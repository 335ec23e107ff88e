//! Automatic assignment: a category's rule names the support level and the strategy
//! (round robin or least loaded among that level's enabled agents); escalation hands the
//! ticket to the next level by the same rule.

use anyhow::{ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_e2e::api::leave_message;
use switchboard_e2e::{Relay, VisitorClient};
use switchboard_shared::VisitorCommand;

async fn offline_ticket(relay: &Relay, token: &str, name: &str) -> Result<Value> {
    let mut v = VisitorClient::greeted(relay, name).await?;
    let form = VisitorCommand::LeaveMessage {
        client_id: v.next_client_id(),
        body: format!("Anfrage von {name}"),
        name: Some(name.into()),
        email: None,
        customer_number: None,
    };
    let left = leave_message(&mut v, &form).await?;
    let (status, ticket) = relay.ticket_of(token, left.conversation_id).await?;
    ensure!(status == StatusCode::OK, "{status} {ticket}");
    Ok(ticket)
}

async fn set_level(relay: &Relay, admin: &str, agent: i64, level: &str) -> Result<()> {
    let path = format!("/api/v1/agents/{agent}");
    let (status, body) = relay
        .call(
            Method::PATCH,
            &path,
            Some(admin),
            Some(json!({"support_level": level})),
        )
        .await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    Ok(())
}

async fn set_rule(
    relay: &Relay,
    token: &str,
    category: &str,
    level: &str,
    strategy: &str,
) -> Result<StatusCode> {
    let path = format!("/api/v1/tickets/assignment-rules/{category}");
    let body = json!({"support_level": level, "strategy": strategy});
    Ok(relay
        .call(Method::PUT, &path, Some(token), Some(body))
        .await?
        .0)
}

#[tokio::test]
async fn new_tickets_go_round_robin_to_the_rules_level_and_escalation_hands_them_on() -> Result<()>
{
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let boss = relay.add_admin("Boss", 1).await?;
        let admin = relay.login(&boss).await?.token;
        let l1a = relay.add_agent("Lea", 1).await?;
        let l1b = relay.add_agent("Lars", 1).await?;
        let l2 = relay.add_agent("Zoe", 1).await?;
        set_level(&relay, &admin, boss.id.0, "L3").await?;
        set_level(&relay, &admin, l2.id.0, "L2").await?;
        let agent_token = relay.login(&l1a).await?.token;

        // Only admins write rules; unknown categories and strategies are refused.
        ensure!(set_rule(&relay, &agent_token, "technical_problem", "L1", "round_robin").await? == StatusCode::FORBIDDEN, "agent");
        ensure!(set_rule(&relay, &admin, "no_such", "L1", "round_robin").await? == StatusCode::UNPROCESSABLE_ENTITY, "category");
        ensure!(set_rule(&relay, &admin, "technical_problem", "L1", "dice").await? == StatusCode::UNPROCESSABLE_ENTITY, "strategy");
        ensure!(set_rule(&relay, &admin, "technical_problem", "L1", "round_robin").await? == StatusCode::OK, "rule");
        let (_, rules) = relay
            .call(Method::GET, "/api/v1/tickets/assignment-rules", Some(&agent_token), None)
            .await?;
        ensure!(rules["rules"] == json!([{"category": "technical_problem", "support_level": "L1", "strategy": "round_robin"}]), "{rules}");

        // Offline tickets (category technical_problem) alternate between the two L1 agents;
        // the L2 and L3 agents get none.
        let mut assignees = Vec::new();
        for name in ["a", "b", "c", "d"] {
            let t = offline_ticket(&relay, &admin, name).await?;
            ensure!(t["support_level"] == "L1", "{t}");
            assignees.push(t["assignee"].as_i64().unwrap_or_default());
        }
        ensure!(
            assignees == [l1a.id.0, l1b.id.0, l1a.id.0, l1b.id.0],
            "round robin over the L1 agents: {assignees:?}"
        );

        // Escalation to L2: with a least-loaded rule the only L2 agent takes it over.
        ensure!(set_rule(&relay, &admin, "technical_problem", "L1", "least_loaded").await? == StatusCode::OK, "rule");
        let first = offline_ticket(&relay, &admin, "e").await?;
        let id = first["id"].as_i64().unwrap_or_default();
        let (status, up) = relay
            .call(Method::POST, &format!("/api/v1/tickets/{id}/escalate"), Some(&agent_token), Some(json!({"reason": "Ventiltausch nötig"})))
            .await?;
        ensure!(status == StatusCode::OK, "{status} {up}");
        ensure!(up["support_level"] == "L2" && up["assignee"] == l2.id.0, "{up}");
        let (_, detail) = relay
            .call(Method::GET, &format!("/api/v1/tickets/{id}"), Some(&agent_token), None)
            .await?;
        let kinds: Vec<&str> = detail["history"]
            .as_array()
            .map(|h| h.iter().filter_map(|e| e["kind"].as_str()).collect())
            .unwrap_or_default();
        ensure!(kinds == ["created", "assigned", "escalated", "assigned"], "{kinds:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
