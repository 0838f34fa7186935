//! Katalusis API server: HTTP API over MySQL, authentication and authorization.

pub mod ai;
pub mod analytics;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod connections;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod executor;
pub mod flow;
pub mod http;
pub mod imports;
pub mod library;
pub mod live;
pub mod manifests;
pub mod metrics;
pub mod notifications;
pub mod replicas;
pub mod runs;
pub mod secrets;
pub mod state;
pub mod tasks;
pub mod tls;
pub mod triggers;
pub mod workflow_templates;

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
            // `run` stores a development secret; this is for tests and tools.
            tracing::warn!("KATALUSIS_JWT_SECRET is not set: using a random secret; tokens end with this process");
            let mut b = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
            b.to_vec()
        }
    };
    let previous = settings
        .jwt_previous_secret
        .as_ref()
        .map(|s| s.expose().as_bytes().to_vec());
    let keys = JwtKeys::rotating(
        &secret,
        previous.as_deref(),
        settings.access_token_ttl_seconds,
    );
    let hasher = Hasher::new(settings.argon2_memory_kib, settings.argon2_iterations)?;
    let settings = Arc::new(settings);
    let mailer = match &settings.smtp_url {
        Some(url) => Some(notifications::service::Mailer::new(
            url.expose(),
            &settings.smtp_from,
        )?),
        None => None,
    };
    let ai = ai::Assistant::new(&settings.ai)?;
    let replica = replicas::Replica::start(
        db.clone(),
        &settings.replica_id,
        settings.lease_ttl_seconds,
        settings.redis_url.as_ref().map(config::Secret::expose),
    );
    let live = live::LiveBus::shared(replica.bus().clone());
    let announcer = notifications::service::Announcer {
        live: live.clone(),
        mailer: mailer.clone(),
    };
    let executor = match (settings.executor, client) {
        (config::ExecutorMode::Local, _) => {
            executor::Executor::new(db.clone(), settings.clone(), announcer, replica)
        }
        (config::ExecutorMode::Kubernetes, Some(client)) => executor::Executor::with_cluster(
            db.clone(),
            settings.clone(),
            announcer,
            replica,
            client,
        ),
        (config::ExecutorMode::Kubernetes, None) => {
            anyhow::bail!("KATALUSIS_EXECUTOR=kubernetes needs a Kubernetes client")
        }
    };
    Ok(AppState {
        db,
        keys,
        hasher,
        settings,
        executor,
        live,
        mailer,
        metrics: metrics::Metrics::new(),
        ai,
        finished: Default::default(),
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

/// `katalusis-api admin rotate-secrets --new-key-file PATH`: re-seals every
/// stored secret with the key in PATH (created when missing); the current key
/// and `KATALUSIS_SECRET_OLD_KEYS` still open old values. Writes nothing when
/// any value cannot be opened.
pub async fn rotate_secrets(
    mut settings: Settings,
    new_key_file: &std::path::Path,
) -> anyhow::Result<()> {
    settings
        .load_vault()
        .context("loading the current vault key")?;
    let (new_key, created) =
        katalusis_vault::keyfile::read_or_create(new_key_file).context("--new-key-file")?;
    if created {
        tracing::warn!(path = %new_key_file.display(), key_id = %new_key.id(), "generated a new vault key");
    }
    let ring = settings.vault.rotated_to(new_key);
    let db = connect(&settings).await?;
    if !migrations_applied(&db).await? {
        anyhow::bail!("the database is not migrated to this version; start the server once first");
    }
    let report = secrets::store::rotate(&db, &ring).await?;
    tracing::info!(
        key_id = %ring.primary_id(),
        sealed = report.sealed,
        resealed = report.changed,
        "rotation done: set KATALUSIS_SECRET_KEY_FILE to the new key file; the old key is no longer needed"
    );
    Ok(())
}

/// Runs migrations, bootstraps the admin and serves until Ctrl-C / SIGTERM.
pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    settings.load_vault().context("loading the vault key")?;
    let db = connect(&settings).await?;
    MIGRATOR.run(&db).await.context("applying migrations")?;
    // Before anything reads a secret: a wrong key stops startup here, naming
    // what cannot be decrypted, and nothing is overwritten.
    let report = secrets::store::check_and_migrate(&db, &settings.vault)
        .await
        .context("checking the stored secrets against the vault key")?;
    tracing::info!(
        key_id = %settings.vault.primary_id(),
        sealed = report.sealed,
        newly_sealed = report.changed,
        "vault ready"
    );
    if settings.jwt_secret.is_none() {
        // Only in dev mode (production refuses to start without one).
        let secret = auth::jwt::dev_secret(&db)
            .await
            .context("loading the development JWT secret")?;
        tracing::warn!(
            kid = %auth::jwt::kid_of(secret.as_bytes()),
            "KATALUSIS_JWT_SECRET is not set: using the development secret stored in the database"
        );
        settings.jwt_secret = Some(config::Secret::new(secret));
    }
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
    library::install_builtins(&state.db, &state.settings)
        .await
        .context("installing the flow templates")?;
    workflow_templates::service::install_builtins(&state.db)
        .await
        .context("installing the workflow templates")?;
    library::install_on_first_start(&state.db, &state.settings)
        .await
        .context("installing the starter node library")?;
    // Registered first, so no other replica takes this one's new runs for a dead one's.
    state.executor.replica().registered().await;
    let resumed = state
        .executor
        .resume_all()
        .await
        .context("resuming unfinished runs")?;
    if resumed > 0 {
        tracing::info!(runs = resumed, "resumed unfinished runs");
    }
    spawn_takeover(state.executor.clone());
    tasks::service::spawn_sla_sweeper(
        state.clone(),
        std::time::Duration::from_secs(state.settings.sla_sweep_seconds),
    );
    // Takes over applies a stopped replica left behind (their transaction
    // rolled back with it) and runs newly requested ones.
    imports::service::spawn_worker(state.clone());
    // One replica fires schedules (the schedules lease); a firing is keyed
    // by its instant besides, so an instant fires once even across a takeover.
    triggers::service::spawn_scheduler(state.clone(), std::time::Duration::from_secs(1));
    triggers::service::spawn_event_listener(state.clone());
    // After resuming, so the demo's new runs are driven once.
    if state.settings.demo {
        demo::seed(&state).await.context("seeding the demo")?;
    }
    let retention = state.settings.retention();
    if !retention.is_empty() {
        let held = state.executor.replica().want(replicas::Lease::Retention);
        executor::retention::spawn(state.db.clone(), retention, held);
    }
    metrics::spawn_node_observer(&state);
    if let Some(addr) = state.settings.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding KATALUSIS_METRICS_ADDR {addr}"))?;
        tracing::info!(%addr, "serving /metrics");
        let router = metrics::router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let tls = match &state.settings.tls {
        Some(source) => {
            let tls = tls::load(source)?;
            if *source == config::TlsSource::SelfSigned {
                tracing::warn!(
                    sha256 = %tls.fingerprint,
                    names = ?tls::SELF_SIGNED_NAMES,
                    "serving HTTPS with a generated development certificate; compare this fingerprint with the one your browser shows"
                );
            }
            Some(tls)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(state.settings.bind)
        .await
        .with_context(|| format!("binding {}", state.settings.bind))?;
    tracing::info!(addr = %state.settings.bind, https = tls.is_some(), "listening");
    let executor = state.executor.clone();
    let app = http::router(state);
    serve(listener, app, tls, async move {
        shutdown_signal().await;
        // The other replicas take this one's leases and runs over now, not after the TTL.
        executor.replica().leave().await;
        // Open SSE streams would otherwise hold the graceful shutdown forever.
        executor.shutdown();
    })
    .await
}

/// Every half lease TTL, claims and resumes the runs of replicas that died.
fn spawn_takeover(executor: executor::Executor) {
    let every = executor.replica().ttl() / 2;
    tokio::spawn(async move {
        let stopped = executor.stopped();
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                () = &mut stopped => return,
            }
            match executor.take_over_orphans().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(runs = n, "took over the runs of a stopped replica"),
                Err(e) => tracing::warn!(error = format!("{e:#}"), "looking for runs to take over"),
            }
        }
    });
}

/// Serves `app` on `listener`, over HTTPS (HTTP/2 or HTTP/1.1 by ALPN) when
/// `tls` is given, until `shutdown` resolves and open requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<tls::Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let make = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    match tls {
        None => {
            axum::serve(listener, make)
                .with_graceful_shutdown(shutdown)
                .await?
        }
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.config);
            axum_server::from_tcp_rustls(listener.into_std()?, config)
                .handle(handle)
                .serve(make)
                .await?
        }
    }
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
