//! SQL Server values in both directions, without a server: what a column
//! holds, as a small enum the driver's cells are read into, mapped to the
//! JSON conventions the MySQL and PostgreSQL paths use; and JSON parameter
//! values as the few types a statement binds.

use base64::Engine;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat};
use serde_json::Value;

/// One cell of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    /// `bit`
    Bool(bool),
    /// `tinyint`, `smallint`, `int`, `bigint`
    Int(i64),
    /// `real`, `float`
    Float(f64),
    /// `money`, `smallmoney`: four decimal places, read by the driver as a
    /// float.
    Money(f64),
    /// `decimal`, `numeric`: the unscaled value and the scale.
    Decimal {
        value: i128,
        scale: u8,
    },
    /// `char`, `varchar`, `nchar`, `nvarchar`, `text`, `ntext`, `xml`
    Text(String),
    /// `uniqueidentifier`
    Guid(uuid::Uuid),
    /// `binary`, `varbinary`, `image`, `timestamp`/`rowversion`
    Bytes(Vec<u8>),
    Date(NaiveDate),
    Time(NaiveTime),
    /// `datetime`, `smalldatetime`, `datetime2`
    DateTime(NaiveDateTime),
    DateTimeOffset(DateTime<FixedOffset>),
}

impl Cell {
    /// The value as the workflow sees it: numbers as numbers, decimals and
    /// money as exact text (the field mapping may make numbers of them),
    /// dates as ISO 8601 text, binary as base64, GUIDs in SQL Server's own
    /// upper-case form.
    pub fn into_json(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Int(i) => Value::from(i),
            // Not finite cannot come from SQL Server; `from` makes it null.
            Self::Float(f) => Value::from(f),
            Self::Money(m) => Value::String(format!("{m:.4}")),
            Self::Decimal { value, scale } => Value::String(decimal_text(value, scale)),
            Self::Text(s) => Value::String(s),
            Self::Guid(g) => Value::String(g.hyphenated().to_string().to_ascii_uppercase()),
            Self::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Self::Date(d) => Value::String(d.to_string()),
            Self::Time(t) => Value::String(t.to_string()),
            Self::DateTime(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            Self::DateTimeOffset(t) => {
                Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }
        }
    }
}

/// `value / 10^scale` written out exactly.
pub fn decimal_text(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let sign = if value < 0 { "-" } else { "" };
    let scale = usize::from(scale);
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Also numbers beyond `bigint` and objects or arrays (as JSON text):
    /// SQL Server converts text where a column needs another type.
    Text(String),
}

impl Param {
    pub fn from_json(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Self::Int(i),
                (None, Some(u)) => Self::Text(u.to_string()),
                _ => Self::Float(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => Self::Text(s.clone()),
            other => Self::Text(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn decimals_are_written_out_exactly() {
        assert_eq!(decimal_text(1050, 2), "10.50");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(decimal_text(42, 0), "42");
        assert_eq!(
            decimal_text(12_345_678_901_234_567_890_123_456_789_012_345_678, 10),
            "1234567890123456789012345678.9012345678"
        );
        assert_eq!(decimal_text(i128::MIN + 1, 0), (i128::MIN + 1).to_string());
    }

    #[test]
    fn cells_follow_the_shared_json_conventions() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        let t = NaiveTime::from_hms_micro_opt(3, 4, 5, 600_000).unwrap();
        let guid = uuid::Uuid::parse_str("6f9619ff-8b86-d011-b42d-00c04fc964ff").unwrap();
        let cases = [
            (Cell::Null, json!(null)),
            (Cell::Bool(true), json!(true)),
            (Cell::Int(i64::MAX), json!(i64::MAX)),
            (Cell::Float(2.5), json!(2.5)),
            (Cell::Money(12.3), json!("12.3000")),
            (Cell::Money(-0.0001), json!("-0.0001")),
            (
                Cell::Decimal {
                    value: 1999,
                    scale: 2,
                },
                json!("19.99"),
            ),
            (Cell::Text("Grüße".into()), json!("Grüße")),
            (
                Cell::Guid(guid),
                json!("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
            ),
            (Cell::Bytes(vec![0, 1, 254, 255]), json!("AAH+/w==")),
            (Cell::Date(d), json!("2026-01-02")),
            (Cell::Time(t), json!("03:04:05.600")),
            (
                Cell::DateTime(d.and_time(t)),
                json!("2026-01-02T03:04:05.600"),
            ),
            (
                Cell::DateTime(d.and_hms_opt(0, 0, 0).unwrap()),
                json!("2026-01-02T00:00:00"),
            ),
            (
                Cell::DateTimeOffset(
                    FixedOffset::east_opt(2 * 3600)
                        .unwrap()
                        .from_local_datetime(&d.and_time(t))
                        .unwrap(),
                ),
                json!("2026-01-02T03:04:05.600+02:00"),
            ),
            (
                Cell::DateTimeOffset(
                    FixedOffset::east_opt(0)
                        .unwrap()
                        .from_local_datetime(&d.and_hms_opt(1, 0, 0).unwrap())
                        .unwrap(),
                ),
                json!("2026-01-02T01:00:00Z"),
            ),
        ];
        for (cell, want) in cases {
            assert_eq!(cell.clone().into_json(), want, "{cell:?}");
        }
    }

    #[test]
    fn parameters_keep_their_type_and_never_become_sql() {
        assert_eq!(Param::from_json(&json!(null)), Param::Null);
        assert_eq!(Param::from_json(&json!(7)), Param::Int(7));
        assert_eq!(Param::from_json(&json!(-7)), Param::Int(-7));
        assert_eq!(
            Param::from_json(&json!(u64::MAX)),
            Param::Text(u64::MAX.to_string())
        );
        assert_eq!(Param::from_json(&json!(1.5)), Param::Float(1.5));
        assert_eq!(Param::from_json(&json!(false)), Param::Bool(false));
        assert_eq!(
            Param::from_json(&json!("'; DROP TABLE x; --")),
            Param::Text("'; DROP TABLE x; --".into())
        );
        assert_eq!(
            Param::from_json(&json!({"a": [1]})),
            Param::Text(r#"{"a":[1]}"#.into())
        );
    }
}
