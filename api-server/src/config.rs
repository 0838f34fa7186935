//! `Settings`: read once at startup from `KATALUSIS_*` variables and `DATABASE_URL`.
//! Nothing else reads the environment, so tests can build any configuration.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use katalusis_crds::LimitMaxima;

/// A value that must never reach a log line or a response.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Dev,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub env: Environment,
    pub bind: SocketAddr,
    pub database_url: Secret,
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before it answers
    /// 503; short, so an outage is reported at once rather than after 30 s.
    pub db_acquire_timeout_ms: u64,
    /// How long start-up waits for the database (`None`: until it answers).
    pub db_startup_wait_seconds: Option<u64>,
    /// A run whose state could not be stored for this long is stopped and
    /// failed with reason `storage` (its writes are still kept and retried).
    pub storage_outage_seconds: u64,
    /// Most events a run may hold unstored before it is stopped the same way.
    pub storage_backlog_max: usize,
    /// `None` in dev mode means "generate one per start".
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl_seconds: u64,
    pub refresh_token_ttl_seconds: u64,
    pub admin_username: String,
    pub admin_email: String,
    pub admin_password: Option<Secret>,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub max_body_bytes: usize,
    pub login_max_failures: u32,
    pub login_ip_max_failures: u32,
    pub login_lockout_seconds: u64,
    pub limit_maxima: LimitMaxima,
    pub cors_origins: Vec<String>,
    pub trust_proxy_headers: bool,
    /// argon2id memory cost in KiB (OWASP minimum 19 MiB).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// The node runner script; `None` means look for `runner/katalusis_runner.py`
    /// in the working directory and its parents.
    pub runner_path: Option<std::path::PathBuf>,
    pub python: String,
    pub sandbox: SandboxMode,
    /// The bubblewrap binary the runner uses (passed to it as `KATALUSIS_RUNNER_BWRAP`).
    pub bwrap_path: std::path::PathBuf,
    /// Most nodes running at once across all runs of this server.
    pub max_parallel_nodes: u32,
    /// Most nodes running at once within one run; `None` means no per-run cap.
    pub max_parallel_nodes_per_run: Option<u32>,
    /// How long a warm runner pool shared by a client's runs stays up with
    /// no run using it (`KATALUSIS_POOL_IDLE_SECONDS`).
    pub pool_idle: std::time::Duration,
    pub max_output_bytes: u64,
    pub max_log_bytes: u64,
    pub max_file_bytes: u64,
    /// How long `mode: "sync"` run requests wait before answering 202.
    pub sync_run_wait_seconds: u64,
    /// Delete logs and files of runs finished more than this many days ago; `None` keeps them.
    /// The default of the three run retention settings below.
    pub run_retention_days: Option<u32>,
    /// Days to keep run events (of finished runs); `None` uses `run_retention_days`.
    pub retention_run_events_days: Option<u32>,
    /// Days to keep log lines (of finished runs); `None` uses `run_retention_days`.
    pub retention_log_lines_days: Option<u32>,
    /// Days to keep run files; `None` uses `run_retention_days`.
    pub retention_files_days: Option<u32>,
    /// Days to keep audit rows; `None` keeps them.
    pub retention_audit_days: Option<u32>,
    /// Rows one retention DELETE removes at most.
    pub retention_batch_rows: u32,
    /// Directory of the built web SPA served at `/` (None: API only).
    pub web_dir: Option<std::path::PathBuf>,
    /// Where runs execute: on this machine, or as `Run` resources on Kubernetes.
    pub executor: ExecutorMode,
    /// Namespace of the `Workflow`/`Run` resources in `kubernetes` mode; `None`
    /// uses the client's default (the Pod's own namespace in a cluster).
    pub k8s_namespace: Option<String>,
    /// How often the Run mirror re-lists every Run, on top of its watch.
    pub k8s_resync_seconds: u64,
    /// Finished Runs (with their Pods and Secret) are deleted from the
    /// cluster this long after they finished; MySQL keeps everything.
    pub k8s_run_ttl_seconds: u64,
    /// Username that revisions applied in the cluster and Runs created in
    /// the cluster are recorded as (created, unable to log in, when missing).
    pub k8s_system_user: String,
    /// This process's name among the replicas on one database (leases and
    /// run claims carry it); unique per process.
    pub replica_id: String,
    /// A replica that has not renewed its heartbeat for this long is dead:
    /// its leases and the runs it drove pass to another replica.
    pub lease_ttl_seconds: u64,
    /// Redis through which replicas ring each other when they stored
    /// messages or run events (`redis://`); `None`: they poll MySQL only.
    pub redis_url: Option<Secret>,
    /// Images a template may name for its node Pods (the same list the
    /// operator enforces); empty means templates cannot name one.
    pub image_allow_list: Vec<String>,
    /// Install the starter node library on the first start (when none of its
    /// templates exist yet).
    pub starter_library: bool,
    /// SMTP server for notification email (`smtp://`, `smtps://`, with
    /// optional credentials); `None` keeps notifications in-app only.
    pub smtp_url: Option<Secret>,
    /// The sender of notification email.
    pub smtp_from: String,
    /// How often this replica looks for tasks whose SLA turned at risk or breached.
    pub sla_sweep_seconds: u64,
    /// The largest file a task import accepts (413 above it, checked while
    /// the upload streams).
    pub import_max_bytes: u64,
    /// The most data rows one import may have (422 above it).
    pub import_max_rows: usize,
    /// How long an import session keeps its uploaded file; after that the
    /// file is deleted and the session can no longer be previewed or applied.
    pub import_retention_hours: u64,
    /// Seed the demo manager, client, workflows and runs on start (`make demo`).
    pub demo: bool,
    /// The previous `KATALUSIS_JWT_SECRET` during a rotation: access tokens it
    /// signed still verify (new ones use the current secret) until it is
    /// removed, at the latest one access-token lifetime after the change.
    pub jwt_previous_secret: Option<Secret>,
    /// Where `/metrics` is served; `None` serves no metrics. Never the API port.
    pub metrics_addr: Option<SocketAddr>,
    /// HTTPS on the API port: a certificate chain and key (PEM files), or a
    /// generated development certificate.
    pub tls: Option<TlsSource>,
    /// Which reads of stored data the audit log records.
    pub audit_reads: AuditReads,
    /// Where the vault key comes from (see [`VaultKeys`]).
    pub vault_keys: VaultKeys,
    /// The keys secrets are sealed and opened with. Resolved from
    /// `vault_keys` by [`Settings::load_vault`] at startup (it may read or
    /// create key files); the default is a random per-process key, which is
    /// what tests want.
    pub vault: std::sync::Arc<katalusis_vault::Keyring>,
    /// The AI assistant's model endpoint and limits (`KATALUSIS_LLM_*`).
    pub ai: crate::ai::config::AiSettings,
}

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files: the chain (leaf first) and its private key.
    Files {
        cert: std::path::PathBuf,
        key: std::path::PathBuf,
    },
    /// A certificate generated at start for `localhost` (development only).
    SelfSigned,
}

