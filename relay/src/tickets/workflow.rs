//! Changes to a ticket. Each reads the ticket, decides the new state with the pure rules
//! below, and writes it with its history entries in one store transaction that only
//! succeeds if nobody changed the ticket meanwhile (else it is read again and retried).

use super::sla::{self, SlaClock};
use super::{clock_of, TicketError, TicketResult, Tickets};
use crate::clock::now_ms;
use crate::webhooks::event::PublicReply;
use switchboard_shared::{AgentId, SupportLevel};
use switchboard_store::tickets::{
    TicketChange, TicketEvent, TicketEventKind, TicketPriority, TicketRecord, TicketStatus,
};
use switchboard_store::StoreError;

/// How often a change is retried when another one won the race.
const ATTEMPTS: usize = 3;

/// Fields to change; `None` leaves one as it is, `assignee: Some(None)` unassigns.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub category: Option<String>,
    pub assignee: Option<Option<AgentId>>,
}

/// Due times follow the priority and the time paused so far.
fn recompute_due(t: &TicketRecord, c: &mut TicketChange, hours: &SlaClock) {
    let (first, resolution) = sla::due_times(hours, t.created_at, c.priority, c.paused_ms);
    c.first_response_due_at = first;
    c.resolution_due_at = resolution;
}

/// A status change and what it does to the SLA clock: entering `pending_customer` stops it,
/// leaving it adds the business time paused to the due times; `resolved` and `closed` stop
/// it for good until a reopen (`open` again).
pub fn set_status(
    t: &TicketRecord,
    c: &mut TicketChange,
    to: TicketStatus,
    now: i64,
    hours: &SlaClock,
) -> TicketResult<()> {
    let from = c.status;
    if to == from {
        return Ok(());
    }
    if to == TicketStatus::New {
        return Err(TicketError::Invalid(
            "a ticket cannot go back to new".into(),
        ));
    }
    if from == TicketStatus::Closed && to != TicketStatus::Open {
        return Err(TicketError::Invalid(
            "a closed ticket can only be reopened (status open)".into(),
        ));
    }
    if from == TicketStatus::PendingCustomer {
        if let Some(since) = c.pending_since.take() {
            c.paused_ms += hours.between(since, now);
        }
        recompute_due(t, c, hours);
    }
    match to {
        TicketStatus::PendingCustomer => c.pending_since = Some(now),
        TicketStatus::Resolved => c.resolved_at = Some(now),
        TicketStatus::Closed => {
            c.resolved_at.get_or_insert(now);
        }
        TicketStatus::Open if matches!(from, TicketStatus::Resolved | TicketStatus::Closed) => {
            c.resolved_at = None;
        }
        _ => {}
    }
    c.status = to;
    c.events.push(TicketEventKind::StatusChanged { from, to });
    Ok(())
}

/// The next level up, or why there is none.
pub fn next_level(level: SupportLevel) -> TicketResult<SupportLevel> {
    match level {
        SupportLevel::L1 => Ok(SupportLevel::L2),
        SupportLevel::L2 => Ok(SupportLevel::L3),
        SupportLevel::L3 => Err(TicketError::Invalid("the ticket is already at L3".into())),
    }
}

