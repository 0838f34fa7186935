//! The Kubernetes objects the API server writes, built from database rows
//! (pure, no I/O): the `Run` with its token `Secret` and, for large
//! snapshots, a `ConfigMap`; and the `Workflow` mirror of a saved graph.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::ByteString;
use katalusis_crds::plan::FailurePolicy;
use katalusis_crds::resources::{
    Run, RunSnapshot, RunSpec, RunWorkflowRef, Workflow, WorkflowSpec,
};
use katalusis_crds::Graph;
use kube::{Resource, ResourceExt};

pub use katalusis_crds::contract::api::{
    FIELD_MANAGER, LABEL_ADOPTED_RUN_ID, LABEL_CLIENT_ID, LABEL_RUN_ID, LABEL_WORKFLOW_ID,
    MANAGED_BY,
};
use katalusis_crds::contract::{SNAPSHOT_CONFIG_MAP_KEY, TOKEN_SECRET_KEY};
/// Snapshots larger than this go into a ConfigMap: objects in etcd are
/// limited to about 1.5 MiB, and a Run is rewritten with every status patch.
pub const INLINE_SNAPSHOT_BYTES: usize = 256 * 1024;

pub fn run_name(run_id: u64) -> String {
    format!("run-{run_id}")
}

pub fn token_secret_name(run_id: u64) -> String {
    format!("run-{run_id}-token")
}

pub fn snapshot_config_map_name(run_id: u64) -> String {
    format!("run-{run_id}-snapshot")
}

pub fn workflow_name(workflow_id: u64) -> String {
    format!("wf-{workflow_id}")
}

/// The run id a Run carries in its spec, if it is one of ours: created by
/// Play (named after it) or created in the cluster and adopted (labelled
/// with it).
pub fn run_id_of(run: &Run) -> Option<u64> {
    let id = run.spec.run_id;
    if id == 0 {
        return None;
    }
    let adopted = run
        .labels()
        .get(LABEL_ADOPTED_RUN_ID)
        .is_some_and(|v| *v == id.to_string());
    (run.name_any() == run_name(id) || adopted).then_some(id)
}

/// Whether the API server created this Run (so it may delete it once finished).
pub fn created_here(run: &Run) -> bool {
    run.labels().get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
}

fn labels(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    l.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    l
}

/// Label selector for `list`/`watch` of our objects.
pub fn managed_selector() -> String {
    format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)
}

/// What a Run is created from.
pub struct NewRun<'a> {
    pub run_id: u64,
    pub workflow_id: u64,
    pub workflow_revision: u32,
    pub client_id: u64,
    pub failure_policy: FailurePolicy,
    pub max_parallel: Option<u32>,
    pub snapshot: &'a RunSnapshot,
}

/// The Run, and the ConfigMap holding its snapshot when it is too large to inline.
pub fn run_object(r: &NewRun<'_>, namespace: &str) -> (Run, Option<ConfigMap>) {
    let mut snapshot = r.snapshot.clone();
    // Not even ciphertexts go into the cluster: the Pod receives opened
    // values only in the job it fetches with the run's token.
    crate::secrets::params::mask_sealed(&mut snapshot.graph);
    let json = serde_json::to_string(&snapshot).unwrap_or_default();
    let (inline, config_map) = if json.len() > INLINE_SNAPSHOT_BYTES {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(snapshot_config_map_name(r.run_id)),
                namespace: Some(namespace.to_owned()),
                labels: Some(labels(&[(LABEL_RUN_ID, r.run_id.to_string())])),
                ..ObjectMeta::default()
            },
            immutable: Some(true),
            data: Some(BTreeMap::from([(SNAPSHOT_CONFIG_MAP_KEY.to_owned(), json)])),
            ..ConfigMap::default()
        };
        (None, Some(cm))
    } else {
        (Some(snapshot), None)
    };
    let mut run = Run::new(
        &run_name(r.run_id),
        RunSpec {
            run_id: r.run_id,
            workflow: RunWorkflowRef {
                workflow_id: r.workflow_id,
                name: workflow_name(r.workflow_id),
                revision: r.workflow_revision,
            },
            client_id: r.client_id,
            snapshot: inline,
            snapshot_config_map: config_map.as_ref().and_then(|c| c.metadata.name.clone()),
            max_parallel: r.max_parallel,
            failure_policy: r.failure_policy,
            cancel: false,
            token_secret: token_secret_name(r.run_id),
            decisions: Default::default(),
        },
    );
    run.metadata.namespace = Some(namespace.to_owned());
    run.metadata.labels = Some(labels(&[
        (LABEL_RUN_ID, r.run_id.to_string()),
        (LABEL_WORKFLOW_ID, r.workflow_id.to_string()),
        (LABEL_CLIENT_ID, r.client_id.to_string()),
    ]));
    (run, config_map)
}

/// An owner reference to a created Run, so deleting the Run deletes the object.
pub fn owned_by(run: &Run) -> Option<OwnerReference> {
    run.controller_owner_ref(&())
}

