//! Cost of one `plan()` call on a 1,000-node run, as executors call it after
//! every observed change.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use katalusis_crds::plan::{
    plan, FailurePolicy, FailureReason, NodePhase, NodeState, PlanGraph, PlanInput, PlanNode,
    RetryPolicy, RunPhase,
};

const LAYERS: usize = 20;
const WIDTH: usize = 50;

fn id(layer: usize, column: usize) -> String {
    format!("l{layer}-c{column}")
}

/// 20 layers of 50 nodes; each node depends on three nodes of the layer above.
fn layered_graph() -> PlanGraph {
    let retry = RetryPolicy {
        max_attempts: 3,
        backoff_seconds: 5,
        backoff_multiplier: 2.0,
    };
    let mut nodes = Vec::with_capacity(LAYERS * WIDTH);
    let mut edges = Vec::new();
    for layer in 0..LAYERS {
        for column in 0..WIDTH {
            nodes.push(PlanNode::new(id(layer, column)).with_retry(retry.clone()));
            if layer > 0 {
                for offset in [0, 7, 23] {
                    edges.push((id(layer - 1, (column + offset) % WIDTH), id(layer, column)));
                }
            }
        }
    }
    PlanGraph::new(nodes, edges).expect("layered graph is acyclic")
}

/// Half the layers done, the next layer partly running, some failures.
fn midway_states() -> BTreeMap<String, NodeState> {
    let mut states = BTreeMap::new();
    for layer in 0..LAYERS / 2 {
        for column in 0..WIDTH {
            let mut state = NodeState::with_phase(NodePhase::Succeeded);
            state.attempt = 1;
            states.insert(id(layer, column), state);
        }
    }
    for column in 0..WIDTH {
        let mut state = NodeState::with_phase(match column % 5 {
            0 => NodePhase::Failed,
            1 | 2 => NodePhase::Running,
            _ => NodePhase::Succeeded,
        });
        state.attempt = 1;
        state.reason = (column % 10 == 0).then_some(FailureReason::Timeout);
        state.reason = state
            .reason
            .or((column % 5 == 0).then_some(FailureReason::OutputType));
        states.insert(id(LAYERS / 2, column), state);
    }
    states
}

fn input<'a>(graph: &'a PlanGraph, states: &'a BTreeMap<String, NodeState>) -> PlanInput<'a> {
    PlanInput {
        graph,
        states,
        failure_policy: FailurePolicy::Continue,
        max_parallel_in_run: Some(16),
        free_global_slots: 8,
        cancel_requested: false,
        now_ms: 1_000_000,
        recorded_phase: RunPhase::Running,
    }
}

fn bench_plan(c: &mut Criterion) {
    let graph = layered_graph();
    let fresh = BTreeMap::new();
    let midway = midway_states();

    c.bench_function("plan 1000 nodes, fresh run", |b| {
        b.iter(|| plan(black_box(&input(&graph, &fresh))))
    });
    c.bench_function("plan 1000 nodes, midway with failures", |b| {
        b.iter(|| plan(black_box(&input(&graph, &midway))))
    });
    c.bench_function("plan 1000 nodes, fail fast", |b| {
        b.iter(|| {
            let mut fail_fast = input(&graph, &midway);
            fail_fast.failure_policy = FailurePolicy::FailFast;
            plan(black_box(&fail_fast))
        })
    });
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
