//! `Settings`: read once at startup from `KATALUSIS_*` variables and the
//! downward-API variables `POD_NAME` and `POD_NAMESPACE`. Nothing else reads
//! the environment, so tests can build any configuration.
//!
//! | variable | default |
//! |---|---|
//! | `KATALUSIS_RUNNER_IMAGE` | `katalusis/runner:dev` |
//! | `KATALUSIS_IMAGE_ALLOW_LIST` | empty (comma-separated images templates may name) |
//! | `KATALUSIS_INGEST_URL` | `http://katalusis-api:8080/internal` |
//! | `KATALUSIS_IMAGE_PULL_POLICY` | `IfNotPresent` (or `Always`, `Never`) |
//! | `KATALUSIS_TMP_SIZE_MIB` | `256` (at least 1) |
//! | `KATALUSIS_DEADLINE_GRACE_SECONDS` | `30` |
//! | `KATALUSIS_MAX_PODS_PER_NAMESPACE` | `50` (at least 1) |
//! | `KATALUSIS_WATCH_NAMESPACE` | empty: all namespaces |
//! | `KATALUSIS_METRICS_BIND` | `0.0.0.0:8081` |
//! | `KATALUSIS_LEADER_ELECTION` | `true` (`true`/`false`, `1`/`0`, `yes`/`no`) |
//! | `KATALUSIS_LOG` | `info` (a `tracing` filter, e.g. `info,kube=debug`) |
//! | `POD_NAME` | Lease identity and Event `reportingInstance`; default `operator-<pid>` for the Lease |
//! | `POD_NAMESPACE` | namespace of the Lease; default `default` |
//!
//! An empty variable counts as unset.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::controller;
use crate::leader::LeaseSettings;
use crate::pods::PodSettings;

/// Name of the Lease the replicas compete for.
pub const LEASE_NAME: &str = "katalusis-operator";

/// The `imagePullPolicy` values Kubernetes accepts.
pub const IMAGE_PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];

/// Everything the operator process is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What the controller and its Pods need.
    pub controller: controller::Settings,
    /// Where `/metrics` and `/healthz` are served.
    pub metrics_bind: SocketAddr,
    /// The Lease to hold before reconciling; `None` when leader election is
    /// off (a single replica).
    pub lease: Option<LeaseSettings>,
    /// `tracing` filter directives.
    pub log_filter: String,
}

/// A variable with a value the operator cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: String,
    /// What is wrong with its value.
    pub message: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Builds settings from `get`, which returns a variable's value.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        let pod_defaults = PodSettings::default();
        let image_pull_policy = match get("KATALUSIS_IMAGE_PULL_POLICY") {
            None => pod_defaults.image_pull_policy,
            Some(v) if IMAGE_PULL_POLICIES.contains(&v.as_str()) => v,
            Some(_) => {
                return Err(err(
                    "KATALUSIS_IMAGE_PULL_POLICY",
                    &format!("must be one of {}", IMAGE_PULL_POLICIES.join(", ")),
                ))
            }
        };
        let pods = PodSettings {
            runner_image: get("KATALUSIS_RUNNER_IMAGE").unwrap_or(pod_defaults.runner_image),
            image_allow_list: get("KATALUSIS_IMAGE_ALLOW_LIST")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            ingest_url: get("KATALUSIS_INGEST_URL").unwrap_or(pod_defaults.ingest_url),
            tmp_size_limit_mib: match get("KATALUSIS_TMP_SIZE_MIB") {
                Some(v) => parse_range("KATALUSIS_TMP_SIZE_MIB", &v, 1, u32::MAX)?,
                None => pod_defaults.tmp_size_limit_mib,
            },
            deadline_grace_seconds: match get("KATALUSIS_DEADLINE_GRACE_SECONDS") {
                Some(v) => parse("KATALUSIS_DEADLINE_GRACE_SECONDS", &v)?,
                None => pod_defaults.deadline_grace_seconds,
            },
            image_pull_policy,
        };
        let controller_defaults = controller::Settings::default();
        let pod_name = get("POD_NAME");
        let controller = controller::Settings {
            pods,
            max_pods_per_namespace: match get("KATALUSIS_MAX_PODS_PER_NAMESPACE") {
                Some(v) => parse_range("KATALUSIS_MAX_PODS_PER_NAMESPACE", &v, 1, u32::MAX)?,
                None => controller_defaults.max_pods_per_namespace,
            },
            namespace: get("KATALUSIS_WATCH_NAMESPACE"),
            instance: pod_name.clone(),
            ..controller_defaults
        };
        let metrics_bind = match get("KATALUSIS_METRICS_BIND") {
            Some(v) => parse("KATALUSIS_METRICS_BIND", &v)?,
            None => SocketAddr::from(([0, 0, 0, 0], 8081)),
        };
        let leader_election = match get("KATALUSIS_LEADER_ELECTION") {
            Some(v) => parse_bool("KATALUSIS_LEADER_ELECTION", &v)?,
            None => true,
        };
        let lease = leader_election.then(|| LeaseSettings {
            name: LEASE_NAME.into(),
            namespace: get("POD_NAMESPACE").unwrap_or_else(|| "default".into()),
            identity: pod_name.unwrap_or_else(|| format!("operator-{}", std::process::id())),
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        });
        let log_filter = get("KATALUSIS_LOG").unwrap_or_else(|| "info".into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(err("KATALUSIS_LOG", &format!("not a tracing filter: {e}")));
        }
        Ok(Self {
            controller,
            metrics_bind,
            lease,
            log_filter,
        })
    }
}

