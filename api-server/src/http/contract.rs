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
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::AllOf(all)) = schema else {
            continue;
        };
        for item in &mut all.items {
            let RefOr::Ref(r) = item else { continue };
            let name = r.ref_location.trim_start_matches("#/components/schemas/");
            if let Some(target) = snapshot.get(name).filter(|t| strict(t)) {
                let mut open = target.clone();
                if let RefOr::T(Schema::Object(o)) = &mut open {
                    o.additional_properties = None;
                }
                *item = open;
            }
        }
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
