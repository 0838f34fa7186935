//! The time window of a dashboard: a range of local calendar days in one time
//! zone, cut into day or week buckets.
//!
//! The database groups timestamps into 15-minute slots counted from the
//! window's start (UTC arithmetic, no time-zone tables needed), and this
//! module folds the slots into local buckets. Every UTC offset in use is a
//! multiple of 15 minutes, so every local midnight, including those around a
//! daylight-saving change, falls on a slot boundary.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The width of the database's slots, in minutes.
pub const SLOT_MINUTES: i64 = 15;

/// Most days a window may span per bucket size; a longer window answers 422
/// instead of a chart of thousands of points.
pub const MAX_DAYS_BY_DAY: i64 = 366;
pub const MAX_DAYS_BY_WEEK: i64 = 3 * 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    #[default]
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
}

impl Bucket {
    pub const ALL: [Self; 2] = [Self::Day, Self::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
        }
    }
}

impl FromStr for Bucket {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            _ => Err(WindowError::Bucket(s.to_owned())),
        }
    }
}

/// Named ranges ending today (local): the last N days including today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    #[serde(rename = "7d")]
    Last7Days,
    #[serde(rename = "30d")]
    Last30Days,
    #[serde(rename = "90d")]
    Last90Days,
    #[serde(rename = "365d")]
    Last365Days,
}

impl Preset {
    pub const ALL: [Self; 4] = [
        Self::Last7Days,
        Self::Last30Days,
        Self::Last90Days,
        Self::Last365Days,
    ];

    pub fn days(self) -> i64 {
        match self {
            Self::Last7Days => 7,
            Self::Last30Days => 30,
            Self::Last90Days => 90,
            Self::Last365Days => 365,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Last7Days => "7d",
            Self::Last30Days => "30d",
            Self::Last90Days => "90d",
            Self::Last365Days => "365d",
        }
    }
}

impl FromStr for Preset {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "7d" => Ok(Self::Last7Days),
            "30d" => Ok(Self::Last30Days),
            "90d" => Ok(Self::Last90Days),
            "365d" => Ok(Self::Last365Days),
            _ => Err(WindowError::Preset(s.to_owned())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("`{0}` is not a time zone name such as Europe/Paris or UTC")]
    TimeZone(String),
    #[error("`{0}` is not a bucket: use day or week")]
    Bucket(String),
    #[error("`{0}` is not a range preset: use 7d, 30d, 90d or 365d")]
    Preset(String),
    #[error("from ({from}) is after to ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("the range spans {days} days; at most {max} with {bucket} buckets")]
    TooLong {
        days: i64,
        max: i64,
        bucket: &'static str,
    },
    #[error("give both from and to, or neither")]
    HalfOpen,
    #[error("give either a preset range or from and to, not both")]
    Both,
}

pub fn parse_tz(s: &str) -> Result<Tz, WindowError> {
    Tz::from_str(s.trim()).map_err(|_| WindowError::TimeZone(s.to_owned()))
}

/// A window of whole local days cut into buckets.
#[derive(Debug, Clone)]
pub struct Window {
    tz: Tz,
    bucket: Bucket,
    /// The first local day of each bucket.
    days: Vec<NaiveDate>,
    /// The UTC instant each bucket starts; strictly increasing.
    starts: Vec<DateTime<Utc>>,
    /// The UTC instant the last bucket ends (exclusive).
    end: DateTime<Utc>,
}

/// The first instant of a local day. Where a zone skips midnight (a few
/// zones change clocks at 00:00), the day starts at the first local time
/// that exists.
pub fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let mut t = day.and_time(NaiveTime::MIN);
    for _ in 0..(24 * 4) {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.with_timezone(&Utc);
        }
        t += Duration::minutes(SLOT_MINUTES);
    }
    // No zone skips a whole day forward at a 15-minute resolution except
    // the dateline moves, which skip the entire day: start at its successor.
    day_start(tz, day.succ_opt().unwrap_or(day))
}

