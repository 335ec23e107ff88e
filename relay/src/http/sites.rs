//! `/sites`: the sites the widget is embedded on, as admins manage them in the console:
//! allowed origins, pre-chat fields, the widget's colour, corner, greeting and offline
//! behaviour, and the site's ticket settings. Every signed-in agent may read them; only
//! admins change them. A PATCH is validated as a whole before anything is written, so a
//! refused request (422) changes nothing. Business hours have their own endpoint
//! (`/sites/{site}/business-hours`, in `tickets`).

use super::auth::{body, short_text, Caller};
use super::error::ApiError;
use super::openapi::{AuthErrors, ErrorBody, InvalidInput};
use crate::app::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use switchboard_shared::{OfflineBehaviour, PrechatFields, WidgetPosition};
use switchboard_store::SiteRecord;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The greeting is one short paragraph in the widget's header.
pub const MAX_GREETING_CHARS: usize = 300;
/// More than this is a typo or an attempt to make every hello expensive.
pub const MAX_ORIGINS: usize = 50;
/// An hour: longer waits before offering "leave a message" help nobody.
pub const MAX_QUEUE_OFFER_SECS: u32 = 3600;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one, update))
}

/// A site as the API shows it.
#[derive(Serialize, ToSchema)]
struct SiteView {
    id: String,
    name: String,
    allowed_origins: Vec<String>,
    prechat: PrechatFields,
    accent: Option<String>,
    position: WidgetPosition,
    greeting: Option<String>,
    offline_behaviour: OfflineBehaviour,
    queue_offer_message_after_secs: u32,
    unresolved_to_ticket: bool,
    /// Live chat only within the site's business hours (the offline form outside them).
    chat_within_hours: bool,
}

fn view(s: SiteRecord) -> SiteView {
    let o = s.options;
    SiteView {
        id: s.id,
        name: s.name,
        allowed_origins: s.allowed_origins,
        prechat: s.prechat,
        accent: o.accent,
        position: o.position,
        greeting: o.greeting,
        offline_behaviour: o.offline_behaviour,
        queue_offer_message_after_secs: o.queue_offer_message_after_secs,
        unresolved_to_ticket: o.unresolved_to_ticket,
        chat_within_hours: o.chat_within_hours,
    }
}

/// Every field optional; absent fields stay as they are. `accent` and `greeting` may be
/// `null` (or empty) to fall back to the widget's own.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct SitePatch {
    name: Option<String>,
    allowed_origins: Option<Vec<String>>,
    prechat: Option<PrechatFields>,
    /// `#rgb` or `#rrggbb`; `null` for the widget's own colour.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    accent: Option<Option<String>>,
    position: Option<WidgetPosition>,
    /// `null` for the widget's own greeting.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    greeting: Option<Option<String>>,
    offline_behaviour: Option<OfflineBehaviour>,
    queue_offer_message_after_secs: Option<u32>,
    unresolved_to_ticket: Option<bool>,
    chat_within_hours: Option<bool>,
}

/// `null` becomes `Some(None)` (clear), an absent field stays `None` (keep).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[utoipa::path(get, path = "/sites", tag = "sites",
    responses((status = 200, description = "`{sites: [site]}` (agent sessions)", body = serde_json::Value), AuthErrors))]
async fn list(State(app): State<AppState>, _caller: Caller) -> Result<Json<Value>, ApiError> {
    let sites: Vec<SiteView> = app
        .store
        .list_sites()
        .await?
        .into_iter()
        .map(view)
        .collect();
    Ok(Json(json!({ "sites": sites })))
}

#[utoipa::path(get, path = "/sites/{id}", tag = "sites", params(("id" = String, Path, description = "site id")),
    responses((status = 200, description = "the site and its widget and ticket settings", body = SiteView), (status = 404, description = "no such site", body = ErrorBody), AuthErrors))]
async fn one(
    State(app): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SiteView>, ApiError> {
    let site = app.store.site(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(view(site)))
}

#[utoipa::path(patch, path = "/sites/{id}", tag = "sites", params(("id" = String, Path, description = "site id")), request_body = SitePatch,
    responses((status = 200, description = "changed (admins only); the whole patch is checked before anything is written", body = SiteView), (status = 404, description = "no such site", body = ErrorBody), InvalidInput, AuthErrors))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    payload: Result<Json<SitePatch>, JsonRejection>,
) -> Result<Json<SiteView>, ApiError> {
    caller.require_admin()?;
    let patch = body(payload)?;
    let store = &app.store;
    let site = store.site(&id).await?.ok_or(ApiError::NotFound)?;
    let site = apply(site, patch)?;
    // A concurrent PATCH of another field may be overwritten: admins edit sites rarely, and
    // the answer shows what was stored.
    store.update_site(site.clone()).await?;
    app.chat.site_changed(site.clone());
    tracing::info!(site = %site.id, admin = %caller.agent.id.0, "site settings changed");
    Ok(Json(view(site)))
}

