//! Site management (`/api/v1/sites`): admins change a site's origins, pre-chat fields, the
//! widget's look and behaviour and its ticket settings; agents only read; bad input is
//! refused as a whole; a change reaches the next visitor's `visitor_welcome`.

use anyhow::{ensure, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use switchboard_e2e::{Relay, VisitorClient, DEFAULT_TIMEOUT, SITE, SITE_ORIGIN};
use switchboard_shared::{
    ErrorCode, FieldRule, OfflineBehaviour, ServerFrame, SiteSettings, VisitorCommand,
    WidgetPosition, PROTOCOL_VERSION,
};

const PATH: &str = "/api/v1/sites/acme";

/// A fresh visitor's hello, and the site settings its `visitor_welcome` carried.
async fn welcome_site(relay: &Relay, origin: &str) -> Result<Result<SiteSettings, ErrorCode>> {
    let mut v = VisitorClient::connect_from(relay, "Vera", origin)
        .await
        .map_err(|e| anyhow::anyhow!("connect: {e}"))?;
    v.send_cmd(&VisitorCommand::Hello {
        protocol: PROTOCOL_VERSION,
        site: SITE.into(),
        token: None,
        last_seq: None,
        locale: Some("de".into()),
    })
    .await?;
    let frame = v
        .conn
        .expect("welcome or error", DEFAULT_TIMEOUT, |f| {
            matches!(
                f,
                ServerFrame::VisitorWelcome { .. } | ServerFrame::Error { .. }
            )
        })
        .await;
    match frame? {
        ServerFrame::VisitorWelcome { site, .. } => Ok(Ok(site)),
        ServerFrame::Error { code, .. } => Ok(Err(code)),
        other => anyhow::bail!("unexpected {other:?}"),
    }
}

/// The settings of a welcome that must come.
async fn welcomed(relay: &Relay, origin: &str) -> Result<SiteSettings> {
    welcome_site(relay, origin)
        .await?
        .map_err(|code| anyhow::anyhow!("hello from {origin} refused: {code:?}"))
}

#[tokio::test]
async fn an_agent_may_read_sites_but_not_change_them() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let agent = relay.add_agent("Anna", 2).await?;
        let token = relay.login(&agent).await?.token;
        let (status, list) = relay
            .call(Method::GET, "/api/v1/sites", Some(&token), None)
            .await?;
        ensure!(status == StatusCode::OK, "list: {status} {list}");
        ensure!(list["sites"][0]["id"] == SITE, "{list}");
        ensure!(
            list["sites"][0]["allowed_origins"] == json!([SITE_ORIGIN]),
            "{list}"
        );
        ensure!(
            list["sites"][0]["queue_offer_message_after_secs"] == 120
                && list["sites"][0]["unresolved_to_ticket"] == false
                && list["sites"][0]["offline_behaviour"] == "form"
                && list["sites"][0]["position"] == "right",
            "defaults: {list}"
        );
        let (status, body) = relay
            .call(
                Method::PATCH,
                PATH,
                Some(&token),
                Some(json!({"greeting": "Hallo"})),
            )
            .await?;
        ensure!(
            status == StatusCode::FORBIDDEN,
            "an agent patching a site: {status} {body}"
        );
        let (_, after) = relay.call(Method::GET, PATH, Some(&token), None).await?;
        ensure!(after["greeting"].is_null(), "nothing changed: {after}");
        let (status, _) = relay.call(Method::GET, PATH, None, None).await?;
        ensure!(
            status == StatusCode::UNAUTHORIZED,
            "anonymous read: {status}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason_and_changes_nothing() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let token = relay.login(&admin).await?.token;
        let (_, before) = relay.call(Method::GET, PATH, Some(&token), None).await?;
        let long = "x".repeat(301);
        let cases = [
            (
                json!({"allowed_origins": ["https://shop.example/"]}),
                "origin",
            ),
            (json!({"allowed_origins": ["shop.example"]}), "origin"),
            (
                json!({"allowed_origins": ["https://shop.example:443"]}),
                "default port",
            ),
            (
                json!({"allowed_origins": [SITE_ORIGIN, SITE_ORIGIN]}),
                "twice",
            ),
            // A valid greeting beside a bad colour: the whole patch is refused.
            (json!({"greeting": "Moin", "accent": "blue"}), "accent"),
            (json!({"accent": "#12345"}), "accent"),
            (json!({"greeting": long}), "greeting"),
            (json!({"position": "top"}), "position"),
            (json!({"offline_behaviour": "vanish"}), "offline_behaviour"),
            (
                json!({"queue_offer_message_after_secs": 4000}),
                "queue_offer",
            ),
            (json!({"prechat": {"email": "maybe"}}), "prechat"),
            (json!({"name": "  "}), "name"),
            (json!({"colour": "#fff"}), "colour"),
        ];
        for (patch, mentions) in cases {
            let (status, body) = relay
                .call(Method::PATCH, PATH, Some(&token), Some(patch.clone()))
                .await?;
            ensure!(
                status == StatusCode::UNPROCESSABLE_ENTITY && body["error"]["code"] == "invalid",
                "{patch} answered {status} {body}"
            );
            let message = body["error"]["message"].as_str().unwrap_or_default();
            ensure!(
                message.contains(mentions),
                "the message for {patch} names {mentions:?}: {message}"
            );
        }
        let (_, after) = relay.call(Method::GET, PATH, Some(&token), None).await?;
        ensure!(after == before, "nothing changed: {before} -> {after}");
        let (status, _) = relay
            .call(
                Method::PATCH,
                "/api/v1/sites/nope",
                Some(&token),
                Some(json!({"greeting": "Hallo"})),
            )
            .await?;
        ensure!(status == StatusCode::NOT_FOUND, "unknown site: {status}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_change_reaches_the_next_visitor_welcome_and_origins_are_enforced() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let token = relay.login(&admin).await?.token;
        let before = welcomed(&relay, SITE_ORIGIN).await?;
        ensure!(
            before.greeting.is_none() && before.accent.is_none(),
            "{before:?}"
        );

        let patch = json!({
            "name": "Acme Brandschutz",
            "allowed_origins": [SITE_ORIGIN, "https://www.acme.example"],
            "accent": "#C0392B",
            "position": "left",
            "greeting": "Moin! Wie können wir helfen?",
            "prechat": {"name": "required", "email": "optional", "customer_number": "off"},
            "offline_behaviour": "hide",
            "queue_offer_message_after_secs": 45,
            "unresolved_to_ticket": true,
        });
        let (status, site) = relay
            .call(Method::PATCH, PATH, Some(&token), Some(patch))
            .await?;
        ensure!(status == StatusCode::OK, "patch: {status} {site}");
        ensure!(site["accent"] == "#c0392b", "colour stored in lower case: {site}");
        let (_, stored) = relay.call(Method::GET, PATH, Some(&token), None).await?;
        ensure!(stored == site, "GET shows what PATCH answered: {stored}");
        ensure!(stored["unresolved_to_ticket"] == true, "{stored}");

        let s = welcomed(&relay, "https://www.acme.example").await?;
        ensure!(s.name == "Acme Brandschutz", "{s:?}");
        ensure!(s.accent.as_deref() == Some("#c0392b"), "{s:?}");
        ensure!(s.position == Some(WidgetPosition::Left), "{s:?}");
        ensure!(
            s.greeting.as_deref() == Some("Moin! Wie können wir helfen?"),
            "{s:?}"
        );
        ensure!(s.offline_behaviour == Some(OfflineBehaviour::Hide), "{s:?}");
        ensure!(s.queue_offer_message_after_secs == Some(45), "{s:?}");
        ensure!(
            s.prechat.name == FieldRule::Required && s.prechat.email == FieldRule::Optional,
            "{s:?}"
        );

        // `null` clears the greeting and colour again; dropping an origin locks it out.
        let patch = json!({"greeting": null, "accent": null, "allowed_origins": ["https://www.acme.example"]});
        let (status, site) = relay
            .call(Method::PATCH, PATH, Some(&token), Some(patch))
            .await?;
        ensure!(status == StatusCode::OK, "{status} {site}");
        let s = welcomed(&relay, "https://www.acme.example").await?;
        ensure!(s.greeting.is_none() && s.accent.is_none(), "{s:?}");
        let refused = welcome_site(&relay, SITE_ORIGIN)
            .await?
            .err()
            .context("the removed origin must be refused")?;
        ensure!(refused == ErrorCode::OriginNotAllowed, "{refused:?}");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// The CLI keeps working beside the API, and saving a site again keeps its options.
#[tokio::test]
async fn site_add_on_an_existing_site_keeps_what_admins_set() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let token = relay.login(&admin).await?.token;
        let (status, _) = relay
            .call(
                Method::PATCH,
                PATH,
                Some(&token),
                Some(json!({"greeting": "Hallo!", "unresolved_to_ticket": true})),
            )
            .await?;
        ensure!(status == StatusCode::OK);
        relay
            .cli(&[
                "site",
                "add",
                "--id",
                SITE,
                "--name",
                "Acme AG",
                "--origin",
                SITE_ORIGIN,
            ])
            .await?;
        let (_, site): (StatusCode, Value) =
            relay.call(Method::GET, PATH, Some(&token), None).await?;
        ensure!(site["name"] == "Acme AG", "{site}");
        ensure!(
            site["greeting"] == "Hallo!" && site["unresolved_to_ticket"] == true,
            "{site}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
