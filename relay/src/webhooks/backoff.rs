//! When to try a failed delivery again: exponential backoff with jitter. Pure, so the
//! schedule is tested without waiting.

use std::time::Duration;

/// Each retry waits this many times longer than the one before (1 s, 4 s, 16 s, …).
pub const FACTOR: u32 = 4;
/// The longest single wait, however many attempts are configured.
pub const MAX_DELAY: Duration = Duration::from_secs(6 * 60 * 60);

/// The wait after failed attempt `attempt` (1-based): `base × FACTOR^(attempt-1)`, scaled
/// by `jitter` in `[0, 1)` into 80–120 % so receivers that failed together do not get
/// their retries together.
pub fn delay(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(16);
    let raw = base
        .checked_mul(FACTOR.saturating_pow(exp))
        .unwrap_or(MAX_DELAY)
        .min(MAX_DELAY);
    raw.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// A jitter value in `[0, 1)` from the OS random source (0.5 if it fails: no jitter).
pub fn random_jitter() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_fourfold_within_twenty_percent() {
        let base = Duration::from_secs(1);
        assert_eq!(delay(base, 1, 0.5), Duration::from_secs(1));
        assert_eq!(delay(base, 2, 0.5), Duration::from_secs(4));
        assert_eq!(delay(base, 3, 0.5), Duration::from_secs(16));
        assert_eq!(delay(base, 2, 0.0), Duration::from_millis(3200));
        assert!(delay(base, 2, 0.999) < Duration::from_millis(4800));
        // The slowest second wait is still shorter than the fastest third one.
        assert!(delay(base, 2, 0.999) < delay(base, 3, 0.0));
        assert_eq!(delay(base, 40, 0.5), MAX_DELAY);
    }

    #[test]
    fn jitter_is_in_the_unit_interval() {
        for _ in 0..100 {
            let j = random_jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
