//! The report's date range from the query: `from` and `to`, each an ISO date
//! (`2026-11-01`, midnight UTC) or Unix milliseconds (`1793577600000`); `to` is exclusive.

use chrono::{NaiveDate, TimeZone, Utc};

/// The longest range one report may cover (a year and a day, so a leap year fits).
pub const MAX_RANGE_MS: i64 = 367 * 24 * 3600 * 1000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    #[error("{0} must be a date (YYYY-MM-DD, UTC) or Unix milliseconds")]
    Malformed(&'static str),
    #[error("from must be before to")]
    Empty,
    #[error("the range may cover at most 367 days")]
    TooLong,
}

/// One bound: all digits are Unix milliseconds, anything else must be `YYYY-MM-DD`.
pub fn parse_bound(field: &'static str, s: &str) -> Result<i64, RangeError> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| RangeError::Malformed(field));
    }
    let date =
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| RangeError::Malformed(field))?;
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .ok_or(RangeError::Malformed(field))?;
    Ok(Utc.from_utc_datetime(&midnight).timestamp_millis())
}

/// `[from, to)` in Unix ms, checked: not empty, not longer than [`MAX_RANGE_MS`].
pub fn parse(from: &str, to: &str) -> Result<(i64, i64), RangeError> {
    let from = parse_bound("from", from)?;
    let to = parse_bound("to", to)?;
    if from >= to {
        return Err(RangeError::Empty);
    }
    if to - from > MAX_RANGE_MS {
        return Err(RangeError::TooLong);
    }
    Ok((from, to))
}

/// A bound as it reads in a file name: the date when it is a UTC midnight, else the UTC
/// time to the second (`20261101T093000Z`).
pub fn label(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) if t.timestamp_millis() % 86_400_000 == 0 => t.format("%Y-%m-%d").to_string(),
        Some(t) => t.format("%Y%m%dT%H%M%SZ").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_midnights_and_digits_are_milliseconds() {
        // 2026-11-01T00:00:00Z = 1_793_491_200 s.
        assert_eq!(parse_bound("from", "2026-11-01"), Ok(1_793_491_200_000));
        assert_eq!(parse_bound("from", "1793491200123"), Ok(1_793_491_200_123));
        assert_eq!(
            parse_bound("to", "01.11.2026"),
            Err(RangeError::Malformed("to"))
        );
        assert_eq!(parse_bound("to", ""), Err(RangeError::Malformed("to")));
    }

    #[test]
    fn a_range_must_be_forward_and_at_most_367_days() {
        assert_eq!(
            parse("2026-11-01", "2026-12-01"),
            Ok((1_793_491_200_000, 1_793_491_200_000 + 30 * 86_400_000))
        );
        assert_eq!(parse("2026-11-01", "2026-11-01"), Err(RangeError::Empty));
        assert_eq!(parse("2025-01-01", "2026-11-01"), Err(RangeError::TooLong));
    }

    #[test]
    fn labels_name_whole_days_by_date() {
        assert_eq!(label(1_793_491_200_000), "2026-11-01");
        assert_eq!(
            label(1_793_491_200_000 + 9 * 3_600_000 + 1_800_000),
            "20261101T093000Z"
        );
    }
}
