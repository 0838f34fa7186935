//! Fixtures shared by the operator's tests.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use katalusis_crds::graph::{Edge, Graph, Node};
use katalusis_crds::resources::{Run, RunSnapshot, RunSpec, RunTemplate, RunWorkflowRef};
use katalusis_crds::{Limits, RetrySpec, TemplateSpec};

/// A template `t` v1 (60 s, 256 MiB, 500 m, one attempt) that upper-cases `text`.
pub fn template() -> RunTemplate {
    RunTemplate {
        version: 1,
        image: None,
        template: serde_json::from_value::<TemplateSpec>(serde_json::json!({
            "name": "t",
            "title": "Upper",
            "code": "def run(inputs, params, ctx):\n    return {\"text\": inputs.get(\"text\", \"x\").upper()}\n",
            "inputs": [{"name": "text", "type": "string"}],
            "outputs": [{"name": "text", "type": "string"}],
        }))
        .map(|mut t| {
            t.limits = Limits {
                timeout_seconds: 60,
                memory_mib: 256,
                cpu_millicores: 500,
            };
            t.retry = RetrySpec::default();
            t
        })
        .expect("valid template"),
    }
}

fn node(id: &str) -> Node {
    serde_json::from_value(serde_json::json!({
        "id": id, "template": {"name": "t", "version": 1}
    }))
    .expect("valid node")
}

/// A chain `ids[0] -> ids[1] -> ...` of nodes using [`template`].
pub fn snapshot_chain(ids: &[&str]) -> RunSnapshot {
    let nodes = ids.iter().map(|id| node(id)).collect();
    let edges = ids
        .windows(2)
        .map(|w| Edge {
            id: format!("{}-{}", w[0], w[1]),
            source: w[0].into(),
            source_port: "text".into(),
            target: w[1].into(),
            target_port: "text".into(),
        })
        .collect();
    RunSnapshot {
        graph: Graph { nodes, edges },
        templates: vec![template()],
        modules: None,
    }
}

/// A Run `demo` in namespace `default` (uid `uid-demo`, run 11, workflow 7, client 3).
pub fn run_with(snapshot: RunSnapshot) -> Run {
    let mut run = Run::new(
        "demo",
        RunSpec {
            run_id: 11,
            workflow: RunWorkflowRef {
                workflow_id: 7,
                name: "wf-7".into(),
                revision: 1,
            },
            client_id: 3,
            snapshot: Some(snapshot),
            snapshot_config_map: None,
            max_parallel: None,
            failure_policy: Default::default(),
            cancel: false,
            token_secret: "demo-token".into(),
            decisions: Default::default(),
        },
    );
    run.metadata = ObjectMeta {
        name: Some("demo".into()),
        namespace: Some("default".into()),
        uid: Some("uid-demo".into()),
        generation: Some(1),
        ..ObjectMeta::default()
    };
    run
}
