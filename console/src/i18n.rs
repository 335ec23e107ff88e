//! Every text of the console in German and English. The language starts from the browser's
//! and can be switched in the top bar.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

impl Lang {
    /// `de…` → German, anything else → English.
    pub fn from_tag(tag: &str) -> Self {
        if tag.to_ascii_lowercase().starts_with("de") {
            Lang::De
        } else {
            Lang::En
        }
    }

    pub fn other(self) -> Self {
        match self {
            Lang::De => Lang::En,
            Lang::En => Lang::De,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Lang::De => &DE,
            Lang::En => &EN,
        }
    }
}

pub struct Texts {
    pub title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub login: &'static str,
    pub logout: &'static str,
    pub bad_login: &'static str,
    pub online: &'static str,
    pub away: &'static str,
    pub chats: &'static str,
    pub queue: &'static str,
    pub queue_empty: &'static str,
    pub waiting: &'static str,
    pub anonymous: &'static str,
    pub no_chats: &'static str,
    pub connecting: &'static str,
    pub send: &'static str,
    pub end: &'static str,
    pub close: &'static str,
    pub typing: &'static str,
    pub placeholder: &'static str,
    pub transfer: &'static str,
    pub transfer_to: &'static str,
    pub notes: &'static str,
    pub add_note: &'static str,
    pub earlier: &'static str,
    pub started: &'static str,
    pub joined: &'static str,
    pub transferred: &'static str,
    pub requeued: &'static str,
    pub left_message: &'static str,
    pub ended_visitor: &'static str,
    pub ended_agent: &'static str,
    pub rated: &'static str,
    pub customer_number: &'static str,
    pub page: &'static str,
    pub arrived: &'static str,
    pub err_agent_full: &'static str,
    pub err_agent_unavailable: &'static str,
    pub err_generic: &'static str,
    pub new_chat: &'static str,
    pub new_message: &'static str,
    pub admin: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub level: &'static str,
    pub max_chats: &'static str,
    pub save: &'static str,
    pub create: &'static str,
    pub canned: &'static str,
    pub shortcut: &'static str,
    pub body: &'static str,
    pub delete: &'static str,
    pub saved: &'static str,
    pub convert: &'static str,
    pub category: &'static str,
    pub priority: &'static str,
    pub summary: &'static str,
    pub ticket_created: &'static str,
    /// low, medium, high, critical
    pub priorities: [&'static str; 4],
}

pub static DE: Texts = Texts {
    title: "Switchboard Konsole",
    email: "E-Mail",
    password: "Passwort",
    login: "Anmelden",
    logout: "Abmelden",
    bad_login: "E-Mail oder Passwort ist falsch.",
    online: "Online",
    away: "Abwesend",
    chats: "Chats",
    queue: "Warteschlange",
    queue_empty: "Niemand wartet.",
    waiting: "wartet seit",
    anonymous: "Besucher",
    no_chats: "Keine offenen Chats.",
    connecting: "Verbinde …",
    send: "Senden",
    end: "Chat beenden",
    close: "Schließen",
    typing: "Besucher schreibt …",
    placeholder: "Antwort (Enter sendet, Umschalt+Enter neue Zeile, /kürzel)",
    transfer: "Weiterleiten",
    transfer_to: "Weiterleiten an …",
    notes: "Interne Notizen",
    add_note: "Notiz speichern",
    earlier: "Frühere Gespräche",
    started: "Besucher wartet auf einen Chat",
    joined: "ist dem Chat beigetreten",
    transferred: "weitergeleitet",
    requeued: "zurück in die Warteschlange",
    left_message: "Nachricht hinterlassen",
    ended_visitor: "Der Besucher hat den Chat beendet.",
    ended_agent: "Chat beendet.",
    rated: "Bewertung",
    customer_number: "Kundennr.",
    page: "Seite",
    arrived: "seit",
    err_agent_full: "Weiterleiten abgelehnt: Der Agent hat keinen freien Platz.",
    err_agent_unavailable: "Weiterleiten abgelehnt: Der Agent ist nicht online.",
    err_generic: "Aktion abgelehnt",
    new_chat: "Neuer Chat",
    new_message: "Neue Nachricht",
    admin: "Verwaltung",
    name: "Name",
    role: "Rolle",
    level: "Stufe",
    max_chats: "Max. Chats",
    save: "Speichern",
    create: "Anlegen",
    canned: "Textbausteine",
    shortcut: "Kürzel",
    body: "Text",
    delete: "Löschen",
    saved: "Gespeichert.",
    convert: "In Ticket umwandeln",
    category: "Kategorie",
    priority: "Priorität",
    summary: "Zusammenfassung",
    ticket_created: "Ticket angelegt",
    priorities: ["niedrig", "mittel", "hoch", "kritisch"],
};

pub static EN: Texts = Texts {
    title: "Switchboard console",
    email: "E-mail",
    password: "Password",
    login: "Log in",
    logout: "Log out",
    bad_login: "Wrong e-mail or password.",
    online: "Online",
    away: "Away",
    chats: "chats",
    queue: "Queue",
    queue_empty: "Nobody is waiting.",
    waiting: "waiting for",
    anonymous: "Visitor",
    no_chats: "No open chats.",
    connecting: "Connecting …",
    send: "Send",
    end: "End chat",
    close: "Close",
    typing: "Visitor is typing …",
    placeholder: "Reply (Enter sends, Shift+Enter new line, /shortcut)",
    transfer: "Transfer",
    transfer_to: "Transfer to …",
    notes: "Internal notes",
    add_note: "Save note",
    earlier: "Earlier conversations",
    started: "Visitor is waiting for a chat",
    joined: "joined the chat",
    transferred: "transferred",
    requeued: "back in the queue",
    left_message: "left a message",
    ended_visitor: "The visitor ended the chat.",
    ended_agent: "Chat ended.",
    rated: "Rating",
    customer_number: "Customer no.",
    page: "Page",
    arrived: "since",
    err_agent_full: "Transfer refused: that agent has no free slot.",
    err_agent_unavailable: "Transfer refused: that agent is not online.",
    err_generic: "Action refused",
    new_chat: "New chat",
    new_message: "New message",
    admin: "Admin",
    name: "Name",
    role: "Role",
    level: "Level",
    max_chats: "Max chats",
    save: "Save",
    create: "Create",
    canned: "Canned responses",
    shortcut: "Shortcut",
    body: "Text",
    delete: "Delete",
    saved: "Saved.",
    convert: "Convert to ticket",
    category: "Category",
    priority: "Priority",
    summary: "Summary",
    ticket_created: "Ticket created",
    priorities: ["low", "medium", "high", "critical"],
};

/// The wire names of the ticket priorities, in the order of [`Texts::priorities`].
pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// A ticket category in the agent's language; unknown (admin-configured) ones as written.
pub fn category_label(lang: Lang, name: &str) -> String {
    let (de, en) = match name {
        "technical_problem" => ("Technisches Problem", "Technical problem"),
        "billing_question" => ("Rechnungsfrage", "Billing question"),
        "product_information" => ("Produktinformation", "Product information"),
        "complaint" => ("Beschwerde", "Complaint"),
        "feature_request" => ("Funktionswunsch", "Feature request"),
        other => return other.replace('_', " "),
    };
    match lang {
        Lang::De => de.to_owned(),
        Lang::En => en.to_owned(),
    }
}
