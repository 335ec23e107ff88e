//! Who works a ticket: the category's rule names the support level and the strategy
//! (manual, round robin, least loaded) that picks an agent of that level. Applied when a
//! ticket is created without an assignee and when it is escalated to the next level.

use super::{TicketError, TicketResult, Tickets};
use switchboard_shared::SupportLevel;
use switchboard_store::tickets::{
    AssignmentRule, AssignmentStrategy, TicketEventKind, TicketRecord,
};
use switchboard_store::{SharedStore, StoreResult};

/// The rule of `category`; without one: L1, manual.
pub(crate) async fn rule_for(store: &SharedStore, category: &str) -> StoreResult<AssignmentRule> {
    let rules = store.assignment_rules().await?;
    Ok(rules
        .into_iter()
        .find(|r| r.category == category)
        .unwrap_or(AssignmentRule {
            category: category.to_string(),
            support_level: SupportLevel::L1,
            strategy: AssignmentStrategy::Manual,
        }))
}

impl Tickets {
    pub async fn assignment_rules(&self) -> TicketResult<Vec<AssignmentRule>> {
        Ok(self.chat.store().assignment_rules().await?)
    }

    pub async fn set_assignment_rule(&self, rule: AssignmentRule) -> TicketResult<()> {
        self.check_category(&rule.category).await?;
        Ok(self.chat.store().set_assignment_rule(rule).await?)
    }

    /// Gives an unassigned ticket to the agent its category's strategy picks at the
    /// ticket's level (recorded as an `assigned` entry by the system). Unchanged when the
    /// strategy is manual or nobody of that level is enabled.
    pub(crate) async fn auto_assign(&self, t: TicketRecord) -> TicketResult<TicketRecord> {
        if t.assignee.is_some() {
            return Ok(t);
        }
        self.assign_by_rule(t, false).await
    }

    /// After an escalation: the category's strategy picks an agent of the new level. With
    /// a manual rule (or nobody at that level) the ticket keeps its assignee, who can hand
    /// it on by hand.
    pub(crate) async fn reassign_after_escalation(
        &self,
        t: TicketRecord,
    ) -> TicketResult<TicketRecord> {
        self.assign_by_rule(t, true).await
    }

    async fn assign_by_rule(&self, t: TicketRecord, replace: bool) -> TicketResult<TicketRecord> {
        let store = self.chat.store();
        let rule = rule_for(store, &t.category).await?;
        let Some(agent) = store
            .pick_ticket_assignee(t.support_level, rule.strategy, &t.site_id)
            .await?
        else {
            return Ok(t);
        };
        if t.assignee == Some(agent) {
            return Ok(t);
        }
        let level = t.support_level;
        let result = self
            .modify(t.id, None, |_, c, _, _| {
                // Another change got there first (assigned by hand, or moved level):
                // leave it be.
                if c.support_level != level || (!replace && c.assignee.is_some()) {
                    return Ok(());
                }
                c.events.push(TicketEventKind::Assigned {
                    from: c.assignee,
                    to: Some(agent),
                });
                c.assignee = Some(agent);
                Ok(())
            })
            .await;
        match result {
            Ok(rec) => Ok(rec),
            // Assignment is a convenience: a ticket that stays unassigned is still listed.
            Err(TicketError::Conflict(what)) => {
                tracing::warn!(ticket = t.id, %what, "automatic assignment skipped");
                Ok(t)
            }
            Err(e) => Err(e),
        }
    }
}
