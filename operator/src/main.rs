//! katalusis-operator: reconciles `Run` resources into one Pod per node.
//!
//! Configuration: environment variables read once at start by
//! [`Settings::from_env`] (see `config.rs` for the list and defaults).

use anyhow::Context as _;
use katalusis_operator::config::Settings;
use katalusis_operator::controller::{self, Context};
use katalusis_operator::leader::run_as_leader;
use katalusis_operator::metrics::{self, Metrics};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("katalusis-operator {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let settings = Settings::from_env()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&settings.log_filter)
                .context("KATALUSIS_LOG")?,
        )
        .json()
        .init();
    let bind = settings.metrics_bind;
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

    let ctx = Context::new(client.clone(), settings.controller, metrics.clone());
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
    if let Some(lease) = settings.lease {
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
