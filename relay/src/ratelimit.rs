//! Rate limits: new WebSocket connections per IP address (governor's GCRA keyed by
//! address) and frames per connection ([`FrameLimiter`]).

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_shared::limits::{CONNECTION_BURST_PER_IP, FRAMES_PER_SECOND, FRAME_BURST};

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
