//! What the writer remembers about the conversations it appends to: each one's last sequence
//! number and the client message ids already stored in it.
//!
//! The writer is the only code that inserts events (one writer per database file), so once
//! it has read a conversation's tail inside its write transaction, memory stays exact as
//! long as every change it makes is either committed or forgotten. That lets a plain
//! message cost one B-tree insert: no `UPDATE conversations SET last_seq = …` (a random
//! page per message) and no unique dedup index (a second random page). With 3,000 live
//! chats, nearly every message dirtied three pages of its own: ~9.8 KB of WAL per message
//! at 5,000 msgs/s (docs/PERFORMANCE.md).
//!
//! Client ids are kept as 64-bit hashes: a hash that is already known is confirmed
//! against the file before a message is answered as a duplicate, so a collision costs one
//! lookup and never drops a message.
//!
//! Memory is bounded by two generations: conversations touched since the last rotation,
//! and those of the generation before. A tail found only in the old one moves to the new
//! one; a rotation drops what was not touched for a whole generation (it is read again if
//! that conversation ever gets another event).

use crate::sqlite::rows::side_str;
use crate::StoreResult;
use rusqlite::{params, Connection, OptionalExtension};
// foldhash rather than std's SipHash: looked up for every message; the keys are
// conversation ids and hashes the writer computed, not raw client input.
use foldhash::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use switchboard_shared::{ClientMsgId, Side};

/// Conversations per generation: up to twice this many tails are kept.
const GENERATION: usize = 16_384;

#[derive(Debug, Default)]
pub(crate) struct Tail {
    pub last_seq: i64,
    /// Hashes of (side, client id) of every stored event that carried one.
    client_ids: HashSet<u64>,
}

impl Tail {
    /// Whether `(side, id)` may already be stored: `false` is certain, `true` must be
    /// confirmed (two ids can share a hash).
    pub fn may_hold(&self, side: Side, id: &ClientMsgId) -> bool {
        self.client_ids.contains(&key(side_str(side), id.as_str()))
    }

    pub fn record(&mut self, seq: i64, client: Option<(Side, &ClientMsgId)>) {
        self.last_seq = seq;
        if let Some((side, id)) = client {
            self.client_ids.insert(key(side_str(side), id.as_str()));
        }
    }
}

#[derive(Default)]
pub(crate) struct Tails {
    current: HashMap<i64, Tail>,
    previous: HashMap<i64, Tail>,
    /// Conversations changed by the open transaction: forgotten if it does not commit.
    touched: Vec<i64>,
}

impl Tails {
    /// The tail of `conversation`, read from the file the first time. `None` when the
    /// conversation does not exist. Must be called inside the writer's transaction, and the
    /// caller must then either [`commit`](Self::commit) or [`rollback`](Self::rollback).
    pub fn get(&mut self, conn: &Connection, conversation: i64) -> StoreResult<Option<&mut Tail>> {
        if !self.current.contains_key(&conversation) {
            let tail = match self.previous.remove(&conversation) {
                Some(tail) => tail,
                None => match load(conn, conversation)? {
                    Some(tail) => tail,
                    None => return Ok(None),
                },
            };
            if self.current.len() >= GENERATION {
                self.previous = std::mem::take(&mut self.current);
            }
            self.current.insert(conversation, tail);
        }
        self.touched.push(conversation);
        Ok(self.current.get_mut(&conversation))
    }

    /// Makes the writer believe `(side, id)` is stored in `conversation`, as a hash
    /// collision with a stored id would.
    #[cfg(test)]
    pub fn pretend_stored(
        &mut self,
        conn: &Connection,
        conversation: i64,
        side: Side,
        id: &ClientMsgId,
    ) -> StoreResult<()> {
        if let Some(tail) = self.get(conn, conversation)? {
            tail.client_ids.insert(key(side_str(side), id.as_str()));
        }
        self.commit();
        Ok(())
    }

    /// The open transaction committed: what memory holds is what the file holds.
    pub fn commit(&mut self) {
        self.touched.clear();
    }

    /// The open transaction did not commit: tails it changed are read again when next
    /// needed.
    pub fn rollback(&mut self) {
        for id in self.touched.drain(..) {
            self.current.remove(&id);
            self.previous.remove(&id);
        }
    }
}

/// Hashed as stored (`side` as its column text), so [`load`] need not parse rows.
fn key(side: &str, id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    side.hash(&mut h);
    id.hash(&mut h);
    h.finish()
}

/// Reads one conversation's tail: its highest seq (the primary key's last entry) and the
/// client ids of its events.
fn load(conn: &Connection, conversation: i64) -> StoreResult<Option<Tail>> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM conversations WHERE id = ?")?
        .query_row(params![conversation], |_| Ok(()))
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let mut tail = Tail {
        last_seq: conn
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events WHERE conversation_id = ?")?
            .query_row(params![conversation], |r| r.get(0))?,
        client_ids: HashSet::default(),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT side, client_id FROM events \
         WHERE conversation_id = ? AND client_id IS NOT NULL",
    )?;
    let mut rows = stmt.query(params![conversation])?;
    while let Some(row) = rows.next()? {
        // The writer stores a side with every client id; a row without one could not
        // clash with a (side, id) pair anyway.
        let (Some(side), id): (Option<String>, String) = (row.get(0)?, row.get(1)?) else {
            continue;
        };
        tail.client_ids.insert(key(&side, &id));
    }
    Ok(Some(tail))
}
