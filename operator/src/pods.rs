//! Pod names, labels and the Pod spec for one node attempt. Pure functions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, Pod, PodSecurityContext,
    PodSpec, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use katalusis_crds::graph::Node;
use katalusis_crds::resources::{Run, RunSnapshot, SnapshotError};
use katalusis_crds::TrustLevel;
use kube::Resource;
use sha2::{Digest, Sha256};

pub use katalusis_crds::contract::pod::{
    ANNOTATION_NODE_ID, LABEL_ATTEMPT, LABEL_CLIENT, LABEL_NODE, LABEL_RUN, LABEL_TRUST,
    LABEL_WORKFLOW, MANAGED_BY,
};
/// Name of the node container.
pub const CONTAINER: &str = "node";
/// Where the runner lives in the node runtime image.
pub const ENTRYPOINT: &str = "/opt/katalusis/pod_entrypoint.py";
/// The uid/gid the node runtime image runs as.
pub const RUNTIME_UID: i64 = 10001;

/// Operator-wide settings that shape every Pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodSettings {
    /// The node runtime image (`runner/Dockerfile`).
    pub runner_image: String,
    /// Images a template may name instead of the runtime image.
    pub image_allow_list: Vec<String>,
    /// Base URL of the API server's internal ingest endpoint, reachable from Pods.
    pub ingest_url: String,
    /// Size limit of the node's temp dir (`emptyDir`), in MiB.
    pub tmp_size_limit_mib: u32,
    /// Added to the node's timeout for `activeDeadlineSeconds`, to cover image
    /// start and input download; the runner enforces the node's own timeout.
    pub deadline_grace_seconds: u32,
    /// `imagePullPolicy` of node containers.
    pub image_pull_policy: String,
}

impl Default for PodSettings {
    fn default() -> Self {
        Self {
            runner_image: "katalusis/runner:dev".into(),
            image_allow_list: Vec::new(),
            ingest_url: "http://katalusis-api:8080/internal".into(),
            tmp_size_limit_mib: 256,
            deadline_grace_seconds: 30,
            image_pull_policy: "IfNotPresent".into(),
        }
    }
}

/// Why a Pod could not be built for a node.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PodError {
    /// The snapshot lacks the node or its template.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The node is not in the snapshot's graph.
    #[error("node `{0}` is not in the run's graph")]
    UnknownNode(String),
    /// The template names an image that is not allow-listed.
    #[error("image `{0}` is not on the operator's image allow-list")]
    ImageNotAllowed(String),
}

fn short_hash(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..4])
}

/// Lowercase DNS-label characters of `s`, other characters as `-`, trimmed
/// of leading and trailing `-` and cut to `max` characters.
fn dns_part(s: &str, max: usize) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(max)
        .collect();
    mapped.trim_matches('-').to_owned()
}

/// Label-safe form of a node id: readable prefix plus a hash of the exact id,
/// so distinct ids never share a label value.
pub fn node_label(node_id: &str) -> String {
    let part = dns_part(node_id, 40);
    let hash = short_hash(node_id);
    if part.is_empty() {
        hash
    } else {
        format!("{part}-{hash}")
    }
}

/// Deterministic Pod name `<run>-<node>-<attempt>`: the node part is a
/// DNS-safe prefix of the node id plus a hash of the exact id; the result is
/// at most 63 characters, so a restarted operator recomputes the same name
/// and `AlreadyExists` tells it the Pod is there.
pub fn pod_name(run: &str, node_id: &str, attempt: u32) -> String {
    let suffix = format!("-{}-{attempt}", short_hash(node_id));
    let node = dns_part(node_id, 20);
    let room = 63 - suffix.len() - if node.is_empty() { 0 } else { node.len() + 1 };
    let run_part = dns_part(run, room);
    let mut name = run_part;
    if !node.is_empty() {
        name.push('-');
        name.push_str(&node);
    }
    name.push_str(&suffix);
    name
}

fn quantity(s: String) -> Quantity {
    Quantity(s)
}

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

/// Label selector matching every Pod the operator manages.
pub fn is_managed_selector() -> String {
    format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)
}