/// The Secret holding a run's ingest token, owned by the Run.
pub fn token_secret(run: &Run, token: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(run.spec.token_secret.clone()),
            namespace: run.metadata.namespace.clone(),
            labels: Some(labels(&[(LABEL_RUN_ID, run.spec.run_id.to_string())])),
            owner_references: owned_by(run).map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        immutable: Some(true),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            TOKEN_SECRET_KEY.to_owned(),
            ByteString(token.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }
}

/// The Workflow mirror of a saved workflow revision.
pub fn workflow_object(
    row: &crate::db::workflows::Row,
    mut graph: Graph,
    namespace: &str,
) -> Workflow {
    crate::secrets::params::mask_sealed(&mut graph);
    let mut wf = Workflow::new(
        &workflow_name(row.workflow_id),
        WorkflowSpec {
            workflow_id: Some(row.workflow_id),
            display_name: row.name.clone(),
            description: String::new(),
            client_id: Some(row.client_id),
            revision: Some(row.revision),
            graph,
        },
    );
    wf.metadata.namespace = Some(namespace.to_owned());
    wf.metadata.labels = Some(labels(&[
        (LABEL_WORKFLOW_ID, row.workflow_id.to_string()),
        (LABEL_CLIENT_ID, row.client_id.to_string()),
    ]));
    wf
}

#[cfg(test)]
mod tests {
    use super::*;
    use katalusis_crds::resources::RunTemplate;
    use katalusis_crds::TemplateSpec;

    fn snapshot(code_len: usize) -> RunSnapshot {
        let spec: TemplateSpec = serde_json::from_value(serde_json::json!({
            "name": "echo", "title": "Echo",
            "code": format!("def run(inputs, params, ctx):\n    return {{}}\n#{}", "x".repeat(code_len)),
            "limits": {"timeoutSeconds": 30, "memoryMib": 128, "cpuMillicores": 250}
        }))
        .unwrap();
        let graph: Graph = serde_json::from_value(serde_json::json!({
            "nodes": [{"id": "a", "template": {"name": "echo", "version": 2}}], "edges": []
        }))
        .unwrap();
        RunSnapshot {
            graph,
            templates: vec![RunTemplate::new(2, spec)],
            modules: None,
        }
    }

    fn new_run(s: &RunSnapshot) -> NewRun<'_> {
        NewRun {
            run_id: 7,
            workflow_id: 3,
            workflow_revision: 4,
            client_id: 9,
            failure_policy: FailurePolicy::FailFast,
            max_parallel: Some(2),
            snapshot: s,
        }
    }

    #[test]
    fn a_small_snapshot_is_inlined_with_every_template_version() {
        let s = snapshot(10);
        let (run, cm) = run_object(&new_run(&s), "ns");
        assert!(cm.is_none());
        assert_eq!(run.name_any(), "run-7");
        assert_eq!(run.metadata.namespace.as_deref(), Some("ns"));
        let inline = run.spec.snapshot.as_ref().expect("inline snapshot");
        assert_eq!(inline.templates[0].version, 2);
        assert_eq!(inline.templates[0].template.name, "echo");
        assert!(inline.plan_graph().is_ok());
        assert_eq!(run.spec.token_secret, "run-7-token");
        assert_eq!(run.spec.failure_policy, FailurePolicy::FailFast);
        assert_eq!(run.spec.max_parallel, Some(2));
        assert_eq!(run.spec.workflow.name, "wf-3");
        assert_eq!(run_id_of(&run), Some(7));
        let labels = run.metadata.labels.unwrap();
        assert_eq!(labels[LABEL_CLIENT_ID], "9");
        assert_eq!(labels[MANAGED_BY.0], MANAGED_BY.1);
    }

    #[test]
    fn a_large_snapshot_goes_into_an_immutable_config_map() {
        let s = snapshot(INLINE_SNAPSHOT_BYTES);
        let (run, cm) = run_object(&new_run(&s), "ns");
        let cm = cm.expect("a ConfigMap");
        assert!(run.spec.snapshot.is_none());
        assert_eq!(
            run.spec.snapshot_config_map.as_deref(),
            cm.metadata.name.as_deref()
        );
        assert_eq!(cm.immutable, Some(true));
        let stored: RunSnapshot =
            serde_json::from_str(&cm.data.unwrap()[SNAPSHOT_CONFIG_MAP_KEY]).unwrap();
        assert_eq!(stored, s);
    }

    #[test]
    fn the_token_secret_is_owned_by_its_run() {
        let s = snapshot(1);
        let (mut run, _) = run_object(&new_run(&s), "ns");
        run.metadata.uid = Some("u-1".into());
        let secret = token_secret(&run, "tok");
        let owner = &secret.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("Run", "run-7"));
        assert_eq!(owner.uid, "u-1");
        assert_eq!(owner.controller, Some(true));
        assert_eq!(secret.data.unwrap()[TOKEN_SECRET_KEY].0, b"tok");
        assert_eq!(secret.metadata.name.as_deref(), Some("run-7-token"));
    }
}
