//! Typed identifiers. Integers on the wire; newtypes in code so an agent id can never be
//! passed where a conversation id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

int_id!(
    /// A conversation between one visitor and (over its life) one or more agents.
    ConversationId
);
int_id!(
    /// An agent account.
    AgentId
);

/// Per-conversation sequence number of a durable event. Starts at 1 and has no gaps.
pub type Seq = u64;

/// The id a client gives each message it sends, so that a resend after a dropped connection
/// is stored once and acknowledged again. Any printable ASCII, 1..=64 bytes (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientMsgId(String);

impl ClientMsgId {
    pub const MAX_LEN: usize = 64;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientMsgId {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err("client id must be 1 to 64 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("client id must be printable ASCII without spaces");
        }
        Ok(Self(s))
    }
}

impl From<ClientMsgId> for String {
    fn from(id: ClientMsgId) -> String {
        id.0
    }
}

impl fmt::Display for ClientMsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_reject_empty_long_and_spaced_values() {
        assert!(ClientMsgId::try_from(String::new()).is_err());
        assert!(ClientMsgId::try_from("a".repeat(65)).is_err());
        assert!(ClientMsgId::try_from("a b".to_string()).is_err());
        assert!(ClientMsgId::try_from("0b6f-42".to_string()).is_ok());
    }
}