/// Which reads the audit log records (`KATALUSIS_AUDIT_READS`). Changes are
/// always recorded; reads are recorded by the read endpoints that name
/// themselves sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AuditReads {
    /// No reads.
    Off,
    /// Downloads of outputs, files and attachments, and exports.
    Downloads,
    /// Downloads plus log views and every other sensitive read.
    All,
}

/// The sources of the vault keys; key text is kept as [`Secret`].
#[derive(Debug, Clone, Default)]
pub struct VaultKeys {
    /// `KATALUSIS_SECRET_KEY`: base64 of 32 bytes.
    pub key: Option<Secret>,
    /// `KATALUSIS_SECRET_KEY_FILE`: a file holding the same.
    pub key_file: Option<std::path::PathBuf>,
    /// `KATALUSIS_SECRET_OLD_KEYS` / `_OLD_KEY_FILES`: keys that only decrypt,
    /// during a rotation.
    pub old_keys: Vec<Secret>,
    pub old_key_files: Vec<std::path::PathBuf>,
    /// `KATALUSIS_SECRET_DEV_KEY_FILE`: where dev mode keeps its generated key.
    pub dev_key_file: std::path::PathBuf,
}

/// Which executor drives runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorMode {
    /// The embedded local executor (sandboxed processes on this machine).
    Local,
    /// `Run` resources reconciled by the operator into one Pod per node.
    Kubernetes,
}

/// How node processes are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// bubblewrap around every runner pool (the default).
    Bwrap,
    /// No OS sandbox: only trusted nodes may run; restricted nodes fail.
    None,
}

fn cpu_cores() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Dev,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: Secret::new("mysql://root@127.0.0.1:3306/katalusis"),
            db_max_connections: 10,
            db_acquire_timeout_ms: 1500,
            db_startup_wait_seconds: None,
            storage_outage_seconds: 600,
            storage_backlog_max: 200_000,
            jwt_secret: None,
            access_token_ttl_seconds: 15 * 60,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            admin_username: "admin".into(),
            admin_email: "admin@localhost".into(),
            admin_password: None,
            log_format: LogFormat::Pretty,
            log_filter: "info".into(),
            max_body_bytes: 10 * 1024 * 1024,
            login_max_failures: 5,
            login_ip_max_failures: 50,
            login_lockout_seconds: 15 * 60,
            limit_maxima: LimitMaxima::default(),
            cors_origins: vec![],
            trust_proxy_headers: false,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            runner_path: None,
            python: "python3".into(),
            sandbox: SandboxMode::Bwrap,
            bwrap_path: "/usr/bin/bwrap".into(),
            // Small nodes spend most of their time outside the CPU (fork,
            // protocol, storing): one slot per core left cores idle between
            // them (measured: T40 109 → 146 nodes/s with 8 slots on 2 cores).
            max_parallel_nodes: (4 * cpu_cores()).max(8),
            max_parallel_nodes_per_run: None,
            pool_idle: std::time::Duration::from_secs(120),
            max_output_bytes: 16 * 1024 * 1024,
            max_log_bytes: 1024 * 1024,
            max_file_bytes: 64 * 1024 * 1024,
            sync_run_wait_seconds: 30,
            run_retention_days: None,
            retention_run_events_days: None,
            retention_log_lines_days: None,
            retention_files_days: None,
            retention_audit_days: None,
            retention_batch_rows: 1000,
            web_dir: None,
            executor: ExecutorMode::Local,
            k8s_namespace: None,
            k8s_resync_seconds: 60,
            k8s_run_ttl_seconds: 24 * 3600,
            k8s_system_user: "kubernetes".into(),
            replica_id: default_replica_id(),
            lease_ttl_seconds: 10,
            redis_url: None,
            image_allow_list: Vec::new(),
            starter_library: true,
            ai: Default::default(),
            smtp_url: None,
            smtp_from: "Katalusis <katalusis@localhost>".into(),
            sla_sweep_seconds: 60,
            import_max_bytes: 10 * 1024 * 1024,
            import_max_rows: 100_000,
            import_retention_hours: 24,
            demo: false,
            jwt_previous_secret: None,
            metrics_addr: None,
            tls: None,
            audit_reads: AuditReads::Downloads,
            vault_keys: VaultKeys {
                dev_key_file: ".katalusis/secret.key".into(),
                ..VaultKeys::default()
            },
            vault: std::sync::Arc::new(katalusis_vault::Keyring::new(
                katalusis_vault::Key::generate().0,
                vec![],
            )),
        }
    }
}

impl Settings {
    /// Resolves [`VaultKeys`] into the keyring (reading key files; in dev mode
    /// creating the dev key file once) and stores it in `vault`.
    pub fn load_vault(&mut self) -> anyhow::Result<()> {
        use anyhow::Context;
        use katalusis_vault::{keyfile, Key};
        let k = &self.vault_keys;
        let primary = match (&k.key, &k.key_file) {
            (Some(text), _) => Key::from_base64(text.expose()).context("KATALUSIS_SECRET_KEY")?,
            (None, Some(path)) => keyfile::read(path).context("KATALUSIS_SECRET_KEY_FILE")?,
            (None, None) => {
                if self.env == Environment::Production {
                    anyhow::bail!("KATALUSIS_SECRET_KEY or KATALUSIS_SECRET_KEY_FILE is required in production");
                }
                let (key, created) = keyfile::read_or_create(&k.dev_key_file)
                    .context("KATALUSIS_SECRET_DEV_KEY_FILE")?;
                if created {
                    tracing::warn!(
                        path = %k.dev_key_file.display(),
                        key_id = %key.id(),
                        "!!! DEV MODE: generated a new vault key; secrets are encrypted with it. \
                         Keep this file; set KATALUSIS_SECRET_KEY(_FILE) in production !!!"
                    );
                } else {
                    tracing::warn!(
                        path = %k.dev_key_file.display(),
                        key_id = %key.id(),
                        "DEV MODE: vault key read from the dev key file"
                    );
                }
                key
            }
        };
        let mut old = Vec::new();
        for text in &k.old_keys {
            old.push(Key::from_base64(text.expose()).context("KATALUSIS_SECRET_OLD_KEYS")?);
        }
        for path in &k.old_key_files {
            old.push(keyfile::read(path).context("KATALUSIS_SECRET_OLD_KEY_FILES")?);
        }
        self.vault = std::sync::Arc::new(katalusis_vault::Keyring::new(primary, old));
        Ok(())
    }

