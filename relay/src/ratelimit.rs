//! Rate limits: new WebSocket connections per IP address (governor's GCRA keyed by
//! address), frames per connection ([`FrameLimiter`]), frames per party across all its
//! sockets and per site ([`FrameQuotas`]), and failed logins per account and per address
//! ([`LoginThrottle`]).

use crate::fanout::Party;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use switchboard_shared::limits::{
    AGENT_FRAMES_PER_SECOND, CONNECTION_BURST_PER_IP, FRAMES_PER_SECOND, FRAME_BURST,
    LOGIN_ACCOUNT_RECOVERY_SECS, LOGIN_ADDRESS_RECOVERY_SECS, LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_ADDRESS,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Cheap cloneable handle; `None` inside means unlimited.
#[derive(Clone)]
pub struct IpLimiter(Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>);

impl IpLimiter {
    pub fn per_minute(n: u32) -> Self {
        let Some(n) = NonZeroU32::new(n) else {
            return IpLimiter(None);
        };
        let burst = NonZeroU32::new(CONNECTION_BURST_PER_IP).unwrap_or(n);
        IpLimiter(Some(Arc::new(RateLimiter::keyed(
            Quota::per_minute(n).allow_burst(burst),
        ))))
    }

    pub fn allow(&self, ip: IpAddr) -> bool {
        match &self.0 {
            None => true,
            Some(l) => l.check_key(&ip).is_ok(),
        }
    }

    /// Drops state of addresses that are back to full burst (call now and then).
    pub fn shrink(&self) {
        if let Some(l) = &self.0 {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Frames per party (all sockets of one visitor, or of one agent, together) and per site (all
/// its visitors together), so opening more sockets buys no more throughput and a noisy site
/// cannot take the relay from the others. A cheap cloneable handle, one pointer wide, as
/// every connection holds one.
#[derive(Clone)]
pub struct FrameQuotas(Arc<Quotas>);

struct Quotas {
    visitors: DefaultKeyedRateLimiter<Party>,
    agents: DefaultKeyedRateLimiter<Party>,
    sites: Option<DefaultKeyedRateLimiter<Arc<str>>>,
}

impl FrameQuotas {
    /// `site_per_second` 0 means no per-site limit; the burst is twice the rate.
    pub fn new(site_per_second: u32) -> Self {
        let quota = |per_second: u32, burst: u32| {
            let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(burst).unwrap_or(per_second);
            Quota::per_second(per_second).allow_burst(burst)
        };
        FrameQuotas(Arc::new(Quotas {
            visitors: RateLimiter::keyed(quota(FRAMES_PER_SECOND, FRAME_BURST)),
            agents: RateLimiter::keyed(quota(AGENT_FRAMES_PER_SECOND, AGENT_FRAMES_PER_SECOND * 2)),
            sites: NonZeroU32::new(site_per_second)
                .map(|n| RateLimiter::keyed(quota(n.get(), n.get().saturating_mul(2)))),
        }))
    }

    /// True when one more frame of `party` (on `site`, for visitors) may pass now.
    pub fn check(&self, party: Party, site: Option<&Arc<str>>) -> bool {
        let q = &*self.0;
        let parties = match party {
            Party::Visitor(_) => &q.visitors,
            Party::Agent(_) => &q.agents,
        };
        if parties.check_key(&party).is_err() {
            return false;
        }
        match (&q.sites, site) {
            (Some(sites), Some(site)) => sites.check_key(site).is_ok(),
            _ => true,
        }
    }

    /// Drops state of keys that are back to full burst (call now and then).
    pub fn shrink(&self) {
        let q = &*self.0;
        for l in [&q.visitors, &q.agents] {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &q.sites {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// Failed logins, counted per account (the e-mail as typed, lower-cased) and per client
/// address with GCRA over failures: `burst` failures pass at once, then one per `recovery`.
/// A blocked account or address is answered 429 with the wait before any password is
/// checked, so guessing costs the relay nothing. Password checks of one address run one at a
/// time (others from it wait, at most [`LOGIN_QUEUE_PER_ADDRESS`]), so one address holds at
/// most one password thread and cannot delay other addresses' logins.
#[derive(Clone)]
pub struct LoginThrottle(Arc<Mutex<LoginState>>);

/// Most accounts and addresses remembered at once; beyond it, entries that have recovered
/// are dropped, and if none has, new accounts are counted by address only.
const LOGIN_KEYS_MAX: usize = 100_000;

/// Logins of one address waiting for its password check, beyond which it gets 429.
pub const LOGIN_QUEUE_PER_ADDRESS: usize = 8;

struct LoginState {
    account: Gcra,
    address: Gcra,
    accounts: HashMap<String, Instant>,
    addresses: HashMap<IpAddr, Instant>,
    /// Per address with a login in progress: its one-at-a-time turn and how many hold or
    /// wait for it.
    turns: HashMap<IpAddr, (Arc<Semaphore>, usize)>,
}

/// One kind of key's GCRA parameters.
#[derive(Clone, Copy)]
struct Gcra {
    interval: Duration,
    tolerance: Duration,
}

impl Gcra {
    fn new(burst: u32, recovery: Duration) -> Self {
        Gcra {
            interval: recovery,
            tolerance: recovery.saturating_mul(burst.saturating_sub(1)),
        }
    }

    /// How long until the next attempt may pass, if it may not now.
    fn wait(self, tat: Option<&Instant>, now: Instant) -> Option<Duration> {
        let ahead = tat?.saturating_duration_since(now);
        (ahead > self.tolerance).then(|| ahead - self.tolerance)
    }

    fn charge(self, tat: &mut Instant, now: Instant) {
        *tat = (*tat).max(now) + self.interval;
    }
}

/// A login being checked, holding its address's turn; it counts as a failure unless
/// [`LoginAttempt::succeeded`] is called.
pub struct LoginAttempt {
    throttle: LoginThrottle,
    ip: IpAddr,
    account: String,
    succeeded: bool,
    _turn: OwnedSemaphorePermit,
}

impl LoginThrottle {
    pub fn new() -> Self {
        Self::with(
            LOGIN_FAILURES_PER_ACCOUNT,
            Duration::from_secs(LOGIN_ACCOUNT_RECOVERY_SECS),
            LOGIN_FAILURES_PER_ADDRESS,
            Duration::from_secs(LOGIN_ADDRESS_RECOVERY_SECS),
        )
    }

    fn with(
        account_burst: u32,
        account_recovery: Duration,
        address_burst: u32,
        address_recovery: Duration,
    ) -> Self {
        LoginThrottle(Arc::new(Mutex::new(LoginState {
            account: Gcra::new(account_burst, account_recovery),
            address: Gcra::new(address_burst, address_recovery),
            accounts: HashMap::new(),
            addresses: HashMap::new(),
            turns: HashMap::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, LoginState> {
        // Every critical section leaves the maps consistent.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for `ip`'s turn and checks that `account` and `ip` may try now. `Err` holds
    /// the wait to tell the client (at least a second).
    pub async fn begin(&self, ip: IpAddr, account: &str) -> Result<LoginAttempt, Duration> {
        let account = account.trim().to_lowercase();
        self.blocked(ip, &account, Instant::now())?;
        let turn = {
            let mut s = self.lock();
            let (turn, users) = s
                .turns
                .entry(ip)
                .or_insert_with(|| (Arc::new(Semaphore::new(1)), 0));
            if *users > LOGIN_QUEUE_PER_ADDRESS {
                return Err(Duration::from_secs(1));
            }
            *users += 1;
            turn.clone()
        };
        let Ok(turn) = turn.acquire_owned().await else {
            self.leave(ip);
            return Err(Duration::from_secs(1));
        };
        // Failures may have piled up while this one waited.
        if let Err(wait) = self.blocked(ip, &account, Instant::now()) {
            self.leave(ip);
            return Err(wait);
        }
        Ok(LoginAttempt {
            throttle: self.clone(),
            ip,
            account,
            succeeded: false,
            _turn: turn,
        })
    }

    fn blocked(&self, ip: IpAddr, account: &str, now: Instant) -> Result<(), Duration> {
        let s = self.lock();
        let wait = s
            .address
            .wait(s.addresses.get(&ip), now)
            .max(s.account.wait(s.accounts.get(account), now));
        match wait {
            Some(wait) => Err(wait.max(Duration::from_secs(1))),
            None => Ok(()),
        }
    }

    /// One user of `ip`'s turn is done; the entry goes with the last.
    fn leave(&self, ip: IpAddr) {
        let mut s = self.lock();
        if let Some((_, users)) = s.turns.get_mut(&ip) {
            *users = users.saturating_sub(1);
            if *users == 0 {
                s.turns.remove(&ip);
            }
        }
    }

    fn failed(&self, ip: IpAddr, account: &str, now: Instant) {
        let mut s = self.lock();
        let LoginState {
            account: account_gcra,
            address: address_gcra,
            accounts,
            addresses,
            ..
        } = &mut *s;
        if addresses.len() >= LOGIN_KEYS_MAX || accounts.len() >= LOGIN_KEYS_MAX {
            addresses.retain(|_, tat| *tat > now);
            accounts.retain(|_, tat| *tat > now);
        }
        if addresses.len() < LOGIN_KEYS_MAX || addresses.contains_key(&ip) {
            address_gcra.charge(addresses.entry(ip).or_insert(now), now);
        }
        if accounts.len() < LOGIN_KEYS_MAX || accounts.contains_key(account) {
            account_gcra.charge(accounts.entry(account.to_string()).or_insert(now), now);
        }
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl LoginAttempt {
    /// The password was right: the account's failures are forgiven (the address's stay).
    pub fn succeeded(mut self) {
        self.succeeded = true;
        self.throttle.lock().accounts.remove(&self.account);
    }
}

impl Drop for LoginAttempt {
    fn drop(&mut self) {
        if !self.succeeded {
            self.throttle.failed(self.ip, &self.account, Instant::now());
        }
        self.throttle.leave(self.ip);
    }
}

/// Per-connection frame limit: GCRA (the algorithm governor uses), one instant of state.
/// governor's direct limiter is 72 bytes inside every connection's task; this is 16.
#[derive(Debug)]
pub struct FrameLimiter {
    /// When the next frame conforms if none is pending ("theoretical arrival time").
    tat: Option<Instant>,
}

impl FrameLimiter {
    /// One frame per `1 / per_second` s, up to `burst` at once.
    const INTERVAL: Duration = Duration::from_nanos(1_000_000_000 / FRAMES_PER_SECOND as u64);
    /// How far ahead of now `tat` may run: `burst − 1` intervals.
    const TOLERANCE: Duration =
        Duration::from_nanos((1_000_000_000 / FRAMES_PER_SECOND as u64) * (FRAME_BURST as u64 - 1));

    pub fn new() -> Self {
        FrameLimiter { tat: None }
    }

    /// True when one more frame may pass now (and counts it).
    pub fn check(&mut self) -> bool {
        self.check_at(Instant::now())
    }

    fn check_at(&mut self, now: Instant) -> bool {
        let tat = self.tat.map_or(now, |t| t.max(now));
        if tat.saturating_duration_since(now) > Self::TOLERANCE {
            return false;
        }
        self.tat = Some(tat + Self::INTERVAL);
        true
    }
}

impl Default for FrameLimiter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_frames_pass_at_the_steady_rate() {
        let mut l = FrameLimiter::new();
        let t0 = Instant::now();
        let passed = (0..FRAME_BURST * 2).filter(|_| l.check_at(t0)).count();
        assert_eq!(passed, FRAME_BURST as usize, "the burst, no more");
        // One interval later, exactly one more.
        let t1 = t0 + FrameLimiter::INTERVAL;
        assert!(l.check_at(t1));
        assert!(!l.check_at(t1));
        // After a quiet second, the rate's worth of frames is back.
        let t2 = t1 + Duration::from_secs(1);
        let passed = (0..FRAME_BURST).filter(|_| l.check_at(t2)).count();
        assert_eq!(passed, FRAMES_PER_SECOND as usize);
    }

    #[tokio::test]
    async fn an_account_is_blocked_after_its_burst_of_failures_and_recovers() {
        let t = LoginThrottle::with(3, Duration::from_secs(60), 100, Duration::from_secs(1));
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            drop(t.begin(ip, "Anna@x ").await.unwrap()); // a failure
        }
        let wait = t.begin(ip, "anna@x").await.err().unwrap();
        assert!(wait > Duration::from_secs(58), "about a minute: {wait:?}");
        // Another account from the same address is not blocked by Anna's.
        t.begin(ip, "ben@x").await.unwrap().succeeded();
        // One recovery interval later, exactly one more attempt passes.
        let later = Instant::now() + Duration::from_secs(60);
        assert!(t.blocked(ip, "anna@x", later).is_ok());
        assert!(t
            .blocked(ip, "anna@x", later - Duration::from_secs(2))
            .is_err());
        assert!(t.lock().turns.is_empty(), "no turn is left behind");
    }

    #[tokio::test]
    async fn one_address_checks_one_login_at_a_time_and_queues_only_a_few() {
        let t = LoginThrottle::with(100, Duration::from_secs(60), 100, Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 2].into();
        let first = t.begin(ip, "a@x").await.unwrap();
        // A second login from the same address waits for the first one's turn.
        let second = tokio::spawn({
            let t = t.clone();
            async move { t.begin(ip, "b@x").await.map(|a| a.succeeded()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "waits while the first is checked");
        // Other addresses are not held up.
        t.begin([10, 0, 0, 3].into(), "c@x")
            .await
            .unwrap()
            .succeeded();
        // Beyond the queue, 429 at once.
        let mut waiting = Vec::new();
        for _ in 1..LOGIN_QUEUE_PER_ADDRESS {
            let t = t.clone();
            waiting.push(tokio::spawn(
                async move { t.begin(ip, "d@x").await.is_ok() },
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(t.begin(ip, "e@x").await.is_err(), "the queue is full");
        first.succeeded();
        assert!(second.await.unwrap().is_ok());
        for w in waiting {
            assert!(w.await.unwrap());
        }
        assert!(t.lock().turns.is_empty());
    }

    #[test]
    fn governor_and_this_limiter_agree() {
        let quota = Quota::per_second(NonZeroU32::new(FRAMES_PER_SECOND).unwrap())
            .allow_burst(NonZeroU32::new(FRAME_BURST).unwrap());
        let g = RateLimiter::direct(quota);
        let mut l = FrameLimiter::new();
        let (a, b) = (
            (0..FRAME_BURST * 2).filter(|_| g.check().is_ok()).count(),
            (0..FRAME_BURST * 2).filter(|_| l.check()).count(),
        );
        assert_eq!(a, b);
    }
}
