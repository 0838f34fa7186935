//! Prometheus metrics (`prometheus-client`), served on their own listener
//! (`KATALUSIS_METRICS_ADDR`), never on the public API port: the numbers
//! name routes and volumes an outsider has no business seeing, and a
//! separate port is something a NetworkPolicy or a firewall can fence without
//! teaching the API a second kind of credential.
//!
//! Three sources feed one registry:
//! - the HTTP middleware ([`track_http`]): requests by matched route
//!   template (never the raw path, which would explode the label set with
//!   ids) and status, with a latency histogram, and open SSE streams;
//! - a task following the executor's event feed ([`spawn_node_observer`]):
//!   node durations by final phase and failures by reason;
//! - values read at scrape time ([`render`]): runs by phase, the run queue,
//!   warm sandboxes and the database pool.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// The exposition format's content type (OpenMetrics text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of requests no route matched (SPA files, 404s): one
/// value, so scanning for random paths cannot grow the label set.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    // 5 ms … ~10 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

fn node_histogram() -> Histogram {
    // 10 ms … ~3 h: nodes range from a formula to a long import.
    Histogram::new(exponential_buckets(0.01, 4.0, 11))
}

/// Every metric of the API server; cheap to share through `AppState`.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<HttpLabels>,
    sse_subscribers: Gauge,
    node_duration: HistogramFamily<PhaseLabels>,
    node_failures: Family<ReasonLabels, Counter>,
    runs: Family<PhaseLabels, Gauge>,
    run_queue: Gauge,
    warm_sandboxes: Gauge,
    db_connections: Family<PoolLabels, Gauge>,
    db_max_connections: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("katalusis");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily<HttpLabels> =
            Family::new_with_constructor(http_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by route template and status",
            http_duration.clone(),
        );
        let sse_subscribers = Gauge::default();
        registry.register(
            "sse_subscribers",
            "Open server-sent event streams",
            sse_subscribers.clone(),
        );
        let node_duration: HistogramFamily<PhaseLabels> =
            Family::new_with_constructor(node_histogram);
        registry.register(
            "node_duration_seconds",
            "Node attempts that reached a final phase, by phase",
            node_duration.clone(),
        );
        let node_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "node_failures",
            "Nodes that failed, by failure reason",
            node_failures.clone(),
        );
        let runs = Family::<PhaseLabels, Gauge>::default();
        registry.register("runs", "Runs stored, by phase", runs.clone());
        let run_queue = Gauge::default();
        registry.register(
            "run_queue_depth",
            "Runs waiting for their first node to start",
            run_queue.clone(),
        );
        let warm_sandboxes = Gauge::default();
        registry.register(
            "warm_sandboxes",
            "Started, unused sandboxed runner pools kept ready for the next run",
            warm_sandboxes.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database pool connections, by state (idle or in use)",
            db_connections.clone(),
        );
        let db_max_connections = Gauge::default();
        registry.register(
            "db_max_connections",
            "The database pool's size limit",
            db_max_connections.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            sse_subscribers,
            node_duration,
            node_failures,
            runs,
            run_queue,
            warm_sandboxes,
            db_connections,
            db_max_connections,
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn observe_http(&self, labels: HttpLabels, seconds: f64) {
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration.get_or_create(&labels).observe(seconds);
    }

    /// Records a node that reached a final phase (from its `node` event).
    pub fn observe_node(&self, phase: &str, reason: Option<&str>, seconds: Option<f64>) {
        if let Some(s) = seconds {
            self.node_duration
                .get_or_create(&PhaseLabels {
                    phase: phase.to_owned(),
                })
                .observe(s);
        }
        if phase == katalusis_crds::plan::NodePhase::Failed.as_str() {
            self.node_failures
                .get_or_create(&ReasonLabels {
                    reason: reason.unwrap_or("unknown").to_owned(),
                })
                .inc();
        }
    }

    /// An open SSE stream; the gauge goes down when the guard is dropped.
    fn sse_guard(&self) -> SseGuard {
        self.sse_subscribers.inc();
        SseGuard(self.sse_subscribers.clone())
    }

    /// Open SSE streams right now.
    pub fn sse_subscribers(&self) -> i64 {
        self.sse_subscribers.get()
    }

    /// The exposition without refreshing the scrape-time values.
    pub fn exposition(&self) -> String {
        self.encode().unwrap_or_default()
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

struct SseGuard(Gauge);

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Counts every answered request by its route template. Added with
/// `Router::layer`, so it runs inside routing and sees `MatchedPath`; routes
/// added later inherit it.
pub async fn track_http(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    state.metrics.observe_http(
        HttpLabels {
            method,
            route,
            status,
        },
        started.elapsed().as_secs_f64(),
    );
    let is_sse = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !is_sse {
        return resp;
    }
    // The stream lives as long as its body: hold the guard inside it.
    let guard = state.metrics.sse_guard();
    let (parts, body) = resp.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _ = &guard;
        chunk
    });
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// Follows the executor's event feed and records nodes that end. A lagging
/// receiver skips events (the counters are then a lower bound) rather than
/// slowing the runs down.
pub fn spawn_node_observer(state: &AppState) {
    let mut rx = state.executor.subscribe();
    let metrics = state.metrics.clone();
    let stopped = state.executor.stopped();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        tokio::pin!(stopped);
        loop {
            let ev = tokio::select! {
                ev = rx.recv() => ev,
                _ = &mut stopped => return,
            };
            match ev {
                Ok(ev) if ev.kind == crate::executor::events::kind::NODE && !ev.peer => {
                    let Some(phase) = ev.data["status"]
                        .as_str()
                        .and_then(|s| s.parse::<katalusis_crds::plan::NodePhase>().ok())
                        .filter(|p| p.is_terminal())
                    else {
                        continue;
                    };
                    let seconds = ev.data["durationMs"].as_f64().map(|ms| ms / 1000.0);
                    metrics.observe_node(phase.as_str(), ev.data["reason"].as_str(), seconds);
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// Reads the values that are cheaper to look up than to track, then encodes.
async fn render(state: &AppState) -> anyhow::Result<String> {
    let m = &state.metrics;
    let counts = crate::db::runs::count_by_phase(&state.db).await?;
    m.runs.clear();
    let mut queued = 0;
    for (phase, n) in counts {
        if phase == katalusis_crds::plan::RunPhase::Pending {
            queued = n;
        }
        m.runs
            .get_or_create(&PhaseLabels {
                phase: phase.as_str().to_owned(),
            })
            .set(n);
    }
    m.run_queue.set(queued);
    m.warm_sandboxes
        .set(i64::try_from(state.executor.warm_sandboxes()).unwrap_or(i64::MAX));
    let size = i64::from(state.db.size());
    let idle = i64::try_from(state.db.num_idle()).unwrap_or(i64::MAX);
    m.db_connections
        .get_or_create(&PoolLabels { state: "idle" })
        .set(idle);
    m.db_connections
        .get_or_create(&PoolLabels { state: "in_use" })
        .set((size - idle).max(0));
    m.db_max_connections
        .set(i64::from(state.settings.db_max_connections));
    Ok(m.encode()?)
}

async fn metrics_handler(State(state): State<AppState>) -> Response {
    match render(&state).await {
        Ok(body) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            body,
        )
            .into_response(),
        Err(e) => crate::error::ApiError::Internal(e).into_response(),
    }
}

/// The router of the metrics listener: `/metrics` only.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics_handler))
        .with_state(state)
}
