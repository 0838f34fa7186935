//! Katalusis API server: HTTP API over MySQL, authentication and authorization.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod executor;
pub mod http;
pub mod imports;
pub mod library;
pub mod live;
pub mod notifications;
pub mod runs;
pub mod state;
pub mod tasks;

use std::sync::Arc;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{ConnectOptions, MySqlPool};
use std::time::Duration;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::Hasher;
use crate::config::{Environment, Settings};
use crate::state::AppState;

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Whether every migration this build carries has been applied.
pub async fn migrations_applied(db: &MySqlPool) -> Result<bool, sqlx::Error> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(db)
            .await?;
    Ok(MIGRATOR.iter().all(|m| applied.contains(&m.version)))
}

/// Connects, creating the database first if it does not exist yet. While the
/// database server cannot be reached, waits and retries with backoff (at most
/// `KATALUSIS_DB_STARTUP_WAIT_SECONDS`, by default until it answers), so the
/// platform can start before its database does.
pub async fn connect(settings: &Settings) -> anyhow::Result<MySqlPool> {
    let started = tokio::time::Instant::now();
    let limit = settings.db_startup_wait_seconds.map(Duration::from_secs);
    let mut delay = Duration::from_millis(250);
    loop {
        match connect_once(settings).await {
            Ok(pool) => return Ok(pool),
            Err(e) => {
                let unreachable = db::is_outage(&e);
                let waited = started.elapsed();
                if !unreachable || limit.is_some_and(|l| waited + delay > l) {
                    return Err(e);
                }
                tracing::warn!(
                    error = format!("{e:#}"),
                    retry_in_ms = delay.as_millis() as u64,
                    waited_s = waited.as_secs(),
                    "the database is not reachable yet; waiting for it"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn connect_once(settings: &Settings) -> anyhow::Result<MySqlPool> {
    let opts: MySqlConnectOptions = settings
        .database_url
        .expose()
        .parse()
        .context("DATABASE_URL is not a valid MySQL URL")?;
    let opts = opts
        .log_statements(tracing::log::LevelFilter::Trace)
        .charset("utf8mb4");
    if let Some(name) = opts.get_database().map(str::to_string) {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            anyhow::bail!("DATABASE_URL: database name must be letters, digits and '_'");
        }
        let server = opts.clone().database("");
        let mut conn = server
            .connect()
            .await
            .context("connecting to the database server")?;
        sqlx::query(&format!(
            "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .execute(&mut conn)
        .await
        .context("creating the database")?;
    }
    MySqlPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(Duration::from_millis(settings.db_acquire_timeout_ms))
        .connect_with(opts)
        .await
        .context("connecting to the database")
}

/// Builds the shared state; generates a per-start JWT secret in dev mode.
pub fn state(db: MySqlPool, settings: Settings) -> anyhow::Result<AppState> {
    state_with(db, settings, None)
}

/// Builds the shared state; `kubernetes` executor mode needs `client`.
pub fn state_with(
    db: MySqlPool,
    settings: Settings,
    client: Option<kube::Client>,
) -> anyhow::Result<AppState> {
    let secret = match &settings.jwt_secret {
        Some(s) => s.expose().as_bytes().to_vec(),
        None => {
            debug_assert!(settings.env == Environment::Dev);
            tracing::warn!("KATALUSIS_JWT_SECRET is not set: using a random secret; tokens end with this process");
            let mut b = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
            b.to_vec()
        }
    };
    let keys = JwtKeys::new(&secret, settings.access_token_ttl_seconds);
    let hasher = Hasher::new(settings.argon2_memory_kib, settings.argon2_iterations)?;
    let settings = Arc::new(settings);
    let executor = match (settings.executor, client) {
        (config::ExecutorMode::Local, _) => executor::Executor::new(db.clone(), settings.clone()),
        (config::ExecutorMode::Kubernetes, Some(client)) => {
            executor::Executor::with_cluster(db.clone(), settings.clone(), client)
        }
        (config::ExecutorMode::Kubernetes, None) => {
            anyhow::bail!("KATALUSIS_EXECUTOR=kubernetes needs a Kubernetes client")
        }
    };
    let mailer = match &settings.smtp_url {
        Some(url) => Some(notifications::service::Mailer::new(
            url.expose(),
            &settings.smtp_from,
        )?),
        None => None,
    };
    Ok(AppState {
        db,
        keys,
        hasher,
        settings,
        executor,
        live: live::LiveBus::default(),
        mailer,
    })
}

pub fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match settings.log_format {
        config::LogFormat::Json => builder.json().flatten_event(true).try_init(),
        config::LogFormat::Pretty => builder.try_init(),
    };
}

/// Runs migrations, bootstraps the admin and serves until Ctrl-C / SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let db = connect(&settings).await?;
    MIGRATOR.run(&db).await.context("applying migrations")?;
    let client = match settings.executor {
        config::ExecutorMode::Local => None,
        // In a Pod: the ServiceAccount; elsewhere: KUBECONFIG or ~/.kube/config.
        config::ExecutorMode::Kubernetes => Some(
            kube::Client::try_default()
                .await
                .context("KATALUSIS_EXECUTOR=kubernetes: no Kubernetes configuration found")?,
        ),
    };
    let state = state_with(db, settings, client)?;
    bootstrap::ensure_admin(&state.db, &state.settings, &state.hasher).await?;
    library::install_on_first_start(&state.db, &state.settings)
        .await
        .context("installing the starter node library")?;
    let resumed = state
        .executor
        .resume_all()
        .await
        .context("resuming unfinished runs")?;
    if resumed > 0 {
        tracing::info!(runs = resumed, "resumed unfinished runs");
    }
    tasks::service::spawn_sla_sweeper(
        state.clone(),
        std::time::Duration::from_secs(state.settings.sla_sweep_seconds),
    );
    // Takes over applies a stopped replica left behind (their transaction
    // rolled back with it) and runs newly requested ones.
    imports::service::spawn_worker(state.clone());
    // After resuming, so the demo's new runs are driven once.
    if state.settings.demo {
        demo::seed(&state).await.context("seeding the demo")?;
    }
    if let Some(days) = state.settings.run_retention_days {
        executor::retention::spawn(state.db.clone(), days);
    }
    let listener = tokio::net::TcpListener::bind(state.settings.bind)
        .await
        .with_context(|| format!("binding {}", state.settings.bind))?;
    tracing::info!(addr = %state.settings.bind, "listening");
    let executor = state.executor.clone();
    let app = http::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        // Open SSE streams would otherwise hold the graceful shutdown forever.
        executor.shutdown();
    })
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
