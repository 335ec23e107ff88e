//! One connection's channel (see the module docs of [`super`]).

use super::{Delivery, CONNECTION_CHANNEL};
use axum::extract::ws::Utf8Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A connection's channel once it is live: bounded by [`CONNECTION_CHANNEL`], never waited
/// on by the sender (see the module docs), closed for the receiver when the hub drops the
/// sender. An empty mailbox holds no buffer.
pub struct Mailbox(Arc<Mutex<Queue>>);

/// The hub's end of a [`Mailbox`].
pub(super) struct MailboxSender(Arc<Mutex<Queue>>);

/// What a connection's mailbox yields.
#[derive(Debug)]
pub enum Mail {
    Delivery(Delivery),
    /// The newest state frame of the connection's audience (availability or queue snapshot).
    State(Utf8Bytes),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Delivery>,
    /// The latest state frame not yet taken; a newer one replaces it.
    state: Option<Utf8Bytes>,
    /// The connection task waiting for an item.
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

pub(super) fn mailbox() -> (MailboxSender, Mailbox) {
    let shared = Arc::new(Mutex::new(Queue::default()));
    (MailboxSender(shared.clone()), Mailbox(shared))
}

fn lock_queue(q: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // Every critical section leaves the queue consistent; a panic elsewhere cannot break it.
    q.lock().unwrap_or_else(|p| p.into_inner())
}

impl MailboxSender {
    pub(super) fn try_send(&self, msg: Delivery) -> bool {
        let mut q = lock_queue(&self.0);
        if q.receiver_gone || q.items.len() >= CONNECTION_CHANNEL {
            return false;
        }
        q.items.push_back(msg);
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }
}

impl MailboxSender {
    pub(super) fn set_state(&self, frame: &Utf8Bytes) {
        let mut q = lock_queue(&self.0);
        if q.receiver_gone {
            return;
        }
        q.state = Some(frame.clone());
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for MailboxSender {
    fn drop(&mut self) {
        let mut q = lock_queue(&self.0);
        q.sender_gone = true;
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Mailbox {
    fn lock(&mut self) -> MutexGuard<'_, Queue> {
        lock_queue(&self.0)
    }

    /// Whether [`Mailbox::recv`] would answer at once (a delivery, a state frame, or the
    /// hub's goodbye).
    pub fn has_mail(&mut self) -> bool {
        let q = self.lock();
        !q.items.is_empty() || q.state.is_some() || q.sender_gone
    }

    /// The next delivery (in order), else the latest state frame; `None` as soon as the hub
    /// dropped this connection (it fell behind): the backlog is discarded unsent, so the
    /// connection's close goes out at once instead of behind it, and its memory is freed.
    pub async fn recv(&mut self) -> Option<Mail> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Mail>> {
        let mut q = self.lock();
        if q.sender_gone {
            q.items = VecDeque::new();
            q.state = None;
            return Poll::Ready(None);
        }
        if let Some(msg) = q.items.pop_front() {
            if q.items.is_empty() && q.items.capacity() > 32 {
                // A burst is over: give its buffer back rather than keep it while idle.
                q.items = VecDeque::new();
            }
            return Poll::Ready(Some(Mail::Delivery(msg)));
        }
        if let Some(frame) = q.state.take() {
            return Poll::Ready(Some(Mail::State(frame)));
        }
        if !q.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            q.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let mut q = self.lock();
        q.receiver_gone = true;
        q.items.clear();
        q.state = None;
    }
}
