//! `GET /`: a small page that says what this address is and links to what it serves, so
//! the URL the relay prints on start leads somewhere (a static directory's own `index.html`
//! wins; then this route is not added).

use axum::response::Html;
use axum::routing::get;
use axum::Router;

/// What the relay serves besides the API, for the links.
#[derive(Debug, Clone, Copy, Default)]
pub struct Served {
    /// The agent console (`--assets-dir` given).
    pub console: bool,
    /// The example shop page (`--static-dir` holds `acme/index.html`).
    pub example: bool,
}

pub fn router<S: Clone + Send + Sync + 'static>(served: Served) -> Router<S> {
    let page = Html(page(served));
    Router::new().route("/", get(move || async move { page }))
}

fn page(served: Served) -> String {
    let mut links = String::new();
    if served.example {
        links.push_str(
            r#"<li><a href="/acme/">Beispielseite mit dem Chat-Widget / example page with the chat widget</a></li>"#,
        );
    }
    if served.console {
        links.push_str(r#"<li><a href="/console">Agenten-Konsole / agent console</a></li>"#);
    }
    links.push_str(
        r#"<li><a href="/api/v1/openapi.json">REST-API (OpenAPI)</a></li><li><a href="/healthz">/healthz</a></li>"#,
    );
    format!(
        r#"<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}}a{{color:#0b57d0}}</style>
</head><body>
<h1>Switchboard</h1>
<p>Dieses Relay verbindet Besucher einer Website mit dem Support-Team. /
This relay connects a website's visitors with its support team.</p>
<ul>{links}</ul>
</body></html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_only_what_is_served() {
        let bare = page(Served::default());
        assert!(bare.contains("/api/v1/openapi.json") && !bare.contains("/console"));
        let demo = page(Served {
            console: true,
            example: true,
        });
        assert!(demo.contains(r#"href="/console""#) && demo.contains(r#"href="/acme/""#));
    }
}
