//! Validation of the pre-chat and offline forms, field by field, so each input can show its
//! own message.

use super::Contact;
use crate::i18n::T;
use switchboard_shared::limits::MAX_FIELD_CHARS;
use switchboard_shared::FieldRule;

/// What is wrong with each field, as a text key; all `None` means valid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldErrors {
    pub name: Option<T>,
    pub email: Option<T>,
    pub customer_number: Option<T>,
}

impl FieldErrors {
    pub fn any(&self) -> bool {
        self.name.is_some() || self.email.is_some() || self.customer_number.is_some()
    }
}

/// A basic shape check (`a@b.c`, no spaces); the relay and the humans reading the ticket do
/// the rest.
pub fn email_ok(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

fn check(rule: FieldRule, value: &str, email: bool) -> Option<T> {
    let v = value.trim();
    if rule == FieldRule::Off {
        return None;
    }
    if v.is_empty() {
        return (rule == FieldRule::Required).then_some(T::Required);
    }
    if v.chars().count() > MAX_FIELD_CHARS || v.chars().any(char::is_control) {
        return Some(T::TooLong);
    }
    (email && !email_ok(v)).then_some(T::InvalidEmail)
}

/// Checks the three contact fields against their rules; fields that are `Off` are ignored
/// and sent as absent.
pub fn validate(
    rules: [FieldRule; 3],
    name: &str,
    email: &str,
    customer_number: &str,
) -> Result<Contact, FieldErrors> {
    let errors = FieldErrors {
        name: check(rules[0], name, false),
        email: check(rules[1], email, true),
        customer_number: check(rules[2], customer_number, false),
    };
    if errors.any() {
        return Err(errors);
    }
    let keep = |rule: FieldRule, v: &str| {
        let v = v.trim();
        (rule != FieldRule::Off && !v.is_empty()).then(|| v.to_string())
    };
    Ok(Contact {
        name: keep(rules[0], name),
        email: keep(rules[1], email),
        customer_number: keep(rules[2], customer_number),
    })
}