    /// What retention deletes: each run table on its own setting or, unset,
    /// on `run_retention_days`; audit rows only on their own setting.
    pub fn retention(&self) -> crate::executor::retention::Policy {
        crate::executor::retention::Policy {
            run_events_days: self.retention_run_events_days.or(self.run_retention_days),
            log_lines_days: self.retention_log_lines_days.or(self.run_retention_days),
            files_days: self.retention_files_days.or(self.run_retention_days),
            audit_days: self.retention_audit_days,
            batch_rows: self.retention_batch_rows,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Builds settings from a variable map; unknown `KATALUSIS_` names are refused
    /// so a typo does not silently fall back to a default.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut s = Settings::default();
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        for k in vars.keys().filter(|k| k.starts_with("KATALUSIS_")) {
            if !KNOWN_VARS.contains(&k.as_str()) && !crate::ai::config::VARS.contains(&k.as_str()) {
                return Err(err(k, "unknown setting (see the README for the list)"));
            }
        }
        if let Some(v) = get("KATALUSIS_ENV") {
            s.env = match v.as_str() {
                "dev" | "development" => Environment::Dev,
                "prod" | "production" => Environment::Production,
                _ => return Err(err("KATALUSIS_ENV", "must be 'dev' or 'production'")),
            };
        }
        s.log_format = match s.env {
            Environment::Dev => LogFormat::Pretty,
            Environment::Production => LogFormat::Json,
        };
        if let Some(v) = get("KATALUSIS_BIND") {
            s.bind = parse("KATALUSIS_BIND", &v)?;
        }
        if let Some(v) = get("DATABASE_URL") {
            if !v.starts_with("mysql://") && !v.starts_with("mariadb://") {
                return Err(err("DATABASE_URL", "must be a mysql:// URL"));
            }
            s.database_url = Secret::new(v);
        }
        if let Some(v) = get("KATALUSIS_DB_MAX_CONNECTIONS") {
            s.db_max_connections = parse_range("KATALUSIS_DB_MAX_CONNECTIONS", &v, 1, 1000)?;
        }
        if let Some(v) = get("KATALUSIS_DB_ACQUIRE_TIMEOUT_MS") {
            s.db_acquire_timeout_ms =
                parse_range("KATALUSIS_DB_ACQUIRE_TIMEOUT_MS", &v, 100, 60_000)?;
        }
        if let Some(v) = get("KATALUSIS_DB_STARTUP_WAIT_SECONDS") {
            s.db_startup_wait_seconds = Some(parse_range(
                "KATALUSIS_DB_STARTUP_WAIT_SECONDS",
                &v,
                0,
                86_400,
            )?);
        }
        if let Some(v) = get("KATALUSIS_STORAGE_OUTAGE_SECONDS") {
            s.storage_outage_seconds =
                parse_range("KATALUSIS_STORAGE_OUTAGE_SECONDS", &v, 1, 604_800)?;
        }
        if let Some(v) = get("KATALUSIS_STORAGE_BACKLOG_MAX") {
            s.storage_backlog_max =
                parse_range("KATALUSIS_STORAGE_BACKLOG_MAX", &v, 1_000, 100_000_000)?;
        }
        if let Some(v) = get("KATALUSIS_JWT_SECRET") {
            if v.len() < 32 {
                return Err(err(
                    "KATALUSIS_JWT_SECRET",
                    "must be at least 32 characters",
                ));
            }
            s.jwt_secret = Some(Secret::new(v));
        } else if s.env == Environment::Production {
            return Err(err(
                "KATALUSIS_JWT_SECRET",
                "is required when KATALUSIS_ENV=production",
            ));
        }
        if let Some(v) = get("KATALUSIS_ACCESS_TOKEN_TTL_SECONDS") {
            s.access_token_ttl_seconds =
                parse_range("KATALUSIS_ACCESS_TOKEN_TTL_SECONDS", &v, 30, 24 * 3600)?;
        }
        if let Some(v) = get("KATALUSIS_REFRESH_TOKEN_TTL_SECONDS") {
            s.refresh_token_ttl_seconds = parse_range(
                "KATALUSIS_REFRESH_TOKEN_TTL_SECONDS",
                &v,
                60,
                365 * 24 * 3600,
            )?;
        }
        if let Some(v) = get("KATALUSIS_ADMIN_USERNAME") {
            s.admin_username = v;
        }
        if let Some(v) = get("KATALUSIS_ADMIN_EMAIL") {
            if !v.contains('@') {
                return Err(err("KATALUSIS_ADMIN_EMAIL", "must be an email address"));
            }
            s.admin_email = v;
        }
        if let Some(v) = vars
            .get("KATALUSIS_ADMIN_PASSWORD")
            .filter(|v| !v.is_empty())
        {
            if v.chars().count() < crate::auth::password::MIN_PASSWORD_LEN {
                return Err(err(
                    "KATALUSIS_ADMIN_PASSWORD",
                    "must be at least 10 characters",
                ));
            }
            s.admin_password = Some(Secret::new(v.clone()));
        }
        if let Some(v) = get("KATALUSIS_LOG_FORMAT") {
            s.log_format = match v.as_str() {
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                _ => return Err(err("KATALUSIS_LOG_FORMAT", "must be 'json' or 'pretty'")),
            };
        }
        if let Some(v) = get("KATALUSIS_LOG") {
            s.log_filter = v;
        }
        if let Some(v) = get("KATALUSIS_MAX_BODY_BYTES") {
            s.max_body_bytes = parse_range("KATALUSIS_MAX_BODY_BYTES", &v, 1024, 1 << 30)?;
        }
        if let Some(v) = get("KATALUSIS_LOGIN_MAX_FAILURES") {
            s.login_max_failures = parse_range("KATALUSIS_LOGIN_MAX_FAILURES", &v, 1, 1000)?;
        }
        if let Some(v) = get("KATALUSIS_LOGIN_IP_MAX_FAILURES") {
            s.login_ip_max_failures =
                parse_range("KATALUSIS_LOGIN_IP_MAX_FAILURES", &v, 1, 100_000)?;
        }
        if let Some(v) = get("KATALUSIS_LOGIN_LOCKOUT_SECONDS") {
            s.login_lockout_seconds =
                parse_range("KATALUSIS_LOGIN_LOCKOUT_SECONDS", &v, 1, 7 * 24 * 3600)?;
        }
        if let Some(v) = get("KATALUSIS_MAX_TIMEOUT_SECONDS") {
            s.limit_maxima.timeout_seconds =
                parse_range("KATALUSIS_MAX_TIMEOUT_SECONDS", &v, 1, 7 * 24 * 3600)?;
        }
        if let Some(v) = get("KATALUSIS_MAX_MEMORY_MIB") {
            s.limit_maxima.memory_mib = parse_range("KATALUSIS_MAX_MEMORY_MIB", &v, 32, 1 << 20)?;
        }
        if let Some(v) = get("KATALUSIS_MAX_CPU_MILLICORES") {
            s.limit_maxima.cpu_millicores =
                parse_range("KATALUSIS_MAX_CPU_MILLICORES", &v, 100, 1 << 20)?;
        }
        if let Some(v) = get("KATALUSIS_CORS_ORIGINS") {
            s.cors_origins = v
                .split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect();
            if let Some(bad) = s
                .cors_origins
                .iter()
                .find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
            {
                return Err(err(
                    "KATALUSIS_CORS_ORIGINS",
                    &format!("'{bad}' is not an http(s) origin"),
                ));
            }
        }
        if let Some(v) = get("KATALUSIS_STARTER_LIBRARY") {
            s.starter_library = parse_bool("KATALUSIS_STARTER_LIBRARY", &v)?;
        }
        if let Some(v) = get("KATALUSIS_DEMO") {
            s.demo = parse_bool("KATALUSIS_DEMO", &v)?;
        }
        if let Some(v) = get("KATALUSIS_TRUST_PROXY_HEADERS") {
            s.trust_proxy_headers = parse_bool("KATALUSIS_TRUST_PROXY_HEADERS", &v)?;
        }
        if let Some(v) = get("KATALUSIS_ARGON2_MEMORY_KIB") {
            s.argon2_memory_kib = parse_range("KATALUSIS_ARGON2_MEMORY_KIB", &v, 8, 4 << 20)?;
        }
        if let Some(v) = get("KATALUSIS_ARGON2_ITERATIONS") {
            s.argon2_iterations = parse_range("KATALUSIS_ARGON2_ITERATIONS", &v, 1, 100)?;
        }
        if let Some(v) = get("KATALUSIS_RUNNER_PATH") {
            s.runner_path = Some(v.into());
        }
        if let Some(v) = get("KATALUSIS_PYTHON") {
            s.python = v;
        }
        if let Some(v) = get("KATALUSIS_SANDBOX") {
            s.sandbox = match v.as_str() {
                "bwrap" => SandboxMode::Bwrap,
                "none" => SandboxMode::None,
                _ => return Err(err("KATALUSIS_SANDBOX", "must be 'bwrap' or 'none'")),
            };
        }
        if let Some(v) = get("KATALUSIS_BWRAP") {
            s.bwrap_path = v.into();
        }
        if let Some(v) = get("KATALUSIS_MAX_PARALLEL_NODES") {
            s.max_parallel_nodes = parse_range("KATALUSIS_MAX_PARALLEL_NODES", &v, 1, 10_000)?;
        }
        if let Some(v) = get("KATALUSIS_MAX_PARALLEL_NODES_PER_RUN") {
            s.max_parallel_nodes_per_run = Some(parse_range(
                "KATALUSIS_MAX_PARALLEL_NODES_PER_RUN",
                &v,
                1,
                10_000,
            )?);
        }
        if let Some(v) = get("KATALUSIS_POOL_IDLE_SECONDS") {
            s.pool_idle = std::time::Duration::from_secs(parse_range(
                "KATALUSIS_POOL_IDLE_SECONDS",
                &v,
                0,
                86_400,
            )?);
        }
        if let Some(v) = get("KATALUSIS_MAX_OUTPUT_BYTES") {
            s.max_output_bytes = parse_range("KATALUSIS_MAX_OUTPUT_BYTES", &v, 1024, 1 << 30)?;
        }
        if let Some(v) = get("KATALUSIS_MAX_LOG_BYTES") {
            s.max_log_bytes = parse_range("KATALUSIS_MAX_LOG_BYTES", &v, 1024, 1 << 30)?;
        }
        if let Some(v) = get("KATALUSIS_MAX_FILE_BYTES") {
            s.max_file_bytes = parse_range("KATALUSIS_MAX_FILE_BYTES", &v, 1024, 1 << 30)?;
        }
        if let Some(v) = get("KATALUSIS_SYNC_RUN_WAIT_SECONDS") {
            s.sync_run_wait_seconds = parse_range("KATALUSIS_SYNC_RUN_WAIT_SECONDS", &v, 0, 3600)?;
        }
        if let Some(v) = get("KATALUSIS_RUN_RETENTION_DAYS") {
            s.run_retention_days =
                Some(parse_range("KATALUSIS_RUN_RETENTION_DAYS", &v, 1, 36_500)?);
        }
        for (var, field) in [
            (
                "KATALUSIS_RETENTION_RUN_EVENTS_DAYS",
                &mut s.retention_run_events_days,
            ),
            (
                "KATALUSIS_RETENTION_LOG_LINES_DAYS",
                &mut s.retention_log_lines_days,
            ),
            (
                "KATALUSIS_RETENTION_FILES_DAYS",
                &mut s.retention_files_days,
            ),
            (
                "KATALUSIS_RETENTION_AUDIT_DAYS",
                &mut s.retention_audit_days,
            ),
        ] {
            if let Some(v) = get(var) {
                *field = Some(parse_range(var, &v, 1, 36_500)?);
            }
        }
        if let Some(v) = get("KATALUSIS_RETENTION_BATCH_ROWS") {
            s.retention_batch_rows = parse_range("KATALUSIS_RETENTION_BATCH_ROWS", &v, 1, 100_000)?;
        }
        if let Some(v) = get("KATALUSIS_EXECUTOR") {
            s.executor = match v.as_str() {
                "local" => ExecutorMode::Local,
                "kubernetes" => ExecutorMode::Kubernetes,
                _ => return Err(err("KATALUSIS_EXECUTOR", "must be 'local' or 'kubernetes'")),
            };
        }
        if let Some(v) = get("KATALUSIS_K8S_NAMESPACE") {
            let valid = !v.is_empty()
                && v.len() <= 63
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !v.starts_with('-')
                && !v.ends_with('-');
            if !valid {
                return Err(err(
                    "KATALUSIS_K8S_NAMESPACE",
                    "must be a Kubernetes namespace name (lowercase letters, digits and '-')",
                ));
            }
            s.k8s_namespace = Some(v);
        }
        if let Some(v) = get("KATALUSIS_K8S_RESYNC_SECONDS") {
            s.k8s_resync_seconds = parse_range("KATALUSIS_K8S_RESYNC_SECONDS", &v, 1, 3600)?;
        }
        if let Some(v) = get("KATALUSIS_IMAGE_ALLOW_LIST") {
            s.image_allow_list = v
                .split(',')
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect();
            if let Some(bad) = s
                .image_allow_list
                .iter()
                .find(|i| !katalusis_crds::template::is_image_reference(i))
            {
                return Err(err(
                    "KATALUSIS_IMAGE_ALLOW_LIST",
                    &format!("'{bad}' is not a container image reference"),
                ));
            }
        }
        if let Some(v) = get("KATALUSIS_K8S_SYSTEM_USER") {
            let ok = !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(err(
                    "KATALUSIS_K8S_SYSTEM_USER",
                    "must be a username (letters, digits, '.', '_' or '-', at most 64)",
                ));
            }
            s.k8s_system_user = v;
        }
        if let Some(v) = get("KATALUSIS_REPLICA_ID") {
            let ok = !v.is_empty()
                && v.len() <= 100
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
            if !ok {
                return Err(err(
                    "KATALUSIS_REPLICA_ID",
                    "must be 1 to 100 letters, digits, '.', ':', '_' or '-'",
                ));
            }
            s.replica_id = v;
        }
        if let Some(v) = get("KATALUSIS_LEASE_TTL_SECONDS") {
            s.lease_ttl_seconds = parse_range("KATALUSIS_LEASE_TTL_SECONDS", &v, 2, 300)?;
        }
        if let Some(v) = get("KATALUSIS_REDIS_URL") {
            let scheme_ok = ["redis://", "redis+unix://", "unix://"]
                .iter()
                .any(|p| v.starts_with(p));
            if !scheme_ok || redis::Client::open(v.as_str()).is_err() {
                return Err(err(
                    "KATALUSIS_REDIS_URL",
                    "must be a redis:// URL, e.g. redis://:password@redis:6379/0",
                ));
            }
            s.redis_url = Some(Secret::new(v));
        }
        if let Some(v) = get("KATALUSIS_K8S_RUN_TTL_SECONDS") {
            s.k8s_run_ttl_seconds =
                parse_range("KATALUSIS_K8S_RUN_TTL_SECONDS", &v, 0, 365 * 24 * 3600)?;
        }
        if let Some(v) = get("KATALUSIS_SMTP_URL") {
            let scheme_ok = v.starts_with("smtp://") || v.starts_with("smtps://");
            if !scheme_ok
                || lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&v).is_err()
            {
                return Err(err(
                    "KATALUSIS_SMTP_URL",
                    "must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example:587?tls=required",
                ));
            }
            s.smtp_url = Some(Secret::new(v));
        }
        if let Some(v) = get("KATALUSIS_SMTP_FROM") {
            if v.parse::<lettre::message::Mailbox>().is_err() {
                return Err(err(
                    "KATALUSIS_SMTP_FROM",
                    "must be an address such as 'Katalusis <noreply@example.com>'",
                ));
            }
            s.smtp_from = v;
        }
        s.ai = crate::ai::config::read(get)?;
        if let Some(v) = get("KATALUSIS_SLA_SWEEP_SECONDS") {
            s.sla_sweep_seconds = parse_range("KATALUSIS_SLA_SWEEP_SECONDS", &v, 1, 3600)?;
        }
        if let Some(v) = get("KATALUSIS_IMPORT_MAX_BYTES") {
            s.import_max_bytes =
                parse_range("KATALUSIS_IMPORT_MAX_BYTES", &v, 1024, 1024 * 1024 * 1024)?;
        }
        if let Some(v) = get("KATALUSIS_IMPORT_MAX_ROWS") {
            s.import_max_rows = parse_range("KATALUSIS_IMPORT_MAX_ROWS", &v, 1, 10_000_000)?;
        }
        if let Some(v) = get("KATALUSIS_IMPORT_RETENTION_HOURS") {
            s.import_retention_hours =
                parse_range("KATALUSIS_IMPORT_RETENTION_HOURS", &v, 1, 24 * 365)?;
        }
        if let Some(v) = get("KATALUSIS_JWT_PREVIOUS_SECRET") {
            if v.len() < 32 {
                return Err(err(
                    "KATALUSIS_JWT_PREVIOUS_SECRET",
                    "must be at least 32 characters",
                ));
            }
            if s.jwt_secret.as_ref().is_none_or(|c| c.expose() == v) {
                return Err(err(
                    "KATALUSIS_JWT_PREVIOUS_SECRET",
                    "needs a different KATALUSIS_JWT_SECRET (it is the secret being rotated out)",
                ));
            }
            s.jwt_previous_secret = Some(Secret::new(v));
        }
        if let Some(v) = get("KATALUSIS_METRICS_ADDR") {
            let addr: SocketAddr = parse("KATALUSIS_METRICS_ADDR", &v)?;
            if addr.port() != 0 && addr.port() == s.bind.port() {
                return Err(err(
                    "KATALUSIS_METRICS_ADDR",
                    "must be another port than KATALUSIS_BIND (metrics are never on the API port)",
                ));
            }
            s.metrics_addr = Some(addr);
        }
        let self_signed = match get("KATALUSIS_TLS_SELF_SIGNED") {
            Some(v) => parse_bool("KATALUSIS_TLS_SELF_SIGNED", &v)?,
            None => false,
        };
        s.tls = match (get("KATALUSIS_TLS_CERT"), get("KATALUSIS_TLS_KEY")) {
            (Some(_), Some(_)) if self_signed => {
                return Err(err(
                    "KATALUSIS_TLS_SELF_SIGNED",
                    "cannot be combined with KATALUSIS_TLS_CERT/KATALUSIS_TLS_KEY",
                ))
            }
            (Some(cert), Some(key)) => {
                for (var, path) in [("KATALUSIS_TLS_CERT", &cert), ("KATALUSIS_TLS_KEY", &key)] {
                    if !std::path::Path::new(path).is_file() {
                        return Err(err(var, "must name a readable PEM file"));
                    }
                }
                Some(TlsSource::Files {
                    cert: cert.into(),
                    key: key.into(),
                })
            }
            (Some(_), None) => {
                return Err(err(
                    "KATALUSIS_TLS_KEY",
                    "is required with KATALUSIS_TLS_CERT",
                ))
            }
            (None, Some(_)) => {
                return Err(err(
                    "KATALUSIS_TLS_CERT",
                    "is required with KATALUSIS_TLS_KEY",
                ))
            }
            (None, None) if self_signed => {
                if s.env == Environment::Production {
                    return Err(err(
                        "KATALUSIS_TLS_SELF_SIGNED",
                        "is for development; production needs KATALUSIS_TLS_CERT/KATALUSIS_TLS_KEY or TLS at the Ingress",
                    ));
                }
                Some(TlsSource::SelfSigned)
            }
            (None, None) => None,
        };
        if let Some(v) = get("KATALUSIS_AUDIT_READS") {
            s.audit_reads = match v.as_str() {
                "off" => AuditReads::Off,
                "downloads" => AuditReads::Downloads,
                "all" => AuditReads::All,
                _ => {
                    return Err(err(
                        "KATALUSIS_AUDIT_READS",
                        "must be 'off', 'downloads' or 'all'",
                    ))
                }
            };
        }
        if let Some(v) = get("KATALUSIS_SECRET_KEY") {
            katalusis_vault::Key::from_base64(&v)
                .map_err(|e| err("KATALUSIS_SECRET_KEY", &e.to_string()))?;
            s.vault_keys.key = Some(Secret::new(v));
        }
        if let Some(v) = get("KATALUSIS_SECRET_KEY_FILE") {
            if s.vault_keys.key.is_some() {
                return Err(err(
                    "KATALUSIS_SECRET_KEY_FILE",
                    "set either KATALUSIS_SECRET_KEY or KATALUSIS_SECRET_KEY_FILE, not both",
                ));
            }
            s.vault_keys.key_file = Some(v.into());
        }
        if let Some(v) = get("KATALUSIS_SECRET_OLD_KEYS") {
            for k in v.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                katalusis_vault::Key::from_base64(k)
                    .map_err(|e| err("KATALUSIS_SECRET_OLD_KEYS", &e.to_string()))?;
                s.vault_keys.old_keys.push(Secret::new(k));
            }
        }
        if let Some(v) = get("KATALUSIS_SECRET_OLD_KEY_FILES") {
            s.vault_keys.old_key_files = v
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(Into::into)
                .collect();
        }
        if let Some(v) = get("KATALUSIS_SECRET_DEV_KEY_FILE") {
            s.vault_keys.dev_key_file = v.into();
        }
        if s.env == Environment::Production
            && s.vault_keys.key.is_none()
            && s.vault_keys.key_file.is_none()
        {
            return Err(err(
                "KATALUSIS_SECRET_KEY",
                "KATALUSIS_SECRET_KEY or KATALUSIS_SECRET_KEY_FILE is required when KATALUSIS_ENV=production",
            ));
        }
        // The SPA is optional: an explicit directory must hold a build, the
        // default is used only when a build is present (e.g. after `make web-build`).
        s.web_dir = match get("KATALUSIS_WEB_DIR") {
            Some(v) => {
                let dir = std::path::PathBuf::from(v);
                if !dir.join("index.html").is_file() {
                    return Err(err(
                        "KATALUSIS_WEB_DIR",
                        "must be a directory containing index.html (run `make web-build`)",
                    ));
                }
                Some(dir)
            }
            None => Some(std::path::PathBuf::from("frontend/dist"))
                .filter(|d| d.join("index.html").is_file()),
        };
        Ok(s)
    }
}

