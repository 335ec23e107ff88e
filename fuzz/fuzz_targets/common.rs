//! Helpers both targets share (included with `#[path]`, not a crate of its own).
#![allow(dead_code)] // each target uses part of it

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// Deserialises any JSON, refusing an object with the same key twice (at any depth).
/// `serde_json::Value` keeps the last of duplicate keys, a typed struct refuses them: the
/// one known way the relay's fast path (typed) and slow path (`Value` first) disagree.
pub struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDupVisitor)
    }
}

struct NoDupVisitor;

impl<'de> Visitor<'de> for NoDupVisitor {
    type Value = NoDuplicateKeys;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(de::Error::custom("duplicate key"));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}

/// True when `text` is JSON with the same key twice in some object.
pub fn has_duplicate_keys(text: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(text).is_ok()
        && serde_json::from_slice::<NoDuplicateKeys>(text).is_err()
}

/// Serialise, decode again, compare: what the relay stores or sends must read back the same.
pub fn round_trip<T>(value: &T, what: &str)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
{
    let json = serde_json::to_string(value)
        .unwrap_or_else(|e| panic!("{what}: {value:?} does not serialise: {e}"));
    let back: T = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{what}: {json} (from {value:?}) does not decode: {e}"));
    assert_eq!(&back, value, "{what}: round trip through {json} changed the value");
}

/// Control characters as the validators define them (Unicode category Cc).
pub fn has_control(s: &str, allowed: &[char]) -> bool {
    s.chars().any(|c| c.is_control() && !allowed.contains(&c))
}

/// `SWITCHBOARD_FUZZ_STRICT=1`: fail known findings too (docs/FUZZING.md, "Known findings").
pub fn strict() -> bool {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("SWITCHBOARD_FUZZ_STRICT").is_some_and(|v| v == "1"))
}

/// Prints each known gap the first time this process meets it.
pub fn report_once(gap: &'static str, example: &str) {
    static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap();
    if !seen.contains(&gap) {
        seen.push(gap);
        eprintln!("known gap (not failed; SWITCHBOARD_FUZZ_STRICT=1 fails it): {gap}: {example}");
    }
}
