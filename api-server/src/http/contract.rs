//! The parts of the OpenAPI contract every operation shares, added to the
//! merged document after all routes are collected, so an endpoint added
//! tomorrow documents them without its author remembering to:
//!
//! - every error answer uses the one [`ErrorBody`] schema;
//! - secured operations (a `security` requirement) can answer 401 and 403;
//! - JSON bodies can answer 400 (malformed), 413 (too large), 415 (not
//!   JSON) and 422 (well-formed but invalid);
//! - query parameters can answer 400 (unparseable) and 422 (out of range);
//! - path parameters can answer 404 (a malformed id names nothing);
//! - everything that reads the database can answer 503 while it is down.
//!
//! Each status is added only where the operation did not document it
//! itself, so a handler's own description wins.
//!
//! It also states constraints that live in shared code rather than in one
//! handler: the `page`/`perPage` bounds of [`super::extract::paging`], from
//! the same constants; and it keeps `additionalProperties: false` off types
//! the server extends (a response that flattens a strict request type adds
//! fields the strict type forbids).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The body of every 4xx and 5xx answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable `code` for programs, a `message` for people.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable, snake_case (`validation_failed`, `not_found`, …).
    pub code: String,
    pub message: String,
    /// Per-field errors (`validation_failed`: a list of `{field, message}`),
    /// graph problems, conflicts: any JSON value, absent when there are none.
    pub details: Option<serde_json::Value>,
}

/// Statuses and why they apply.
const SECURED: &[(&str, &str)] = &[
    ("401", "Missing, expired or revoked access token"),
    ("403", "The caller's role may not do this"),
];
const JSON_BODY: &[(&str, &str)] = &[
    ("400", "Malformed JSON"),
    ("413", "The body is larger than KATALUSIS_MAX_BODY_BYTES"),
    ("415", "The body is not `application/json`"),
    ("422", "The body is well-formed but invalid"),
];
const QUERY: &[(&str, &str)] = &[
    ("400", "A query parameter could not be parsed"),
    ("422", "A query parameter is out of range"),
];
const PATH: &[(&str, &str)] = &[("404", "Nothing with this id is visible to the caller")];
const ALWAYS: &[(&str, &str)] = &[("503", "The database is unreachable; retry later")];

/// `protected`: the document of the routes behind the authentication layer;
/// all of them are secured (and get the bearer requirement if they forgot
/// it), whatever their annotations say.
pub struct SharedResponses {
    pub protected: bool,
}

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut schemas = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
        ErrorBody::schemas(&mut schemas);
        schemas.push((ErrorDetail::name().into_owned(), ErrorDetail::schema()));
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }
        open_extended_types(components);
        for schema in components.schemas.values_mut() {
            widen_unsigned(schema);
        }
        let global_security = openapi.security.as_ref().is_some_and(|s| !s.is_empty());
        for item in openapi.paths.paths.values_mut() {
            for op in [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
                item.head.as_mut(),
                item.options.as_mut(),
                item.trace.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                if self.protected && op.security.as_ref().is_none_or(|s| s.is_empty()) {
                    op.security = Some(vec![SecurityRequirement::new(
                        "bearer",
                        Vec::<String>::new(),
                    )]);
                }
                add_shared(op, global_security);
                for p in op.parameters.iter_mut().flatten() {
                    if let Some(s) = &mut p.schema {
                        widen_unsigned(s);
                    }
                }
                if let Some(body) = &mut op.request_body {
                    for c in body.content.values_mut() {
                        if let Some(s) = &mut c.schema {
                            widen_unsigned(s);
                        }
                    }
                }
            }
        }
    }
}

/// In every `allOf` (how `#[serde(flatten)]` is described), replaces a
/// reference to a schema that forbids additional properties with a copy that
/// allows them: the other parts of the `allOf` are exactly such properties.
fn open_extended_types(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let strict = |s: &RefOr<Schema>| match s {
        RefOr::T(Schema::Object(o)) => matches!(
            o.additional_properties.as_deref(),
            Some(AdditionalProperties::FreeForm(false))
        ),
        _ => false,
    };
    let snapshot = components.schemas.clone();
    // Tagged enums put the `allOf` inside a `oneOf`: look there too.
    fn open(
        schema: &mut RefOr<Schema>,
        snapshot: &std::collections::BTreeMap<String, RefOr<Schema>>,
        strict: &dyn Fn(&RefOr<Schema>) -> bool,
    ) {
        match schema {
            RefOr::T(Schema::AllOf(all)) => {
                let resolve = |item: &RefOr<Schema>| match item {
                    RefOr::Ref(r) => snapshot
                        .get(r.ref_location.trim_start_matches("#/components/schemas/"))
                        .filter(|t| strict(t))
                        .cloned(),
                    _ => None,
                };
                // A strict type plus inline properties (a tag, flattened
                // fields) becomes one strict object with all of them, so the
                // document still forbids what the server forbids.
                let strict_parts: Vec<usize> = (0..all.items.len())
                    .filter(|&i| resolve(&all.items[i]).is_some())
                    .collect();
                let inline_rest = all.items.iter().enumerate().all(|(i, item)| {
                    strict_parts.contains(&i) || matches!(item, RefOr::T(Schema::Object(_)))
                });
                if strict_parts.len() == 1 && inline_rest {
                    let Some(RefOr::T(Schema::Object(mut merged))) =
                        resolve(&all.items[strict_parts[0]])
                    else {
                        return;
                    };
                    for (i, item) in all.items.iter().enumerate() {
                        if let (false, RefOr::T(Schema::Object(o))) = (i == strict_parts[0], item) {
                            merged.properties.extend(o.properties.clone());
                            merged.required.extend(o.required.iter().cloned());
                        }
                    }
                    if let Some(d) = all.description.clone() {
                        merged.description = Some(d);
                    }
                    *schema = RefOr::T(Schema::Object(merged));
                    return;
                }
                for item in &mut all.items {
                    if let Some(RefOr::T(Schema::Object(mut o))) = resolve(item) {
                        o.additional_properties = None;
                        *item = RefOr::T(Schema::Object(o));
                    }
                }
            }
            RefOr::T(Schema::OneOf(one)) => {
                for item in &mut one.items {
                    open(item, snapshot, strict);
                }
            }
            _ => {}
        }
    }
    for schema in components.schemas.values_mut() {
        open(schema, &snapshot, &strict);
    }
}

