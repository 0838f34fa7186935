//! The MongoDB form of a Query node's query: a JSON document naming a
//! `find` or an `aggregate`, read in its written key order (a sort's order
//! matters), with parameters put in as BSON values, never spliced into text.
//!
//! ```json
//! {"find": "orders", "filter": {"total": {"$gt": ":min"}}, "sort": {"total": -1}, "limit": 10}
//! {"aggregate": "orders", "pipeline": [{"$match": {"region": ":region"}}]}
//! ```
//!
//! A string that is exactly `":name"` becomes the value of parameter
//! `name`, with its JSON type (`"::x"` is the literal text `":x"`).
//! Parameter values are plain data: an object with `$` keys cannot smuggle
//! an operator in. Extended JSON such as `{"$oid": "…"}` or
//! `{"$date": ":since"}` gives typed values. Stages that write (`$out`,
//! `$merge`) are refused: a query only reads.

use std::fmt;

use mongodb::bson::{Bson, Document};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::value::plain;
use crate::connections::query::QueryError;

/// A checked query.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Find(Box<Find>),
    Aggregate {
        collection: String,
        pipeline: Vec<Document>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Find {
    pub collection: String,
    pub filter: Document,
    pub projection: Option<Document>,
    pub sort: Option<Document>,
    /// `None` (or 0, as MongoDB reads it): no limit of its own.
    pub limit: Option<u64>,
    pub skip: Option<u64>,
}

const KEYS: [&str; 8] = [
    "find",
    "filter",
    "projection",
    "sort",
    "limit",
    "skip",
    "aggregate",
    "pipeline",
];

/// Stages that write to a collection.
const WRITE_STAGES: [&str; 2] = ["$out", "$merge"];

/// Extended JSON wrappers that make one typed value.
const WRAPPERS: [&str; 15] = [
    "$oid",
    "$date",
    "$numberDecimal",
    "$numberLong",
    "$numberInt",
    "$numberDouble",
    "$binary",
    "$uuid",
    "$regularExpression",
    "$timestamp",
    "$symbol",
    "$code",
    "$minKey",
    "$maxKey",
    "$undefined",
];

/// JSON that keeps the written order of object keys.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
                Ok(Node::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
                Ok(Node::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
                Ok(Node::Number(n.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Node, E> {
                Number::from_f64(n)
                    .map(Node::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Node, E> {
                Ok(Node::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Node, E> {
                Ok(Node::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(n) = a.next_element()? {
                    v.push(n);
                }
                Ok(Node::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = a.next_entry()? {
                    v.push(kv);
                }
                Ok(Node::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Node {
    fn into_json(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Number(n) => Value::Number(n),
            Self::String(s) => Value::String(s),
            Self::Array(a) => Value::Array(a.into_iter().map(Self::into_json).collect()),
            Self::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, v.into_json())).collect())
            }
        }
    }

    /// The first write stage anywhere in the document.
    fn write_stage(&self) -> Option<&'static str> {
        match self {
            Self::Array(a) => a.iter().find_map(Self::write_stage),
            Self::Object(o) => o.iter().find_map(|(k, v)| {
                WRITE_STAGES
                    .iter()
                    .copied()
                    .find(|s| s == k)
                    .or_else(|| v.write_stage())
            }),
            _ => None,
        }
    }
}

fn invalid(m: impl Into<String>) -> QueryError {
    QueryError::InvalidSql(m.into())
}

/// `name` when `s` is exactly `":name"`.
fn param_name(s: &str) -> Option<&str> {
    let name = s.strip_prefix(':')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

/// A string as written: `"::x"` stands for `":x"`.
fn literal(s: &str) -> &str {
    s.strip_prefix(':')
        .filter(|rest| rest.starts_with(':'))
        .unwrap_or(s)
}

fn param<'a>(name: &str, params: &'a Map<String, Value>) -> Result<&'a Value, QueryError> {
    params
        .get(name)
        .ok_or_else(|| QueryError::MissingParameter(name.to_owned()))
}

fn to_bson(n: Node, params: &Map<String, Value>) -> Result<Bson, QueryError> {
    Ok(match n {
        Node::String(s) => match param_name(&s) {
            Some(name) => plain(param(name, params)?)
                .map_err(|e| invalid(format!("parameter :{name}: {e}")))?,
            None => Bson::String(literal(&s).to_owned()),
        },
        Node::Object(o) if o.len() == 1 && WRAPPERS.contains(&o[0].0.as_str()) => {
            let (key, inner) = o.into_iter().next().expect("one entry");
            extended(key, inner, params)?
        }
        Node::Object(o) => {
            let mut d = Document::new();
            for (k, v) in o {
                d.insert(k, to_bson(v, params)?);
            }
            Bson::Document(d)
        }
        Node::Array(a) => Bson::Array(
            a.into_iter()
                .map(|v| to_bson(v, params))
                .collect::<Result<_, _>>()?,
        ),
        other => plain(&other.into_json()).map_err(invalid)?,
    })
}

/// One Extended JSON value, such as `{"$date": ":since"}`. Parameters
/// inside must be plain values; the wrapper decides the type.
fn extended(key: String, inner: Node, params: &Map<String, Value>) -> Result<Bson, QueryError> {
    fn fill(n: Node, key: &str, params: &Map<String, Value>) -> Result<Value, QueryError> {
        Ok(match n {
            Node::String(s) => match param_name(&s) {
                Some(name) => match param(name, params)? {
                    Value::Object(_) | Value::Array(_) => {
                        return Err(invalid(format!(
                            "parameter :{name} must be a plain value inside {key}"
                        )))
                    }
                    // Extended JSON writes numbers as text.
                    Value::Number(n) if key.starts_with("$number") => Value::String(n.to_string()),
                    Value::Number(n) if key == "$date" => {
                        serde_json::json!({"$numberLong": n.to_string()})
                    }
                    v => v.clone(),
                },
                None => Value::String(literal(&s).to_owned()),
            },
            Node::Object(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| Ok((k, fill(v, key, params)?)))
                    .collect::<Result<_, QueryError>>()?,
            ),
            Node::Array(a) => Value::Array(
                a.into_iter()
                    .map(|v| fill(v, key, params))
                    .collect::<Result<_, _>>()?,
            ),
            other => other.into_json(),
        })
    }
    let inner = fill(inner, &key, params)?;
    let mut m = Map::new();
    m.insert(key.clone(), inner);
    match Bson::try_from(Value::Object(m)) {
        Ok(Bson::Document(_)) | Err(_) => {
            Err(invalid(format!("{key}: not a valid Extended JSON value")))
        }
        Ok(b) => Ok(b),
    }
}

fn collection(n: Node, what: &str) -> Result<String, QueryError> {
    match n {
        Node::String(s)
            if !s.is_empty()
                && s.len() <= 255
                && !s.contains(['$', '\0'])
                && !s.starts_with("system.") =>
        {
            Ok(s)
        }
        _ => Err(invalid(format!(
            "`{what}` must name a collection (text without '$')"
        ))),
    }
}

fn document(n: Node, what: &str, params: &Map<String, Value>) -> Result<Document, QueryError> {
    match n {
        Node::Object(_) => match to_bson(n, params)? {
            Bson::Document(d) => Ok(d),
            _ => Err(invalid(format!("`{what}` must be a document"))),
        },
        _ => Err(invalid(format!("`{what}` must be a document"))),
    }
}

fn count(n: Node, what: &str, params: &Map<String, Value>) -> Result<u64, QueryError> {
    let bad = || invalid(format!("`{what}` must be a whole number, 0 or more"));
    match to_bson(n, params)? {
        Bson::Int32(i) => u64::try_from(i).map_err(|_| bad()),
        Bson::Int64(i) => u64::try_from(i).map_err(|_| bad()),
        Bson::Double(f) if f.fract() == 0.0 && (0.0..9.0e15).contains(&f) => Ok(f as u64),
        _ => Err(bad()),
    }
}

/// Reads the query text and puts `params` in.
pub fn parse(text: &str, params: &Map<String, Value>) -> Result<Command, QueryError> {
    let Node::Object(entries) = serde_json::from_str::<Node>(text).map_err(|e| {
        invalid(format!(
            "a MongoDB query is a JSON document such as {{\"find\": \"orders\", \"filter\": {{}}}} ({e})"
        ))
    })?
    else {
        return Err(invalid(
            "a MongoDB query is a JSON document such as {\"find\": \"orders\", \"filter\": {}}",
        ));
    };
    if let Some(stage) = Node::Object(entries.clone()).write_stage() {
        return Err(invalid(format!(
            "`{stage}` writes to a collection; a query only reads (write with the insert or \
             upsert operation)"
        )));
    }
    let mut find = None;
    let mut aggregate = None;
    let mut filter = None;
    let mut projection = None;
    let mut sort = None;
    let mut limit = None;
    let mut skip = None;
    let mut pipeline = None;
    for (k, v) in entries {
        let slot = match k.as_str() {
            "find" => &mut find,
            "aggregate" => &mut aggregate,
            "filter" => &mut filter,
            "projection" => &mut projection,
            "sort" => &mut sort,
            "limit" => &mut limit,
            "skip" => &mut skip,
            "pipeline" => &mut pipeline,
            other => {
                return Err(invalid(format!(
                    "unknown key `{other}` (one of: {})",
                    KEYS.join(", ")
                )))
            }
        };
        if slot.replace(v).is_some() {
            return Err(invalid(format!("`{k}` is given twice")));
        }
    }
    match (find, aggregate) {
        (Some(c), None) => {
            if pipeline.is_some() {
                return Err(invalid("`pipeline` belongs to an aggregate, not a find"));
            }
            Ok(Command::Find(Box::new(Find {
                collection: collection(c, "find")?,
                filter: filter
                    .map(|f| document(f, "filter", params))
                    .transpose()?
                    .unwrap_or_default(),
                projection: projection
                    .map(|p| document(p, "projection", params))
                    .transpose()?,
                sort: sort.map(|s| document(s, "sort", params)).transpose()?,
                limit: limit.map(|l| count(l, "limit", params)).transpose()?,
                skip: skip.map(|s| count(s, "skip", params)).transpose()?,
            })))
        }
        (None, Some(c)) => {
            if let Some(k) = [
                ("filter", &filter),
                ("projection", &projection),
                ("sort", &sort),
                ("limit", &limit),
                ("skip", &skip),
            ]
            .iter()
            .find_map(|(k, v)| v.is_some().then_some(*k))
            {
                return Err(invalid(format!(
                    "`{k}` belongs to a find; an aggregate says it with pipeline stages"
                )));
            }
            let Some(Node::Array(stages)) = pipeline else {
                return Err(invalid("`pipeline` must be an array of stages"));
            };
            Ok(Command::Aggregate {
                collection: collection(c, "aggregate")?,
                pipeline: stages
                    .into_iter()
                    .map(|s| document(s, "pipeline stage", params))
                    .collect::<Result<_, _>>()?,
            })
        }
        (Some(_), Some(_)) => Err(invalid("give either `find` or `aggregate`, not both")),
        (None, None) => Err(invalid(
            "the document needs `find` (a collection) or `aggregate` (a collection and a pipeline)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, oid::ObjectId, DateTime};
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_find_keeps_its_key_order_and_takes_typed_parameters() {
        let c = parse(
            r#"{"find": "orders", "filter": {"total": {"$gt": ":min"}, "region": ":region",
                "note": "::literal"},
                "projection": {"_id": 0, "total": 1}, "sort": {"total": -1, "customer": 1},
                "limit": ":n", "skip": 2}"#,
            &params(json!({"min": 10.5, "region": "eu", "n": 5})),
        )
        .unwrap();
        let Command::Find(f) = c else { panic!("{c:?}") };
        assert_eq!(f.collection, "orders");
        assert_eq!(
            f.filter,
            doc! {"total": {"$gt": 10.5}, "region": "eu", "note": ":literal"}
        );
        assert_eq!(f.projection, Some(doc! {"_id": 0, "total": 1}));
        let sort = f.sort.unwrap();
        assert_eq!(sort.keys().collect::<Vec<_>>(), ["total", "customer"]);
        assert_eq!((f.limit, f.skip), (Some(5), Some(2)));
    }

    #[test]
    fn hostile_parameters_stay_values() {
        let c = parse(
            r#"{"find": "x", "filter": {"name": ":name"}}"#,
            &params(json!({"name": "'; DROP TABLE x; --"})),
        )
        .unwrap();
        let Command::Find(f) = c else { panic!() };
        assert_eq!(f.filter, doc! {"name": "'; DROP TABLE x; --"});
        // An object with operators would change the query's meaning.
        let err = parse(
            r#"{"find": "x", "filter": {"name": ":name"}}"#,
            &params(json!({"name": {"$ne": null}})),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_sql");
        assert!(err.to_string().contains("parameter :name"), "{err}");
        // Keys are never parameters; a missing parameter is named.
        let err = parse(r#"{"find": "x", "filter": {":k": ":v"}}"#, &Map::new()).unwrap_err();
        assert_eq!(err, QueryError::MissingParameter("v".into()));
    }

    #[test]
    fn extended_json_gives_typed_values_also_from_parameters() {
        let id = "64b7f0c2a1b2c3d4e5f60718";
        let c = parse(
            r#"{"find": "x", "filter": {"_id": {"$oid": ":id"},
                "at": {"$gte": {"$date": ":since"}}, "n": {"$numberLong": ":big"},
                "d": {"$numberDecimal": "1.10"}}}"#,
            &params(json!({"id": id, "since": "2026-01-02T03:04:05Z", "big": 5})),
        )
        .unwrap();
        let Command::Find(f) = c else { panic!() };
        assert_eq!(
            f.filter.get("_id"),
            Some(&Bson::ObjectId(ObjectId::parse_str(id).unwrap()))
        );
        assert_eq!(
            f.filter.get_document("at").unwrap().get("$gte"),
            Some(&Bson::DateTime(DateTime::from_millis(1_767_323_045_000)))
        );
        assert_eq!(f.filter.get("n"), Some(&Bson::Int64(5)));
        assert!(matches!(f.filter.get("d"), Some(Bson::Decimal128(_))));
        let err = parse(
            r#"{"find": "x", "filter": {"_id": {"$oid": "nope"}}}"#,
            &Map::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("$oid"), "{err}");
    }

    #[test]
    fn an_aggregate_reads_and_write_stages_are_refused() {
        let c = parse(
            r#"{"aggregate": "orders", "pipeline": [
                {"$match": {"region": ":r"}}, {"$group": {"_id": "$customer", "n": {"$sum": 1}}},
                {"$sort": {"n": -1, "_id": 1}}]}"#,
            &params(json!({"r": "eu"})),
        )
        .unwrap();
        let Command::Aggregate {
            collection,
            pipeline,
        } = c
        else {
            panic!()
        };
        assert_eq!(collection, "orders");
        assert_eq!(pipeline.len(), 3);
        assert_eq!(pipeline[0], doc! {"$match": {"region": "eu"}});
        // Field paths such as "$customer" are text, not parameters.
        assert_eq!(
            pipeline[1],
            doc! {"$group": {"_id": "$customer", "n": {"$sum": 1}}}
        );
        for stage in [r#"{"$out": "copy"}"#, r#"{"$merge": {"into": "copy"}}"#] {
            let text =
                format!(r#"{{"aggregate": "orders", "pipeline": [{{"$match": {{}}}}, {stage}]}}"#);
            let err = parse(&text, &Map::new()).unwrap_err();
            assert!(err.to_string().contains("only reads"), "{err}");
        }
        // Hidden inside a sub-pipeline too.
        let err = parse(
            r#"{"aggregate": "o", "pipeline": [{"$facet": {"a": [{"$out": "c"}]}}]}"#,
            &Map::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("$out"), "{err}");
    }

    #[test]
    fn malformed_documents_say_what_is_wrong() {
        for (text, says) in [
            ("SELECT 1", "JSON document"),
            ("[1]", "JSON document"),
            (r#"{"find": "x", "update": {}}"#, "unknown key `update`"),
            (r#"{"filter": {}}"#, "needs `find`"),
            (r#"{"find": "x", "aggregate": "x"}"#, "not both"),
            (r#"{"find": "$x"}"#, "must name a collection"),
            (r#"{"find": "system.users"}"#, "must name a collection"),
            (
                r#"{"find": "x", "filter": 3}"#,
                "`filter` must be a document",
            ),
            (
                r#"{"find": "x", "limit": -1}"#,
                "`limit` must be a whole number",
            ),
            (
                r#"{"find": "x", "pipeline": []}"#,
                "belongs to an aggregate",
            ),
            (r#"{"aggregate": "x", "pipeline": {}}"#, "array of stages"),
            (
                r#"{"aggregate": "x", "pipeline": [], "sort": {}}"#,
                "belongs to a find",
            ),
        ] {
            let err = parse(text, &Map::new()).unwrap_err();
            assert_eq!(err.code(), "invalid_sql", "{text}");
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
    }
}
