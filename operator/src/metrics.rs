//! Prometheus metrics in the text exposition format, and the `/metrics` and
//! `/healthz` HTTP endpoints.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// Upper bounds of the reconcile duration histogram, in seconds.
const BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Operator metrics. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    reconciles: AtomicU64,
    errors: AtomicU64,
    /// Histogram counts per bucket (cumulative when rendered), then +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of durations in microseconds.
    duration_sum_us: AtomicU64,
    /// Active node Pods per Run (`namespace/name`).
    running_pods: Mutex<HashMap<String, u32>>,
    leader: AtomicBool,
}

impl Metrics {
    /// A shareable, empty set of metrics.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records one reconcile and how long it took.
    pub fn observe_reconcile(&self, took: Duration) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let index = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.duration_sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// Records a failed reconcile.
    pub fn observe_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
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
    }

    /// Records whether this replica holds the leader Lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// Total reconciles so far.
    pub fn reconciles(&self) -> u64 {
        self.reconciles.load(Ordering::Relaxed)
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let reconciles = self.reconciles.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP katalusis_operator_reconciles_total Run reconciles."
        );
        let _ = writeln!(out, "# TYPE katalusis_operator_reconciles_total counter");
        let _ = writeln!(out, "katalusis_operator_reconciles_total {reconciles}");
        let _ = writeln!(
            out,
            "# HELP katalusis_operator_reconcile_errors_total Run reconciles that failed."
        );
        let _ = writeln!(
            out,
            "# TYPE katalusis_operator_reconcile_errors_total counter"
        );
        let _ = writeln!(
            out,
            "katalusis_operator_reconcile_errors_total {}",
            self.errors.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP katalusis_operator_reconcile_duration_seconds Time per reconcile."
        );
        let _ = writeln!(
            out,
            "# TYPE katalusis_operator_reconcile_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "katalusis_operator_reconcile_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "katalusis_operator_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.duration_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "katalusis_operator_reconcile_duration_seconds_sum {sum}"
        );
        let _ = writeln!(
            out,
            "katalusis_operator_reconcile_duration_seconds_count {cumulative}"
        );
        let running: u32 = self
            .running_pods
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .sum();
        let _ = writeln!(
            out,
            "# HELP katalusis_operator_running_pods Active node Pods."
        );
        let _ = writeln!(out, "# TYPE katalusis_operator_running_pods gauge");
        let _ = writeln!(out, "katalusis_operator_running_pods {running}");
        let _ = writeln!(
            out,
            "# HELP katalusis_operator_leader 1 while this replica holds the Lease."
        );
        let _ = writeln!(out, "# TYPE katalusis_operator_leader gauge");
        let _ = writeln!(
            out,
            "katalusis_operator_leader {}",
            u8::from(self.leader.load(Ordering::Relaxed))
        );
        out
    }
}

async fn metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
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
        assert!(
            text.contains("katalusis_operator_reconciles_total 2\n"),
            "{text}"
        );
        assert!(text.contains("katalusis_operator_reconcile_errors_total 1\n"));
        assert!(text.contains("_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("katalusis_operator_running_pods 2\n"));
        assert!(text.contains("katalusis_operator_leader 0\n"));
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
        let metrics = get("/metrics").await;
        assert!(
            metrics.contains("katalusis_operator_reconciles_total 1"),
            "{metrics}"
        );
        server.abort();
    }
}
