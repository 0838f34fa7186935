//! The pure arithmetic of the analytics dashboard: time windows cut into day
//! or week buckets in a time zone, nearest-rank percentiles, rates and age
//! bands. No I/O: the API server's SQL aggregates, this crate interprets.

mod stats;
mod window;

pub use chrono_tz::Tz;
pub use stats::{age_band, nearest_rank, rate, Percentiles, AGE_BANDS, PERCENTILES};
pub use window::{
    day_start, parse_tz, Bucket, Preset, Window, WindowError, MAX_DAYS_BY_DAY, MAX_DAYS_BY_WEEK,
    SLOT_MINUTES,
};
