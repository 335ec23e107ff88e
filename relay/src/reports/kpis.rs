//! The KPI definitions, as pure functions of report facts (`docs/REPORTS.md` says the same
//! in words). Nothing here reads a clock or a database: `now` is a parameter, so every
//! number is reproducible from the facts.

use crate::tickets::sla;
use serde::Serialize;
use std::collections::BTreeMap;
use switchboard_store::reports::{ChatFact, TicketFact};
use switchboard_store::tickets::{TicketChannel, TicketPriority};

/// A set of durations: how many, their mean and median, in whole milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Durations {
    pub count: u32,
    pub mean_ms: Option<i64>,
    pub median_ms: Option<i64>,
}

impl Durations {
    /// Mean and median rounded to the nearest millisecond (halves away from zero); the
    /// median of an even count is the mean of the two middle values.
    pub fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let n = values.len();
        let count = u32::try_from(n).unwrap_or(u32::MAX);
        if n == 0 {
            return Durations {
                count,
                mean_ms: None,
                median_ms: None,
            };
        }
        let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
        let mean = (sum as f64 / n as f64).round() as i64;
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            ((values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0).round() as i64
        };
        Durations {
            count,
            mean_ms: Some(mean),
            median_ms: Some(median),
        }
    }
}

/// A share: of `eligible` items, how many `met` the condition; `rate` in 0..=1, rounded
/// to four decimals, `null` when nothing was eligible.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub eligible: u32,
    pub met: u32,
    pub rate: Option<f64>,
}

impl Rate {
    fn of(outcomes: impl Iterator<Item = bool>) -> Self {
        let (mut eligible, mut met) = (0u32, 0u32);
        for ok in outcomes {
            eligible += 1;
            met += u32::from(ok);
        }
        Rate {
            eligible,
            met,
            rate: ratio(met, eligible),
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| round4(f64::from(part) / f64::from(whole)))
}

/// CSAT: how many ratings, their mean score (1–5), and the share of 4s and 5s.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Csat {
    pub count: u32,
    pub average: Option<f64>,
    pub satisfied: u32,
    pub rate: Option<f64>,
}