/// utoipa describes `u64` as `int64` with `minimum: 0` (and `u32` as
/// `int32`), which tells clients (and the fuzzer) that values above 2^63 - 1
/// (2^31 - 1) are invalid, while the server accepts every unsigned value of
/// the width. The document says what the server does: `uint64` up to
/// 2^64 - 1, `uint32` up to 2^32 - 1.
fn widen_unsigned(schema: &mut RefOr<utoipa::openapi::schema::Schema>) {
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayItems, KnownFormat, Schema, SchemaFormat, SchemaType, Type,
    };
    use utoipa::Number;
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            let integer = match &o.schema_type {
                SchemaType::Type(t) => *t == Type::Integer,
                SchemaType::Array(ts) => ts.contains(&Type::Integer),
                SchemaType::AnyValue => false,
            };
            let unsigned = match o.minimum {
                Some(Number::Int(0 | 1) | Number::UInt(0 | 1)) => true,
                Some(Number::Float(f)) => f == 0.0 || f == 1.0,
                _ => false,
            };
            if integer && unsigned {
                match o.format {
                    Some(SchemaFormat::KnownFormat(KnownFormat::Int64)) => {
                        o.format = Some(SchemaFormat::Custom("uint64".into()));
                        o.maximum.get_or_insert(Number::UInt(u64::MAX as usize));
                    }
                    Some(SchemaFormat::KnownFormat(KnownFormat::Int32)) => {
                        o.format = Some(SchemaFormat::Custom("uint32".into()));
                        o.maximum.get_or_insert(Number::UInt(u32::MAX as usize));
                    }
                    _ => {}
                }
            }
            for p in o.properties.values_mut() {
                widen_unsigned(p);
            }
            if let Some(AdditionalProperties::RefOr(s)) = o.additional_properties.as_deref_mut() {
                widen_unsigned(s);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                widen_unsigned(items);
            }
        }
        Schema::AllOf(all) => all.items.iter_mut().for_each(widen_unsigned),
        Schema::OneOf(one) => one.items.iter_mut().for_each(widen_unsigned),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(widen_unsigned),
        _ => {}
    }
}

/// `page` and `perPage` query parameters get the bounds `paging` enforces.
fn bound_paging(op: &mut Operation) {
    use super::extract::{MAX_PAGE, MAX_PER_PAGE};
    use utoipa::openapi::schema::Schema;
    for p in op.parameters.iter_mut().flatten() {
        let max = match (&p.parameter_in, p.name.as_str()) {
            (ParameterIn::Query, "page") => MAX_PAGE,
            (ParameterIn::Query, "perPage") => MAX_PER_PAGE,
            _ => continue,
        };
        if let Some(RefOr::T(Schema::Object(o))) = &mut p.schema {
            o.minimum = Some(utoipa::Number::UInt(1));
            o.maximum = Some(utoipa::Number::UInt(max as usize));
        }
    }
}

fn add_shared(op: &mut Operation, global_security: bool) {
    bound_paging(op);
    let secured = match &op.security {
        // `security: []` on an operation opts out of a global requirement.
        Some(reqs) => !reqs.is_empty(),
        None => global_security,
    };
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.keys().any(|k| k.contains("json")));
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |at: ParameterIn| {
        params
            .iter()
            .any(|p| std::mem::discriminant(&p.parameter_in) == std::mem::discriminant(&at))
    };
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    if secured {
        wanted.extend_from_slice(SECURED);
    }
    if json_body {
        wanted.extend_from_slice(JSON_BODY);
    }
    if has(ParameterIn::Query) {
        wanted.extend_from_slice(QUERY);
    }
    if has(ParameterIn::Path) {
        wanted.extend_from_slice(PATH);
    }
    wanted.extend_from_slice(ALWAYS);
    let error_ref = || {
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
            .build()
    };
    for (status, why) in wanted {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(why)
                        .content("application/json", error_ref())
                        .build(),
                )
            });
    }
    // Errors a handler documented by status alone get the shared body too.
    for (status, resp) in op.responses.responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(r)) = (is_error, resp) {
            if r.content.is_empty() {
                r.content.insert("application/json".into(), error_ref());
            }
        }
    }
}
