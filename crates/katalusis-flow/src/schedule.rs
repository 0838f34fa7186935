//! Schedule triggers: a cron expression in a time zone, the instants it
//! names, and which instant to fire now — at most one per check, each
//! instant at most once (the caller keys firings by the instant).

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::{Deserialize, Serialize};

/// How late an instant may be fired and still count as on time.
pub const GRACE_SECONDS: i64 = 60;

/// What to do with instants that passed while the server was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissedPolicy {
    /// Fire only instants that are on time; the missed ones are recorded as skipped.
    #[default]
    Skip,
    /// Fire once for the latest missed instant.
    RunOnce,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("not a cron expression: {0}")]
    Cron(String),
    #[error("`{0}` is not a time zone name such as Europe/Berlin")]
    TimeZone(String),
    #[error("the expression never fires")]
    Never,
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
}

/// What a check at `now` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The instant to fire now, if any.
    pub fire: Option<DateTime<Utc>>,
    /// Whether instants were passed over (late, under `skip`, or older
    /// ones under `run_once`).
    pub missed: bool,
    /// When to check next: the first instant after `now`.
    pub next: Option<DateTime<Utc>>,
}

impl Schedule {
    /// Five fields (minute precision) or six (with seconds), in `tz`.
    pub fn parse(expression: &str, tz: &str) -> Result<Self, ScheduleError> {
        let tz = Tz::from_str(tz.trim()).map_err(|_| ScheduleError::TimeZone(tz.to_owned()))?;
        // Seconds are optional in croner's default parser.
        let cron =
            Cron::from_str(expression.trim()).map_err(|e| ScheduleError::Cron(e.to_string()))?;
        let s = Self { cron, tz };
        if s.next_after(Utc::now()).is_none() {
            return Err(ScheduleError::Never);
        }
        Ok(s)
    }

    /// The first instant strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The next `n` instants after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = t;
        while out.len() < n {
            match self.next_after(at) {
                Some(next) => {
                    out.push(next);
                    at = next;
                }
                None => break,
            }
        }
        out
    }

    /// The latest instant at or before `t`.
    fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// Decides at `now` for a trigger whose next instant was `due_at`.
    pub fn due(&self, due_at: DateTime<Utc>, now: DateTime<Utc>, policy: MissedPolicy) -> Due {
        let next = self.next_after(now);
        if due_at > now {
            return Due {
                fire: None,
                missed: false,
                next: Some(due_at),
            };
        }
        let Some(latest) = self.latest_at_or_before(now).filter(|l| *l >= due_at) else {
            return Due {
                fire: None,
                missed: false,
                next,
            };
        };
        let on_time = now - latest <= Duration::seconds(GRACE_SECONDS);
        let skipped_older = latest > due_at;
        match (on_time, policy) {
            (true, _) => Due {
                fire: Some(latest),
                missed: skipped_older,
                next,
            },
            (false, MissedPolicy::RunOnce) => Due {
                fire: Some(latest),
                missed: skipped_older,
                next,
            },
            (false, MissedPolicy::Skip) => Due {
                fire: None,
                missed: true,
                next,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn instants_follow_the_time_zone_across_daylight_saving() {
        let s = Schedule::parse("0 9 * * *", "Europe/Berlin").expect("schedule");
        // 9:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
        assert_eq!(
            s.next_after(at("2026-03-27T12:00:00Z")),
            Some(at("2026-03-28T08:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-03-28T12:00:00Z")),
            Some(at("2026-03-29T07:00:00Z"))
        );
        let five = s.upcoming(at("2026-01-01T00:00:00Z"), 5);
        assert_eq!(five.len(), 5);
        assert_eq!(five[0], at("2026-01-01T08:00:00Z"));
    }

    #[test]
    fn bad_expressions_and_zones_are_refused() {
        assert!(matches!(
            Schedule::parse("61 * * * *", "UTC"),
            Err(ScheduleError::Cron(_))
        ));
        assert_eq!(
            Schedule::parse("* * * * *", "Mars/Olympus").unwrap_err(),
            ScheduleError::TimeZone("Mars/Olympus".into())
        );
        assert!(
            Schedule::parse("*/5 * * * * *", "UTC").is_ok(),
            "seconds are optional"
        );
    }

    #[test]
    fn an_instant_on_time_fires_once_and_the_next_check_waits() {
        let s = Schedule::parse("*/10 * * * *", "UTC").unwrap();
        let due_at = at("2026-11-30T10:10:00Z");
        let d = s.due(due_at, at("2026-11-30T10:09:59Z"), MissedPolicy::Skip);
        assert_eq!(d.fire, None);
        assert_eq!(d.next, Some(due_at));
        let d = s.due(due_at, at("2026-11-30T10:10:02Z"), MissedPolicy::Skip);
        assert_eq!(d.fire, Some(due_at));
        assert!(!d.missed);
        assert_eq!(d.next, Some(at("2026-11-30T10:20:00Z")));
    }

    #[test]
    fn missed_instants_are_skipped_or_run_once() {
        let s = Schedule::parse("0 * * * *", "UTC").unwrap();
        let due_at = at("2026-11-30T01:00:00Z");
        // Down from 00:30 to 04:20: 01:00 … 04:00 passed.
        let now = at("2026-11-30T04:20:00Z");
        let skip = s.due(due_at, now, MissedPolicy::Skip);
        assert_eq!(skip.fire, None);
        assert!(skip.missed);
        assert_eq!(skip.next, Some(at("2026-11-30T05:00:00Z")));
        let once = s.due(due_at, now, MissedPolicy::RunOnce);
        assert_eq!(once.fire, Some(at("2026-11-30T04:00:00Z")));
        assert!(once.missed);
        // Back just after an instant: it is on time and fires under both.
        let now = at("2026-11-30T04:00:30Z");
        assert_eq!(
            s.due(due_at, now, MissedPolicy::Skip).fire,
            Some(at("2026-11-30T04:00:00Z"))
        );
    }
}