/// Builds the Pod for attempt `attempt` of node `node_id` of `run`.
pub fn build_pod(
    run: &Run,
    snapshot: &RunSnapshot,
    node_id: &str,
    attempt: u32,
    settings: &PodSettings,
) -> Result<Pod, PodError> {
    let node: &Node = snapshot
        .graph
        .node(node_id)
        .ok_or_else(|| PodError::UnknownNode(node_id.to_owned()))?;
    let template = snapshot.template_of(node)?;
    let limits = snapshot.effective_limits(node)?;
    let image = match &template.image {
        None => settings.runner_image.clone(),
        Some(image) if settings.image_allow_list.iter().any(|a| a == image) => image.clone(),
        Some(image) => return Err(PodError::ImageNotAllowed(image.clone())),
    };
    let run_name = run.metadata.name.clone().unwrap_or_default();
    let trust = match template.template.trust_level {
        TrustLevel::Restricted => "restricted",
        TrustLevel::Trusted => "trusted",
    };

    let labels = BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        ("app.kubernetes.io/component".to_owned(), "node".to_owned()),
        (LABEL_RUN.to_owned(), run_name.clone()),
        (LABEL_NODE.to_owned(), node_label(node_id)),
        (
            LABEL_WORKFLOW.to_owned(),
            run.spec.workflow.workflow_id.to_string(),
        ),
        (LABEL_CLIENT.to_owned(), run.spec.client_id.to_string()),
        (LABEL_TRUST.to_owned(), trust.to_owned()),
        (LABEL_ATTEMPT.to_owned(), attempt.to_string()),
    ]);
    let annotations = BTreeMap::from([(ANNOTATION_NODE_ID.to_owned(), node_id.to_owned())]);
    let owner = OwnerReference {
        api_version: Run::api_version(&()).into_owned(),
        kind: Run::kind(&()).into_owned(),
        name: run_name.clone(),
        uid: run.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };

    let resources = BTreeMap::from([
        (
            "cpu".to_owned(),
            quantity(format!("{}m", limits.cpu_millicores)),
        ),
        (
            "memory".to_owned(),
            quantity(format!("{}Mi", limits.memory_mib)),
        ),
    ]);
    let container = Container {
        name: CONTAINER.into(),
        image: Some(image),
        image_pull_policy: Some(settings.image_pull_policy.clone()),
        command: Some(vec!["python3".into(), ENTRYPOINT.into()]),
        env: Some(vec![
            env("KATALUSIS_INGEST_URL", settings.ingest_url.clone()),
            env("KATALUSIS_RUN_ID", run.spec.run_id.to_string()),
            env("KATALUSIS_RUN_NAME", run_name.clone()),
            env("KATALUSIS_NODE_ID", node_id),
            env("KATALUSIS_ATTEMPT", attempt.to_string()),
            EnvVar {
                name: "KATALUSIS_RUN_TOKEN".into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: run.spec.token_secret.clone(),
                        key: katalusis_crds::contract::TOKEN_SECRET_KEY.into(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            },
            env("TMPDIR", "/tmp"),
            env("HOME", "/tmp"),
            env("PYTHONDONTWRITEBYTECODE", "1"),
        ]),
        resources: Some(ResourceRequirements {
            requests: Some(resources.clone()),
            limits: Some(resources),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUNTIME_UID),
            run_as_group: Some(RUNTIME_UID),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        }]),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    };

    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(pod_name(&run_name, node_id, attempt)),
            namespace: run.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            active_deadline_seconds: Some(
                i64::from(limits.timeout_seconds) + i64::from(settings.deadline_grace_seconds),
            ),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(RUNTIME_UID),
                run_as_group: Some(RUNTIME_UID),
                fs_group: Some(RUNTIME_UID),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..PodSecurityContext::default()
            }),
            containers: vec![container],
            volumes: Some(vec![Volume {
                name: "tmp".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: None,
                    size_limit: Some(quantity(format!("{}Mi", settings.tmp_size_limit_mib))),
                }),
                ..Volume::default()
            }]),
            ..PodSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{run_with, snapshot_chain};

    #[test]
    fn pod_names_are_deterministic_dns_labels_of_at_most_63_characters() {
        let long_run = "r".repeat(80);
        for (run, node) in [
            ("run-1", "a"),
            (
                long_run.as_str(),
                "Some_Node.With/odd chars and a very long id indeed",
            ),
            ("run-1", "___"),
        ] {
            let name = pod_name(run, node, 12);
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!name.starts_with('-') && name.ends_with("-12"), "{name}");
            assert_eq!(name, pod_name(run, node, 12));
        }
        assert_eq!(
            pod_name("run-1", "a", 1),
            format!("run-1-a-{}-1", short_hash("a"))
        );
    }

    #[test]
    fn node_ids_that_sanitize_alike_get_different_pod_names() {
        assert_ne!(pod_name("r", "a_b", 1), pod_name("r", "a.b", 1));
        assert_ne!(node_label("a_b"), node_label("a.b"));
    }

    #[test]
    fn pod_carries_limits_deadline_security_context_and_labels() {
        let snapshot = snapshot_chain(&["a", "b"]);
        let run = run_with(snapshot.clone());
        let settings = PodSettings::default();
        let pod = build_pod(&run, &snapshot, "a", 2, &settings).unwrap();
        let meta = &pod.metadata;
        assert_eq!(
            meta.name.as_deref(),
            Some(pod_name("demo", "a", 2).as_str())
        );
        let labels = meta.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_RUN], "demo");
        assert_eq!(labels[LABEL_WORKFLOW], "7");
        assert_eq!(labels[LABEL_CLIENT], "3");
        assert_eq!(labels[LABEL_TRUST], "restricted");
        assert_eq!(labels[LABEL_ATTEMPT], "2");
        let owner = &meta.owner_references.as_ref().unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("Run", Some(true)));
        assert_eq!(owner.uid, "uid-demo");

        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
        assert_eq!(spec.active_deadline_seconds, Some(60 + 30));
        assert_eq!(spec.automount_service_account_token, Some(false));
        let c = &spec.containers[0];
        let limits = c.resources.as_ref().unwrap().limits.as_ref().unwrap();
        assert_eq!(limits["cpu"].0, "500m");
        assert_eq!(limits["memory"].0, "256Mi");
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_owned()][..])
        );
        assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
        let tmp = &spec.volumes.as_ref().unwrap()[0];
        assert_eq!(
            tmp.empty_dir
                .as_ref()
                .unwrap()
                .size_limit
                .as_ref()
                .unwrap()
                .0,
            "256Mi"
        );
        let token = c
            .env
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.name == "KATALUSIS_RUN_TOKEN")
            .unwrap();
        let secret = token
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        assert_eq!(
            (secret.name.as_str(), secret.key.as_str()),
            ("demo-token", "token")
        );
    }

    #[test]
    fn template_images_must_be_allow_listed() {
        let mut snapshot = snapshot_chain(&["a"]);
        snapshot.templates[0].image = Some("registry.example/custom:1".into());
        let run = run_with(snapshot.clone());
        let mut settings = PodSettings::default();
        let err = build_pod(&run, &snapshot, "a", 1, &settings).unwrap_err();
        assert_eq!(
            err,
            PodError::ImageNotAllowed("registry.example/custom:1".into())
        );
        settings.image_allow_list = vec!["registry.example/custom:1".into()];
        let pod = build_pod(&run, &snapshot, "a", 1, &settings).unwrap();
        assert_eq!(
            pod.spec.unwrap().containers[0].image.as_deref(),
            Some("registry.example/custom:1")
        );
    }

    #[test]
    fn trusted_templates_are_labelled_trusted() {
        let mut snapshot = snapshot_chain(&["a"]);
        snapshot.templates[0].template.trust_level = TrustLevel::Trusted;
        let run = run_with(snapshot.clone());
        let pod = build_pod(&run, &snapshot, "a", 1, &PodSettings::default()).unwrap();
        assert_eq!(pod.metadata.labels.unwrap()[LABEL_TRUST], "trusted");
    }
}
