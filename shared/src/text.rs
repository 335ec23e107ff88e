//! Validated user text. The relay parses these once when a frame arrives; everything behind
//! the edge can trust them.

use crate::limits::{MAX_FIELD_CHARS, MAX_MESSAGE_CHARS, MAX_URL_CHARS};
use crate::protocol::ErrorCode;
use serde::{Deserialize, Serialize};

/// A chat message body: not blank after trimming, at most [`MAX_MESSAGE_CHARS`] characters,
/// no NUL or other control characters except newline and tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(s: &str) -> Result<Self, ErrorCode> {
        if s.trim().is_empty() {
            return Err(ErrorCode::EmptyBody);
        }
        if s.chars().count() > MAX_MESSAGE_CHARS {
            return Err(ErrorCode::BodyTooLong);
        }
        if s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(ErrorCode::InvalidField);
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A short single-line field (name, e-mail, customer number): trimmed, at most
/// [`MAX_FIELD_CHARS`] characters, no control characters. Empty input becomes `None`.
pub fn parse_field(s: Option<&str>) -> Result<Option<String>, ErrorCode> {
    one_line(s, MAX_FIELD_CHARS)
}

/// Trimmed, empty → `None`, at most `max` characters, no control characters.
fn one_line(s: Option<&str>, max: usize) -> Result<Option<String>, ErrorCode> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > max {
        return Err(ErrorCode::FieldTooLong);
    }
    if s.chars().any(char::is_control) {
        return Err(ErrorCode::InvalidField);
    }
    Ok(Some(s.to_string()))
}

/// A page URL the widget reports: trimmed, at most [`MAX_URL_CHARS`] characters, no control
/// characters (agents see it; a newline or escape code in it would forge lines). Empty input
/// becomes `None`.
pub fn parse_url_field(s: Option<&str>) -> Result<Option<String>, ErrorCode> {
    one_line(s, MAX_URL_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls_refuse_control_characters_and_length() {
        assert_eq!(
            parse_url_field(Some("https://acme.example/\u{1b}[31mrot")),
            Err(ErrorCode::InvalidField)
        );
        assert_eq!(
            parse_url_field(Some("https://acme.example/a\nb")),
            Err(ErrorCode::InvalidField)
        );
        let long = format!("https://x/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(parse_url_field(Some(&long)), Err(ErrorCode::FieldTooLong));
        assert_eq!(
            parse_url_field(Some(" https://acme.example/wartung ")),
            Ok(Some("https://acme.example/wartung".into()))
        );
        assert_eq!(parse_url_field(Some("  ")), Ok(None));
    }

    #[test]
    fn blank_bodies_are_refused() {
        assert_eq!(MessageBody::parse("  \n "), Err(ErrorCode::EmptyBody));
    }

    #[test]
    fn bodies_are_limited_in_characters_not_bytes() {
        let umlauts = "ä".repeat(MAX_MESSAGE_CHARS);
        assert!(MessageBody::parse(&umlauts).is_ok());
        let longer = "ä".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(MessageBody::parse(&longer), Err(ErrorCode::BodyTooLong));
    }

    #[test]
    fn control_characters_other_than_newlines_are_refused() {
        assert_eq!(MessageBody::parse("a\u{0}b"), Err(ErrorCode::InvalidField));
        assert!(MessageBody::parse("Zeile 1\nZeile 2").is_ok());
    }

    #[test]
    fn fields_are_trimmed_and_empty_means_absent() {
        assert_eq!(parse_field(Some("  Anna ")), Ok(Some("Anna".into())));
        assert_eq!(parse_field(Some("   ")), Ok(None));
        assert_eq!(parse_field(None), Ok(None));
    }
}
