//! BSON and JSON, both ways, without a server. Results follow the JSON
//! conventions of the SQL paths (ObjectId as hex, Decimal128 as exact text,
//! dates as ISO 8601, binary as base64); values a workflow supplies become
//! plain BSON, never operators.

use base64::Engine;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Bson, Document};
use serde_json::{Map, Number, Value};

/// A result value as the workflow sees it.
pub fn to_json(b: Bson) -> Value {
    match b {
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Boolean(v) => Value::Bool(v),
        Bson::Int32(i) => Value::from(i),
        Bson::Int64(i) => Value::from(i),
        // NaN and infinities have no JSON number: null.
        Bson::Double(f) => Value::from(f),
        Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => Value::String(s),
        Bson::Decimal128(d) => Value::String(d.to_string()),
        Bson::ObjectId(id) => Value::String(id.to_hex()),
        Bson::DateTime(t) => chrono::DateTime::from_timestamp_millis(t.timestamp_millis())
            .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
            .unwrap_or_else(|| Value::from(t.timestamp_millis())),
        Bson::Binary(b) if b.subtype == BinarySubtype::Uuid && b.bytes.len() == 16 => {
            uuid::Uuid::from_slice(&b.bytes)
                .map(|u| Value::String(u.to_string()))
                .unwrap_or(Value::Null)
        }
        Bson::Binary(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b.bytes)),
        Bson::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        Bson::Document(d) => Value::Object(object(d)),
        Bson::Timestamp(t) => serde_json::json!({"t": t.time, "i": t.increment}),
        Bson::RegularExpression(r) => Value::String(format!("/{}/{}", r.pattern, r.options)),
        Bson::JavaScriptCodeWithScope(c) => Value::String(c.code),
        Bson::MaxKey => Value::String("MaxKey".into()),
        Bson::MinKey => Value::String("MinKey".into()),
        // Deprecated types: their relaxed Extended JSON.
        other => other.into_relaxed_extjson(),
    }
}

fn object(d: Document) -> Map<String, Value> {
    d.into_iter().map(|(k, v)| (k, to_json(v))).collect()
}

/// One result document as a row. `columns` collects the top-level keys in
/// order of first appearance; `decimals` those that held a Decimal128.
pub fn row(
    d: Document,
    columns: &mut Vec<String>,
    decimals: &mut Vec<String>,
) -> Map<String, Value> {
    let mut m = Map::with_capacity(d.len());
    for (k, v) in d {
        if !columns.contains(&k) {
            columns.push(k.clone());
        }
        if matches!(v, Bson::Decimal128(_)) && !decimals.contains(&k) {
            decimals.push(k.clone());
        }
        m.insert(k, to_json(v));
    }
    m
}

fn number(n: &Number) -> Bson {
    // Small integers as Int32, as the shell and most drivers write them.
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32),
        (None, Some(u)) => Bson::Double(u as f64),
        _ => Bson::Double(n.as_f64().unwrap_or_default()),
    }
}

/// A value a workflow supplies (a parameter, a row to write) as plain BSON:
/// objects may not have `$` keys, which MongoDB would read as operators.
pub fn plain(v: &Value) -> Result<Bson, String> {
    Ok(match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => number(n),
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(a) => Bson::Array(a.iter().map(plain).collect::<Result<_, _>>()?),
        Value::Object(m) => Bson::Document(plain_document(m)?),
    })
}

/// An object as a plain document (see [`plain`]).
pub fn plain_document(m: &Map<String, Value>) -> Result<Document, String> {
    let mut d = Document::new();
    for (k, v) in m {
        if k.starts_with('$') {
            return Err(format!(
                "the key `{k}` starts with '$' (values cannot hold operators)"
            ));
        }
        d.insert(k.clone(), plain(v)?);
    }
    Ok(d)
}

