//! Date formats of a column: detected from all its values, with an explicit
//! choice demanded when day/month order cannot be told (`03/04/2026`).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

/// The order of a date's parts; separators `-`, `/` and `.` are accepted in
/// each, and a time (`HH:MM` or `HH:MM:SS`) may follow after a space or `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// 2026-04-03
    Ymd,
    /// 03.04.2026, 03/04/2026 (Europe)
    Dmy,
    /// 04/03/2026 (United States)
    Mdy,
}

impl DateFormat {
    pub const ALL: [Self; 3] = [Self::Ymd, Self::Dmy, Self::Mdy];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ymd => "ymd",
            Self::Dmy => "dmy",
            Self::Mdy => "mdy",
        }
    }
}

/// What a column's values say about their format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DateDetection {
    /// The format to use when the values allow only one (or no values).
    pub format: Option<DateFormat>,
    /// Every value parses in more than one format: the user must choose.
    pub ambiguous: bool,
    /// The formats every value parses in.
    pub candidates: Vec<DateFormat>,
}

fn split(s: &str) -> Option<([u32; 3], Option<NaiveTime>)> {
    let s = s.trim();
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let time = match time {
        None | Some("") => None,
        Some(t) => Some(
            NaiveTime::parse_from_str(t, "%H:%M:%S")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
                .ok()?,
        ),
    };
    let mut parts = date.split(['-', '/', '.']);
    let mut out = [0u32; 3];
    for slot in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((out, time))
}

/// Parses `s` in `format`; two-digit years are 20xx.
pub fn parse(s: &str, format: DateFormat) -> Option<NaiveDateTime> {
    let ([a, b, c], time) = split(s)?;
    let (y, m, d) = match format {
        DateFormat::Ymd => (a, b, c),
        DateFormat::Dmy => (c, b, a),
        DateFormat::Mdy => (c, a, b),
    };
    let y = match y {
        0..=99 if format != DateFormat::Ymd => 2000 + y,
        1000..=9999 => y,
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)?;
    Some(date.and_time(time.unwrap_or(NaiveTime::MIN)))
}

/// The formats in which the most non-empty values of `values` parse; a few
/// mistyped dates do not hide the format of the rest (they become row
/// errors instead).
pub fn detect<'a>(values: impl IntoIterator<Item = &'a str>) -> DateDetection {
    let mut hits = [0usize; 3];
    let mut dotted = false;
    let mut any = false;
    for v in values {
        if v.trim().is_empty() {
            continue;
        }
        any = true;
        dotted |= v.contains('.');
        for (i, f) in DateFormat::ALL.iter().enumerate() {
            if parse(v, *f).is_some() {
                hits[i] += 1;
            }
        }
    }
    if !any {
        return DateDetection {
            format: None,
            ambiguous: false,
            candidates: DateFormat::ALL.to_vec(),
        };
    }
    let best = hits.iter().copied().max().unwrap_or(0);
    let candidates: Vec<DateFormat> = DateFormat::ALL
        .into_iter()
        .zip(hits)
        .filter(|(_, n)| best > 0 && *n == best)
        .map(|(f, _)| f)
        .collect();
    let ambiguous = candidates.contains(&DateFormat::Dmy) && candidates.contains(&DateFormat::Mdy);
    // Dots are a European habit: day first is the proposal, still flagged.
    let format = match candidates.as_slice() {
        [one] => Some(*one),
        _ if ambiguous && dotted => Some(DateFormat::Dmy),
        _ => None,
    };
    DateDetection {
        format,
        ambiguous,
        candidates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, day)
            .unwrap()
            .and_time(NaiveTime::MIN)
    }

    #[test]
    fn formats_parse() {
        assert_eq!(parse("2026-04-03", DateFormat::Ymd), Some(d(2026, 4, 3)));
        assert_eq!(parse("03.04.2026", DateFormat::Dmy), Some(d(2026, 4, 3)));
        assert_eq!(parse("04/03/2026", DateFormat::Mdy), Some(d(2026, 4, 3)));
        assert_eq!(parse("4/3/26", DateFormat::Mdy), Some(d(2026, 4, 3)));
        assert_eq!(
            parse("2026-04-03 17:30", DateFormat::Ymd),
            Some(d(2026, 4, 3).date().and_hms_opt(17, 30, 0).unwrap())
        );
        assert_eq!(parse("31/02/2026", DateFormat::Dmy), None);
        assert_eq!(parse("tomorrow", DateFormat::Ymd), None);
    }

    #[test]
    fn detection_flags_ambiguity() {
        let iso = detect(["2026-04-03", "", "2026-12-31"]);
        assert_eq!((iso.format, iso.ambiguous), (Some(DateFormat::Ymd), false));
        let eu = detect(["03/04/2026", "25/12/2026"]);
        assert_eq!((eu.format, eu.ambiguous), (Some(DateFormat::Dmy), false));
        let us = detect(["03/04/2026", "12/25/2026"]);
        assert_eq!(us.format, Some(DateFormat::Mdy));
        let both = detect(["03/04/2026", "01/02/2026"]);
        assert!(both.ambiguous);
        assert_eq!(both.format, None);
        let dotted = detect(["03.04.2026"]);
        assert!(dotted.ambiguous);
        assert_eq!(dotted.format, Some(DateFormat::Dmy));
        let typo = detect(["2026-04-03", "2026-02-31", "2026-05-01"]);
        assert_eq!(typo.format, Some(DateFormat::Ymd));
        let none = detect(["soon"]);
        assert!(none.candidates.is_empty() && none.format.is_none());
    }
}
