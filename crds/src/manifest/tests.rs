use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::builtin::BuiltinKind;
use crate::graph::{Edge, Node, NodeLimits, Position, TemplateRef};
use crate::plan::TriggerRule;
use crate::template::RetrySpec;

fn sample() -> Manifest {
    let graph: Graph = serde_json::from_value(json!({
        "nodes": [
            {"id": "fetch", "template": {"name": "http-get", "version": 2},
             "position": {"x": 10.5, "y": -3.0}, "params": {"url": "https://example.org"}},
            {"id": "check", "template": {"name": "flow.condition", "version": 1},
             "position": {"x": 200.0, "y": 0.0}, "params": {}, "trigger": "all_done"}
        ],
        "edges": [{"id": "e1", "source": "fetch", "sourcePort": "body",
                   "target": "check", "targetPort": "value"}]
    }))
    .unwrap();
    Manifest {
        name: "invoice-intake".into(),
        namespace: None,
        client: "acme".into(),
        display_name: "Invoice intake".into(),
        description: String::new(),
        graph,
        triggers: vec![ManifestTrigger {
            name: "nightly".into(),
            enabled: true,
            config: json!({"kind": "schedule", "cron": "0 2 * * *", "timezone": "Europe/Berlin"}),
        }],
    }
}

#[test]
fn the_rendered_manifest_is_stable_sorted_and_free_of_defaults() {
    let text = render(&sample());
    assert_eq!(text, render(&sample()), "the same workflow, the same text");
    assert!(text.starts_with("apiVersion: katalusis.io/v1alpha1\nkind: Workflow\n"));
    assert!(text.contains("katalusis.io/client: acme"));
    // Empty parameters, empty description and database ids stay out.
    assert!(!text.contains("params: {}"), "{text}");
    assert!(!text.contains("description"), "{text}");
    assert!(!text.contains("workflowId"), "{text}");
    assert!(!text.contains("status"), "{text}");
    // Keys are sorted: `displayName` before `graph` inside the spec.
    assert!(text.find("displayName").unwrap() < text.find("graph").unwrap());
    assert_eq!(parse(&text).unwrap(), sample());
}

#[test]
fn a_mistake_is_reported_with_its_line() {
    let text = render(&sample()).replace("sourcePort", "sourcePrt");
    let err = parse(&text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.contains("sourcePrt"))
        .map(|i| i + 1);
    assert!(err.message.contains("sourcePrt"), "{err}");
    assert!(err.line.is_some());
    assert!(err.line <= line.map(|l| l + 1), "{err:?} vs {line:?}");

    let err = parse("kind: Workflow\n  bad: [indent\n").unwrap_err();
    assert_eq!(err.line, Some(2), "{err:?}");
    assert!(
        !err.message.contains("line 2"),
        "the position is said once: {err}"
    );
}

#[test]
fn wrong_kind_version_name_or_missing_client_are_refused() {
    let good = render(&sample());
    for (from, to, expect) in [
        ("kind: Workflow", "kind: Run", "kind must be Workflow"),
        ("katalusis.io/v1alpha1", "katalusis.io/v2", "apiVersion"),
        (
            "name: invoice-intake",
            "name: Invoice_Intake",
            "metadata.name",
        ),
        (
            "katalusis.io/client: acme",
            "team: acme",
            "katalusis.io/client",
        ),
    ] {
        let err = parse(&good.replacen(from, to, 1)).unwrap_err();
        assert!(err.message.contains(expect), "{from}: {err}");
    }
    let unknown = good.replace("displayName:", "displayNme:");
    assert!(parse(&unknown).unwrap_err().message.contains("displayNme"));
}

#[test]
fn kubectl_output_of_a_mirror_is_accepted_without_its_ids() {
    let object = json!({
        "apiVersion": "katalusis.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "wf-7", "namespace": "ops", "uid": "u", "resourceVersion": "12",
                     "managedFields": [{"manager": "katalusis-api"}],
                     "labels": {"katalusis.io/client": "acme"}},
        "spec": {"workflowId": 7, "clientId": 3, "revision": 2, "nodeCount": 0,
                 "displayName": "X", "graph": {"nodes": [], "edges": []}},
        "status": {"conditions": []}
    });
    let m = from_object(object).unwrap();
    assert_eq!(m.name, "wf-7");
    assert_eq!(m.namespace.as_deref(), Some("ops"));
    assert_eq!(m.title(), "X");
}

#[test]
fn names_are_derived_from_titles() {
    assert_eq!(name_from_title("Invoice intake (EU)"), "invoice-intake-eu");
    assert_eq!(name_from_title("  ---  "), "workflow");
    assert_eq!(name_from_title("Überprüfung 2"), "berpr-fung-2");
    let long = name_from_title(&"a b ".repeat(60));
    assert!(long.len() <= MAX_NAME && is_valid_name(&long), "{long}");
    assert!(!is_valid_name("-a") && !is_valid_name("a-") && !is_valid_name("A"));
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1.0e12f64..1.0e12).prop_map(|f| json!(f)),
        // Text that YAML would read as something else unless quoted.
        prop::sample::select(vec![
            "true",
            "no",
            "null",
            "~",
            "1.0",
            "0x1F",
            "-",
            "a: b",
            "#x",
            "'q'",
            "\"",
            "",
            " lead",
            "multi\nline\n",
            "tab\there",
            "ünï",
            "@x",
            "*ref",
            "&a",
            "!tag",
            "2026-01-01",
            "1e3",
            ".inf",
            "{}",
            "[]",
            "- item",
        ])
        .prop_map(|s| json!(s)),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_.-]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every built-in kind plus ordinary templates.