impl Window {
    /// The buckets covering `from..=to` (local days). Week buckets widen the
    /// range to whole ISO weeks so the first and last bucket are comparable.
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        bucket: Bucket,
        tz: Tz,
    ) -> Result<Self, WindowError> {
        if from > to {
            return Err(WindowError::Reversed { from, to });
        }
        let (first, last) = match bucket {
            Bucket::Day => (from, to),
            Bucket::Week => (
                from - Duration::days(from.weekday().num_days_from_monday() as i64),
                to + Duration::days(6 - to.weekday().num_days_from_monday() as i64),
            ),
        };
        let days_spanned = (last - first).num_days() + 1;
        let max = match bucket {
            Bucket::Day => MAX_DAYS_BY_DAY,
            Bucket::Week => MAX_DAYS_BY_WEEK,
        };
        if days_spanned > max {
            return Err(WindowError::TooLong {
                days: days_spanned,
                max,
                bucket: bucket.as_str(),
            });
        }
        let step = match bucket {
            Bucket::Day => 1,
            Bucket::Week => 7,
        };
        let days: Vec<NaiveDate> = (0..)
            .map(|i| first + Duration::days(i * step))
            .take_while(|d| *d <= last)
            .collect();
        let starts = days.iter().map(|d| day_start(tz, *d)).collect();
        let end = day_start(tz, last + Duration::days(1));
        Ok(Self {
            tz,
            bucket,
            days,
            starts,
            end,
        })
    }

    /// The last `preset.days()` local days up to and including `now`'s day.
    pub fn preset(
        preset: Preset,
        now: DateTime<Utc>,
        bucket: Bucket,
        tz: Tz,
    ) -> Result<Self, WindowError> {
        let today = now.with_timezone(&tz).date_naive();
        Self::new(today - Duration::days(preset.days() - 1), today, bucket, tz)
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn bucket(&self) -> Bucket {
        self.bucket
    }

    /// Inclusive start of the window (UTC).
    pub fn start(&self) -> DateTime<Utc> {
        self.starts[0]
    }

    /// Exclusive end of the window (UTC).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The first local day of each bucket, as `YYYY-MM-DD`.
    pub fn labels(&self) -> Vec<String> {
        self.days
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect()
    }

    /// The first local day of the window and the last.
    pub fn first_day(&self) -> NaiveDate {
        self.days[0]
    }

    pub fn last_day(&self) -> NaiveDate {
        self.day_of(self.end - Duration::seconds(1))
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The UTC instant each bucket ends (exclusive).
    pub fn ends(&self) -> Vec<DateTime<Utc>> {
        let mut e: Vec<_> = self.starts.iter().skip(1).copied().collect();
        e.push(self.end);
        e
    }

    /// The bucket holding `t`, if `t` is inside the window.
    pub fn bucket_of(&self, t: DateTime<Utc>) -> Option<usize> {
        if t < self.start() || t >= self.end {
            return None;
        }
        Some(self.starts.partition_point(|s| *s <= t) - 1)
    }

    /// The instant a database slot starts (slots count from `start()`).
    pub fn slot_start(&self, slot: i64) -> DateTime<Utc> {
        self.start() + Duration::minutes(slot * SLOT_MINUTES)
    }

    /// The slot of an instant inside the window: whole `SLOT_MINUTES` since
    /// `start()`, as the SQL `TIMESTAMPDIFF(MINUTE, start, t) DIV 15` counts
    /// them (both truncate toward zero).
    pub fn slot_of(&self, t: DateTime<Utc>) -> i64 {
        (t - self.start()).num_minutes() / SLOT_MINUTES
    }

    /// The local day of an instant.
    pub fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The local hour of day (0–23) of an instant.
    pub fn hour_of(&self, t: DateTime<Utc>) -> u32 {
        t.with_timezone(&self.tz).hour()
    }

    /// Adds slot counts into per-bucket counts; slots outside the window
    /// (none, when the query bounds the range) are ignored.
    pub fn fold_slots(&self, slots: impl IntoIterator<Item = (i64, u64)>) -> Vec<u64> {
        let mut out = vec![0; self.len()];
        for (slot, n) in slots {
            if let Some(b) = self.bucket_of(self.slot_start(slot)) {
                out[b] += n;
            }
        }
        out
    }

    /// Adds slot counts into counts per local hour of day.
    pub fn fold_hours(&self, slots: impl IntoIterator<Item = (i64, u64)>) -> [u64; 24] {
        let mut out = [0; 24];
        for (slot, n) in slots {
            out[self.hour_of(self.slot_start(slot)) as usize] += n;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn day_buckets_start_at_local_midnight() {
        let w = Window::new(
            d("2026-03-02"),
            d("2026-03-04"),
            Bucket::Day,
            parse_tz("Europe/Paris").unwrap(),
        )
        .unwrap();
        assert_eq!(w.len(), 3);
        assert_eq!(w.start(), utc("2026-03-01T23:00:00Z"));
        assert_eq!(w.end(), utc("2026-03-04T23:00:00Z"));
        assert_eq!(w.labels(), ["2026-03-02", "2026-03-03", "2026-03-04"]);
        // 23:30 UTC on the 2nd is already the 3rd in Paris.
        assert_eq!(w.bucket_of(utc("2026-03-02T22:59:59Z")), Some(0));
        assert_eq!(w.bucket_of(utc("2026-03-02T23:00:00Z")), Some(1));
        assert_eq!(w.bucket_of(utc("2026-03-01T22:59:59Z")), None);
        assert_eq!(w.bucket_of(utc("2026-03-04T23:00:00Z")), None);
    }

    #[test]
    fn a_daylight_saving_day_has_23_hours_and_its_slots_fold_into_it() {
        // Europe/Paris moves from +01:00 to +02:00 on 2026-03-29.
        let tz = parse_tz("Europe/Paris").unwrap();
        let w = Window::new(d("2026-03-29"), d("2026-03-30"), Bucket::Day, tz).unwrap();
        assert_eq!(w.ends()[0] - w.start(), Duration::hours(23));
        // Slot 91 (22:45 after the start) is the 29th's last quarter hour,
        // slot 92 the first of the 30th.
        assert_eq!(w.fold_slots([(91, 2), (92, 5)]), vec![2, 5]);
    }

    #[test]
    fn week_buckets_widen_to_whole_iso_weeks() {
        // 2026-03-04 is a Wednesday, 2026-03-10 a Tuesday.
        let w = Window::new(d("2026-03-04"), d("2026-03-10"), Bucket::Week, Tz::UTC).unwrap();
        assert_eq!(w.labels(), ["2026-03-02", "2026-03-09"]);
        assert_eq!(w.start(), utc("2026-03-02T00:00:00Z"));
        assert_eq!(w.end(), utc("2026-03-16T00:00:00Z"));
        assert_eq!(w.bucket_of(utc("2026-03-08T23:59:59Z")), Some(0));
        assert_eq!(w.bucket_of(utc("2026-03-09T00:00:00Z")), Some(1));
        assert_eq!(w.last_day(), d("2026-03-15"));
    }

    #[test]
    fn half_hour_zones_fold_on_slot_boundaries() {
        // Asia/Kolkata is +05:30: local midnight is 18:30 UTC.
        let w = Window::new(
            d("2026-01-01"),
            d("2026-01-02"),
            Bucket::Day,
            parse_tz("Asia/Kolkata").unwrap(),
        )
        .unwrap();
        assert_eq!(w.start(), utc("2025-12-31T18:30:00Z"));
        assert_eq!(w.fold_slots([(95, 1), (96, 1)]), vec![1, 1]);
        assert_eq!(w.hour_of(w.slot_start(96)), 0);
    }

    #[test]
    fn hours_of_day_are_local() {
        let w = Window::new(
            d("2026-01-01"),
            d("2026-01-01"),
            Bucket::Day,
            parse_tz("America/New_York").unwrap(),
        )
        .unwrap();
        let hours = w.fold_hours([(0, 3), (4, 1), (95, 2)]);
        assert_eq!(hours[0], 3);
        assert_eq!(hours[1], 1);
        assert_eq!(hours[23], 2);
    }

    #[test]
    fn presets_end_today_in_the_zone() {
        let tz = parse_tz("Asia/Tokyo").unwrap();
        // 20:00 UTC is already the next day in Tokyo.
        let w = Window::preset(
            Preset::Last7Days,
            utc("2026-05-10T20:00:00Z"),
            Bucket::Day,
            tz,
        )
        .unwrap();
        assert_eq!(w.first_day(), d("2026-05-05"));
        assert_eq!(w.last_day(), d("2026-05-11"));
        assert_eq!(w.len(), 7);
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert!(matches!(
            Window::new(d("2026-02-02"), d("2026-02-01"), Bucket::Day, Tz::UTC),
            Err(WindowError::Reversed { .. })
        ));
        assert!(matches!(
            Window::new(d("2024-01-01"), d("2026-01-01"), Bucket::Day, Tz::UTC),
            Err(WindowError::TooLong { max: 366, .. })
        ));
        assert!(Window::new(d("2024-01-01"), d("2026-01-01"), Bucket::Week, Tz::UTC).is_ok());
        assert!(parse_tz("Mars/Olympus").is_err());
        assert!("month".parse::<Bucket>().is_err());
        assert!("8d".parse::<Preset>().is_err());
    }

    #[test]
    fn an_instant_falls_in_the_slot_the_database_would_give_it() {
        let tz = parse_tz("Europe/Paris").unwrap();
        let w = Window::new(d("2026-03-29"), d("2026-03-30"), Bucket::Day, tz).unwrap();
        // The window starts at 2026-03-28T23:00Z.
        assert_eq!(w.slot_of(utc("2026-03-28T23:00:00Z")), 0);
        assert_eq!(w.slot_of(utc("2026-03-28T23:14:59.999Z")), 0);
        assert_eq!(w.slot_of(utc("2026-03-28T23:15:00Z")), 1);
        // The 29th's last quarter hour and the 30th's first (see above).
        assert_eq!(w.slot_of(utc("2026-03-29T21:59:00Z")), 91);
        assert_eq!(w.slot_of(utc("2026-03-29T22:00:00Z")), 92);
        assert_eq!(
            w.fold_slots([(w.slot_of(utc("2026-03-29T22:00:00Z")), 1)]),
            vec![0, 1]
        );
    }
}
