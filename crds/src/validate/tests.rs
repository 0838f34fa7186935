use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::graph::{Edge, Graph, Node, TemplateRef};
use crate::template::TemplateSpec;

fn tpl(name: &str, inputs: serde_json::Value, outputs: serde_json::Value) -> TemplateSpec {
    serde_json::from_value(json!({
        "name": name, "title": name,
        "code": "def run(inputs, params, ctx):\n    return {}\n",
        "inputs": inputs, "outputs": outputs,
        "parameters": [
            {"name": "size", "kind": "number", "min": 1.0, "max": 5.0},
            {"name": "mode", "kind": "select", "options": ["fast", "slow"], "required": true, "default": "fast"},
            {"name": "token", "kind": "secret", "required": true}
        ],
        "limits": {"timeoutSeconds": 60, "memoryMib": 256, "cpuMillicores": 500}
    }))
    .unwrap()
}

/// A catalog with one template per port type combination the tests need.
fn catalog() -> HashMap<TemplateRef, (TemplateSpec, bool)> {
    let mut c = HashMap::new();
    let mut add = |name: &str, i, o, deleted| {
        c.insert(
            TemplateRef {
                name: name.into(),
                version: 1,
            },
            (tpl(name, i, o), deleted),
        );
    };
    add(
        "src",
        json!([]),
        json!([
            {"name": "s", "type": "string"}, {"name": "i", "type": "integer"},
            {"name": "n", "type": "number"}, {"name": "j", "type": "json"}
        ]),
        false,
    );
    add(
        "sink",
        json!([
            {"name": "s", "type": "string", "required": true},
            {"name": "n", "type": "number"}, {"name": "i", "type": "integer"},
            {"name": "j", "type": "json"},
            {"name": "opt", "type": "string", "default": "x"}
        ]),
        json!([{"name": "out", "type": "string"}]),
        false,
    );
    add("old", json!([]), json!([]), true);
    c
}

fn node(id: &str, template: &str) -> Node {
    serde_json::from_value(json!({
        "id": id, "template": {"name": template, "version": 1},
        "params": {"token": "t"}
    }))
    .unwrap()
}

fn edge(id: &str, from: &str, fp: &str, to: &str, tp: &str) -> Edge {
    Edge {
        id: id.into(),
        source: from.into(),
        source_port: fp.into(),
        target: to.into(),
        target_port: tp.into(),
    }
}

fn codes(g: &Graph) -> Vec<String> {
    validate_graph(g, &catalog())
        .into_iter()
        .map(|p| p.code)
        .collect()
}

fn valid_pair() -> Graph {
    Graph {
        nodes: vec![node("a", "src"), node("b", "sink")],
        edges: vec![edge("e1", "a", "s", "b", "s")],
    }
}

#[test]
fn a_connected_pair_is_valid() {
    assert_eq!(codes(&valid_pair()), Vec::<String>::new());
}

#[test]
fn a_cycle_is_reported_with_its_nodes() {
    let mut g = Graph {
        nodes: vec![node("a", "sink"), node("b", "sink"), node("c", "sink")],
        edges: vec![
            edge("e1", "a", "out", "b", "s"),
            edge("e2", "b", "out", "c", "s"),
            edge("e3", "c", "out", "a", "s"),
        ],
    };
    let problems = validate_graph(&g, &catalog());
    let cycle: Vec<_> = problems.iter().filter(|p| p.code == "cycle").collect();
    assert_eq!(cycle.len(), 1);
    assert_eq!(cycle[0].nodes, vec!["a", "b", "c"]);
    // Breaking the cycle with a source leaves a valid chain.
    g.nodes.push(node("s", "src"));
    g.edges[2] = edge("e3", "s", "s", "a", "s");
    assert_eq!(codes(&g), Vec::<String>::new());
}

#[test]
fn a_self_loop_is_a_cycle() {
    let g = Graph {
        nodes: vec![node("a", "sink")],
        edges: vec![edge("e1", "a", "out", "a", "s")],
    };
    assert_eq!(codes(&g), vec!["cycle"]);
}

