//! What a newcomer meets first: the address the relay prints leads to a page, and the log
//! written to a file is plain text (issue 17, item 14).

use anyhow::{ensure, Result};
use reqwest::{Method, StatusCode};
use switchboard_e2e::Relay;

#[tokio::test]
async fn the_printed_address_leads_to_a_page_and_a_log_file_has_no_colour_codes() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let resp = reqwest::get(relay.http_url("/")).await?;
        ensure!(
            resp.status() == StatusCode::OK,
            "GET / answered {}",
            resp.status()
        );
        let page = resp.text().await?;
        ensure!(
            page.contains("Switchboard") && page.contains(r#"href="/api/v1/openapi.json""#),
            "the landing page: {page}"
        );
        // Some traffic, so the log has more than the start lines.
        let (status, _) = relay.call(Method::GET, "/healthz", None, None).await?;
        ensure!(status == StatusCode::OK);
        let log = std::fs::read_to_string(relay.log_path())?;
        ensure!(log.contains("INFO"), "the log has lines: {log}");
        ensure!(
            !log.contains('\u{1b}'),
            "ANSI escape codes in a log written to a file"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
