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
    pub max_output_bytes: u64,
    pub max_log_bytes: u64,
    pub max_file_bytes: u64,
    /// How long `mode: "sync"` run requests wait before answering 202.
    pub sync_run_wait_seconds: u64,
    /// Delete logs and files of runs finished more than this many days ago; `None` keeps them.
    pub run_retention_days: Option<u32>,
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
            max_parallel_nodes: cpu_cores(),
            max_parallel_nodes_per_run: None,
            max_output_bytes: 16 * 1024 * 1024,
            max_log_bytes: 1024 * 1024,
            max_file_bytes: 64 * 1024 * 1024,
            sync_run_wait_seconds: 30,
            run_retention_days: None,
            web_dir: None,
            executor: ExecutorMode::Local,
            k8s_namespace: None,
            k8s_resync_seconds: 60,
            k8s_run_ttl_seconds: 24 * 3600,
            image_allow_list: Vec::new(),
            starter_library: true,
            smtp_url: None,
            smtp_from: "Katalusis <katalusis@localhost>".into(),
            sla_sweep_seconds: 60,
            import_max_bytes: 10 * 1024 * 1024,
            import_max_rows: 100_000,
            import_retention_hours: 24,
            demo: false,
        }
    }
}

impl Settings {
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
            if !KNOWN_VARS.contains(&k.as_str()) {
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
    "KATALUSIS_MAX_OUTPUT_BYTES",
    "KATALUSIS_MAX_LOG_BYTES",
    "KATALUSIS_MAX_FILE_BYTES",
    "KATALUSIS_SYNC_RUN_WAIT_SECONDS",
    "KATALUSIS_RUN_RETENTION_DAYS",
    "KATALUSIS_WEB_DIR",
    "KATALUSIS_EXECUTOR",
    "KATALUSIS_K8S_NAMESPACE",
    "KATALUSIS_K8S_RESYNC_SECONDS",
    "KATALUSIS_K8S_RUN_TTL_SECONDS",
    "KATALUSIS_IMAGE_ALLOW_LIST",
    "KATALUSIS_STARTER_LIBRARY",
    "KATALUSIS_SMTP_URL",
    "KATALUSIS_SMTP_FROM",
    "KATALUSIS_SLA_SWEEP_SECONDS",
    "KATALUSIS_DEMO",
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
        let s = Settings::from_vars(&vars(&[
            ("KATALUSIS_ENV", "production"),
            ("KATALUSIS_JWT_SECRET", &"x".repeat(40)),
        ]))
        .unwrap();
        assert_eq!(s.log_format, LogFormat::Json);
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
        assert_eq!(
            (s.max_output_bytes, s.max_log_bytes, s.max_file_bytes),
            (2048, 4096, 8192)
        );
        assert_eq!(s.sync_run_wait_seconds, 5);
        assert_eq!(s.run_retention_days, Some(30));
        assert_eq!(Settings::default().run_retention_days, None);
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
    fn secrets_do_not_show_in_debug_output() {
        let s =
            Settings::from_vars(&vars(&[("KATALUSIS_JWT_SECRET", &"s3cr3t".repeat(8))])).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
