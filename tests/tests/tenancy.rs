//! Sites as tenants: an agent limited to sites sees and works only those sites' chats,
//! queue and tickets, on every route; admins and agents without sites see every site. One
//! rule (`SiteScope` in the relay), walked here over every ticket route of the OpenAPI
//! document.

use anyhow::{anyhow, ensure, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_e2e::{AgentClient, AgentInfo, Relay, VisitorClient, SITE_ORIGIN};
use switchboard_shared::{AgentId, ServerFrame};

/// A second site next to the default `acme`, embeddable from the same origin.
const BRAND: &str = "brand";

/// The second site, an admin, Anna (acme only) and Bruno (brand only).
struct Tenants {
    admin_token: String,
    anna: AgentInfo,
    bruno: AgentInfo,
}

async fn two_sites(relay: &Relay) -> Result<Tenants> {
    relay
        .cli(&["site", "add", "--id", BRAND, "--origin", SITE_ORIGIN])
        .await?;
    let admin = relay.add_admin("Admin", 0).await?;
    let admin_token = relay.login(&admin).await?.token;
    let anna = agent_of(relay, &admin_token, "Anna", &["acme"]).await?;
    let bruno = agent_of(relay, &admin_token, "Bruno", &[BRAND]).await?;
    Ok(Tenants {
        admin_token,
        anna,
        bruno,
    })
}

/// An agent made by an admin over REST, working for `sites`.
async fn agent_of(
    relay: &Relay,
    admin_token: &str,
    name: &str,
    sites: &[&str],
) -> Result<AgentInfo> {
    let email = format!("{}@agents.example", name.to_lowercase());
    let password = format!("pw-{}-correct-horse", name.to_lowercase());
    let (status, made) = relay
        .call(
            Method::POST,
            "/api/v1/agents",
            Some(admin_token),
            Some(json!({"email": email, "name": name, "password": password,
                        "max_concurrent_chats": 2, "sites": sites})),
        )
        .await?;
    ensure!(status == StatusCode::CREATED, "{status}: {made}");
    ensure!(made["sites"] == json!(sites), "sites not echoed: {made}");
    Ok(AgentInfo {
        id: AgentId(
            made["id"]
                .as_i64()
                .ok_or_else(|| anyhow!("no id: {made}"))?,
        ),
        name: name.into(),
        email,
        password,
        max_chats: 2,
    })
}

async fn open_ticket(relay: &Relay, token: &str, site: &str) -> Result<i64> {
    let (status, t) = relay
        .call(
            Method::POST,
            "/api/v1/tickets",
            Some(token),
            Some(json!({"site": site, "description": format!("Wartung für {site}")})),
        )
        .await?;
    ensure!(status == StatusCode::CREATED, "{status}: {t}");
    t["id"].as_i64().ok_or_else(|| anyhow!("no id: {t}"))
}

/// A body each ticket route accepts, so a refusal can only come from the site rule.
fn body_for(method: &Method, path: &str) -> Option<Value> {
    if *method == Method::GET {
        return None;
    }
    Some(if path.ends_with("/escalate") {
        json!({"reason": "Bitte L2"})
    } else if path.ends_with("/notes") || path.ends_with("/replies") {
        json!({"body": "Wir melden uns."})
    } else if path.ends_with("/tags") {
        json!({"tags": ["wartung"]})
    } else {
        json!({"priority": "high"})
    })
}

#[tokio::test]
async fn an_agent_of_one_site_meets_another_sites_tickets_on_no_route() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let Tenants {
            admin_token,
            anna,
            bruno,
        } = two_sites(&relay).await?;
        let anna_token = relay.login(&anna).await?.token;
        let own = open_ticket(&relay, &admin_token, "acme").await?;
        let other = open_ticket(&relay, &admin_token, BRAND).await?;

        let listed = relay.tickets(&anna_token, "").await?;
        let ids: Vec<i64> = listed.iter().filter_map(|t| t["id"].as_i64()).collect();
        ensure!(ids == vec![own], "Anna's ticket list: {ids:?}");
        let all = relay.tickets(&admin_token, "").await?;
        ensure!(all.len() == 2, "the admin sees both sites: {all:?}");

        // Every `/tickets/{id}…` route of the API document.
        let (_, doc) = relay
            .call(Method::GET, "/api/v1/openapi.json", None, None)
            .await?;
        let paths = doc["paths"]
            .as_object()
            .ok_or_else(|| anyhow!("no paths"))?;
        let mut walked = 0;
        for (path, ops) in paths {
            if !path.starts_with("/api/v1/tickets/{") {
                continue;
            }
            for method in ops.as_object().into_iter().flat_map(|o| o.keys()) {
                let method = Method::from_bytes(method.to_uppercase().as_bytes())?;
                let body = body_for(&method, path);
                let theirs = path.replace("{id}", &other.to_string());
                let (status, answer) = relay
                    .call(method.clone(), &theirs, Some(&anna_token), body.clone())
                    .await?;
                ensure!(
                    status == StatusCode::NOT_FOUND,
                    "{method} {theirs} as an agent of another site: {status} {answer}"
                );
                let mine = path.replace("{id}", &own.to_string());
                let (status, answer) = relay
                    .call(method.clone(), &mine, Some(&anna_token), body)
                    .await?;
                ensure!(
                    status.is_success(),
                    "{method} {mine} on her own site's ticket: {status} {answer}"
                );
                walked += 1;
            }
        }
        ensure!(walked >= 6, "only {walked} ticket routes walked");

        // Opening a ticket for another site, or handing one to an agent of another site.
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/tickets",
                Some(&anna_token),
                Some(json!({"site": BRAND, "description": "fremd"})),
            )
            .await?;
        ensure!(
            status == StatusCode::NOT_FOUND,
            "open for another site: {status}"
        );
        let (status, answer) = relay
            .call(
                Method::PATCH,
                &format!("/api/v1/tickets/{own}"),
                Some(&admin_token),
                Some(json!({"assignee": bruno.id.0})),
            )
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "assigned to an agent of another site: {status} {answer}"
        );

        // Canned responses: one for every site, one for brand only.
        for (shortcut, site) in [("hallo", Value::Null), ("brand-preise", json!(BRAND))] {
            let (status, answer) = relay
                .call(
                    Method::POST,
                    "/api/v1/canned-responses",
                    Some(&admin_token),
                    Some(
                        json!({"shortcut": shortcut, "title": shortcut, "body": "Guten Tag!",
                                "site": site}),
                    ),
                )
                .await?;
            ensure!(status == StatusCode::CREATED, "{status} {answer}");
        }
        let (status, _) = relay
            .call(
                Method::POST,
                "/api/v1/canned-responses",
                Some(&admin_token),
                Some(json!({"shortcut": "x", "title": "x", "body": "x", "site": "nirgendwo"})),
            )
            .await?;
        ensure!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            "unknown site: {status}"
        );
        let shortcuts = |answer: &Value| -> Vec<String> {
            answer["canned_responses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["shortcut"].as_str().map(String::from))
                .collect()
        };
        let (_, mine) = relay
            .call(
                Method::GET,
                "/api/v1/canned-responses",
                Some(&anna_token),
                None,
            )
            .await?;
        ensure!(
            shortcuts(&mine) == ["hallo"],
            "Anna's canned responses: {mine}"
        );
        let (_, all) = relay
            .call(
                Method::GET,
                "/api/v1/canned-responses",
                Some(&admin_token),
                None,
            )
            .await?;
        ensure!(shortcuts(&all).len() == 2, "the admin's: {all}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn visitors_are_routed_to_and_queued_for_the_agents_of_their_site_only() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let Tenants { anna, bruno, .. } = two_sites(&relay).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;

        // A brand visitor: nobody of brand online, so none offered and none assigned.
        let mut stranger = VisitorClient::connect(&relay, "Fremd").await?;
        stranger.site = BRAND.into();
        let welcome = stranger.hello().await?;
        ensure!(
            welcome.agents_online == 0,
            "a brand visitor was told {} agents are online (only acme's is)",
            welcome.agents_online
        );
        let brand_conv = stranger.start().await?;
        // An acme visitor goes to Anna at once, past the brand visitor waiting before.
        let mut own = VisitorClient::started(&relay, "Jonas").await?;
        own.expect_agent_joined().await?;
        let got = a.expect_assigned().await?.id;
        ensure!(got == own.conversation_id()?, "Anna got {got}");
        // Anna sees nothing of brand's queue.
        a.conn.sync().await?;
        let leaked = a.conn.inbox().any(|f| match f {
            ServerFrame::QueueSnapshot { entries, .. } => {
                entries.iter().any(|e| e.conversation_id == brand_conv)
            }
            _ => false,
        });
        ensure!(!leaked, "Anna was shown brand's waiting visitor");

        // Bruno comes online and gets the brand visitor.
        let (mut b, welcome) = AgentClient::connect(&relay, &bruno).await?;
        let taken = if welcome.conversations.iter().any(|c| c.id == brand_conv) {
            brand_conv
        } else {
            b.expect_assigned().await?.id
        };
        ensure!(taken == brand_conv, "Bruno got {taken}");
        stranger.expect_agent_joined().await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
