//! The widget's files compiled into the binary (feature `embed-assets`, folder from
//! `SWITCHBOARD_EMBED_DIR` at build time). Same URLs, headers and precompressed variants as
//! [`super::assets`] serves from disk.

use crate::app::AppState;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[derive(rust_embed::Embed)]
#[folder = "$SWITCHBOARD_EMBED_DIR"]
struct Assets;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/widget.js",
            get(|headers: HeaderMap| async move {
                serve("widget.js", &headers, super::assets::LOADER_CACHE)
            }),
        )
        .route(
            "/console",
            get(|headers: HeaderMap| async move {
                serve("console/index.html", &headers, super::assets::PAGE_CACHE)
            }),
        )
        .route(
            "/console/",
            get(|headers: HeaderMap| async move {
                serve("console/index.html", &headers, super::assets::PAGE_CACHE)
            }),
        )
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(
                    &format!("console/{path}"),
                    &headers,
                    super::assets::HASHED_CACHE,
                )
            }),
        )
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(&path, &headers, super::assets::HASHED_CACHE)
            }),
        )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The best variant the client accepts: brotli, gzip, then the plain file.
fn serve(path: &str, headers: &HeaderMap, cache: &'static str) -> Response {
    let accepts = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let variants = [("br", ".br"), ("gzip", ".gz"), ("", "")];
    for (encoding, suffix) in variants {
        if !encoding.is_empty() && !accepts.split(',').any(|e| e.trim().starts_with(encoding)) {
            continue;
        }
        if let Some(file) = Assets::get(&format!("{path}{suffix}")) {
            let mut resp = file.data.into_owned().into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            if !encoding.is_empty() {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            }
            return resp;
        }
    }
    StatusCode::NOT_FOUND.into_response()
}