/// The filter that finds `doc`'s stored twin by its key fields.
pub fn key_filter(doc: &Document, keys: &[String]) -> Result<Document, String> {
    let mut f = Document::new();
    for k in keys {
        let v = doc
            .get(k)
            .ok_or_else(|| format!("a row has no value for the key column `{k}`"))?;
        f.insert(k.clone(), v.clone());
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::oid::ObjectId;
    use mongodb::bson::{doc, Binary, DateTime, Decimal128, Regex, Timestamp};
    use serde_json::json;

    #[test]
    fn bson_maps_to_the_shared_json_conventions() {
        let id = ObjectId::parse_str("64b7f0c2a1b2c3d4e5f60718").unwrap();
        let dec: Decimal128 = "1234567890.123456789".parse().unwrap();
        let uuid = uuid::Uuid::parse_str("6f9619ff-8b86-d011-b42d-00c04fc964ff").unwrap();
        let cases = [
            (Bson::Null, json!(null)),
            (Bson::Boolean(true), json!(true)),
            (Bson::Int32(-3), json!(-3)),
            (Bson::Int64(i64::MAX), json!(i64::MAX)),
            (Bson::Double(2.5), json!(2.5)),
            (Bson::Double(f64::NAN), json!(null)),
            (Bson::String("é".into()), json!("é")),
            (Bson::ObjectId(id), json!("64b7f0c2a1b2c3d4e5f60718")),
            (Bson::Decimal128(dec), json!("1234567890.123456789")),
            (
                Bson::DateTime(DateTime::from_millis(1_767_323_045_678)),
                json!("2026-01-02T03:04:05.678Z"),
            ),
            (
                Bson::DateTime(DateTime::from_millis(1_767_323_045_000)),
                json!("2026-01-02T03:04:05Z"),
            ),
            (
                Bson::Binary(Binary {
                    subtype: BinarySubtype::Generic,
                    bytes: vec![0, 1, 254, 255],
                }),
                json!("AAH+/w=="),
            ),
            (
                Bson::Binary(Binary {
                    subtype: BinarySubtype::Uuid,
                    bytes: uuid.as_bytes().to_vec(),
                }),
                json!("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
            ),
            (
                Bson::Timestamp(Timestamp {
                    time: 7,
                    increment: 2,
                }),
                json!({"t": 7, "i": 2}),
            ),
            (
                Bson::RegularExpression(Regex {
                    pattern: "^a".into(),
                    options: "i".into(),
                }),
                json!("/^a/i"),
            ),
            (
                Bson::Document(doc! {"a": [1_i64, {"b": id}], "c": {"d": Bson::Null}}),
                json!({"a": [1, {"b": "64b7f0c2a1b2c3d4e5f60718"}], "c": {"d": null}}),
            ),
        ];
        for (b, want) in cases {
            assert_eq!(to_json(b.clone()), want, "{b:?}");
        }
    }

    #[test]
    fn rows_collect_columns_in_order_and_note_decimals() {
        let mut columns = Vec::new();
        let mut decimals = Vec::new();
        let dec: Decimal128 = "9.99".parse().unwrap();
        let a = row(doc! {"_id": 1, "price": dec}, &mut columns, &mut decimals);
        let b = row(doc! {"_id": 2, "note": "x"}, &mut columns, &mut decimals);
        assert_eq!(columns, ["_id", "price", "note"]);
        assert_eq!(decimals, ["price"]);
        assert_eq!(Value::Object(a), json!({"_id": 1, "price": "9.99"}));
        assert_eq!(Value::Object(b), json!({"_id": 2, "note": "x"}));
    }

    #[test]
    fn supplied_values_are_plain_data() {
        assert_eq!(plain(&json!(5)).unwrap(), Bson::Int32(5));
        assert_eq!(
            plain(&json!(5_000_000_000_i64)).unwrap(),
            Bson::Int64(5_000_000_000)
        );
        assert_eq!(
            plain(&json!(u64::MAX)).unwrap(),
            Bson::Double(u64::MAX as f64)
        );
        assert_eq!(plain(&json!(0.5)).unwrap(), Bson::Double(0.5));
        // Extended JSON in a value is text, not a type.
        assert_eq!(
            plain(&json!({"oid": {"x": "64b7f0c2a1b2c3d4e5f60718"}})).unwrap(),
            Bson::Document(doc! {"oid": {"x": "64b7f0c2a1b2c3d4e5f60718"}})
        );
        assert!(plain(&json!({"$oid": "64b7f0c2a1b2c3d4e5f60718"})).is_err());
        assert!(plain(&json!([{"a": {"$gt": 1}}]))
            .unwrap_err()
            .contains("$gt"));
    }

    #[test]
    fn key_filters_take_the_key_fields() {
        let d = doc! {"sku": "a", "site": 2, "qty": 5};
        assert_eq!(
            key_filter(&d, &["sku".into(), "site".into()]).unwrap(),
            doc! {"sku": "a", "site": 2}
        );
        assert!(key_filter(&d, &["nope".into()])
            .unwrap_err()
            .contains("nope"));
    }
}
