//! The `Switchboard-Signature` header, Stripe-style: `t=<unix seconds>,v1=<hex>` where the
//! hex is HMAC-SHA256 keyed with the webhook's secret over `"<t>.<body>"`. Signing the
//! timestamp with the body lets a receiver refuse replays older than its tolerance.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Hex HMAC-SHA256 of `"<t>.<body>"` under `secret`.
pub fn digest(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The header value for a body sent at `t` (Unix seconds).
pub fn header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", digest(secret, t, body))
}

/// What a receiver does: parse the header, check the timestamp is within `tolerance_secs`
/// of `now`, recompute and compare in constant time. Used by the tests and the docs'
/// example; the relay itself only signs.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    candidates
        .into_iter()
        .any(|c| hex::decode(c).is_ok_and(|sig| mac.clone().verify_slice(&sig).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_a_fresh_timestamp() {
        let body = br#"{"id":"evt_1","type":"ticket.created"}"#;
        let h = header("whsec_geheim", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_geheim", &h, body, 1_700_000_100, 300));
        assert!(!verify("whsec_anders", &h, body, 1_700_000_100, 300));
        assert!(!verify("whsec_geheim", &h, b"{}", 1_700_000_100, 300));
        assert!(!verify("whsec_geheim", &h, body, 1_700_000_301, 300));
        assert!(!verify("whsec_geheim", "v1=00", body, 1_700_000_000, 300));
    }
}