#[test]
fn edges_must_reference_existing_nodes_and_ports() {
    let g = Graph {
        nodes: vec![node("a", "src"), node("b", "sink")],
        edges: vec![
            edge("e1", "a", "s", "b", "s"),
            edge("e2", "zz", "s", "b", "n"),
            edge("e3", "a", "nope", "b", "j"),
            edge("e4", "a", "n", "b", "nope"),
        ],
    };
    let p = validate_graph(&g, &catalog());
    let summary: Vec<_> = p
        .iter()
        .map(|p| (p.code.as_str(), p.edge_id.as_deref(), p.port.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("edge_unknown_node", Some("e2"), None),
            ("unknown_port", Some("e3"), Some("nope")),
            ("unknown_port", Some("e4"), Some("nope")),
        ]
    );
}

#[test]
fn integer_feeds_number_and_anything_feeds_json() {
    let mut g = valid_pair();
    g.edges.push(edge("e2", "a", "i", "b", "n"));
    g.edges.push(edge("e3", "a", "s", "b", "j"));
    assert_eq!(codes(&g), Vec::<String>::new());
}

#[test]
fn json_into_a_typed_port_is_a_warning_not_an_error() {
    let mut g = valid_pair();
    g.edges.push(edge("e2", "a", "j", "b", "i"));
    let p = validate_graph(&g, &catalog());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].code, "json_narrowing");
    assert!(!p[0].is_error());
}

#[test]
fn incompatible_types_are_errors_on_the_edge() {
    let mut g = valid_pair();
    g.edges.push(edge("e2", "a", "n", "b", "i"));
    let p = validate_graph(&g, &catalog());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].code, "incompatible_types");
    assert_eq!(p[0].edge_id.as_deref(), Some("e2"));
    assert_eq!(p[0].port.as_deref(), Some("i"));
}

#[test]
fn a_second_edge_into_one_input_is_refused() {
    let mut g = valid_pair();
    g.nodes.push(node("c", "src"));
    g.edges.push(edge("e2", "c", "s", "b", "s"));
    let p = validate_graph(&g, &catalog());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].code, "input_already_connected");
    assert_eq!(p[0].edge_id.as_deref(), Some("e2"));
}

#[test]
fn required_inputs_need_a_connection_or_a_value() {
    let mut g = Graph {
        nodes: vec![node("b", "sink")],
        edges: vec![],
    };
    let p = validate_graph(&g, &catalog());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].code, "required_input_missing");
    assert_eq!(p[0].port.as_deref(), Some("s"));
    g.nodes[0].inputs.insert("s".into(), json!("literal"));
    assert_eq!(codes(&g), Vec::<String>::new());
    g.nodes[0].inputs.insert("s".into(), json!(3));
    assert_eq!(codes(&g), vec!["invalid_input_value"]);
}

#[test]
fn required_parameters_must_be_set_and_of_the_right_kind() {
    let mut g = valid_pair();
    g.nodes[0].params.clear();
    assert_eq!(codes(&g), vec!["required_parameter_missing"]);
    g.nodes[0].params.insert("token".into(), json!("t"));
    g.nodes[0].params.insert("mode".into(), json!("medium"));
    g.nodes[0].params.insert("size".into(), json!(9));
    g.nodes[0].params.insert("colour".into(), json!("red"));
    let mut got = codes(&g);
    got.sort();
    assert_eq!(
        got,
        vec![
            "invalid_parameter",
            "invalid_parameter",
            "unknown_parameter"
        ]
    );
    g.nodes[0].params.insert("mode".into(), json!("slow"));
    g.nodes[0].params.insert("size".into(), json!(2.5));
    g.nodes[0].params.remove("colour");
    assert_eq!(codes(&g), Vec::<String>::new());
}

#[test]
fn templates_must_exist_and_not_be_deleted() {
    let mut g = valid_pair();
    g.nodes[0].template.version = 7;
    g.nodes.push(node("c", "old"));
    let mut got = codes(&g);
    got.sort();
    assert_eq!(got, vec!["template_deleted", "template_missing"]);
}

#[test]
fn limit_overrides_stay_within_the_template() {
    let mut g = valid_pair();
    g.nodes[0].limits.timeout_seconds = Some(30);
    assert_eq!(codes(&g), Vec::<String>::new());
    g.nodes[0].limits.memory_mib = Some(1024);
    assert_eq!(codes(&g), vec!["limit_out_of_bounds"]);
}

