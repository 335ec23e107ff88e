//! SLA arithmetic, pure: business hours in a site's time zone, due times per priority,
//! the clock paused while a ticket waits on the customer, breaches.
//!
//! All targets count *business* time: a critical ticket created on Friday at 16:30 with a
//! one-hour first-response target is due on Monday at 08:30 with the default hours. Windows
//! are local wall-clock times, so a due time across a DST change keeps its local hour.
//! Times are Unix milliseconds like everywhere else in the relay.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use switchboard_store::tickets::{SiteHours, SlaPolicyRecord, TicketPriority, TicketStatus};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// No business window is searched for further than this (a site open one day a year
/// still works; a bug does not loop forever).
const MAX_DAYS: i64 = 800;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HoursError {
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    #[error("the week needs seven entries, Monday first")]
    Days,
    #[error("a window must open before it closes, within 00:00–24:00")]
    Window,
    #[error("at least one day must have opening hours")]
    Closed,
}

/// A site's weekly opening hours in its time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    tz: Tz,
    /// Monday first: `[opens, closes)` in minutes after local midnight.
    week: [Option<(u32, u32)>; 7],
}

impl Default for BusinessHours {
    /// Monday to Friday, 08:00–17:00, Europe/Berlin.
    fn default() -> Self {
        let day = Some((8 * 60, 17 * 60));
        BusinessHours {
            tz: chrono_tz::Europe::Berlin,
            week: [day, day, day, day, day, None, None],
        }
    }
}

impl BusinessHours {
    pub fn new(tz: Tz, week: [Option<(u32, u32)>; 7]) -> Result<Self, HoursError> {
        if week.iter().flatten().any(|&(o, c)| o >= c || c > 24 * 60) {
            return Err(HoursError::Window);
        }
        if week.iter().all(Option::is_none) {
            return Err(HoursError::Closed);
        }
        Ok(BusinessHours { tz, week })
    }

    /// From the stored form (validated again: the row may predate a rule).
    pub fn from_stored(s: &SiteHours) -> Result<Self, HoursError> {
        let tz: Tz = s
            .timezone
            .parse()
            .map_err(|_| HoursError::TimeZone(s.timezone.clone()))?;
        let week: [Option<[u32; 2]>; 7] =
            s.week.clone().try_into().map_err(|_| HoursError::Days)?;
        BusinessHours::new(tz, week.map(|d| d.map(|[o, c]| (o, c))))
    }

    pub fn to_stored(&self) -> SiteHours {
        SiteHours {
            timezone: self.tz.name().to_string(),
            week: self.week.iter().map(|d| d.map(|(o, c)| [o, c])).collect(),
        }
    }

    /// The UTC instant of a local wall-clock time; a time skipped by a DST change counts
    /// as the first instant after the gap.
    fn instant(&self, local: NaiveDateTime) -> i64 {
        let mut probe = local;
        for _ in 0..4 {
            if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                return t.timestamp_millis();
            }
            probe += Duration::minutes(30);
        }
        // No zone has a gap of two hours; treat the wall clock as UTC rather than fail.
        local.and_utc().timestamp_millis()
    }

    /// The day's business window in UTC milliseconds, if open.
    fn window(&self, date: NaiveDate) -> Option<(i64, i64)> {
        let (opens, closes) = self.week[date.weekday().num_days_from_monday() as usize]?;
        let midnight = date.and_hms_opt(0, 0, 0)?;
        Some((
            self.instant(midnight + Duration::minutes(i64::from(opens))),
            self.instant(midnight + Duration::minutes(i64::from(closes))),
        ))
    }

    fn local_date(&self, at: i64) -> Option<NaiveDate> {
        self.tz
            .timestamp_millis_opt(at)
            .single()
            .map(|t| t.date_naive())
    }

    /// The instant `business_ms` of business time after `start`.
    pub fn add(&self, start: i64, business_ms: i64) -> i64 {
        let Some(first) = self.local_date(start) else {
            return start + business_ms;
        };
        let mut remaining = business_ms.max(0);
        for day in 0..MAX_DAYS {
            let Some((opens, closes)) = self.window(first + Duration::days(day)) else {
                continue;
            };
            let from = opens.max(start);
            if from >= closes {
                continue;
            }
            if remaining <= closes - from {
                return from + remaining;
            }
            remaining -= closes - from;
        }
        start + business_ms
    }

    /// Is `at` inside a business window?
    pub fn is_open(&self, at: i64) -> bool {
        self.local_date(at)
            .and_then(|d| self.window(d))
            .is_some_and(|(opens, closes)| opens <= at && at < closes)
    }

    /// Business milliseconds between two instants (0 when `to <= from`).
    pub fn between(&self, from: i64, to: i64) -> i64 {
        let (Some(first), Some(last)) = (self.local_date(from), self.local_date(to)) else {
            return 0;
        };
        if to <= from {
            return 0;
        }
        let days = (last - first).num_days().min(MAX_DAYS);
        (0..=days)
            .filter_map(|d| self.window(first + Duration::days(d)))
            .map(|(opens, closes)| (closes.min(to) - opens.max(from)).max(0))
            .sum()
    }
}