impl Tickets {
    /// Reads, applies `decide`, writes; again from the read if another change won.
    pub(super) async fn modify(
        &self,
        id: i64,
        by: Option<AgentId>,
        decide: impl Fn(&TicketRecord, &mut TicketChange, i64, &SlaClock) -> TicketResult<()>,
    ) -> TicketResult<TicketRecord> {
        let store = self.chat.store();
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let t = self.get(id).await?;
            let hours = clock_of(store, &t.site_id).await?;
            let now = now_ms();
            let mut change = TicketChange::from_record(&t, by, now);
            decide(&t, &mut change, now, &hours)?;
            if change.events.is_empty() {
                return Ok(t);
            }
            change.sla_due_at = sla::next_due(
                change.status,
                change.first_response_at,
                change.first_response_due_at,
                change.resolution_due_at,
            );
            // What the customer is told goes to the site's webhook too (so it can e-mail).
            let reply = change.events.iter().find_map(|e| match e {
                TicketEventKind::Reply { body } => Some(PublicReply {
                    body: body.clone(),
                    agent: by,
                }),
                _ => None,
            });
            match store.change_ticket(change).await {
                Ok(rec) => {
                    self.chat.events().ticket_changed(&t, &rec, reply);
                    return Ok(rec);
                }
                Err(StoreError::Conflict(what)) => last = Some(what),
                Err(e) => return Err(e.into()),
            }
        }
        Err(TicketError::Conflict(
            last.unwrap_or_else(|| "the ticket changed meanwhile".into()),
        ))
    }

    pub async fn update(
        &self,
        id: i64,
        by: AgentId,
        update: TicketUpdate,
    ) -> TicketResult<TicketRecord> {
        if let Some(category) = &update.category {
            self.check_category(category).await?;
        }
        if let Some(Some(agent)) = update.assignee {
            let known = self.chat.store().agent(agent).await?;
            if known.is_none_or(|a| a.disabled) {
                return Err(TicketError::Invalid(
                    "assignee must be an enabled agent".into(),
                ));
            }
        }
        let rec = self
            .modify(id, Some(by), |t, c, now, hours| {
                if let Some(category) = &update.category {
                    if *category != c.category {
                        c.events.push(TicketEventKind::CategoryChanged {
                            from: c.category.clone(),
                            to: category.clone(),
                        });
                        c.category = category.clone();
                    }
                }
                if let Some(priority) = update.priority {
                    if priority != c.priority {
                        c.events.push(TicketEventKind::PriorityChanged {
                            from: c.priority,
                            to: priority,
                        });
                        c.priority = priority;
                        recompute_due(t, c, hours);
                    }
                }
                if let Some(assignee) = update.assignee {
                    if assignee != c.assignee {
                        c.events.push(TicketEventKind::Assigned {
                            from: c.assignee,
                            to: assignee,
                        });
                        c.assignee = assignee;
                    }
                }
                if let Some(status) = update.status {
                    set_status(t, c, status, now, hours)?;
                }
                Ok(())
            })
            .await?;
        // The customer sees the status (and is asked for a rating once it is resolved).
        if update.status.is_some() {
            self.notify_customer(&rec).await;
        }
        Ok(rec)
    }

    /// One level up (L1 → L2 → L3), with the reason in the history.
    pub async fn escalate(
        &self,
        id: i64,
        by: AgentId,
        reason: String,
    ) -> TicketResult<TicketRecord> {
        let rec = self
            .modify(id, Some(by), |_, c, _, _| {
                let to = next_level(c.support_level)?;
                c.events.push(TicketEventKind::Escalated {
                    from: c.support_level,
                    to,
                    reason: reason.clone(),
                });
                c.support_level = to;
                Ok(())
            })
            .await?;
        // The new level's agents take over as the category's rule says.
        self.reassign_after_escalation(rec).await
    }

    /// An internal note: in the history, for agents only.
    pub async fn note(&self, id: i64, by: AgentId, body: String) -> TicketResult<TicketRecord> {
        self.modify(id, Some(by), |_, c, _, _| {
            c.events.push(TicketEventKind::Note { body: body.clone() });
            Ok(())
        })
        .await
    }

    /// A public reply to the customer, delivered to their open widgets. The first one meets
    /// the first-response target and opens a new ticket.
    pub async fn reply(&self, id: i64, by: AgentId, body: String) -> TicketResult<TicketRecord> {
        let rec = self
            .modify(id, Some(by), |t, c, now, hours| {
                c.events.push(TicketEventKind::Reply { body: body.clone() });
                c.first_response_at.get_or_insert(now);
                if c.status == TicketStatus::New {
                    set_status(t, c, TicketStatus::Open, now, hours)?;
                }
                Ok(())
            })
            .await?;
        self.notify_customer(&rec).await;
        Ok(rec)
    }

    pub async fn history(&self, id: i64) -> TicketResult<Vec<TicketEvent>> {
        Ok(self.chat.store().ticket_events(id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> TicketRecord {
        TicketRecord {
            id: 1,
            conversation_id: None,
            site_id: "acme".into(),
            customer_name: None,
            customer_contact: None,
            customer_number: None,
            channel: switchboard_store::tickets::TicketChannel::OfflineForm,
            subject: "s".into(),
            description: "d".into(),
            priority: TicketPriority::High,
            category: "complaint".into(),
            status: TicketStatus::Open,
            assignee: None,
            support_level: SupportLevel::L1,
            created_at: 0,
            updated_at: 0,
            first_response_at: None,
            resolved_at: None,
            first_response_due_at: 0,
            resolution_due_at: 0,
            pending_since: None,
            paused_ms: 0,
            sla_due_at: None,
            version: 0,
        }
    }

    #[test]
    fn pending_then_open_adds_the_paused_business_time_and_records_both_changes() {
        // 24/7 hours make the arithmetic visible: every millisecond is business time.
        let all_day = Some((0, 24 * 60));
        let hours = SlaClock {
            hours: sla::BusinessHours::new(chrono_tz::UTC, [all_day; 7]).expect("valid hours"),
            ..Default::default()
        };
        let t = ticket();
        let mut c = TicketChange::from_record(&t, None, 0);
        set_status(&t, &mut c, TicketStatus::PendingCustomer, 1_000, &hours).expect("pending");
        assert_eq!(c.pending_since, Some(1_000));
        set_status(&t, &mut c, TicketStatus::Open, 61_000, &hours).expect("open");
        assert_eq!((c.pending_since, c.paused_ms), (None, 60_000));
        let (first, _) = sla::due_times(&hours, 0, TicketPriority::High, 0);
        assert_eq!(c.first_response_due_at, first + 60_000);
        assert_eq!(c.events.len(), 2);
    }

    #[test]
    fn a_closed_ticket_only_reopens_and_nothing_goes_back_to_new() {
        let hours = SlaClock::default();
        let mut t = ticket();
        t.status = TicketStatus::Closed;
        t.resolved_at = Some(5);
        let mut c = TicketChange::from_record(&t, None, 0);
        assert!(set_status(&t, &mut c, TicketStatus::PendingCustomer, 10, &hours).is_err());
        assert!(set_status(&t, &mut c, TicketStatus::New, 10, &hours).is_err());
        set_status(&t, &mut c, TicketStatus::Open, 10, &hours).expect("reopen");
        assert_eq!(c.resolved_at, None);
    }

    #[test]
    fn escalation_goes_one_level_up_and_stops_at_l3() {
        assert_eq!(next_level(SupportLevel::L1).ok(), Some(SupportLevel::L2));
        assert_eq!(next_level(SupportLevel::L2).ok(), Some(SupportLevel::L3));
        assert!(next_level(SupportLevel::L3).is_err());
    }
}