impl Csat {
    fn of(scores: impl Iterator<Item = u8>) -> Self {
        let (mut count, mut sum, mut satisfied) = (0u32, 0u32, 0u32);
        for s in scores {
            count += 1;
            sum += u32::from(s);
            satisfied += u32::from(s >= 4);
        }
        Csat {
            count,
            average: (count > 0).then(|| round4(f64::from(sum) / f64::from(count))),
            satisfied,
            rate: ratio(satisfied, count),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ByKind<T> {
    pub chats: T,
    pub tickets: T,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CsatSet {
    pub chats: Csat,
    pub tickets: Csat,
    /// Chat and ticket ratings together.
    pub all: Csat,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Sla {
    pub first_response: Rate,
    pub resolution: Rate,
}

/// Counts of items created in the range. Every channel and priority is listed (zero
/// included), every configured category too, plus any other category found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Volume {
    pub chats: u32,
    pub tickets: u32,
    pub tickets_by_channel: BTreeMap<String, u32>,
    pub tickets_by_category: BTreeMap<String, u32>,
    pub tickets_by_priority: BTreeMap<String, u32>,
}

/// Every KPI of one group of items (all of them, one agent's, one level's).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Kpis {
    pub volume: Volume,
    pub first_response: ByKind<Durations>,
    pub handle_time: Durations,
    pub resolution_time: Durations,
    pub first_contact_resolution: ByKind<Rate>,
    pub csat: CsatSet,
    pub sla: Sla,
}

/// The items one group's KPIs are computed from. `rated_tickets` are the tickets whose
/// rating counts for the group (a rating is stored against an agent, who may not be the
/// assignee any more).
pub struct Items<'a> {
    pub chats: Vec<&'a ChatFact>,
    pub tickets: Vec<&'a TicketFact>,
    pub rated_tickets: Vec<&'a TicketFact>,
}

impl Kpis {
    pub fn compute(items: &Items<'_>, categories: &[String], now: i64) -> Kpis {
        let chats = &items.chats;
        let tickets = &items.tickets;
        Kpis {
            volume: volume(chats, tickets, categories),
            first_response: ByKind {
                chats: Durations::of(
                    chats
                        .iter()
                        .filter_map(|c| Some(c.first_agent_message_at? - c.created_at))
                        .collect(),
                ),
                // A converted live chat was answered in the chat, before the ticket existed.
                tickets: Durations::of(
                    tickets
                        .iter()
                        .filter(|t| t.channel != TicketChannel::LiveChat)
                        .filter_map(|t| Some((t.first_response_at? - t.created_at).max(0)))
                        .collect(),
                ),
            },
            handle_time: Durations::of(
                chats
                    .iter()
                    .filter_map(|c| Some((c.ended_at? - c.assigned_at?).max(0)))
                    .collect(),
            ),
            resolution_time: Durations::of(
                tickets
                    .iter()
                    .filter_map(|t| Some((t.resolved_at? - t.created_at).max(0)))
                    .collect(),
            ),
            first_contact_resolution: ByKind {
                chats: Rate::of(
                    chats
                        .iter()
                        .filter(|c| c.first_joined_at.is_some() && c.ended_at.is_some())
                        .map(|c| c.transfers == 0 && c.requeues == 0 && !c.became_ticket),
                ),
                tickets: Rate::of(
                    tickets
                        .iter()
                        .filter(|t| {
                            t.channel == TicketChannel::OfflineForm && t.resolved_at.is_some()
                        })
                        .map(|t| t.replies <= 1 && t.escalations == 0 && !t.reopened),
                ),
            },
            csat: CsatSet {
                chats: Csat::of(chats.iter().filter_map(|c| c.rating)),
                tickets: Csat::of(items.rated_tickets.iter().filter_map(|t| t.rating)),
                all: Csat::of(
                    chats
                        .iter()
                        .filter_map(|c| c.rating)
                        .chain(items.rated_tickets.iter().filter_map(|t| t.rating)),
                ),
            },
            sla: Sla {
                first_response: Rate::of(tickets.iter().filter_map(|t| {
                    target(
                        t.first_response_due_at,
                        t.first_response_at,
                        t.pending_since,
                        now,
                    )
                })),
                resolution: Rate::of(tickets.iter().filter_map(|t| {
                    target(t.resolution_due_at, t.resolved_at, t.pending_since, now)
                })),
            },
        }
    }
}

/// A target's outcome: `Some(true)` met in time, `Some(false)` breached, `None` still
/// running (neither met nor overdue, or paused before its due time): not counted yet.
fn target(due: i64, met_at: Option<i64>, pending_since: Option<i64>, now: i64) -> Option<bool> {
    let breached = sla::breached(due, met_at, pending_since, now);
    match met_at {
        Some(_) => Some(!breached),
        None => breached.then_some(false),
    }
}

fn volume(chats: &[&ChatFact], tickets: &[&TicketFact], categories: &[String]) -> Volume {
    let zeros = |names: &mut dyn Iterator<Item = String>| -> BTreeMap<String, u32> {
        names.map(|n| (n, 0)).collect()
    };
    let mut by_channel = zeros(&mut TicketChannel::ALL.iter().map(|c| c.as_str().into()));
    let mut by_priority = zeros(&mut TicketPriority::ALL.iter().map(|p| p.as_str().into()));
    let mut by_category = zeros(&mut categories.iter().cloned());
    for t in tickets {
        *by_channel.entry(t.channel.as_str().into()).or_default() += 1;
        *by_priority.entry(t.priority.as_str().into()).or_default() += 1;
        *by_category.entry(t.category.clone()).or_default() += 1;
    }
    Volume {
        chats: u32::try_from(chats.len()).unwrap_or(u32::MAX),
        tickets: u32::try_from(tickets.len()).unwrap_or(u32::MAX),
        tickets_by_channel: by_channel,
        tickets_by_category: by_category,
        tickets_by_priority: by_priority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        // sorted: 10, 20, 40, 90 → median (20 + 40) / 2 = 30; mean 160 / 4 = 40.
        let d = Durations::of(vec![40, 10, 90, 20]);
        assert_eq!((d.count, d.mean_ms, d.median_ms), (4, Some(40), Some(30)));
        let none = Durations::of(vec![]);
        assert_eq!((none.count, none.mean_ms, none.median_ms), (0, None, None));
    }

    #[test]
    fn rates_round_to_four_decimals_and_are_null_without_eligible_items() {
        assert_eq!(
            Rate::of([true, false, false].into_iter()).rate,
            Some(0.3333)
        );
        assert_eq!(Rate::of(std::iter::empty()).rate, None);
        let c = Csat::of([5, 4, 2].into_iter());
        // (5 + 4 + 2) / 3 = 3.6667; two of three are 4 or 5.
        assert_eq!(
            (c.average, c.satisfied, c.rate),
            (Some(3.6667), 2, Some(0.6667))
        );
    }

    #[test]
    fn a_target_counts_once_met_or_overdue_and_not_while_it_runs() {
        assert_eq!(target(100, Some(100), None, 500), Some(true));
        assert_eq!(target(100, Some(101), None, 500), Some(false));
        assert_eq!(target(100, None, None, 101), Some(false));
        assert_eq!(target(100, None, None, 100), None);
        // Paused before the due time: the clock stands still, not yet decided.
        assert_eq!(target(100, None, Some(50), 1_000), None);
    }
}
