//! The waiting queue, ordered by a durable rank stored with each conversation, so the same
//! order is rebuilt after a restart. New conversations use their id as rank (creation
//! order); requeued chats go to the front with a rank below every other.

use std::collections::VecDeque;
use switchboard_shared::ConversationId;

#[derive(Debug, Default)]
pub struct WaitQueue {
    entries: VecDeque<(ConversationId, i64)>,
    /// The lowest rank handed out; the next front rank is one below it.
    front_rank: i64,
}

impl WaitQueue {
    /// Rebuilds from stored ranks (any order).
    pub fn from_ranked(mut ranked: Vec<(ConversationId, i64)>) -> Self {
        ranked.sort_by_key(|&(id, rank)| (rank, id));
        let front_rank = ranked.first().map(|&(_, r)| r).unwrap_or(1).min(1);
        Self {
            entries: ranked.into(),
            front_rank,
        }
    }

    pub fn reserve_front(&mut self) -> i64 {
        self.front_rank -= 1;
        self.front_rank
    }

    pub fn push_ranked(&mut self, id: ConversationId, rank: i64) {
        // Insert keeping ranks ascending; new entries are nearly always at an end.
        let pos = self
            .entries
            .iter()
            .rposition(|&(_, r)| r <= rank)
            .map(|p| p + 1)
            .unwrap_or(0);
        self.entries.insert(pos, (id, rank));
        self.front_rank = self.front_rank.min(rank);
    }

    pub fn front(&self) -> Option<ConversationId> {
        self.entries.front().map(|&(id, _)| id)
    }

    pub fn pop_front(&mut self) -> Option<ConversationId> {
        self.entries.pop_front().map(|(id, _)| id)
    }

    pub fn remove(&mut self, id: ConversationId) -> bool {
        match self.entries.iter().position(|&(c, _)| c == id) {
            Some(p) => {
                self.entries.remove(p);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Conversation ids in queue order (position 1 first).
    pub fn iter(&self) -> impl Iterator<Item = ConversationId> + '_ {
        self.entries.iter().map(|&(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: i64) -> ConversationId {
        ConversationId(n)
    }

    #[test]
    fn the_queue_orders_by_rank_and_requeued_entries_go_first() {
        let mut q = WaitQueue::default();
        for n in [1, 3, 2] {
            q.push_ranked(c(n), n);
        }
        let r = q.reserve_front();
        q.push_ranked(c(9), r);
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![c(9), c(1), c(2), c(3)]);
    }

    #[test]
    fn the_order_is_rebuilt_from_stored_ranks() {
        let q = WaitQueue::from_ranked(vec![(c(2), 5), (c(7), -1), (c(1), 3)]);
        assert_eq!(q.iter().collect::<Vec<_>>(), vec![c(7), c(1), c(2)]);
        let mut q = q;
        assert_eq!(q.reserve_front(), -2);
    }
}