/// First-response and resolution targets, in business milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response: i64,
    pub resolution: i64,
}

/// The default policy: critical 1 h / 8 h, high 4 h / 24 h, medium 8 h / 72 h,
/// low 24 h / 120 h of business time.
pub fn default_targets(priority: TicketPriority) -> Targets {
    let (first, resolve) = match priority {
        TicketPriority::Critical => (1, 8),
        TicketPriority::High => (4, 24),
        TicketPriority::Medium => (8, 72),
        TicketPriority::Low => (24, 120),
    };
    Targets {
        first_response: first * HOUR,
        resolution: resolve * HOUR,
    }
}

/// The SLA policy: targets per priority (admins may change them; the defaults otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// In `TicketPriority::ALL` order.
    targets: Vec<(TicketPriority, Targets)>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            targets: TicketPriority::ALL
                .iter()
                .map(|&p| (p, default_targets(p)))
                .collect(),
        }
    }
}

impl Policy {
    /// The defaults with the stored targets over them.
    pub fn from_stored(stored: &[SlaPolicyRecord]) -> Self {
        let mut policy = Policy::default();
        for rec in stored {
            policy.set(
                rec.priority,
                Targets {
                    first_response: i64::from(rec.first_response_minutes) * MINUTE,
                    resolution: i64::from(rec.resolution_minutes) * MINUTE,
                },
            );
        }
        policy
    }

    /// Every priority's targets in force, in whole minutes (the stored form).
    pub fn to_records(&self) -> Vec<SlaPolicyRecord> {
        let minutes = |ms: i64| u32::try_from(ms / MINUTE).unwrap_or(u32::MAX);
        TicketPriority::ALL
            .iter()
            .map(|&priority| {
                let t = self.targets(priority);
                SlaPolicyRecord {
                    priority,
                    first_response_minutes: minutes(t.first_response),
                    resolution_minutes: minutes(t.resolution),
                }
            })
            .collect()
    }

    pub fn set(&mut self, priority: TicketPriority, targets: Targets) {
        if let Some(entry) = self.targets.iter_mut().find(|(p, _)| *p == priority) {
            entry.1 = targets;
        }
    }

    pub fn targets(&self, priority: TicketPriority) -> Targets {
        self.targets
            .iter()
            .find(|(p, _)| *p == priority)
            .map_or_else(|| default_targets(priority), |(_, t)| *t)
    }
}

/// What due times are computed with: a site's business hours and the SLA policy.
#[derive(Debug, Clone, Default)]
pub struct SlaClock {
    pub hours: BusinessHours,
    pub policy: Policy,
}

impl std::ops::Deref for SlaClock {
    type Target = BusinessHours;
    fn deref(&self) -> &BusinessHours {
        &self.hours
    }
}