/// Every variable `from_vars` understands; the README documents each.
pub const KNOWN_VARS: &[&str] = &[
    "KATALUSIS_JWT_PREVIOUS_SECRET",
    "KATALUSIS_METRICS_ADDR",
    "KATALUSIS_TLS_CERT",
    "KATALUSIS_TLS_KEY",
    "KATALUSIS_TLS_SELF_SIGNED",
    "KATALUSIS_AUDIT_READS",
    "KATALUSIS_ENV",
    "KATALUSIS_BIND",
    "KATALUSIS_DB_MAX_CONNECTIONS",
    "KATALUSIS_DB_ACQUIRE_TIMEOUT_MS",
    "KATALUSIS_DB_STARTUP_WAIT_SECONDS",
    "KATALUSIS_STORAGE_OUTAGE_SECONDS",
    "KATALUSIS_STORAGE_BACKLOG_MAX",
    "KATALUSIS_JWT_SECRET",
    "KATALUSIS_ACCESS_TOKEN_TTL_SECONDS",
    "KATALUSIS_REFRESH_TOKEN_TTL_SECONDS",
    "KATALUSIS_ADMIN_USERNAME",
    "KATALUSIS_ADMIN_EMAIL",
    "KATALUSIS_ADMIN_PASSWORD",
    "KATALUSIS_LOG_FORMAT",
    "KATALUSIS_LOG",
    "KATALUSIS_MAX_BODY_BYTES",
    "KATALUSIS_LOGIN_MAX_FAILURES",
    "KATALUSIS_LOGIN_IP_MAX_FAILURES",
    "KATALUSIS_LOGIN_LOCKOUT_SECONDS",
    "KATALUSIS_MAX_TIMEOUT_SECONDS",
    "KATALUSIS_MAX_MEMORY_MIB",
    "KATALUSIS_MAX_CPU_MILLICORES",
    "KATALUSIS_CORS_ORIGINS",
    "KATALUSIS_TRUST_PROXY_HEADERS",
    "KATALUSIS_ARGON2_MEMORY_KIB",
    "KATALUSIS_ARGON2_ITERATIONS",
    "KATALUSIS_RUNNER_PATH",
    "KATALUSIS_PYTHON",
    "KATALUSIS_SANDBOX",
    "KATALUSIS_BWRAP",
    "KATALUSIS_MAX_PARALLEL_NODES",
    "KATALUSIS_MAX_PARALLEL_NODES_PER_RUN",
    "KATALUSIS_POOL_IDLE_SECONDS",
    "KATALUSIS_MAX_OUTPUT_BYTES",
    "KATALUSIS_MAX_LOG_BYTES",
    "KATALUSIS_MAX_FILE_BYTES",
    "KATALUSIS_SYNC_RUN_WAIT_SECONDS",
    "KATALUSIS_IMPORT_MAX_BYTES",
    "KATALUSIS_IMPORT_MAX_ROWS",
    "KATALUSIS_IMPORT_RETENTION_HOURS",
    "KATALUSIS_RUN_RETENTION_DAYS",
    "KATALUSIS_RETENTION_RUN_EVENTS_DAYS",
    "KATALUSIS_RETENTION_LOG_LINES_DAYS",
    "KATALUSIS_RETENTION_FILES_DAYS",
    "KATALUSIS_RETENTION_AUDIT_DAYS",
    "KATALUSIS_RETENTION_BATCH_ROWS",
    "KATALUSIS_WEB_DIR",
    "KATALUSIS_EXECUTOR",
    "KATALUSIS_K8S_NAMESPACE",
    "KATALUSIS_K8S_RESYNC_SECONDS",
    "KATALUSIS_REPLICA_ID",
    "KATALUSIS_LEASE_TTL_SECONDS",
    "KATALUSIS_REDIS_URL",
    "KATALUSIS_K8S_RUN_TTL_SECONDS",
    "KATALUSIS_IMAGE_ALLOW_LIST",
    "KATALUSIS_STARTER_LIBRARY",
    "KATALUSIS_SMTP_URL",
    "KATALUSIS_SMTP_FROM",
    "KATALUSIS_SLA_SWEEP_SECONDS",
    "KATALUSIS_DEMO",
    "KATALUSIS_SECRET_KEY",
    "KATALUSIS_SECRET_KEY_FILE",
    "KATALUSIS_SECRET_OLD_KEYS",
    "KATALUSIS_SECRET_OLD_KEY_FILES",
    "KATALUSIS_SECRET_DEV_KEY_FILE",
];

