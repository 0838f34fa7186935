//! Wait: until a duration after the node started, or until a given instant.

use chrono::DateTime;
use serde_json::Value;

/// Longest wait accepted (one year), so a typo cannot park a run forever.
pub const MAX_WAIT_SECONDS: i64 = 366 * 24 * 3600;

/// Why a Wait node cannot compute its deadline.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WaitError {
    /// Neither a duration nor an instant was given.
    #[error("give either `seconds` or an `until` date-time")]
    Nothing,
    /// The duration is negative or longer than a year.
    #[error("`seconds` must be between 0 and {MAX_WAIT_SECONDS}")]
    Duration,
    /// The instant is not an RFC 3339 date-time (e.g. `2026-12-01T09:00:00+01:00`).
    #[error("`until` is not an RFC 3339 date-time with a time zone: {0}")]
    Instant(String),
}

/// The end of a wait in milliseconds since the Unix epoch: `until` when
/// given, otherwise `started_ms + seconds`. An instant in the past ends the
/// wait at once.
pub fn wait_until_ms(
    started_ms: i64,
    seconds: Option<&Value>,
    until: Option<&Value>,
) -> Result<i64, WaitError> {
    match (until, seconds) {
        (Some(Value::String(s)), _) if !s.trim().is_empty() => {
            DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.timestamp_millis())
                .map_err(|e| WaitError::Instant(e.to_string()))
        }
        (Some(v), _) if !v.is_null() && !matches!(v, Value::String(_)) => {
            Err(WaitError::Instant(v.to_string()))
        }
        (_, Some(v)) if !v.is_null() => {
            let secs = v.as_f64().ok_or(WaitError::Duration)?;
            if !(0.0..=MAX_WAIT_SECONDS as f64).contains(&secs) {
                return Err(WaitError::Duration);
            }
            // Whole milliseconds: rounding is intended.
            Ok(started_ms.saturating_add((secs * 1000.0).round() as i64))
        }
        _ => Err(WaitError::Nothing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_duration_counts_from_the_start() {
        assert_eq!(wait_until_ms(1_000, Some(&json!(2.5)), None), Ok(3_500));
        assert_eq!(wait_until_ms(1_000, Some(&json!(0)), None), Ok(1_000));
    }

    #[test]
    fn an_instant_wins_over_a_duration() {
        let until = json!("2026-12-01T09:00:00+01:00");
        assert_eq!(
            wait_until_ms(0, Some(&json!(5)), Some(&until)),
            Ok(1_796_112_000_000)
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert_eq!(wait_until_ms(0, None, None), Err(WaitError::Nothing));
        assert_eq!(
            wait_until_ms(0, Some(&json!(-1)), None),
            Err(WaitError::Duration)
        );
        assert_eq!(
            wait_until_ms(0, Some(&json!(MAX_WAIT_SECONDS + 1)), None),
            Err(WaitError::Duration)
        );
        assert!(matches!(
            wait_until_ms(0, None, Some(&json!("tomorrow"))),
            Err(WaitError::Instant(_))
        ));
        assert!(matches!(
            wait_until_ms(0, None, Some(&json!(12))),
            Err(WaitError::Instant(_))
        ));
    }
}
