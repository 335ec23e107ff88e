//! The loader's `config` JSON, read once at mount. Accent and corner are not in it: the
//! loader applies them to the panel's parent element itself (data-* first, then the site's).

use crate::i18n::Lang;
use crate::json::Json;

/// `{"site", "relay", "locale"?, "greeting"?, "open"?}`; optional members may also be
/// `null`; other members are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub site: String,
    /// The relay's base URL, `http(s)://host[:port][/prefix]`.
    pub relay: String,
    pub locale: Option<String>,
    /// `data-greeting`: wins over the site's greeting.
    pub greeting: Option<String>,
    pub open: bool,
}

impl Config {
    pub fn parse(json: &str) -> Result<Config, String> {
        let v = Json::parse(json).ok_or("config is not valid JSON")?;
        if !matches!(v, Json::Obj(_)) {
            return Err("config is not a JSON object".into());
        }
        let required = |key: &str| match v.get(key).map(Json::as_str) {
            Some(Some(s)) => Ok(s.to_string()),
            _ => Err(format!("config.{key} must be a string")),
        };
        // Absent and `null` mean the default.
        let optional = |key: &str| v.get(key).filter(|x| !x.is_null());
        let opt_str = |key: &str| match optional(key) {
            None => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("config.{key} must be a string")),
        };
        let c = Config {
            site: required("site")?,
            relay: required("relay")?,
            locale: opt_str("locale")?,
            greeting: opt_str("greeting")?,
            open: match optional("open") {
                None => false,
                Some(b) => b.as_bool().ok_or("config.open must be true or false")?,
            },
        };
        if c.site.trim().is_empty() {
            return Err("config.site is empty".into());
        }
        Ok(c)
    }

    /// `https://chat.example.com/` → `wss://chat.example.com/ws/visitor`.
    pub fn ws_url(&self) -> Option<String> {
        let relay = self.relay.trim().trim_end_matches('/');
        let (scheme, rest) = relay.split_once("://")?;
        let ws = match scheme.to_ascii_lowercase().as_str() {
            "https" => "wss",
            "http" => "ws",
            _ => return None,
        };
        if rest.is_empty() {
            return None;
        }
        Some(format!("{ws}://{rest}/ws/visitor"))
    }

    /// The configured language, else the browser's (`navigator.language`).
    pub fn lang(&self, navigator_language: Option<&str>) -> Lang {
        match self.locale.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(l) => Lang::from_tag(l),
            None => Lang::from_tag(navigator_language.unwrap_or("en")),
        }
    }

    pub fn greeting(&self) -> Option<&str> {
        self.greeting
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Config {
        Config::parse(json).unwrap()
    }

    #[test]
    fn relay_url_becomes_the_visitor_socket_url() {
        let mut c = config(r#"{"site":"acme","relay":"https://chat.example.com"}"#);
        assert_eq!(
            c.ws_url().as_deref(),
            Some("wss://chat.example.com/ws/visitor")
        );
        c.relay = "http://127.0.0.1:8080/".into();
        assert_eq!(
            c.ws_url().as_deref(),
            Some("ws://127.0.0.1:8080/ws/visitor")
        );
        c.relay = "ftp://x".into();
        assert_eq!(c.ws_url(), None);
    }

    #[test]
    fn optional_fields_default_and_nulls_are_accepted() {
        let c = config(
            r#"{"site":"acme","relay":"https://r.example","locale":null,"accent":null,"position":"left","greeting":null,"open":true}"#,
        );
        assert!(c.open);
        assert_eq!(c.lang(Some("de-DE")), Lang::De);
        assert_eq!(c.lang(None), Lang::En);
        assert!(Config::parse(r#"{"site":"","relay":"x"}"#).is_err());
        assert!(Config::parse(r#"{"site":"a"}"#).is_err());
        assert!(Config::parse(r#"{"site":"a","relay":"x","open":1}"#).is_err());
        assert!(Config::parse("[]").is_err());
        let c = config(r#"{"site":"a","relay":"x","unknown":[1],"position":"top"}"#);
        assert_eq!((c.open, c.locale), (false, None));
    }
}
