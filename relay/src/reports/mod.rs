//! Support KPIs over a date range (issue 5, reporting): the definitions in [`kpis`] (pure),
//! the range in [`range`], the CSV form in [`csv`]; this file gathers the facts from the
//! store and splits them per agent and per support level. `docs/REPORTS.md` defines every
//! number in words.

pub mod csv;
pub mod kpis;
pub mod range;

#[cfg(test)]
mod fixture_tests;

use kpis::{Items, Kpis};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use switchboard_shared::{AgentId, SupportLevel};
use switchboard_store::reports::{ChatFact, ReportRange, TicketFact};
use switchboard_store::{AgentRecord, Store, StoreResult};

/// What the report covers, echoed back so an exported file explains itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RangeView {
    pub from: i64,
    pub to: i64,
    pub site: Option<String>,
    /// Dates in the query are read in this zone.
    pub time_zone: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgentKpis {
    /// `null`: items no agent is attributed to (unanswered chats, unassigned tickets).
    pub agent_id: Option<AgentId>,
    pub agent_name: Option<String>,
    pub support_level: Option<SupportLevel>,
    pub kpis: Kpis,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LevelKpis {
    /// `null`: chats without an agent.
    pub support_level: Option<SupportLevel>,
    pub kpis: Kpis,
}

/// The whole answer of `GET /api/v1/reports/kpis`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub range: RangeView,
    /// The clock SLA targets still running were judged against.
    pub generated_at: i64,
    pub overall: Kpis,
    pub by_agent: Vec<AgentKpis>,
    pub by_level: Vec<LevelKpis>,
}

/// Reads the facts and computes the report at `now`.
pub async fn report(store: &dyn Store, range: ReportRange, now: i64) -> StoreResult<Report> {
    let chats = store.report_chats(&range).await?;
    let tickets = store.report_tickets(&range).await?;
    let agents = store.list_agents().await?;
    let categories = store.ticket_categories().await?;
    Ok(compute(range, &chats, &tickets, &agents, &categories, now))
}

/// The report from facts alone (pure: the store fixture and unit tests call this).
pub fn compute(
    range: ReportRange,
    chats: &[ChatFact],
    tickets: &[TicketFact],
    agents: &[AgentRecord],
    categories: &[String],
    now: i64,
) -> Report {
    let by_id: HashMap<AgentId, &AgentRecord> = agents.iter().map(|a| (a.id, a)).collect();
    // A chat's level is its agent's (current) level; a ticket's is its own.
    let chat_level = |c: &ChatFact| c.agent.and_then(|a| by_id.get(&a)).map(|a| a.support_level);

    let all = Items {
        chats: chats.iter().collect(),
        tickets: tickets.iter().collect(),
        rated_tickets: tickets.iter().collect(),
    };
    let overall = Kpis::compute(&all, categories, now);

    // Every agent something is attributed to, in id order, then the unattributed (None
    // sorts first in an Option order, so it is moved last).
    let mut who: BTreeSet<Option<AgentId>> = BTreeSet::new();
    who.extend(chats.iter().map(|c| c.agent));
    who.extend(tickets.iter().map(|t| t.assignee));
    who.extend(
        tickets
            .iter()
            .filter(|t| t.rating.is_some())
            .map(|t| t.rating_agent),
    );
    let mut who: Vec<Option<AgentId>> = who.into_iter().collect();
    let unattributed_first = usize::from(who.first() == Some(&None));
    who.rotate_left(unattributed_first);
    let by_agent = who
        .into_iter()
        .map(|agent| {
            let items = Items {
                chats: chats.iter().filter(|c| c.agent == agent).collect(),
                tickets: tickets.iter().filter(|t| t.assignee == agent).collect(),
                rated_tickets: tickets
                    .iter()
                    .filter(|t| t.rating.is_some() && t.rating_agent == agent)
                    .collect(),
            };
            let record = agent.and_then(|a| by_id.get(&a));
            AgentKpis {
                agent_id: agent,
                agent_name: record.map(|a| a.display_name.clone()),
                support_level: record.map(|a| a.support_level),
                kpis: Kpis::compute(&items, categories, now),
            }
        })
        .collect();

    // L1–L3 always (a stable shape for charts), `null` only when some chat had no agent.
    let mut levels: Vec<Option<SupportLevel>> =
        [SupportLevel::L1, SupportLevel::L2, SupportLevel::L3]
            .map(Some)
            .to_vec();
    if chats.iter().any(|c| chat_level(c).is_none()) {
        levels.push(None);
    }
    let by_level = levels
        .into_iter()
        .map(|level| {
            let in_level: Vec<&TicketFact> = tickets
                .iter()
                .filter(|t| Some(t.support_level) == level)
                .collect();
            let items = Items {
                chats: chats.iter().filter(|c| chat_level(c) == level).collect(),
                rated_tickets: in_level.clone(),
                tickets: in_level,
            };
            LevelKpis {
                support_level: level,
                kpis: Kpis::compute(&items, categories, now),
            }
        })
        .collect();

    Report {
        range: RangeView {
            from: range.from,
            to: range.to,
            site: range.site,
            time_zone: "UTC",
        },
        generated_at: now,
        overall,
        by_agent,
        by_level,
    }
}
