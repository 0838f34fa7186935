//! The router: one module per resource. Every route is authenticated by a
//! layer unless it is in the short public list in [`api`]; handlers add role
//! checks with the `RequireRole` extractor and scope with `ClientScope`.

pub mod assignments;
pub mod audit;
pub mod auth;
pub mod contract;
pub mod extract;
pub mod headers;
pub mod health;
pub mod internal;
pub mod runs;
pub mod sessions;
pub mod settings;
pub mod storage;
mod strict_json;
pub mod templates;
pub mod users;
pub mod workflows;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Katalusis API", description = "Self-hosted workflow platform"),
    modifiers(&BearerAuth),
    // Referenced from schemas built by hand (`schema_with`), which utoipa
    // does not follow to collect their components.
    components(schemas(katalusis_import::Source)),
    tags(
        (name = "auth"), (name = "users"), (name = "assignments"), (name = "templates"),
        (name = "workflows"), (name = "runs"), (name = "audit"), (name = "settings"), (name = "tasks"),
        (name = "notifications"), (name = "connections"), (name = "approvals"),
        (name = "triggers"), (name = "analytics"), (name = "ai"), (name = "health")
    )
)]
struct ApiDoc;

struct BearerAuth;
impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The API routes, unprotected (the caller adds the authentication layer),
/// with their OpenAPI description.
struct Routes {
    public: Router<AppState>,
    protected: Router<AppState>,
    doc: utoipa::openapi::OpenApi,
}

/// Every API route plus `extra`, which is protected like every other
/// non-public route (tests use it to prove that a new route without an
/// extractor is still refused to anonymous callers).
fn routes(extra: OpenApiRouter<AppState>) -> Routes {
    let (protected, mut protected_doc) = protected_routes().merge(extra).split_for_parts();
    contract::SharedResponses { protected: true }.modify(&mut protected_doc);
    // The public list: everything else is behind the authentication layer.
    let (public, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .merge(crate::triggers::public_routes())
        .split_for_parts();
    let (health, mut health_doc) = OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .split_for_parts();
    contract::SharedResponses { protected: false }.modify(&mut doc);
    contract::SharedResponses { protected: false }.modify(&mut health_doc);
    doc.merge(protected_doc);
    doc.merge(health_doc);
    Routes {
        public: public.merge(health),
        protected,
        doc,
    }
}

/// Runs the `CurrentUser` extractor for every protected route, whether or not
/// its handler asks for the user; the user is cached in the request, so
/// handlers that do ask pay nothing more.
async fn require_user(
    _user: crate::auth::CurrentUser,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    next.run(req).await
}

/// Every route that needs an authenticated caller.
fn protected_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(sessions::list_own))
        .routes(routes!(sessions::revoke_own))
        .routes(routes!(sessions::list_for_user, sessions::revoke_for_user))
        .routes(routes!(users::create, users::list))
        .routes(routes!(users::get, users::update, users::deactivate))
        .routes(routes!(users::reset_password))
        .routes(routes!(assignments::link, assignments::unlink))
        .routes(routes!(assignments::clients_of_manager))
        .routes(routes!(assignments::managers_of_client))
        .routes(routes!(assignments::my_clients))
        .routes(routes!(templates::list, templates::create))
        .routes(routes!(templates::get, templates::save, templates::delete))
        .routes(routes!(templates::versions))
        .routes(routes!(templates::version))
        .routes(routes!(templates::test))
        .routes(routes!(workflows::list, workflows::create))
        .routes(routes!(workflows::validate))
        .routes(routes!(
            workflows::get,
            workflows::update,
            workflows::delete
        ))
        .routes(routes!(workflows::revisions))
        .routes(routes!(workflows::revision))
        .routes(routes!(workflows::copy))
        .routes(routes!(runs::play::start))
        .routes(routes!(runs::read::list))
        .routes(routes!(runs::read::get, runs::read::update))
        .routes(routes!(runs::read::cancel))
        .routes(routes!(runs::downloads::logs))
        .routes(routes!(runs::downloads::output))
        .routes(routes!(runs::live::events))
        .routes(routes!(runs::live::dashboard))
        .routes(routes!(audit::list))
        .routes(routes!(settings::get_modules, settings::put_modules))
        .routes(routes!(settings::get_webhooks, settings::put_webhooks))
        .routes(routes!(settings::get_limits))
        .routes(routes!(storage::get))
        .merge(crate::library::router())
        .merge(crate::tasks::routes())
        .merge(crate::analytics::routes())
        .merge(crate::imports::routes())
        .merge(crate::notifications::routes())
        .merge(crate::connections::routes())
        .merge(crate::approvals::routes())
        .merge(crate::triggers::routes())
        .merge(crate::workflow_templates::routes())
        .merge(crate::ai::routes())
        .merge(crate::manifests::routes())
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    routes(OpenApiRouter::new()).doc
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Paths that belong to the API: never answered with the SPA's index.html.
fn is_api_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path.starts_with("/internal/")
        || path == "/healthz"
        || path == "/readyz"
}

/// Fallback when a web directory is configured: static files from the build,
/// `index.html` for any other GET (client-side routes), JSON 404 for the API.
type ResponseFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = axum::response::Response> + Send>>;

fn spa_fallback(
    dir: &std::path::Path,
) -> impl Fn(axum::extract::Request) -> ResponseFuture + Clone + Send + Sync + 'static {
    use tower::ServiceExt;
    use tower_http::services::{ServeDir, ServeFile};
    let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    move |req: axum::extract::Request| {
        let files = files.clone();
        Box::pin(async move {
            let path = req.uri().path().to_owned();
            if is_api_path(&path) || !matches!(*req.method(), Method::GET | Method::HEAD) {
                return ApiError::NotFound.into_response();
            }
            let mut resp = files.oneshot(req).await.into_response();
            // Vite puts content hashes in asset names, so they never change.
            if path.starts_with("/assets/") && resp.status().is_success() {
                resp.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            } else {
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            }
            resp
        })
    }
}

pub fn router(state: AppState) -> Router {
    router_with(state, OpenApiRouter::new())
}

/// [`router`] with extra protected routes (see [`routes`]).
pub fn router_with(state: AppState, extra: OpenApiRouter<AppState>) -> Router {
    let Routes {
        public,
        protected,
        doc,
    } = routes(extra);
    let protected = protected.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        require_user,
    ));
    let api = public.merge(protected);
    let doc_json = serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into());
    let x_request_id = HeaderName::from_static("x-request-id");
    let api = match &state.settings.web_dir {
        Some(dir) => api.fallback(spa_fallback(dir)),
        None => api.fallback(not_found),
    };
    let mut api = api
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let body = doc_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
            }),
        )
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audit::middleware,
        ))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        // A `Router::layer`, so it runs per route and sees `MatchedPath`.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track_http,
        ));
    if state.executor.cluster().is_some() {
        api = api.merge(internal::routes(&state));
    }
    let api = headers::apply(api.with_state(state.clone()), state.settings.tls.is_some());
    let mut app = api
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid));
    if !state.settings.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = state
            .settings
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .max_age(Duration::from_secs(600)),
        );
    }
    app
}
