//! The report as CSV, one row per group and metric ("long" form: it opens in a spreadsheet
//! as a pivot-ready table and needs no columns per category). The metric names are the
//! JSON paths of the same numbers (`first_response.chats.median_ms`), taken from the JSON
//! form itself, so the two can never disagree.

use super::kpis::Kpis;
use super::Report;
use serde_json::Value;

pub const HEADER: [&str; 6] = [
    "group",
    "agent_id",
    "agent_name",
    "support_level",
    "metric",
    "value",
];

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error(transparent)]
    Csv(#[from] ::csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("the CSV writer could not hand back its buffer")]
    Buffer,
}

/// `overall` first, then `agent` rows, then `level` rows, each group's metrics sorted by
/// name; empty cells for `null`.
pub fn to_csv(report: &Report) -> Result<Vec<u8>, CsvError> {
    let mut out = ::csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    let mut group = |kind: &str, id: String, name: &str, level: &str, kpis: &Kpis| {
        let mut rows = Vec::new();
        flatten("", &serde_json::to_value(kpis)?, &mut rows);
        // Sorted here, not by whatever map order serde_json was built with.
        rows.sort();
        for (metric, value) in rows {
            out.write_record([kind, id.as_str(), name, level, metric.as_str(), &value])?;
        }
        Ok::<(), CsvError>(())
    };
    group("overall", String::new(), "", "", &report.overall)?;
    for a in &report.by_agent {
        let id = a.agent_id.map(|id| id.0.to_string()).unwrap_or_default();
        let name = a.agent_name.as_deref().unwrap_or("");
        let level = a.support_level.map(|l| l.as_str()).unwrap_or("");
        group("agent", id, name, level, &a.kpis)?;
    }
    for l in &report.by_level {
        let level = l.support_level.map(|l| l.as_str()).unwrap_or("");
        group("level", String::new(), "", level, &l.kpis)?;
    }
    out.into_inner().map_err(|_| CsvError::Buffer)
}

/// Depth-first over objects; leaves become `(dotted.path, text)`.
fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, v, rows);
            }
        }
        Value::Null => rows.push((prefix.to_string(), String::new())),
        Value::String(s) => rows.push((prefix.to_string(), s.clone())),
        other => rows.push((prefix.to_string(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compute;
    use switchboard_shared::{AgentId, ConversationId};
    use switchboard_store::reports::{ChatFact, ReportRange};
    use switchboard_store::{AgentRecord, Role};

    #[test]
    fn the_csv_parses_back_to_the_numbers_of_the_json() {
        let agent = AgentRecord {
            id: AgentId(7),
            email: "a@example.com".into(),
            // A comma and a quote: the writer must quote them, the reader must undo it.
            display_name: "Müller, \"Jo\"".into(),
            password_hash: String::new(),
            role: Role::Agent,
            max_concurrent_chats: 3,
            support_level: switchboard_shared::SupportLevel::L2,
            disabled: false,
            created_at: 0,
        };
        let chat = ChatFact {
            conversation_id: ConversationId(1),
            site_id: "acme".into(),
            agent: Some(AgentId(7)),
            created_at: 1_000,
            first_joined_at: Some(2_000),
            assigned_at: Some(2_000),
            first_agent_message_at: Some(4_000),
            ended_at: Some(62_000),
            transfers: 0,
            requeues: 0,
            became_ticket: false,
            rating: Some(4),
        };
        let range = ReportRange {
            from: 0,
            to: 10_000_000,
            site: None,
        };
        let report = compute(range, &[chat], &[], &[agent], &["complaint".into()], 5_000);
        let bytes = to_csv(&report).expect("csv");
        let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(reader.headers().expect("header"), HEADER.as_slice());
        let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        let find = |group: &str, metric: &str| -> Vec<String> {
            rows.iter()
                .find(|r| &r[0] == group && &r[4] == metric)
                .map(|r| r.iter().map(str::to_string).collect())
                .unwrap_or_default()
        };
        // 4 000 − 1 000 = 3 000 ms to the first agent message.
        assert_eq!(find("overall", "first_response.chats.median_ms")[5], "3000");
        // 62 000 − 2 000 = 60 000 ms handled.
        let agent_row = find("agent", "handle_time.mean_ms");
        assert_eq!(
            agent_row[1..],
            ["7", "Müller, \"Jo\"", "L2", "handle_time.mean_ms", "60000"]
        );
        assert_eq!(find("overall", "csat.chats.average")[5], "4.0");
        // No tickets: a null mean is an empty cell; a configured category is listed at 0.
        assert_eq!(find("overall", "resolution_time.mean_ms")[5], "");
        assert_eq!(
            find("overall", "volume.tickets_by_category.complaint")[5],
            "0"
        );
        // Every row has all six cells: groups × metrics, nothing ragged.
        assert!(rows.iter().all(|r| r.len() == HEADER.len()));
        // Within a group the metrics are sorted and unique.
        let overall: Vec<&str> = rows
            .iter()
            .filter(|r| &r[0] == "overall")
            .map(|r| &r[4])
            .collect();
        assert!(overall.windows(2).all(|w| w[0] < w[1]), "{overall:?}");
    }
}
