//! German and English texts. Every text the widget shows goes through here, so both languages
//! stay complete: a missing translation is a compile error, not an English fallback.

use crate::model::Note;
use switchboard_shared::{ErrorCode, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    De,
    En,
}

impl Lang {
    /// `de`, `de-AT`, `de_CH` … → German; everything else → English.
    pub fn from_tag(tag: &str) -> Lang {
        let t = tag.trim().to_ascii_lowercase();
        if t == "de" || t.starts_with("de-") || t.starts_with("de_") {
            Lang::De
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }
}

/// Fixed texts, one variant per place in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    PanelLabel,
    Close,
    EndChat,
    Offline,
    Connecting,
    Reconnecting,
    Unavailable,
    Unreachable,
    DefaultGreeting,
    AgentTyping,
    InputPlaceholder,
    InputLabel,
    Send,
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
    Name,
    Email,
    CustomerNumber,
    Message,
    Required,
    InvalidEmail,
    TooLong,
    StartChat,
    PrechatIntro,
    OfflineIntro,
    OfflineSubmit,
    OfflineDone,
    RateQuestion,
    RateComment,
    RateSubmit,
    Rated,
    NewChat,
    Stars,
    YouAuthor,
    Requeued,
    LeftMessage,
    EndedByVisitor,
    EndedByAgent,
    MessagesLabel,
    YourRequests,
    OurTeam,
    QueueOffer,
    LeaveInstead,
}

pub fn t(lang: Lang, key: T) -> &'static str {
    use T::*;
    let (de, en) = match key {
        PanelLabel => ("Chat mit unserem Team", "Chat with our team"),
        Close => ("Chat schließen", "Close chat"),
        EndChat => ("Chat beenden", "End chat"),
        Offline => ("Gerade offline", "Currently offline"),
        Connecting => ("Verbindung wird aufgebaut…", "Connecting…"),
        Reconnecting => ("Verbindung wird wiederhergestellt…", "Reconnecting…"),
        Unavailable => ("Der Chat ist zurzeit nicht verfügbar.", "Chat is not available right now."),
        Unreachable => (
            "Der Chat ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut.",
            "The chat can't be reached right now. Please try again later.",
        ),
        DefaultGreeting => ("Hallo! Wie können wir helfen?", "Hello! How can we help?"),
        AgentTyping => ("schreibt…", "is typing…"),
        InputPlaceholder => ("Nachricht schreiben…", "Write a message…"),
        InputLabel => ("Ihre Nachricht", "Your message"),
        Send => ("Senden", "Send"),
        Pending => ("Wird gesendet", "Sending"),
        Sent => ("Gesendet", "Sent"),
        Delivered => ("Zugestellt", "Delivered"),
        Read => ("Gelesen", "Read"),
        Failed => ("Nicht gesendet", "Not sent"),
        Name => ("Name", "Name"),
        Email => ("E-Mail", "E-mail"),
        CustomerNumber => ("Kundennummer", "Customer number"),
        Message => ("Nachricht", "Message"),
        Required => ("Bitte ausfüllen.", "Please fill in."),
        InvalidEmail => ("Bitte eine gültige E-Mail-Adresse angeben.", "Please enter a valid e-mail address."),
        TooLong => ("Die Angabe ist zu lang.", "This is too long."),
        StartChat => ("Chat starten", "Start chat"),
        PrechatIntro => ("Bevor es losgeht: Wie erreichen wir Sie?", "Before we start: how can we reach you?"),
        OfflineIntro => (
            "Gerade ist niemand online. Hinterlassen Sie uns eine Nachricht.",
            "Nobody is online right now. Leave us a message.",
        ),
        OfflineSubmit => ("Nachricht senden", "Send message"),
        OfflineDone => ("Danke! Wir melden uns.", "Thank you! We will get back to you."),
        RateQuestion => ("Wie zufrieden waren Sie?", "How satisfied were you?"),
        RateComment => ("Kommentar (optional)", "Comment (optional)"),
        RateSubmit => ("Bewertung senden", "Send rating"),
        Rated => ("Danke für Ihre Bewertung!", "Thank you for your rating!"),
        NewChat => ("Neuen Chat starten", "Start a new chat"),
        Stars => ("Sterne", "stars"),
        YouAuthor => ("Sie", "You"),
        Requeued => (
            "Die Verbindung zu Ihrem Ansprechpartner ist abgebrochen. Sie sind wieder in der Warteschlange.",
            "Your agent was disconnected. You are back in the queue.",
        ),
        LeftMessage => ("Ihre Nachricht wurde hinterlassen.", "Your message was left for the team."),
        EndedByVisitor => ("Sie haben den Chat beendet.", "You ended the chat."),
        EndedByAgent => ("Der Chat wurde beendet.", "The chat has ended."),
        MessagesLabel => ("Chatverlauf", "Chat messages"),
        YourRequests => ("Ihre Anfragen", "Your requests"),
        OurTeam => ("Unser Team", "Our team"),
        QueueOffer => (
            "Gerade sind alle im Gespräch.",
            "Everyone is busy right now.",
        ),
        LeaveInstead => ("Stattdessen Nachricht hinterlassen", "Leave a message instead"),
    };
    match lang {
        Lang::De => de,
        Lang::En => en,
    }
}

pub fn agents_online(lang: Lang, n: u32) -> String {
    match (lang, n) {
        (_, 0) => t(lang, T::Offline).to_string(),
        (Lang::De, 1) => "1 Ansprechpartner online".into(),
        (Lang::De, n) => format!("{n} Ansprechpartner online"),
        (Lang::En, 1) => "1 agent online".into(),
        (Lang::En, n) => format!("{n} agents online"),
    }
}

