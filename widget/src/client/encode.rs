//! Encodes the frames the widget sends. Byte for byte what the derived `Serialize` of
//! [`VisitorCommand`] writes (the tests compare), without linking serde_json.

use crate::json::ObjWriter;
use switchboard_shared::VisitorCommand;

/// The JSON text frame for `cmd`.
pub fn encode(cmd: &VisitorCommand) -> String {
    let w = |tag: &str| ObjWriter::new().str("type", tag);
    match cmd {
        VisitorCommand::Hello {
            protocol,
            site,
            token,
            last_seq,
            locale,
        } => w("hello")
            .int("protocol", *protocol)
            .str("site", site)
            .opt_str("token", token.as_deref())
            .opt_int("last_seq", *last_seq)
            .opt_str("locale", locale.as_deref()),
        VisitorCommand::StartConversation {
            name,
            email,
            customer_number,
            page_url,
        } => w("start_conversation")
            .opt_str("name", name.as_deref())
            .opt_str("email", email.as_deref())
            .opt_str("customer_number", customer_number.as_deref())
            .opt_str("page_url", page_url.as_deref()),
        VisitorCommand::Send { client_id, body } => w("send")
            .str("client_id", client_id.as_str())
            .str("body", body),
        VisitorCommand::LeaveMessage {
            client_id,
            body,
            name,
            email,
            customer_number,
        } => w("leave_message")
            .str("client_id", client_id.as_str())
            .str("body", body)
            .opt_str("name", name.as_deref())
            .opt_str("email", email.as_deref())
            .opt_str("customer_number", customer_number.as_deref()),
        VisitorCommand::Typing { active } => w("typing").bool("active", *active),
        VisitorCommand::Ack { seq } => w("ack").int("seq", *seq),
        VisitorCommand::Read { seq } => w("read").int("seq", *seq),
        VisitorCommand::EndConversation { conversation_id } => match conversation_id {
            Some(c) => w("end_conversation").id("conversation_id", c.0),
            None => w("end_conversation"),
        },
        VisitorCommand::Rate { score, comment } => w("rate")
            .int("score", *score)
            .opt_str("comment", comment.as_deref()),
        VisitorCommand::RateTicket {
            ticket_id,
            score,
            comment,
        } => w("rate_ticket")
            .id("ticket_id", *ticket_id)
            .int("score", *score)
            .opt_str("comment", comment.as_deref()),
        VisitorCommand::Ping {} => w("ping"),
    }
    .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_shared::ClientMsgId;

    #[test]
    fn every_command_encodes_like_serde() {
        let id = || ClientMsgId::try_from("w-1".to_string()).unwrap();
        let s = |v: &str| Some(v.to_string());
        let cmds = [
            VisitorCommand::Hello {
                protocol: 1,
                site: "acme \"x\"".into(),
                token: s("t"),
                last_seq: Some(u64::MAX),
                locale: None,
            },
            VisitorCommand::Hello {
                protocol: 1,
                site: "a".into(),
                token: None,
                last_seq: None,
                locale: s("de"),
            },
            VisitorCommand::StartConversation {
                name: s("Jonas\n"),
                email: None,
                customer_number: s("7"),
                page_url: s("https://x/?a=1&b=ü"),
            },
            VisitorCommand::Send {
                client_id: id(),
                body: "Hallo \\ 😀 \u{1}".into(),
            },
            VisitorCommand::LeaveMessage {
                client_id: id(),
                body: "b".into(),
                name: None,
                email: s("e@x"),
                customer_number: None,
            },
            VisitorCommand::Typing { active: true },
            VisitorCommand::Typing { active: false },
            VisitorCommand::Ack { seq: 0 },
            VisitorCommand::Read { seq: 12 },
            VisitorCommand::EndConversation {
                conversation_id: None,
            },
            VisitorCommand::EndConversation {
                conversation_id: Some(switchboard_shared::ConversationId(9)),
            },
            VisitorCommand::Rate {
                score: 5,
                comment: s("super"),
            },
            VisitorCommand::Rate {
                score: 1,
                comment: None,
            },
            VisitorCommand::RateTicket {
                ticket_id: 7,
                score: 4,
                comment: s("danke"),
            },
            VisitorCommand::Ping {},
        ];
        for c in cmds {
            assert_eq!(encode(&c), serde_json::to_string(&c).unwrap());
        }
    }
}