fn err(var: &str, message: &str) -> ConfigError {
    ConfigError {
        var: var.into(),
        message: message.into(),
    }
}

fn parse<T>(var: &str, v: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    v.parse()
        .map_err(|e| err(var, &format!("cannot parse '{v}': {e}")))
}

fn parse_range<T>(var: &str, v: &str, lo: T, hi: T) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
    T::Err: fmt::Display,
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

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_vars(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn error_of(pairs: &[(&str, &str)]) -> ConfigError {
        from(pairs).expect_err("the value is refused")
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = from(&[]).unwrap();
        assert_eq!(s.controller.pods, PodSettings::default());
        assert_eq!(s.controller.max_pods_per_namespace, 50);
        assert_eq!(s.controller.namespace, None);
        assert_eq!(s.controller.instance, None);
        assert_eq!(s.controller.reporter, controller::FIELD_MANAGER);
        assert_eq!(s.controller.error_requeue, Duration::from_secs(1));
        assert_eq!(s.controller.error_requeue_max, Duration::from_secs(300));
        assert_eq!(s.metrics_bind, "0.0.0.0:8081".parse().unwrap());
        assert_eq!(s.log_filter, "info");
        let lease = s.lease.expect("leader election is on by default");
        assert_eq!(lease.name, "katalusis-operator");
        assert_eq!(lease.namespace, "default");
        assert_eq!(lease.identity, format!("operator-{}", std::process::id()));
        assert_eq!(lease.lease_duration, Duration::from_secs(15));
        assert_eq!(lease.renew_every, Duration::from_secs(5));
    }

    #[test]
    fn every_variable_is_read() {
        let s = from(&[
            ("KATALUSIS_RUNNER_IMAGE", "registry.example/runner:1.2"),
            ("KATALUSIS_IMAGE_ALLOW_LIST", " a/b:1, ,c/d:2 ,"),
            ("KATALUSIS_INGEST_URL", "http://api.ns.svc:8080/internal"),
            ("KATALUSIS_IMAGE_PULL_POLICY", "Always"),
            ("KATALUSIS_TMP_SIZE_MIB", "512"),
            ("KATALUSIS_DEADLINE_GRACE_SECONDS", "0"),
            ("KATALUSIS_MAX_PODS_PER_NAMESPACE", "7"),
            ("KATALUSIS_WATCH_NAMESPACE", "katalusis"),
            ("KATALUSIS_METRICS_BIND", "127.0.0.1:9090"),
            ("KATALUSIS_LEADER_ELECTION", "true"),
            ("KATALUSIS_LOG", "debug,kube=info"),
            ("POD_NAME", "katalusis-operator-7d9f-abc"),
            ("POD_NAMESPACE", "katalusis"),
        ])
        .unwrap();
        let pods = &s.controller.pods;
        assert_eq!(pods.runner_image, "registry.example/runner:1.2");
        assert_eq!(pods.image_allow_list, ["a/b:1", "c/d:2"]);
        assert_eq!(pods.ingest_url, "http://api.ns.svc:8080/internal");
        assert_eq!(pods.image_pull_policy, "Always");
        assert_eq!(pods.tmp_size_limit_mib, 512);
        assert_eq!(pods.deadline_grace_seconds, 0);
        assert_eq!(s.controller.max_pods_per_namespace, 7);
        assert_eq!(s.controller.namespace.as_deref(), Some("katalusis"));
        assert_eq!(
            s.controller.instance.as_deref(),
            Some("katalusis-operator-7d9f-abc")
        );
        assert_eq!(s.metrics_bind, "127.0.0.1:9090".parse().unwrap());
        assert_eq!(s.log_filter, "debug,kube=info");
        let lease = s.lease.unwrap();
        assert_eq!(lease.namespace, "katalusis");
        assert_eq!(lease.identity, "katalusis-operator-7d9f-abc");
    }

    #[test]
    fn leader_election_can_be_switched_off() {
        for off in ["false", "0", "no"] {
            let s = from(&[("KATALUSIS_LEADER_ELECTION", off)]).unwrap();
            assert!(s.lease.is_none(), "{off}");
        }
        for on in ["true", "1", "yes"] {
            let s = from(&[("KATALUSIS_LEADER_ELECTION", on)]).unwrap();
            assert!(s.lease.is_some(), "{on}");
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s = from(&[
            ("KATALUSIS_RUNNER_IMAGE", ""),
            ("KATALUSIS_WATCH_NAMESPACE", ""),
            ("KATALUSIS_MAX_PODS_PER_NAMESPACE", ""),
            ("KATALUSIS_LEADER_ELECTION", ""),
            ("POD_NAME", ""),
        ])
        .unwrap();
        assert_eq!(s.controller.pods.runner_image, "katalusis/runner:dev");
        assert_eq!(s.controller.namespace, None);
        assert_eq!(s.controller.max_pods_per_namespace, 50);
        assert_eq!(s.controller.instance, None);
        assert!(s.lease.is_some());
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let cases = [
            ("KATALUSIS_TMP_SIZE_MIB", "lots"),
            ("KATALUSIS_TMP_SIZE_MIB", "0"),
            ("KATALUSIS_TMP_SIZE_MIB", "-1"),
            ("KATALUSIS_DEADLINE_GRACE_SECONDS", "30s"),
            ("KATALUSIS_MAX_PODS_PER_NAMESPACE", "0"),
            ("KATALUSIS_MAX_PODS_PER_NAMESPACE", "99999999999"),
            ("KATALUSIS_METRICS_BIND", "8081"),
            ("KATALUSIS_LEADER_ELECTION", "maybe"),
            ("KATALUSIS_IMAGE_PULL_POLICY", "ifnotpresent"),
            ("KATALUSIS_LOG", "info,kube=loud"),
        ];
        for (var, value) in cases {
            let e = error_of(&[(var, value)]);
            assert_eq!(e.var, var, "{var}={value}");
        }
    }

    #[test]
    fn errors_say_what_is_expected() {
        assert_eq!(
            error_of(&[("KATALUSIS_MAX_PODS_PER_NAMESPACE", "0")]).to_string(),
            "invalid configuration: KATALUSIS_MAX_PODS_PER_NAMESPACE: must be between 1 and 4294967295"
        );
        assert_eq!(
            error_of(&[("KATALUSIS_IMAGE_PULL_POLICY", "sometimes")]).to_string(),
            "invalid configuration: KATALUSIS_IMAGE_PULL_POLICY: must be one of Always, IfNotPresent, Never"
        );
        let e = error_of(&[("KATALUSIS_TMP_SIZE_MIB", "lots")]).to_string();
        assert!(
            e.starts_with("invalid configuration: KATALUSIS_TMP_SIZE_MIB: cannot parse 'lots': "),
            "{e}"
        );
    }
}
