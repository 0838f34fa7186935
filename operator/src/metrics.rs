//! Prometheus metrics (`prometheus-client`, the same library as the API
//! server) and the `/metrics` and `/healthz` HTTP endpoints.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub mod exposition;

/// Upper bounds of the reconcile duration histogram, in seconds.
const BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// The exposition format's content type (OpenMetrics text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Operator metrics. Cheap to update from any task.
pub struct Metrics {
    registry: Registry,
    reconciles: Counter,
    errors: Counter,
    duration: Histogram,
    running: Gauge,
    /// Active node Pods per Run (`namespace/name`), summed into `running`.
    running_pods: Mutex<HashMap<String, u32>>,
    leader: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("reconciles", &self.reconciles.get())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("katalusis_operator");
        let reconciles = Counter::default();
        registry.register("reconciles", "Run reconciles", reconciles.clone());
        let errors = Counter::default();
        registry.register(
            "reconcile_errors",
            "Run reconciles that failed",
            errors.clone(),
        );
        let duration = Histogram::new(BUCKETS);
        registry.register(
            "reconcile_duration_seconds",
            "Time per reconcile",
            duration.clone(),
        );
        let running = Gauge::default();
        registry.register("running_pods", "Active node Pods", running.clone());
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the Lease",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            errors,
            duration,
            running,
            running_pods: Mutex::default(),
            leader,
        }
    }
}

impl Metrics {
    /// A shareable, empty set of metrics.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records one reconcile and how long it took.
    pub fn observe_reconcile(&self, took: Duration) {
        self.reconciles.inc();
        self.duration.observe(took.as_secs_f64());
    }

    /// Records a failed reconcile.
    pub fn observe_error(&self) {
        self.errors.inc();
    }

    /// Sets the number of active node Pods of one Run (0 removes it).
    pub fn set_running_pods(&self, run_key: &str, pods: u32) {
        let mut map = self
            .running_pods
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pods == 0 {
            map.remove(run_key);
        } else {
            map.insert(run_key.to_owned(), pods);
        }
        self.running
            .set(map.values().map(|&n| i64::from(n)).sum::<i64>());
    }

    /// Records whether this replica holds the leader Lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Total reconciles so far.
    pub fn reconciles(&self) -> u64 {
        self.reconciles.get()
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

async fn metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// The `/metrics` and `/healthz` router.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(self::metrics))
        .route("/healthz", get(healthz))
        .with_state(metrics)
}

#[cfg(test)]
mod tests {
    use super::exposition::{parse, MetricType};
    use super::*;

    #[test]
    fn render_counts_reconciles_errors_buckets_and_running_pods() {
        let m = Metrics::default();
        m.observe_reconcile(Duration::from_millis(3));
        m.observe_reconcile(Duration::from_millis(30));
        m.observe_error();
        m.set_running_pods("default/a", 2);
        m.set_running_pods("default/b", 1);
        m.set_running_pods("default/b", 0);
        let text = m.render();
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            parsed.family("katalusis_operator_reconciles").unwrap().kind,
            MetricType::Counter
        );
        assert_eq!(
            parsed.value("katalusis_operator_reconciles_total", &[]),
            Some(2.0)
        );
        assert_eq!(
            parsed.value("katalusis_operator_reconcile_errors_total", &[]),
            Some(1.0)
        );
        let bucket = "katalusis_operator_reconcile_duration_seconds_bucket";
        assert_eq!(parsed.value(bucket, &[("le", "0.005")]), Some(1.0));
        assert_eq!(parsed.value(bucket, &[("le", "0.05")]), Some(2.0));
        assert_eq!(parsed.value(bucket, &[("le", "+Inf")]), Some(2.0));
        assert_eq!(
            parsed.value("katalusis_operator_running_pods", &[]),
            Some(2.0)
        );
        assert_eq!(parsed.value("katalusis_operator_leader", &[]), Some(0.0));
        m.set_leader(true);
        let parsed = parse(&m.render()).unwrap();
        assert_eq!(parsed.value("katalusis_operator_leader", &[]), Some(1.0));
    }

    #[tokio::test]
    async fn healthz_and_metrics_are_served() {
        let m = Metrics::new();
        m.observe_reconcile(Duration::from_millis(1));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router(m)).await });
        let get = |path: &'static str| async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
            let mut buf = String::new();
            s.read_to_string(&mut buf).await.unwrap();
            buf
        };
        let health = get("/healthz").await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        let resp = get("/metrics").await;
        assert!(resp.contains("application/openmetrics-text"), "{resp}");
        let (_, body) = resp.split_once("\r\n\r\n").unwrap();
        let parsed = parse(body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        assert_eq!(
            parsed.value("katalusis_operator_reconciles_total", &[]),
            Some(1.0)
        );
        server.abort();
    }
}
