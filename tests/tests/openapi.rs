//! The OpenAPI document the relay serves is generated from the handlers: it is valid
//! OpenAPI 3.1 JSON, names the bearer scheme, describes the ticket API, and every operation
//! it lists is a route the relay really answers (nothing documented is missing).

use anyhow::{ensure, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use switchboard_e2e::Relay;

/// A concrete URL path for a templated one (`/tickets/{id}` → `/tickets/1`).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                match seg {
                    "{site}" | "{id}" if path.contains("/sites/") => "acme",
                    "{category}" => "technical_problem",
                    _ => "1",
                }
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_served_document_describes_every_route_and_only_real_ones() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let (status, doc) = relay
            .call(Method::GET, "/api/v1/openapi.json", None, None)
            .await?;
        ensure!(status == StatusCode::OK, "{status}");
        ensure!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{}",
            doc["openapi"]
        );
        ensure!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer",
            "bearer scheme: {}",
            doc["components"]["securitySchemes"]
        );
        let paths = doc["paths"].as_object().context("paths")?;
        for (path, op) in [
            ("/api/v1/tickets", "get"),
            ("/api/v1/tickets/{id}", "patch"),
            ("/api/v1/tickets/{id}/replies", "post"),
            ("/api/v1/conversations/{id}/ticket", "post"),
        ] {
            ensure!(
                paths.get(path).and_then(|p| p.get(op)).is_some(),
                "{op} {path}"
            );
        }
        let list = &paths["/api/v1/tickets"]["get"];
        let params: Vec<&str> = list["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        ensure!(
            ["status", "priority", "category", "level", "assignee", "tag", "q"]
                .iter()
                .all(|p| params.contains(p)),
            "list filters documented: {params:?}"
        );
        ensure!(
            doc["components"]["schemas"]["TicketView"].is_object(),
            "the ticket schema"
        );

        // Every documented operation exists: without a token it is refused (401/403/422…),
        // never "no such route" (404 with an empty body) or "wrong method" (405).
        let mut checked = 0;
        for (path, ops) in paths {
            for method in ops.as_object().context("operations")?.keys() {
                let m = Method::from_bytes(method.to_uppercase().as_bytes())?;
                let url = concrete(path);
                let (status, body) = relay.call(m.clone(), &url, None, None).await?;
                ensure!(
                    status != StatusCode::METHOD_NOT_ALLOWED
                        && !(status == StatusCode::NOT_FOUND && body == Value::Null),
                    "{m} {url} is documented but not routed: {status}"
                );
                checked += 1;
            }
        }
        ensure!(checked >= 35, "only {checked} operations documented");
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
