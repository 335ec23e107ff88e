//! The widget's and the agent console's files, built by `cargo xtask` into the assets
//! directory:
//! - `/widget.js`, the loader: a stable URL that host pages embed, so it is cached briefly;
//! - `/assets/<name>.<hash>.<ext>`, everything the loader fetches later: content-hashed
//!   names, so they are cached for a year and never revalidated;
//! - `/console` (and `/console/`): the console's `index.html` (`no-cache`: it names the
//!   current hashed files), and `/console/<name>.<hash>.<ext>` from `<dir>/console/`.
//!
//! Both are served precompressed (brotli or gzip siblings, picked by Accept-Encoding, with
//! `Vary: Accept-Encoding`), with the right content type (`application/wasm` for the
//! module, needed for streaming compilation) and `Access-Control-Allow-Origin: *`: the
//! files are public, and the loader imports the glue as an ES module from the host page's
//! origin, which needs CORS. Who may actually chat is decided by the WebSocket origin check.

use crate::app::AppState;
use axum::http::{header, HeaderValue};
use axum::Router;
use std::path::Path;
use tower_http::cors::CorsLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

pub(crate) const LOADER_CACHE: &str = "public, max-age=300";
pub(crate) const HASHED_CACHE: &str = "public, max-age=31536000, immutable";
/// The console's page: always revalidated, so a new build is picked up at once.
pub(crate) const PAGE_CACHE: &str = "no-cache";

/// The widget from `dir`, or (built with `embed-assets`) from inside the binary when no
/// directory is given. `None` when there is neither.
pub fn router(dir: Option<&Path>) -> Option<Router<AppState>> {
    let files = match dir {
        Some(dir) => from_dir(dir),
        #[cfg(feature = "embed-assets")]
        None => super::embedded::router(),
        #[cfg(not(feature = "embed-assets"))]
        None => return None,
    };
    Some(
        files
            .layer(CorsLayer::new().allow_origin(tower_http::cors::Any))
            // Precompressed variants differ by Accept-Encoding: tell caches.
            .layer(SetResponseHeaderLayer::appending(
                header::VARY,
                HeaderValue::from_static("accept-encoding"),
            )),
    )
}

fn from_dir(dir: &Path) -> Router<AppState> {
    let loader = ServeFile::new(dir.join("widget.js"))
        .precompressed_br()
        .precompressed_gzip();
    let hashed = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .route_service("/widget.js", loader)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(LOADER_CACHE),
        ))
        .merge(Router::new().nest_service("/assets", hashed).layer(
            SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static(HASHED_CACHE),
            ),
        ))
        .merge(console(dir))
}

/// The agent console from `<dir>/console/`: its page at `/console` and `/console/`, its
/// hashed files under `/console/`.
fn console(dir: &Path) -> Router<AppState> {
    let page = ServeFile::new(dir.join("console").join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    // Given the assets root, `/console/x` is looked up as `<dir>/console/x`.
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .route_service("/console", page.clone())
        .route_service("/console/", page)
        .route_service("/console/{*file}", files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            |res: &axum::response::Response<_>| {
                let html = res
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
                Some(HeaderValue::from_static(if html {
                    PAGE_CACHE
                } else {
                    HASHED_CACHE
                }))
            },
        ))
}
