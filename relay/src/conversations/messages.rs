//! Chat messages, typing indicators and receipts.

use super::publish::encode;
use super::{Chat, ChatResult};
use crate::clock::now_ms;
use crate::fanout::{Outbound, Party};
use switchboard_shared::text::MessageBody;
use switchboard_shared::{Author, ClientMsgId, ConversationId, EventKind, Seq, ServerFrame, Side};
use switchboard_store::{AppendRequest, Appended, ConversationUpdate, VisitorId};

impl Chat {
    /// Stores a message (once per client id) and returns its sequence number and whether it
    /// was a resend. Returns after the message is durable; subscribers get it via the
    /// commit listener.
    pub(crate) async fn store_message(
        &self,
        conv: ConversationId,
        author: Author,
        side: Side,
        client_id: ClientMsgId,
        body: MessageBody,
    ) -> ChatResult<(Seq, bool)> {
        let req = AppendRequest {
            conversation_id: conv,
            at: now_ms(),
            event: EventKind::Message {
                author,
                client_id: Some(client_id.clone()),
                body: body.into_string(),
            },
            dedup: Some((side, client_id)),
            update: ConversationUpdate::default(),
        };
        Ok(match self.store().append(req).await? {
            Appended::New(ev) => (ev.seq, false),
            Appended::Duplicate { seq } => (seq, true),
        })
    }

    /// The visitor's live conversation, if `conv` is it.
    pub fn visitor_owns(&self, visitor: VisitorId, conv: ConversationId) -> bool {
        self.router()
            .live(conv)
            .is_some_and(|l| l.visitor == visitor)
    }

    /// The party on the other side of a live conversation.
    fn counterpart(&self, conv: ConversationId, by: Side) -> Option<Party> {
        let r = self.router();
        let live = r.live(conv)?;
        match by {
            Side::Visitor => live.agent.map(Party::Agent),
            Side::Agent => Some(Party::Visitor(live.visitor)),
        }
    }

    pub fn typing(&self, conv: ConversationId, by: Side, active: bool) {
        if let Some(party) = self.counterpart(conv, by) {
            let frame = encode(&ServerFrame::Typing {
                conversation_id: conv,
                by,
                active,
            });
            self.hub().send_party(party, Outbound::Frame(frame));
        }
    }

    /// Stores how far `by` has received and read, and tells the other side.
    pub async fn receipt(
        &self,
        conv: ConversationId,
        by: Side,
        delivered: Seq,
        read: Seq,
    ) -> ChatResult<()> {
        self.store()
            .record_receipt(conv, by, delivered, read)
            .await?;
        if let Some(party) = self.counterpart(conv, by) {
            let frame = encode(&ServerFrame::Receipt {
                conversation_id: conv,
                by,
                delivered,
                read,
            });
            self.hub().send_party(party, Outbound::Frame(frame));
        }
        Ok(())
    }
}
