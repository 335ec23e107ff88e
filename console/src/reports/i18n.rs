//! The dashboard's texts in German and English, and how its numbers read (durations,
//! shares, averages).

use crate::app::use_app;
use crate::i18n::Lang;
use leptos::prelude::Get;

pub struct ReportTexts {
    pub reports: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub site: &'static str,
    pub all_sites: &'static str,
    pub show: &'static str,
    pub csv: &'static str,
    pub csv_ready: &'static str,
    pub loading: &'static str,
    pub generated: &'static str,
    pub first_response: &'static str,
    pub fcr: &'static str,
    pub aht: &'static str,
    pub resolution_time: &'static str,
    pub csat: &'static str,
    pub sla: &'static str,
    pub sla_first: &'static str,
    pub sla_resolution: &'static str,
    pub chats: &'static str,
    pub tickets: &'static str,
    pub volume: &'static str,
    pub by_channel: &'static str,
    pub by_category: &'static str,
    pub by_priority: &'static str,
    pub per_agent: &'static str,
    pub per_level: &'static str,
    pub agent: &'static str,
    pub level: &'static str,
    pub nobody: &'static str,
    pub no_level: &'static str,
    pub mean: &'static str,
    pub median: &'static str,
    pub of: &'static str,
    pub ratings: &'static str,
    pub err_range: &'static str,
}

pub static DE: ReportTexts = ReportTexts {
    reports: "Auswertungen",
    from: "Von",
    to: "Bis (einschließlich)",
    site: "Website",
    all_sites: "alle",
    show: "Anzeigen",
    csv: "CSV herunterladen",
    csv_ready: "CSV-Datei",
    loading: "Lade …",
    generated: "Stand",
    first_response: "Erste Antwortzeit",
    fcr: "Erstkontaktlösung",
    aht: "Ø Bearbeitungszeit (Chat)",
    resolution_time: "Zeit bis zur Lösung",
    csat: "Kundenzufriedenheit (CSAT)",
    sla: "SLA-Einhaltung",
    sla_first: "SLA erste Antwort",
    sla_resolution: "SLA Lösung",
    chats: "Chats",
    tickets: "Tickets",
    volume: "Volumen",
    by_channel: "Tickets nach Kanal",
    by_category: "Tickets nach Kategorie",
    by_priority: "Tickets nach Priorität",
    per_agent: "Je Agent",
    per_level: "Je Support-Stufe",
    agent: "Agent",
    level: "Stufe",
    nobody: "(niemand)",
    no_level: "(ohne Agent)",
    mean: "Ø",
    median: "Median",
    of: "von",
    ratings: "Bewertungen",
    err_range: "Bitte einen gültigen Zeitraum wählen (Von vor Bis, höchstens 367 Tage).",
};

pub static EN: ReportTexts = ReportTexts {
    reports: "Reports",
    from: "From",
    to: "To (inclusive)",
    site: "Site",
    all_sites: "all",
    show: "Show",
    csv: "Download CSV",
    csv_ready: "CSV file",
    loading: "Loading …",
    generated: "As of",
    first_response: "First response time",
    fcr: "First contact resolution",
    aht: "Average handle time (chat)",
    resolution_time: "Time to resolution",
    csat: "Customer satisfaction (CSAT)",
    sla: "SLA attainment",
    sla_first: "SLA first response",
    sla_resolution: "SLA resolution",
    chats: "Chats",
    tickets: "Tickets",
    volume: "Volume",
    by_channel: "Tickets by channel",
    by_category: "Tickets by category",
    by_priority: "Tickets by priority",
    per_agent: "Per agent",
    per_level: "Per support level",
    agent: "Agent",
    level: "Level",
    nobody: "(nobody)",
    no_level: "(no agent)",
    mean: "mean",
    median: "median",
    of: "of",
    ratings: "ratings",
    err_range: "Please choose a valid range (from before to, at most 367 days).",
};

pub fn texts(lang: Lang) -> &'static ReportTexts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

/// The report texts in the current language, reactive.
pub fn rt() -> impl Fn() -> &'static ReportTexts + Copy {
    let app = use_app();
    move || texts(app.lang.get())
}

/// A duration for people: "42 s", "7 min 5 s", "3 h 20 min", "2 d 4 h"; "–" for none.
pub fn duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "–".to_owned();
    };
    let s = (ms.max(0) + 500) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A share 0…1 as a percentage with one decimal in the language's style ("66,7 %" /
/// "66.7 %"); "–" when nothing was eligible.
pub fn percent(lang: Lang, rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| decimal(lang, r * 100.0, 1) + " %")
}

/// A number with `places` decimals and the language's decimal mark.
pub fn decimal(lang: Lang, value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_sensible_units() {
        assert_eq!(duration(None), "–");
        assert_eq!(duration(Some(83_333)), "1 min 23 s");
        assert_eq!(duration(Some(10_800_000)), "3 h 0 min");
        assert_eq!(duration(Some(49_200_000)), "13 h 40 min");
        assert_eq!(duration(Some(3 * 86_400_000 + 7_200_000)), "3 d 2 h");
        assert_eq!(duration(Some(400)), "0 s");
    }

    #[test]
    fn shares_follow_the_language() {
        assert_eq!(percent(Lang::De, Some(0.6667)), "66,7 %");
        assert_eq!(percent(Lang::En, Some(0.25)), "25.0 %");
        assert_eq!(percent(Lang::En, None), "–");
        assert_eq!(decimal(Lang::De, 3.6667, 2), "3,67");
    }
}