#[test]
fn duplicate_and_malformed_node_ids_are_reported() {
    let mut g = valid_pair();
    g.nodes.push(node("a", "src"));
    g.nodes.push(node("bad id!", "src"));
    let mut got = codes(&g);
    got.sort();
    assert_eq!(got, vec!["duplicate_node_id", "invalid_node_id"]);
}

#[test]
fn all_problems_are_reported_at_once() {
    let g = Graph {
        nodes: vec![node("a", "src"), node("b", "sink"), node("c", "missing")],
        edges: vec![edge("e1", "a", "n", "b", "i")],
    };
    let mut got = codes(&g);
    got.sort();
    assert_eq!(
        got,
        vec![
            "incompatible_types",
            "required_input_missing",
            "template_missing"
        ]
    );
}

#[test]
fn unknown_graph_fields_are_rejected_when_parsing() {
    let bad = json!({"nodes": [], "edges": [], "extra": 1});
    assert!(serde_json::from_value::<Graph>(bad).is_err());
}

/// Builds a layered graph of `n` nodes for the benchmark and this sanity test.
pub fn chain_graph(n: usize) -> Graph {
    let mut g = Graph::default();
    for i in 0..n {
        g.nodes
            .push(node(&format!("n{i}"), if i == 0 { "src" } else { "sink" }));
    }
    g.edges.push(edge("e1", "n0", "s", "n1", "s"));
    for i in 2..n {
        g.edges.push(edge(
            &format!("e{i}"),
            &format!("n{}", i - 1),
            "out",
            &format!("n{i}"),
            "s",
        ));
    }
    g
}

#[test]
fn a_thousand_node_chain_is_valid() {
    assert_eq!(codes(&chain_graph(1000)), Vec::<String>::new());
}

mod branch_joins {
    use super::*;
    use crate::builtin::BuiltinKind;
    use crate::plan::TriggerRule;

    struct Catalog(Vec<TemplateSpec>);

    impl TemplateCatalog for Catalog {
        fn get(&self, r: &TemplateRef) -> Option<CatalogEntry<'_>> {
            self.0
                .iter()
                .find(|t| t.name == r.name)
                .map(|spec| CatalogEntry {
                    spec,
                    deleted: false,
                })
        }
    }

    fn diamond(join: TriggerRule) -> (Graph, Catalog) {
        let pass = tpl(
            "pass",
            serde_json::json!([{"name": "a", "type": "json"}, {"name": "b", "type": "json"}]),
            serde_json::json!([{"name": "out", "type": "json"}]),
        );
        let mut cond = node("c", "flow.condition");
        cond.params
            .insert("expression".into(), serde_json::json!("value > 1"));
        let mut j = node("j", "pass");
        j.trigger = join;
        let graph = Graph {
            nodes: vec![cond, node("t", "pass"), node("f", "pass"), j],
            edges: vec![
                edge("1", "c", "true", "t", "a"),
                edge("2", "c", "false", "f", "a"),
                edge("3", "t", "out", "j", "a"),
                edge("4", "f", "out", "j", "b"),
            ],
        };
        (
            graph,
            Catalog(vec![BuiltinKind::Condition.template(), pass]),
        )
    }

    #[test]
    fn a_default_join_of_both_branches_is_flagged_and_a_lenient_one_is_not() {
        let (graph, catalog) = diamond(TriggerRule::AllSucceeded);
        let problems = validate_graph(&graph, &catalog);
        let joins: Vec<_> = problems
            .iter()
            .filter(|p| p.code == "join_never_runs")
            .collect();
        assert_eq!(joins.len(), 1, "{problems:?}");
        assert_eq!(joins[0].node_id.as_deref(), Some("j"));
        assert_eq!(joins[0].severity, Severity::Warning);
        assert!(
            joins[0].message.contains("true, false"),
            "{}",
            joins[0].message
        );

        let (graph, catalog) = diamond(TriggerRule::NoneFailedMinOneSuccess);
        let problems = validate_graph(&graph, &catalog);
        assert!(
            problems.iter().all(|p| p.code != "join_never_runs"),
            "{problems:?}"
        );
    }
}