/// Due times (first response, resolution) of a ticket created at `created`, after
/// `paused_ms` of business time spent pending on the customer.
pub fn due_times(
    clock: &SlaClock,
    created: i64,
    priority: TicketPriority,
    paused_ms: i64,
) -> (i64, i64) {
    let t = clock.policy.targets(priority);
    (
        clock.hours.add(created, t.first_response + paused_ms),
        clock.hours.add(created, t.resolution + paused_ms),
    )
}

/// Whether a target is breached: met after its due time, or not met and the clock (which
/// stands still from `pending_since`) has passed it.
pub fn breached(due: i64, met_at: Option<i64>, pending_since: Option<i64>, now: i64) -> bool {
    match met_at {
        Some(t) => t > due,
        None => pending_since.unwrap_or(now) > due,
    }
}

/// The due time the list sorts by: the first target still running, none while paused or
/// once resolved or closed.
pub fn next_due(
    status: TicketStatus,
    first_response_at: Option<i64>,
    first_response_due: i64,
    resolution_due: i64,
) -> Option<i64> {
    match status {
        TicketStatus::Resolved | TicketStatus::Closed | TicketStatus::PendingCustomer => None,
        _ if first_response_at.is_none() => Some(first_response_due),
        _ => Some(resolution_due),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        Berlin
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("a valid Berlin time")
            .timestamp_millis()
    }

    #[test]
    fn a_target_running_into_the_weekend_continues_on_monday_morning() {
        let hours = BusinessHours::default();
        // Friday 27 Nov 2026, 16:00: one hour left on Friday, three more on Monday.
        let due = hours.add(berlin(2026, 11, 27, 16, 0), 4 * HOUR);
        assert_eq!(due, berlin(2026, 11, 30, 11, 0));
        assert_eq!(
            hours.between(berlin(2026, 11, 27, 16, 0), berlin(2026, 11, 30, 11, 0)),
            4 * HOUR
        );
    }

    #[test]
    fn a_ticket_created_outside_business_hours_starts_counting_at_the_next_opening() {
        let hours = BusinessHours::default();
        // Tuesday evening and Tuesday early morning.
        assert_eq!(
            hours.add(berlin(2026, 11, 24, 20, 0), HOUR),
            berlin(2026, 11, 25, 9, 0)
        );
        assert_eq!(
            hours.add(berlin(2026, 11, 24, 6, 0), HOUR),
            berlin(2026, 11, 24, 9, 0)
        );
        // Saturday: Monday 09:00.
        assert_eq!(
            hours.add(berlin(2026, 11, 28, 12, 0), HOUR),
            berlin(2026, 11, 30, 9, 0)
        );
    }

    #[test]
    fn due_times_keep_the_local_hour_across_the_spring_dst_change() {
        let hours = BusinessHours::default();
        // Friday 27 Mar 2026 16:00 CET (UTC+1); clocks go forward on Sunday 29 March.
        let created = berlin(2026, 3, 27, 16, 0);
        let due = hours.add(created, 2 * HOUR);
        assert_eq!(due, berlin(2026, 3, 30, 9, 0));
        // 09:00 CEST is 07:00 UTC, not 08:00.
        let utc = chrono::Utc
            .with_ymd_and_hms(2026, 3, 30, 7, 0, 0)
            .single()
            .expect("valid UTC time");
        assert_eq!(due, utc.timestamp_millis());
        // And back in autumn: Friday 23 Oct 16:00 CEST + 2 h = Monday 26 Oct 09:00 CET.
        assert_eq!(
            hours.add(berlin(2026, 10, 23, 16, 0), 2 * HOUR),
            berlin(2026, 10, 26, 9, 0)
        );
    }

    #[test]
    fn priorities_map_to_their_default_targets() {
        let hours = SlaClock::default();
        let monday_9 = berlin(2026, 11, 23, 9, 0);
        let (first, resolve) = due_times(&hours, monday_9, TicketPriority::Critical, 0);
        assert_eq!(first, berlin(2026, 11, 23, 10, 0));
        // 8 h from 09:00: exactly what is left of Monday, so Monday at closing time.
        assert_eq!(resolve, berlin(2026, 11, 23, 17, 0));
        let (first, _) = due_times(&hours, monday_9, TicketPriority::Low, 0);
        // 24 business hours = 2 days and 6 h: Wednesday 15:00 (Monday 8 h, Tuesday 9 h, 7 h).
        assert_eq!(first, berlin(2026, 11, 25, 15, 0));
    }

    #[test]
    fn a_stored_policy_replaces_the_default_targets_of_its_priority_only() {
        let stored = [SlaPolicyRecord {
            priority: TicketPriority::High,
            first_response_minutes: 30,
            resolution_minutes: 90,
        }];
        let clock = SlaClock {
            hours: BusinessHours::default(),
            policy: Policy::from_stored(&stored),
        };
        let monday_9 = berlin(2026, 11, 23, 9, 0);
        let (first, resolve) = due_times(&clock, monday_9, TicketPriority::High, 0);
        assert_eq!(first, berlin(2026, 11, 23, 9, 30));
        assert_eq!(resolve, berlin(2026, 11, 23, 10, 30));
        let (first, _) = due_times(&clock, monday_9, TicketPriority::Critical, 0);
        assert_eq!(
            first,
            berlin(2026, 11, 23, 10, 0),
            "critical keeps its default"
        );
    }

    #[test]
    fn time_pending_on_the_customer_moves_the_due_times_by_the_business_time_paused() {
        let hours = SlaClock::default();
        let created = berlin(2026, 11, 23, 9, 0);
        // Pending Monday 10:00 → 12:00: two business hours.
        let paused = hours.between(berlin(2026, 11, 23, 10, 0), berlin(2026, 11, 23, 12, 0));
        assert_eq!(paused, 2 * HOUR);
        let (first, _) = due_times(&hours, created, TicketPriority::High, paused);
        assert_eq!(first, berlin(2026, 11, 23, 15, 0));
        // Pending Monday 16:00 → Tuesday 10:00: one hour on Monday, two on Tuesday.
        assert_eq!(
            hours.between(berlin(2026, 11, 23, 16, 0), berlin(2026, 11, 24, 10, 0)),
            3 * HOUR
        );
        // Pending over the weekend only costs nothing.
        assert_eq!(
            hours.between(berlin(2026, 11, 28, 9, 0), berlin(2026, 11, 29, 18, 0)),
            0
        );
    }

    #[test]
    fn a_breach_is_a_target_met_late_or_not_met_in_time_and_a_paused_clock_cannot_breach() {
        let due = 1_000;
        assert!(!breached(due, Some(900), None, 5_000));
        assert!(breached(due, Some(1_100), None, 5_000));
        assert!(!breached(due, None, None, 999));
        assert!(breached(due, None, None, 1_001));
        // Paused at 900: still not breached at 5_000; paused after the due time: breached.
        assert!(!breached(due, None, Some(900), 5_000));
        assert!(breached(due, None, Some(1_200), 5_000));
    }

    #[test]
    fn business_hours_round_trip_their_stored_form_and_refuse_nonsense() {
        let hours = BusinessHours::default();
        assert_eq!(BusinessHours::from_stored(&hours.to_stored()), Ok(hours));
        let bad_zone = SiteHours {
            timezone: "Mars/Olympus".into(),
            week: vec![None; 7],
        };
        assert!(matches!(
            BusinessHours::from_stored(&bad_zone),
            Err(HoursError::TimeZone(_))
        ));
        let closed = [None; 7];
        assert_eq!(BusinessHours::new(Berlin, closed), Err(HoursError::Closed));
        let mut backwards = [None; 7];
        backwards[0] = Some((600, 500));
        assert_eq!(
            BusinessHours::new(Berlin, backwards),
            Err(HoursError::Window)
        );
    }
}
