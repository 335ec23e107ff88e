//! The widget's files, built by `cargo xtask` into the assets directory:
//! - `/widget.js`, the loader: a stable URL that host pages embed, so it is cached briefly;
//! - `/assets/<name>.<hash>.<ext>`, everything the loader fetches later: content-hashed
//!   names, so they are cached for a year and never revalidated.
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
}
