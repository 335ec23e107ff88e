//! Messages the visitor wrote that the relay has not yet confirmed with `sent`. Each entry
//! is saved before it is sent and removed on the matching `sent` (or `event`), so a message
//! typed offline survives a reload. After every welcome the whole outbox is resent in order;
//! the relay stores each `client_id` once, so resending is always safe.

use crate::json::{Json, ObjWriter};
use switchboard_shared::ClientMsgId;

/// Storage name of the outbox (`switchboard:<site>:outbox`).
pub const KEY: &str = "outbox";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub client_id: ClientMsgId,
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    entries: Vec<OutboxEntry>,
}

impl Outbox {
    /// Reads the stored JSON array. Anything unreadable (another version, a hand edit) is
    /// dropped entry by entry rather than losing the whole outbox.
    pub fn from_json(json: &str) -> Self {
        let mut outbox = Outbox::default();
        let values = Json::parse(json);
        for v in values.as_ref().and_then(Json::as_array).unwrap_or_default() {
            let entry = || {
                Some(OutboxEntry {
                    client_id: ClientMsgId::try_from(v.get("client_id")?.as_str()?.to_string())
                        .ok()?,
                    body: v.get("body")?.as_str()?.to_string(),
                })
            };
            if let Some(e) = entry() {
                outbox.push(e);
            }
        }
        outbox
    }

    /// `[{"client_id":…,"body":…},…]`
    pub fn to_json(&self) -> String {
        let mut out = String::from("[");
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let obj = ObjWriter::new()
                .str("client_id", e.client_id.as_str())
                .str("body", &e.body);
            out.push_str(&obj.finish());
        }
        out.push(']');
        out
    }

    /// Adds an entry unless one with the same `client_id` is already waiting.
    pub fn push(&mut self, entry: OutboxEntry) {
        if !self.contains(&entry.client_id) {
            self.entries.push(entry);
        }
    }

    /// Removes the entry; true when there was one.
    pub fn remove(&mut self, id: &ClientMsgId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| &e.client_id != id);
        self.entries.len() != before
    }

    pub fn contains(&self, id: &ClientMsgId) -> bool {
        self.entries.iter().any(|e| &e.client_id == id)
    }

    pub fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, body: &str) -> OutboxEntry {
        OutboxEntry {
            client_id: ClientMsgId::try_from(id.to_string()).unwrap(),
            body: body.into(),
        }
    }

    #[test]
    fn outbox_round_trips_as_a_json_array_of_client_id_and_body() {
        let mut o = Outbox::default();
        o.push(entry("w-1", "Hallo \"Welt\"\nZeile 2"));
        o.push(entry("w-2", "Grüße"));
        assert_eq!(
            o.to_json(),
            r#"[{"client_id":"w-1","body":"Hallo \"Welt\"\nZeile 2"},{"client_id":"w-2","body":"Grüße"}]"#
        );
        assert_eq!(Outbox::from_json(&o.to_json()), o);
    }

    #[test]
    fn unreadable_storage_gives_an_empty_outbox_and_bad_entries_are_skipped() {
        assert!(Outbox::from_json("not json").is_empty());
        assert!(Outbox::from_json("{}").is_empty());
        let o = Outbox::from_json(
            r#"[{"client_id":"w-1","body":"a"},{"client_id":"has space","body":"b"},{"x":1}]"#,
        );
        assert_eq!(o.entries(), &[entry("w-1", "a")]);
    }

    #[test]
    fn entries_keep_their_order_and_are_removed_by_client_id() {
        let mut o = Outbox::default();
        o.push(entry("a", "1"));
        o.push(entry("b", "2"));
        o.push(entry("a", "again"));
        assert_eq!(o.entries().len(), 2);
        assert!(o.remove(&entry("a", "").client_id));
        assert!(!o.remove(&entry("a", "").client_id));
        assert_eq!(o.entries(), &[entry("b", "2")]);
    }
}
