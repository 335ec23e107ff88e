//! The ticket views' texts in German and English, and the relative due times ("in 2 h",
//! "überfällig seit 3 h"). Kept apart from `crate::i18n` so the ticket views stay one unit.

use crate::app::use_app;
use crate::i18n::Lang;
use leptos::prelude::Get;

pub struct TicketTexts {
    pub tickets: &'static str,
    pub all: &'static str,
    pub status: &'static str,
    pub priority: &'static str,
    pub category: &'static str,
    pub level: &'static str,
    pub assignee: &'static str,
    pub unassigned: &'static str,
    pub sla: &'static str,
    pub sla_hint: &'static str,
    pub tag: &'static str,
    pub tags: &'static str,
    pub search: &'static str,
    pub apply: &'static str,
    pub reset: &'static str,
    pub refresh: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub page: &'static str,
    pub none_found: &'static str,
    pub loading: &'static str,
    pub subject: &'static str,
    pub customer: &'static str,
    pub due: &'static str,
    pub back: &'static str,
    pub channel: &'static str,
    pub created: &'static str,
    pub first_response: &'static str,
    pub resolution: &'static str,
    pub met: &'static str,
    pub breached: &'static str,
    pub running: &'static str,
    pub paused: &'static str,
    pub history: &'static str,
    pub transcript: &'static str,
    pub description: &'static str,
    pub note: &'static str,
    pub add_note: &'static str,
    pub reply: &'static str,
    pub send_reply: &'static str,
    pub reply_hint: &'static str,
    pub change: &'static str,
    pub escalate: &'static str,
    pub reason: &'static str,
    pub top_level: &'static str,
    pub save_tags: &'static str,
    pub tags_hint: &'static str,
    pub rating: &'static str,
    pub no_rating: &'static str,
    pub system: &'static str,
    pub visitor: &'static str,
    pub saved: &'static str,
    pub err_conflict: &'static str,
    pub err_invalid: &'static str,
    pub err_not_found: &'static str,
    pub err_forbidden: &'static str,
    pub err_network: &'static str,
    pub err_other: &'static str,
    /// new, open, pending_customer, resolved, closed
    pub statuses: [&'static str; 5],
    pub reopen: &'static str,
    /// live_chat, offline_form
    pub channels: [&'static str; 2],
    /// The history entry kinds, as a sentence start.
    pub h_created: &'static str,
    pub h_status: &'static str,
    pub h_priority: &'static str,
    pub h_category: &'static str,
    pub h_assigned: &'static str,
    pub h_escalated: &'static str,
    pub h_note: &'static str,
    pub h_reply: &'static str,
    pub h_tags: &'static str,
    pub now: &'static str,
    /// "in {x}"
    pub due_in: &'static str,
    /// "overdue by {x}"
    pub overdue: &'static str,
    pub days: &'static str,
}

pub static DE: TicketTexts = TicketTexts {
    tickets: "Tickets",
    all: "alle",
    status: "Status",
    priority: "Priorität",
    category: "Kategorie",
    level: "Stufe",
    assignee: "Bearbeiter",
    unassigned: "niemand",
    sla: "SLA",
    sla_hint: "SLA-Zustand jetzt: verletzt, läuft oder pausiert.",
    tag: "Tag",
    tags: "Tags",
    search: "Suche",
    apply: "Filtern",
    reset: "Zurücksetzen",
    refresh: "Aktualisieren",
    previous: "Zurück",
    next: "Weiter",
    page: "Seite",
    none_found: "Keine Tickets gefunden.",
    loading: "Lade …",
    subject: "Betreff",
    customer: "Kunde",
    due: "Fällig",
    back: "Zur Liste",
    channel: "Kanal",
    created: "Angelegt",
    first_response: "Erste Antwort",
    resolution: "Lösung",
    met: "erfüllt",
    breached: "verletzt",
    running: "läuft",
    paused: "pausiert",
    history: "Verlauf",
    transcript: "Chat-Verlauf",
    description: "Beschreibung",
    note: "Interne Notiz",
    add_note: "Notiz speichern",
    reply: "Antwort an den Kunden",
    send_reply: "Antwort senden",
    reply_hint: "Der Kunde sieht die Antwort im Chat-Fenster der Website.",
    change: "Ändern",
    escalate: "Eskalieren",
    reason: "Grund",
    top_level: "Höchste Stufe (L3) erreicht.",
    save_tags: "Tags speichern",
    tags_hint: "durch Kommas getrennt",
    rating: "Kundenbewertung",
    no_rating: "noch keine",
    system: "System",
    visitor: "Kunde",
    saved: "Gespeichert.",
    err_conflict:
        "Das Ticket wurde inzwischen geändert. Es ist neu geladen – bitte noch einmal versuchen.",
    err_invalid: "Ungültige Eingabe",
    err_not_found: "Ticket nicht gefunden.",
    err_forbidden: "Dafür fehlt die Berechtigung.",
    err_network: "Keine Verbindung zum Server.",
    err_other: "Fehler",
    statuses: ["neu", "offen", "wartet auf Kunde", "gelöst", "geschlossen"],
    reopen: "wieder öffnen",
    channels: ["Live-Chat", "Nachrichtenformular"],
    h_created: "Angelegt über",
    h_status: "Status",
    h_priority: "Priorität",
    h_category: "Kategorie",
    h_assigned: "Zugewiesen",
    h_escalated: "Eskaliert",
    h_note: "Interne Notiz",
    h_reply: "Antwort an den Kunden",
    h_tags: "Tags",
    now: "jetzt",
    due_in: "in {x}",
    overdue: "überfällig seit {x}",
    days: "Tg.",
};

pub static EN: TicketTexts = TicketTexts {
    tickets: "Tickets",
    all: "all",
    status: "Status",
    priority: "Priority",
    category: "Category",
    level: "Level",
    assignee: "Assignee",
    unassigned: "nobody",
    sla: "SLA",
    sla_hint: "SLA state now: breached, running or paused.",
    tag: "Tag",
    tags: "Tags",
    search: "Search",
    apply: "Filter",
    reset: "Reset",
    refresh: "Refresh",
    previous: "Previous",
    next: "Next",
    page: "Page",
    none_found: "No tickets found.",
    loading: "Loading …",
    subject: "Subject",
    customer: "Customer",
    due: "Due",
    back: "Back to the list",
    channel: "Channel",
    created: "Created",
    first_response: "First response",
    resolution: "Resolution",
    met: "met",
    breached: "breached",
    running: "running",
    paused: "paused",
    history: "History",
    transcript: "Chat transcript",
    description: "Description",
    note: "Internal note",
    add_note: "Save note",
    reply: "Reply to the customer",
    send_reply: "Send reply",
    reply_hint: "The customer sees the reply in the site's chat window.",
    change: "Change",
    escalate: "Escalate",
    reason: "Reason",
    top_level: "Highest level (L3) reached.",
    save_tags: "Save tags",
    tags_hint: "separated by commas",
    rating: "Customer rating",
    no_rating: "none yet",
    system: "System",
    visitor: "Customer",
    saved: "Saved.",
    err_conflict: "The ticket was changed meanwhile. It has been reloaded – please try again.",
    err_invalid: "Invalid input",
    err_not_found: "Ticket not found.",
    err_forbidden: "You are not allowed to do that.",
    err_network: "No connection to the server.",
    err_other: "Error",
    statuses: ["new", "open", "pending customer", "resolved", "closed"],
    reopen: "reopen",
    channels: ["live chat", "message form"],
    h_created: "Created via",
    h_status: "Status",
    h_priority: "Priority",
    h_category: "Category",
    h_assigned: "Assigned",
    h_escalated: "Escalated",
    h_note: "Internal note",
    h_reply: "Reply to the customer",
    h_tags: "Tags",
    now: "now",
    due_in: "in {x}",
    overdue: "overdue by {x}",
    days: "d",
};

pub fn texts(lang: Lang) -> &'static TicketTexts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

/// The ticket texts in the current language, reactive.
pub fn tt() -> impl Fn() -> &'static TicketTexts + Copy {
    let app = use_app();
    move || texts(app.lang.get())
}

/// The wire names of the statuses, in the order of [`TicketTexts::statuses`].
pub const STATUSES: [&str; 5] = ["new", "open", "pending_customer", "resolved", "closed"];

pub fn status_label(t: &TicketTexts, status: &str) -> String {
    STATUSES
        .iter()
        .position(|s| *s == status)
        .map_or_else(|| status.to_owned(), |i| t.statuses[i].to_owned())
}

pub fn channel_label(t: &TicketTexts, channel: &str) -> String {
    match channel {
        "live_chat" => t.channels[0].to_owned(),
        "offline_form" => t.channels[1].to_owned(),
        other => other.to_owned(),
    }
}

pub fn priority_label(lang: Lang, priority: &str) -> String {
    crate::i18n::PRIORITIES
        .iter()
        .position(|p| *p == priority)
        .map_or_else(
            || priority.to_owned(),
            |i| lang.t().priorities[i].to_owned(),
        )
}

/// A duration as the largest whole unit: "45 min", "3 h", "2 d" / "2 Tg.".
pub fn span(t: &TicketTexts, ms: i64) -> String {
    let min = ms.abs() / 60_000;
    if min < 60 {
        format!("{min} min")
    } else if min < 48 * 60 {
        format!("{} h", min / 60)
    } else {
        format!("{} {}", min / (24 * 60), t.days)
    }
}

/// A due time relative to `now`: "in 2 h", "overdue by 3 h" / "überfällig seit 3 h";
/// under a minute either way is "now".
pub fn relative_due(t: &TicketTexts, due: i64, now: i64) -> String {
    let delta = due - now;
    if delta.abs() < 60_000 {
        return t.now.to_owned();
    }
    let template = if delta > 0 { t.due_in } else { t.overdue };
    template.replace("{x}", &span(t, delta))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn due_times_read_relative_in_both_languages() {
        assert_eq!(relative_due(&EN, 2 * H + 5, 0), "in 2 h");
        assert_eq!(relative_due(&DE, 0, 3 * H + 59_000), "überfällig seit 3 h");
        assert_eq!(relative_due(&EN, 0, 3 * H), "overdue by 3 h");
        assert_eq!(relative_due(&DE, 45 * 60_000, 0), "in 45 min");
        assert_eq!(relative_due(&EN, 30_000, 0), "now");
        assert_eq!(relative_due(&DE, 72 * H, 0), "in 3 Tg.");
        assert_eq!(relative_due(&EN, 0, 50 * H), "overdue by 2 d");
    }

    #[test]
    fn labels_fall_back_to_the_wire_name() {
        assert_eq!(status_label(&DE, "pending_customer"), "wartet auf Kunde");
        assert_eq!(status_label(&EN, "archived"), "archived");
        assert_eq!(channel_label(&EN, "offline_form"), "message form");
        assert_eq!(priority_label(Lang::De, "critical"), "kritisch");
    }
}
