//! Per-IP limit on new WebSocket connections (governor's GCRA keyed by address).

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use switchboard_shared::limits::CONNECTION_BURST_PER_IP;

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
