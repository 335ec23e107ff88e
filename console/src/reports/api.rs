//! `GET /api/v1/reports/kpis` (JSON) and `…/kpis.csv` (docs/REPORTS.md) through the
//! console's fetch wrapper, and the date range the dashboard asks for.

use crate::api::{call, parse, ApiError};
use serde::Deserialize;
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, ApiError>;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Durations {
    pub count: u32,
    pub mean_ms: Option<i64>,
    pub median_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Rate {
    pub eligible: u32,
    pub met: u32,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Csat {
    pub count: u32,
    pub average: Option<f64>,
    pub satisfied: u32,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ByKind<T> {
    pub chats: T,
    pub tickets: T,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CsatSet {
    pub chats: Csat,
    pub tickets: Csat,
    pub all: Csat,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Sla {
    pub first_response: Rate,
    pub resolution: Rate,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Volume {
    pub chats: u32,
    pub tickets: u32,
    pub tickets_by_channel: BTreeMap<String, u32>,
    pub tickets_by_category: BTreeMap<String, u32>,
    pub tickets_by_priority: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Kpis {
    pub volume: Volume,
    pub first_response: ByKind<Durations>,
    pub handle_time: Durations,
    pub resolution_time: Durations,
    pub first_contact_resolution: ByKind<Rate>,
    pub csat: CsatSet,
    pub sla: Sla,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AgentKpis {
    pub agent_id: Option<i64>,
    pub agent_name: Option<String>,
    pub support_level: Option<String>,
    pub kpis: Kpis,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LevelKpis {
    pub support_level: Option<String>,
    pub kpis: Kpis,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Report {
    pub generated_at: i64,
    pub overall: Kpis,
    pub by_agent: Vec<AgentKpis>,
    pub by_level: Vec<LevelKpis>,
}

/// What the dashboard asks for: whole days `from ..= to` (inclusive, as the picker shows
/// them) as UTC dates `YYYY-MM-DD`, and optionally one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub from: String,
    pub to: String,
    pub site: String,
}

impl Range {
    /// The query string: the API's range is half-open, so `to` becomes the next day.
    pub fn query(&self) -> Option<String> {
        let to_exclusive = next_day(&self.to)?;
        days(&self.from)?;
        let mut q = format!("from={}&to={to_exclusive}", self.from);
        if !self.site.is_empty() {
            q.push_str(&format!(
                "&site={}",
                crate::tickets::api::encode(&self.site)
            ));
        }
        Some(q)
    }

    /// The name the relay would give the file (`kpis_<site or all>_<from>_<to>.csv`).
    pub fn file_name(&self) -> String {
        let site = if self.site.is_empty() {
            "all"
        } else {
            &self.site
        };
        let to = next_day(&self.to).unwrap_or_default();
        format!("kpis_{site}_{}_{to}.csv", self.from)
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian), `None` if malformed.
pub fn days(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let (y, m, d) = (
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
    );
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `YYYY-MM-DD` of a day number (inverse of [`days`]).
pub fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn next_day(date_text: &str) -> Option<String> {
    Some(date(days(date_text)? + 1))
}

pub async fn kpis(token: &str, range: &Range) -> Result<Report> {
    let q = range.query().ok_or_else(bad_range)?;
    parse(
        &call(
            "GET",
            &format!("/api/v1/reports/kpis?{q}"),
            Some(token),
            None,
        )
        .await?,
    )
}

/// The CSV export as text (fetched with the token; the page offers it as a Blob URL).
pub async fn kpis_csv(token: &str, range: &Range) -> Result<String> {
    let q = range.query().ok_or_else(bad_range)?;
    call(
        "GET",
        &format!("/api/v1/reports/kpis.csv?{q}"),
        Some(token),
        None,
    )
    .await
}

fn bad_range() -> ApiError {
    ApiError {
        status: 422,
        code: "invalid".into(),
        message: "from/to: YYYY-MM-DD".into(),
    }
}

/// A site to filter by (`GET /api/v1/sites`, only what the picker needs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteName {
    pub id: String,
    pub name: String,
}

pub async fn site_names(token: &str) -> Result<Vec<SiteName>> {
    #[derive(Deserialize)]
    struct List {
        sites: Vec<SiteName>,
    }
    Ok(parse::<List>(&call("GET", "/api/v1/sites", Some(token), None).await?)?.sites)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_across_month_year_and_leap_day() {
        assert_eq!(days("1970-01-01"), Some(0));
        assert_eq!(days("2026-11-28"), Some(20_785));
        for d in ["2024-02-29", "2026-12-31", "2027-01-01", "2000-03-01"] {
            assert_eq!(date(days(d).expect("valid")), d);
        }
        assert_eq!(days("2026-13-01"), None);
        assert_eq!(days("28.11.2026"), None);
    }

    #[test]
    fn the_inclusive_picker_range_becomes_the_half_open_query() {
        let r = Range {
            from: "2026-11-01".into(),
            to: "2026-11-30".into(),
            site: String::new(),
        };
        assert_eq!(r.query().as_deref(), Some("from=2026-11-01&to=2026-12-01"));
        assert_eq!(r.file_name(), "kpis_all_2026-11-01_2026-12-01.csv");
        let r = Range {
            site: "acme".into(),
            to: "2026-12-31".into(),
            ..r
        };
        assert_eq!(
            r.query().as_deref(),
            Some("from=2026-11-01&to=2027-01-01&site=acme")
        );
        let bad = Range {
            from: "".into(),
            ..r
        };
        assert_eq!(bad.query(), None);
    }

    #[test]
    fn the_documented_report_shape_reads() {
        let kpis = r#"{"volume":{"chats":4,"tickets":5,"tickets_by_channel":{"live_chat":1,"offline_form":4},
            "tickets_by_category":{"complaint":1},"tickets_by_priority":{"high":1}},
            "first_response":{"chats":{"count":3,"mean_ms":83333,"median_ms":90000},
                              "tickets":{"count":0,"mean_ms":null,"median_ms":null}},
            "handle_time":{"count":3,"mean_ms":700000,"median_ms":600000},
            "resolution_time":{"count":0,"mean_ms":null,"median_ms":null},
            "first_contact_resolution":{"chats":{"eligible":4,"met":1,"rate":0.25},
                                        "tickets":{"eligible":0,"met":0,"rate":null}},
            "csat":{"chats":{"count":0,"average":null,"satisfied":0,"rate":null},
                    "tickets":{"count":3,"average":3.6667,"satisfied":2,"rate":0.6667},
                    "all":{"count":3,"average":3.6667,"satisfied":2,"rate":0.6667}},
            "sla":{"first_response":{"eligible":5,"met":3,"rate":0.6},
                   "resolution":{"eligible":3,"met":2,"rate":0.6667}}}"#;
        let text = format!(
            r#"{{"range":{{"from":1,"to":2,"site":null,"time_zone":"UTC"}},"generated_at":3,
            "overall":{kpis},
            "by_agent":[{{"agent_id":null,"agent_name":null,"support_level":null,"kpis":{kpis}}}],
            "by_level":[{{"support_level":"L1","kpis":{kpis}}}]}}"#
        );
        let r: Report = serde_json::from_str(&text).expect("a report");
        assert_eq!(r.overall.volume.tickets_by_channel["offline_form"], 4);
        assert_eq!(r.overall.first_response.tickets.mean_ms, None);
        assert_eq!(r.by_level[0].support_level.as_deref(), Some("L1"));
    }
}
