//! Graph validation must stay under 5 ms for 1,000 nodes (`make bench`).

use std::collections::HashMap;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use katalusis_crds::{validate_graph, Edge, Graph, Node, TemplateRef, TemplateSpec};
use serde_json::json;

fn template(name: &str) -> TemplateSpec {
    serde_json::from_value(json!({
        "name": name, "title": name,
        "code": "def run(inputs, params, ctx):\n    return {}\n",
        "inputs": [{"name": "a", "type": "number", "required": true},
                   {"name": "b", "type": "json"}],
        "outputs": [{"name": "out", "type": "integer"}],
        "parameters": [{"name": "k", "kind": "number", "min": 0.0, "max": 10.0, "required": true}]
    }))
    .expect("template")
}

/// 1,000 nodes, each fed by its two predecessors: a wide, deep DAG.
fn graph(n: usize) -> Graph {
    let mut g = Graph::default();
    for i in 0..n {
        let mut node: Node = serde_json::from_value(json!({
            "id": format!("n{i}"), "template": {"name": "t", "version": 1},
            "params": {"k": 3}
        }))
        .expect("node");
        if i == 0 {
            node.inputs.insert("a".into(), json!(1));
        }
        g.nodes.push(node);
    }
    for i in 1..n {
        g.edges.push(Edge {
            id: format!("a{i}"),
            source: format!("n{}", i - 1),
            source_port: "out".into(),
            target: format!("n{i}"),
            target_port: "a".into(),
        });
        if i >= 2 {
            g.edges.push(Edge {
                id: format!("b{i}"),
                source: format!("n{}", i - 2),
                source_port: "out".into(),
                target: format!("n{i}"),
                target_port: "b".into(),
            });
        }
    }
    g
}

fn bench(c: &mut Criterion) {
    let mut catalog = HashMap::new();
    catalog.insert(
        TemplateRef {
            name: "t".into(),
            version: 1,
        },
        (template("t"), false),
    );
    let g = graph(1000);
    assert!(validate_graph(&g, &catalog).is_empty());
    c.bench_function("validate_graph_1000_nodes", |b| {
        b.iter(|| validate_graph(black_box(&g), &catalog))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
