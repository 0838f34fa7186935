//! katalusis-operator: reconciles `Run` resources into one Pod per node.
//!
//! Configuration (environment, read once at start):
//!
//! | variable | default |
//! |---|---|
//! | `KATALUSIS_RUNNER_IMAGE` | `katalusis/runner:dev` |
//! | `KATALUSIS_IMAGE_ALLOW_LIST` | empty (comma-separated images templates may name) |
//! | `KATALUSIS_INGEST_URL` | `http://katalusis-api:8080/internal` |
//! | `KATALUSIS_IMAGE_PULL_POLICY` | `IfNotPresent` |
//! | `KATALUSIS_TMP_SIZE_MIB` | `256` |
//! | `KATALUSIS_DEADLINE_GRACE_SECONDS` | `30` |
//! | `KATALUSIS_MAX_PODS_PER_NAMESPACE` | `50` |
//! | `KATALUSIS_WATCH_NAMESPACE` | empty: all namespaces |
//! | `KATALUSIS_METRICS_BIND` | `0.0.0.0:8081` |
//! | `KATALUSIS_LEADER_ELECTION` | `true` |
//! | `POD_NAME`, `POD_NAMESPACE` | Lease identity and namespace (downward API) |

use std::time::Duration;

use anyhow::Context as _;
use katalusis_operator::controller::{self, Context, Settings};
use katalusis_operator::leader::{run_as_leader, LeaseSettings};
use katalusis_operator::metrics::{self, Metrics};
use katalusis_operator::pods::PodSettings;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={v:?} is invalid: {e}")),
    }
}

fn settings() -> anyhow::Result<Settings> {
    let defaults = PodSettings::default();
    Ok(Settings {
        pods: PodSettings {
            runner_image: var("KATALUSIS_RUNNER_IMAGE").unwrap_or(defaults.runner_image),
            image_allow_list: var("KATALUSIS_IMAGE_ALLOW_LIST")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            ingest_url: var("KATALUSIS_INGEST_URL").unwrap_or(defaults.ingest_url),
            tmp_size_limit_mib: parse_var("KATALUSIS_TMP_SIZE_MIB", defaults.tmp_size_limit_mib)?,
            deadline_grace_seconds: parse_var(
                "KATALUSIS_DEADLINE_GRACE_SECONDS",
                defaults.deadline_grace_seconds,
            )?,
            image_pull_policy: var("KATALUSIS_IMAGE_PULL_POLICY")
                .unwrap_or(defaults.image_pull_policy),
        },
        max_pods_per_namespace: parse_var("KATALUSIS_MAX_PODS_PER_NAMESPACE", 50)?,
        namespace: var("KATALUSIS_WATCH_NAMESPACE"),
        instance: var("POD_NAME"),
        ..Settings::default()
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KATALUSIS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .json()
        .init();
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("katalusis-operator {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let settings = settings()?;
    let bind: std::net::SocketAddr = parse_var("KATALUSIS_METRICS_BIND", "0.0.0.0:8081".parse()?)?;
    let leader_election: bool = parse_var("KATALUSIS_LEADER_ELECTION", true)?;
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API")?;
    let metrics = Metrics::new();

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let router = metrics::router(metrics.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    tracing::info!(%bind, "serving /metrics and /healthz");

    let ctx = Context::new(client.clone(), settings, metrics.clone());
    // SIGTERM (Kubernetes) or Ctrl-C stops the controller gracefully.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
        let _ = stop.send(());
    });
    let shutdown = async move {
        let _ = stopped.await;
    };
    if leader_election {
        let lease = LeaseSettings {
            name: "katalusis-operator".into(),
            namespace: var("POD_NAMESPACE").unwrap_or_else(|| "default".into()),
            identity: var("POD_NAME").unwrap_or_else(|| format!("operator-{}", std::process::id())),
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        };
        run_as_leader(client, lease, metrics, async move {
            controller::run(ctx, shutdown).await;
            Ok(())
        })
        .await
    } else {
        metrics.set_leader(true);
        controller::run(ctx, shutdown).await;
        Ok(())
    }
}