/// "Position 2 in the queue – about 3 min". The estimate is rounded up to whole minutes.
pub fn queue(lang: Lang, position: u32, wait_secs: Option<u32>) -> String {
    let minutes = wait_secs.map(|s| s.div_ceil(60).max(1));
    match (lang, minutes) {
        (Lang::De, Some(m)) => format!("Position {position} in der Warteschlange – etwa {m} Min."),
        (Lang::De, None) => format!("Position {position} in der Warteschlange"),
        (Lang::En, Some(m)) => format!("Position {position} in the queue – about {m} min"),
        (Lang::En, None) => format!("Position {position} in the queue"),
    }
}

pub fn agent_joined(lang: Lang, name: &str) -> String {
    match lang {
        Lang::De => format!("{name} hat den Chat übernommen."),
        Lang::En => format!("{name} joined the chat."),
    }
}

pub fn transferred(lang: Lang, from: &str, to: &str) -> String {
    match lang {
        Lang::De => format!("{from} hat den Chat an {to} übergeben."),
        Lang::En => format!("{from} transferred the chat to {to}."),
    }
}

/// A system line in the message list.
pub fn note(lang: Lang, note: &Note) -> String {
    match note {
        Note::AgentJoined(name) => agent_joined(lang, name),
        Note::Transferred(from, to) => transferred(lang, from, to),
        Note::Requeued => t(lang, T::Requeued).into(),
        Note::LeftMessage => t(lang, T::LeftMessage).into(),
        Note::Ended(Side::Visitor) => t(lang, T::EndedByVisitor).into(),
        Note::Ended(Side::Agent) => t(lang, T::EndedByAgent).into(),
    }
}

/// A ticket's status (`new`, `open`, `pending_customer`, `resolved`, `closed`) in words; a
/// status this widget does not know is shown as sent.
pub fn ticket_status(lang: Lang, status: &str) -> String {
    let (de, en) = match status {
        "new" => ("Eingegangen", "Received"),
        "open" => ("In Bearbeitung", "In progress"),
        "pending_customer" => ("Wartet auf Ihre Antwort", "Waiting for your answer"),
        "resolved" => ("Gelöst", "Resolved"),
        "closed" => ("Abgeschlossen", "Closed"),
        other => return other.to_string(),
    };
    match lang {
        Lang::De => de,
        Lang::En => en,
    }
    .to_string()
}

pub fn counter(chars: usize, max: usize) -> String {
    format!("{chars} / {max}")
}

pub fn rate_label(lang: Lang, score: u8) -> String {
    match (lang, score) {
        (Lang::De, 1) => "1 Stern".into(),
        (Lang::En, 1) => "1 star".into(),
        (lang, n) => format!("{n} {}", t(lang, T::Stars)),
    }
}

/// The text for an error the visitor can do something about; `None` for protocol errors
/// that only matter to developers (they are logged to the console instead).
pub fn error(lang: Lang, code: ErrorCode) -> Option<&'static str> {
    use ErrorCode::*;
    let (de, en) = match code {
        BodyTooLong => ("Die Nachricht ist zu lang.", "The message is too long."),
        EmptyBody => ("Die Nachricht ist leer.", "The message is empty."),
        FieldTooLong => ("Eine Angabe ist zu lang.", "One of the fields is too long."),
        InvalidField => ("Eine Angabe ist ungültig.", "One of the fields is invalid."),
        RateLimited => (
            "Zu viele Nachrichten auf einmal – bitte kurz warten.",
            "Too many messages at once – please wait a moment.",
        ),
        Unavailable => (
            "Die Nachricht konnte gerade nicht gespeichert werden – sie wird gleich erneut gesendet.",
            "The message could not be stored just now – it will be sent again shortly.",
        ),
        ConversationEnded => (
            "Dieser Chat ist bereits beendet.",
            "This chat has already ended.",
        ),
        NoConversation => ("Es gibt keinen offenen Chat.", "There is no open chat."),
        UnknownSite | OriginNotAllowed | UnsupportedVersion => (
            "Der Chat ist zurzeit nicht verfügbar.",
            "Chat is not available right now.",
        ),
        Internal => (
            "Etwas ist schiefgegangen. Bitte erneut versuchen.",
            "Something went wrong. Please try again.",
        ),
        _ => return None,
    };
    Some(match lang {
        Lang::De => de,
        Lang::En => en,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_tags_choose_german_and_everything_else_english() {
        assert_eq!(Lang::from_tag("de"), Lang::De);
        assert_eq!(Lang::from_tag("de-AT"), Lang::De);
        assert_eq!(Lang::from_tag("DE_ch"), Lang::De);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::from_tag("dk"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }

    #[test]
    fn queue_text_rounds_the_wait_up_to_minutes() {
        assert_eq!(
            queue(Lang::En, 2, Some(150)),
            "Position 2 in the queue – about 3 min"
        );
        assert_eq!(
            queue(Lang::De, 2, Some(150)),
            "Position 2 in der Warteschlange – etwa 3 Min."
        );
        assert_eq!(
            queue(Lang::En, 1, Some(0)),
            "Position 1 in the queue – about 1 min"
        );
        assert_eq!(queue(Lang::De, 4, None), "Position 4 in der Warteschlange");
    }

    #[test]
    fn online_count_reads_naturally_in_both_languages() {
        assert_eq!(agents_online(Lang::En, 1), "1 agent online");
        assert_eq!(agents_online(Lang::En, 3), "3 agents online");
        assert_eq!(agents_online(Lang::De, 0), "Gerade offline");
    }
}