fn err(var: &str, message: &str) -> ConfigError {
    ConfigError {
        var: var.into(),
        message: message.into(),
    }
}

fn parse<T: FromStr>(var: &str, v: &str) -> Result<T, ConfigError> {
    v.parse()
        .map_err(|_| err(var, &format!("cannot parse '{v}'")))
}

/// The host name and a random suffix: unique even for several processes on
/// one machine (a Pod gets its name through `KATALUSIS_REPLICA_ID`).
fn default_replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .take(80)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "katalusis".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", &suffix[..8])
}

fn parse_range<T>(var: &str, v: &str, lo: T, hi: T) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    let n: T = parse(var, v)?;
    if n < lo || n > hi {
        return Err(err(var, &format!("must be between {lo} and {hi}")));
    }
    Ok(n)
}

fn parse_bool(var: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(err(var, "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!(s.env, Environment::Dev);
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.access_token_ttl_seconds, 900);
        assert!(s.jwt_secret.is_none());
    }

    #[test]
    fn database_outage_settings_are_read_and_checked() {
        let d = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!(d.db_acquire_timeout_ms, 1500);
        assert_eq!(d.db_startup_wait_seconds, None);
        assert_eq!(d.storage_outage_seconds, 600);
        let s = Settings::from_vars(&vars(&[
            ("KATALUSIS_DB_ACQUIRE_TIMEOUT_MS", "500"),
            ("KATALUSIS_DB_STARTUP_WAIT_SECONDS", "0"),
            ("KATALUSIS_STORAGE_OUTAGE_SECONDS", "30"),
            ("KATALUSIS_STORAGE_BACKLOG_MAX", "5000"),
        ]))
        .unwrap();
        assert_eq!(s.db_acquire_timeout_ms, 500);
        assert_eq!(s.db_startup_wait_seconds, Some(0));
        assert_eq!(s.storage_outage_seconds, 30);
        assert_eq!(s.storage_backlog_max, 5000);
        for (k, v) in [
            ("KATALUSIS_DB_ACQUIRE_TIMEOUT_MS", "10"),
            ("KATALUSIS_STORAGE_OUTAGE_SECONDS", "0"),
            ("KATALUSIS_STORAGE_BACKLOG_MAX", "many"),
        ] {
            assert_eq!(Settings::from_vars(&vars(&[(k, v)])).unwrap_err().var, k);
        }
    }

    #[test]
    fn production_requires_a_jwt_secret() {
        let e = Settings::from_vars(&vars(&[("KATALUSIS_ENV", "production")])).unwrap_err();
        assert_eq!(e.var, "KATALUSIS_JWT_SECRET");
        let e = Settings::from_vars(&vars(&[
            ("KATALUSIS_ENV", "production"),
            ("KATALUSIS_JWT_SECRET", &"x".repeat(40)),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "KATALUSIS_SECRET_KEY");
        let s = Settings::from_vars(&vars(&[
            ("KATALUSIS_ENV", "production"),
            ("KATALUSIS_JWT_SECRET", &"x".repeat(40)),
            ("KATALUSIS_SECRET_KEY", KEY),
        ]))
        .unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
    }

    const KEY: &str = "a2F0YWx1c2lzLXZhbGlkYXRlLW1hbmlmZXN0cy1rZXk=";

    #[test]
    fn vault_keys_are_checked_and_never_printed() {
        for (k, v) in [
            ("KATALUSIS_SECRET_KEY", "c2hvcnQ="),
            ("KATALUSIS_SECRET_KEY", "not base64!"),
            ("KATALUSIS_SECRET_OLD_KEYS", "c2hvcnQ="),
        ] {
            let e = Settings::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.var, k, "{k}={v}");
        }
        let both = Settings::from_vars(&vars(&[
            ("KATALUSIS_SECRET_KEY", KEY),
            ("KATALUSIS_SECRET_KEY_FILE", "/k"),
        ]))
        .unwrap_err();
        assert_eq!(both.var, "KATALUSIS_SECRET_KEY_FILE");
        let mut s = Settings::from_vars(&vars(&[
            ("KATALUSIS_SECRET_KEY", KEY),
            ("KATALUSIS_SECRET_OLD_KEYS", &format!("{KEY}, {KEY}")),
        ]))
        .unwrap();
        s.load_vault().unwrap();
        let key = katalusis_vault::Key::from_base64(KEY).unwrap();
        assert_eq!(s.vault.primary_id(), key.id());
        assert!(!format!("{s:?}").contains(KEY), "key in Debug output");
    }

    #[test]
    fn dev_mode_creates_the_key_file_once() {
        let dir = std::env::temp_dir().join(format!("kat-devkey-{}", std::process::id()));
        let path = dir.join("secret.key");
        let vars = vars(&[("KATALUSIS_SECRET_DEV_KEY_FILE", path.to_str().unwrap())]);
        let mut a = Settings::from_vars(&vars).unwrap();
        a.load_vault().unwrap();
        let mut b = Settings::from_vars(&vars).unwrap();
        b.load_vault().unwrap();
        assert_eq!(a.vault.primary_id(), b.vault.primary_id());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (k, v) in [
            ("KATALUSIS_BIND", "nowhere"),
            ("KATALUSIS_MAX_BODY_BYTES", "-1"),
            ("KATALUSIS_ACCESS_TOKEN_TTL_SECONDS", "5"),
            ("KATALUSIS_TRUST_PROXY_HEADERS", "maybe"),
            ("KATALUSIS_ADMIN_PASSWORD", "short"),
            ("KATALUSIS_TYPO", "1"),
            ("DATABASE_URL", "postgres://x"),
        ] {
            let e = Settings::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.var, k, "{k}={v}");
        }
    }

    #[test]
    fn kubernetes_mode_settings_are_read_and_checked() {
        let s = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!(s.executor, ExecutorMode::Local);
        let s = Settings::from_vars(&vars(&[
            ("KATALUSIS_EXECUTOR", "kubernetes"),
            ("KATALUSIS_K8S_NAMESPACE", "katalusis-prod"),
            ("KATALUSIS_K8S_RESYNC_SECONDS", "30"),
            ("KATALUSIS_K8S_RUN_TTL_SECONDS", "0"),
            (
                "KATALUSIS_IMAGE_ALLOW_LIST",
                "registry.example/nodes/pandas:1, ghcr.io/acme/geo@sha256:abc",
            ),
        ]))
        .unwrap();
        assert_eq!(s.k8s_run_ttl_seconds, 0);
        assert_eq!(
            s.image_allow_list,
            [
                "registry.example/nodes/pandas:1",
                "ghcr.io/acme/geo@sha256:abc"
            ]
        );
        assert_eq!(s.executor, ExecutorMode::Kubernetes);
        assert_eq!(s.k8s_namespace.as_deref(), Some("katalusis-prod"));
        assert_eq!(s.k8s_resync_seconds, 30);
        for (k, v) in [
            ("KATALUSIS_EXECUTOR", "docker"),
            ("KATALUSIS_K8S_NAMESPACE", "Bad_Name"),
            ("KATALUSIS_K8S_NAMESPACE", "-edge"),
            ("KATALUSIS_K8S_RESYNC_SECONDS", "0"),
            ("KATALUSIS_K8S_RUN_TTL_SECONDS", "-1"),
            ("KATALUSIS_IMAGE_ALLOW_LIST", "Not An Image"),
        ] {
            let e = Settings::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.var, k, "{k}={v}");
        }
    }

    #[test]
    fn executor_settings_are_read_and_checked() {
        let s = Settings::from_vars(&vars(&[
            ("KATALUSIS_RUNNER_PATH", "/opt/runner.py"),
            ("KATALUSIS_PYTHON", "python3.11"),
            ("KATALUSIS_SANDBOX", "none"),
            ("KATALUSIS_BWRAP", "/opt/bwrap"),
            ("KATALUSIS_MAX_PARALLEL_NODES", "7"),
            ("KATALUSIS_MAX_PARALLEL_NODES_PER_RUN", "3"),
            ("KATALUSIS_POOL_IDLE_SECONDS", "30"),
            ("KATALUSIS_MAX_OUTPUT_BYTES", "2048"),
            ("KATALUSIS_MAX_LOG_BYTES", "4096"),
            ("KATALUSIS_MAX_FILE_BYTES", "8192"),
            ("KATALUSIS_SYNC_RUN_WAIT_SECONDS", "5"),
            ("KATALUSIS_RUN_RETENTION_DAYS", "30"),
        ]))
        .unwrap();
        assert_eq!(
            s.runner_path.as_deref(),
            Some(std::path::Path::new("/opt/runner.py"))
        );
        assert_eq!(s.python, "python3.11");
        assert_eq!(s.sandbox, SandboxMode::None);
        assert_eq!(s.bwrap_path, std::path::PathBuf::from("/opt/bwrap"));
        assert_eq!(s.max_parallel_nodes, 7);
        assert_eq!(s.max_parallel_nodes_per_run, Some(3));
        assert_eq!(s.pool_idle, std::time::Duration::from_secs(30));
        assert_eq!(
            (s.max_output_bytes, s.max_log_bytes, s.max_file_bytes),
            (2048, 4096, 8192)
        );
        assert_eq!(s.sync_run_wait_seconds, 5);
        assert_eq!(s.run_retention_days, Some(30));
        assert_eq!(Settings::default().run_retention_days, None);
        let r = Settings::from_vars(&vars(&[
            ("KATALUSIS_RUN_RETENTION_DAYS", "30"),
            ("KATALUSIS_RETENTION_LOG_LINES_DAYS", "7"),
            ("KATALUSIS_RETENTION_AUDIT_DAYS", "400"),
            ("KATALUSIS_RETENTION_BATCH_ROWS", "500"),
        ]))
        .unwrap()
        .retention();
        assert_eq!(
            (
                r.run_events_days,
                r.log_lines_days,
                r.files_days,
                r.audit_days,
                r.batch_rows
            ),
            (Some(30), Some(7), Some(30), Some(400), 500)
        );
        assert!(Settings::default().retention().is_empty());
        assert_eq!(
            Settings::from_vars(&vars(&[("KATALUSIS_RETENTION_AUDIT_DAYS", "0")]))
                .unwrap_err()
                .var,
            "KATALUSIS_RETENTION_AUDIT_DAYS"
        );
        assert!(Settings::default().max_parallel_nodes >= 1);
        for (k, v) in [
            ("KATALUSIS_SANDBOX", "docker"),
            ("KATALUSIS_MAX_PARALLEL_NODES", "0"),
            ("KATALUSIS_MAX_OUTPUT_BYTES", "1"),
        ] {
            assert_eq!(Settings::from_vars(&vars(&[(k, v)])).unwrap_err().var, k);
        }
    }

    #[test]
    fn the_starter_library_is_on_unless_opted_out() {
        assert!(Settings::from_vars(&vars(&[])).unwrap().starter_library);
        let off = Settings::from_vars(&vars(&[("KATALUSIS_STARTER_LIBRARY", "false")])).unwrap();
        assert!(!off.starter_library);
        let e = Settings::from_vars(&vars(&[("KATALUSIS_STARTER_LIBRARY", "maybe")])).unwrap_err();
        assert_eq!(e.var, "KATALUSIS_STARTER_LIBRARY");
    }

    #[test]
    fn the_redis_url_is_checked_and_kept_secret() {
        assert!(Settings::from_vars(&vars(&[])).unwrap().redis_url.is_none());
        let s = Settings::from_vars(&vars(&[(
            "KATALUSIS_REDIS_URL",
            "redis://:hunter22@redis:6379/0",
        )]))
        .unwrap();
        assert_eq!(
            s.redis_url.as_ref().map(Secret::expose),
            Some("redis://:hunter22@redis:6379/0")
        );
        assert!(!format!("{s:?}").contains("hunter22"));
        for v in ["http://redis:6379", "redis:6379", "redis://"] {
            let e = Settings::from_vars(&vars(&[("KATALUSIS_REDIS_URL", v)])).unwrap_err();
            assert_eq!(e.var, "KATALUSIS_REDIS_URL", "{v}");
        }
    }

    #[test]
    fn smtp_settings_are_read_and_checked() {
        let s = Settings::from_vars(&vars(&[])).unwrap();
        assert!(s.smtp_url.is_none());
        assert_eq!(s.sla_sweep_seconds, 60);
        let s = Settings::from_vars(&vars(&[
            (
                "KATALUSIS_SMTP_URL",
                "smtp://bot:hunter22@mail.example:587?tls=required",
            ),
            ("KATALUSIS_SMTP_FROM", "Ops <ops@example.com>"),
            ("KATALUSIS_SLA_SWEEP_SECONDS", "5"),
        ]))
        .unwrap();
        assert_eq!(
            s.smtp_url.as_ref().map(Secret::expose),
            Some("smtp://bot:hunter22@mail.example:587?tls=required")
        );
        assert!(!format!("{s:?}").contains("hunter22"));
        assert_eq!(s.smtp_from, "Ops <ops@example.com>");
        assert_eq!(s.sla_sweep_seconds, 5);
        for (k, v) in [
            ("KATALUSIS_SMTP_URL", "http://mail.example"),
            ("KATALUSIS_SMTP_URL", "mail.example:25"),
            ("KATALUSIS_SMTP_FROM", "not an address"),
            ("KATALUSIS_SLA_SWEEP_SECONDS", "0"),
        ] {
            assert_eq!(
                Settings::from_vars(&vars(&[(k, v)])).unwrap_err().var,
                k,
                "{k}={v}"
            );
        }
    }

    #[test]
    fn tls_metrics_rotation_and_audit_settings_are_read_and_checked() {
        let d = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!((d.tls.clone(), d.metrics_addr), (None, None));
        assert_eq!(d.audit_reads, AuditReads::Downloads);
        let s = Settings::from_vars(&vars(&[
            ("KATALUSIS_TLS_SELF_SIGNED", "true"),
            ("KATALUSIS_METRICS_ADDR", "127.0.0.1:9090"),
            ("KATALUSIS_AUDIT_READS", "all"),
            ("KATALUSIS_JWT_SECRET", &"a".repeat(32)),
            ("KATALUSIS_JWT_PREVIOUS_SECRET", &"b".repeat(32)),
        ]))
        .unwrap();
        assert_eq!(s.tls, Some(TlsSource::SelfSigned));
        assert_eq!(s.metrics_addr, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(s.audit_reads, AuditReads::All);
        assert!(!format!("{s:?}").contains("bbbb"));
        let prod = [
            ("KATALUSIS_ENV", "production"),
            ("KATALUSIS_JWT_SECRET", &"x".repeat(40)),
            ("KATALUSIS_TLS_SELF_SIGNED", "true"),
        ];
        let e = Settings::from_vars(&vars(&prod)).unwrap_err();
        assert_eq!(e.var, "KATALUSIS_TLS_SELF_SIGNED");
        // Half a certificate names the missing half; a missing file names itself.
        let e = Settings::from_vars(&vars(&[("KATALUSIS_TLS_CERT", "/x.pem")])).unwrap_err();
        assert_eq!(e.var, "KATALUSIS_TLS_KEY");
        let e = Settings::from_vars(&vars(&[
            ("KATALUSIS_TLS_CERT", "/nonexistent/cert.pem"),
            ("KATALUSIS_TLS_KEY", "/nonexistent/key.pem"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "KATALUSIS_TLS_CERT");
        for (k, v) in [
            ("KATALUSIS_METRICS_ADDR", "127.0.0.1:8080"),
            ("KATALUSIS_METRICS_ADDR", "everywhere"),
            ("KATALUSIS_AUDIT_READS", "some"),
            ("KATALUSIS_JWT_PREVIOUS_SECRET", &"b".repeat(32)),
        ] {
            let e = Settings::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.var, k, "{k}={v}");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s =
            Settings::from_vars(&vars(&[("KATALUSIS_JWT_SECRET", &"s3cr3t".repeat(8))])).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