fn template() -> impl Strategy<Value = TemplateRef> {
    let mut names: Vec<String> = BuiltinKind::ALL
        .iter()
        .map(|k| format!("{}{}", crate::BUILTIN_PREFIX, k.as_str()))
        .collect();
    names.extend(["csv-reader".into(), "python.transform".into()]);
    (prop::sample::select(names), 1u32..5).prop_map(|(name, version)| TemplateRef { name, version })
}

fn node(id: String) -> impl Strategy<Value = Node> {
    (
        template(),
        (-5000.0f64..5000.0, -5000.0f64..5000.0),
        prop::option::of("\\PC{0,20}"),
        prop::collection::btree_map("[a-z][a-zA-Z0-9_]{0,10}", json_value(), 0..4),
        prop::collection::btree_map("[a-z][a-zA-Z0-9_]{0,10}", json_value(), 0..3),
        (
            prop::option::of(1u32..3600),
            prop::option::of(16u32..4096),
            prop::option::of(10u32..4000),
        ),
        prop::option::of((1u32..6, 0u32..60, 1.0f64..4.0)),
        "\\PC{0,30}",
        prop::sample::select(TriggerRule::ALL.to_vec()),
    )
        .prop_map(
            move |(template, (x, y), label, params, inputs, limits, retry, notes, trigger)| Node {
                id: id.clone(),
                template,
                position: Position { x, y },
                label,
                params: params.into_iter().collect::<BTreeMap<_, _>>(),
                inputs: inputs.into_iter().collect(),
                limits: NodeLimits {
                    timeout_seconds: limits.0,
                    memory_mib: limits.1,
                    cpu_millicores: limits.2,
                },
                retry: retry.map(
                    |(max_attempts, backoff_seconds, backoff_multiplier)| RetrySpec {
                        max_attempts,
                        backoff_seconds,
                        backoff_multiplier,
                    },
                ),
                notes,
                trigger,
            },
        )
}

/// Schedule and event triggers as the trigger API writes their settings.
fn triggers() -> impl Strategy<Value = Vec<ManifestTrigger>> {
    let config = prop_oneof![
        (
            prop::sample::select(vec!["0 2 * * *", "*/5 * * * *", "0 9 * * MON-FRI"]),
            prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York"]),
            prop::sample::select(vec!["skip", "run_once"]),
            prop::collection::btree_map("n[0-9]", json_value(), 0..2),
        )
            .prop_map(|(cron, tz, missed, inputs)| {
                json!({"kind": "schedule", "cron": cron, "timezone": tz, "missed": missed,
                       "inputs": inputs.into_iter().map(|(k, v)| (k, json!({"text": v}))).collect::<serde_json::Map<_, _>>()})
            }),
        (
            prop::sample::select(vec![
                "task_created",
                "task_status_changed",
                "run_finished",
                "import_finished",
            ]),
            prop::option::of("[A-Za-z]{1,10}"),
            prop::option::of(1u64..1000),
            prop::option::of("n[0-9]\\.[a-z]{1,5}"),
        )
            .prop_map(|(on, status, source, input)| {
                let mut c = json!({"kind": "event", "on": on});
                if let Some(s) = status {
                    c["status"] = json!(s);
                }
                if let Some(s) = source {
                    c["sourceWorkflowId"] = json!(s);
                }
                if let Some(i) = input {
                    c["input"] = json!(i);
                }
                c
            }),
    ];
    prop::collection::btree_map("[a-z][a-z0-9 -]{0,15}", (any::<bool>(), config), 0..4).prop_map(
        |m| {
            m.into_iter()
                .map(|(name, (enabled, config))| ManifestTrigger {
                    name,
                    enabled,
                    config,
                })
                .collect()
        },
    )
}

fn graph() -> impl Strategy<Value = Graph> {
    (1usize..8)
        .prop_flat_map(|n| {
            let nodes: Vec<_> = (0..n).map(|i| node(format!("n{i}"))).collect();
            let edges = prop::collection::vec((0..n, 0..n, "[a-z]{1,6}", "[a-z]{1,6}"), 0..n * 2);
            (nodes, edges)
        })
        .prop_map(|(nodes, edges)| Graph {
            edges: edges
                .into_iter()
                .enumerate()
                .map(|(i, (s, t, sp, tp))| Edge {
                    id: format!("e{i}"),
                    source: nodes[s].id.clone(),
                    source_port: sp,
                    target: nodes[t].id.clone(),
                    target_port: tp,
                })
                .collect(),
            nodes,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the editor can hold comes back from its YAML unchanged:
    /// every built-in node kind, every trigger rule, retries, limits,
    /// notes and parameter values YAML would misread if left unquoted.
    #[test]
    fn every_graph_survives_yaml_and_back(
        graph in graph(),
        triggers in triggers(),
        title in "\\PC{0,40}",
        description in "\\PC{0,60}",
    ) {
        let m = Manifest {
            name: name_from_title(&title),
            namespace: None,
            client: "client-1".into(),
            display_name: title,
            description,
            graph,
            triggers,
        };
        let text = render(&m);
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(render(&back), text);
        // The cluster's JSON form reads back the same too.
        prop_assert_eq!(from_object(to_object(&m)).unwrap(), m);
    }
}

#[test]
fn the_shipped_example_parses() {
    let m = parse(include_str!("../../../examples/workflow.yaml")).unwrap();
    assert_eq!(m.name, "hello-cluster");
    assert_eq!(m.client, "acme");
    assert_eq!(m.graph.nodes.len(), 2);
    assert_eq!(m.graph.edges[0].target, "words");
}