/// The patched site, or the first thing wrong with the patch.
fn apply(mut site: SiteRecord, p: SitePatch) -> Result<SiteRecord, ApiError> {
    if let Some(name) = p.name {
        site.name = short_text("name", &name)?;
    }
    if let Some(origins) = p.allowed_origins {
        site.allowed_origins = origins_list(&origins)?;
    }
    if let Some(prechat) = p.prechat {
        site.prechat = prechat;
    }
    let o = &mut site.options;
    if let Some(accent) = p.accent {
        o.accent = match accent.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => Some(colour(a)?),
            None => None,
        };
    }
    if let Some(position) = p.position {
        o.position = position;
    }
    if let Some(greeting) = p.greeting {
        o.greeting = match greeting.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => Some(greeting_text(g)?),
            None => None,
        };
    }
    if let Some(offline) = p.offline_behaviour {
        o.offline_behaviour = offline;
    }
    if let Some(secs) = p.queue_offer_message_after_secs {
        if secs > MAX_QUEUE_OFFER_SECS {
            return Err(ApiError::Invalid(format!(
                "queue_offer_message_after_secs must be 0 to {MAX_QUEUE_OFFER_SECS}"
            )));
        }
        o.queue_offer_message_after_secs = secs;
    }
    if let Some(flag) = p.chat_within_hours {
        o.chat_within_hours = flag;
    }
    if let Some(flag) = p.unresolved_to_ticket {
        o.unresolved_to_ticket = flag;
    }
    Ok(site)
}

/// Origins exactly as a browser sends them: `scheme://host[:port]`, lower case, http or
/// https, no path, no default port. Each at most once.
fn origins_list(origins: &[String]) -> Result<Vec<String>, ApiError> {
    if origins.len() > MAX_ORIGINS {
        return Err(ApiError::Invalid(format!(
            "at most {MAX_ORIGINS} allowed origins"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(origins.len());
    for raw in origins {
        let o = raw.trim();
        origin(o).map_err(|why| ApiError::Invalid(format!("origin {o:?}: {why}")))?;
        if out.iter().any(|x| x == o) {
            return Err(ApiError::Invalid(format!("origin {o:?} is listed twice")));
        }
        out.push(o.to_string());
    }
    Ok(out)
}

/// Why `o` is not an exact origin, if it is not one.
pub fn origin(o: &str) -> Result<(), &'static str> {
    const SHAPE: &str = "must be scheme://host[:port], e.g. https://www.example.com";
    let (scheme, rest) = o.split_once("://").ok_or(SHAPE)?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return Err("the scheme must be http or https (lower case)"),
    };
    if rest.contains(['/', '?', '#', '@']) {
        return Err("only scheme, host and port: no path, query or user");
    }
    let (host, port) = match rest.rsplit_once(':') {
        // An IPv6 literal has colons inside its brackets.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (rest, None),
    };
    if let Some(p) = port {
        let n: u16 = p
            .parse()
            .map_err(|_| "the port must be a number 1 to 65535")?;
        if n == 0 || p.starts_with('0') {
            return Err("the port must be a number 1 to 65535");
        }
        if p == default_port {
            return Err("leave out the default port: browsers do not send it");
        }
    }
    let ipv6 = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    let ok_host = !host.is_empty()
        && host.len() <= 253
        && (ipv6
            || host
                .split('.')
                .all(|label| !label.is_empty() && label.bytes().all(host_byte)));
    if !ok_host {
        return Err("the host must be a lower-case name or IP address");
    }
    Ok(())
}

fn host_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

/// `#rgb` or `#rrggbb`, stored in lower case.
fn colour(c: &str) -> Result<String, ApiError> {
    let hex = c.strip_prefix('#').unwrap_or("");
    if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(c.to_ascii_lowercase())
    } else {
        Err(ApiError::Invalid(format!(
            "accent {c:?} must be a colour like #1f6feb or #c33"
        )))
    }
}

/// Shown as plain text by the widget: no control characters besides line breaks.
fn greeting_text(g: &str) -> Result<String, ApiError> {
    if g.chars().count() > MAX_GREETING_CHARS {
        return Err(ApiError::Invalid(format!(
            "greeting must be at most {MAX_GREETING_CHARS} characters"
        )));
    }
    if g.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::Invalid(
            "greeting must not contain control characters".into(),
        ));
    }
    Ok(g.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_scheme_host_and_port() {
        for ok in [
            "https://www.example.com",
            "http://localhost:8080",
            "http://127.0.0.1:3000",
            "https://[::1]:8443",
            "https://shop-1.example.de",
        ] {
            assert_eq!(origin(ok), Ok(()), "{ok}");
        }
        for bad in [
            "www.example.com",
            "https://www.example.com/",
            "https://www.example.com/path",
            "ftp://example.com",
            "HTTPS://example.com",
            "https://Example.com",
            "https://example.com:443",
            "http://example.com:80",
            "https://example.com:99999",
            "https://example.com:",
            "https://",
            "https://a..b",
            "https://user@example.com",
            "*",
        ] {
            assert!(origin(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn colours_are_short_or_long_hex() {
        assert_eq!(colour("#C33").unwrap(), "#c33");
        assert_eq!(colour("#1f6feb").unwrap(), "#1f6feb");
        for bad in ["1f6feb", "#1f6fe", "#ggg", "red", "#1f6feb00"] {
            assert!(colour(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_patch_with_one_bad_field_is_refused_as_a_whole() {
        let site = SiteRecord {
            id: "acme".into(),
            name: "Acme".into(),
            allowed_origins: vec![],
            prechat: PrechatFields::default(),
            options: Default::default(),
        };
        let patch: SitePatch = serde_json::from_value(json!({
            "greeting": "Hallo!", "accent": "blau"
        }))
        .unwrap();
        assert!(apply(site.clone(), patch).is_err());
        let clear: SitePatch =
            serde_json::from_value(json!({"greeting": null, "accent": "#fff"})).unwrap();
        let out = apply(site, clear).unwrap();
        assert_eq!(out.options.greeting, None);
        assert_eq!(out.options.accent.as_deref(), Some("#fff"));
    }
}
