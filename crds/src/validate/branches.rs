//! Joins that can never run: a node with the default trigger rule
//! `all_succeeded` fed from both branches of one Condition waits for a branch
//! that was not taken, so it is always skipped.

use std::collections::{BTreeSet, HashMap};

use crate::graph::Graph;
use crate::plan::TriggerRule;
use crate::template::TemplateSpec;

use super::Problem;

/// A warning for every `all_succeeded` node that has upstream nodes on two
/// different branches of the same Condition.
pub(super) fn unreachable_joins(
    graph: &Graph,
    spec_of: &HashMap<&str, Option<&TemplateSpec>>,
) -> Vec<Problem> {
    let downstream = |id: &'_ str| {
        let id = id.to_owned();
        graph.edges.iter().filter(move |e| e.source == id)
    };
    let mut problems = Vec::new();
    for cond in &graph.nodes {
        let Some(Some(spec)) = spec_of.get(cond.id.as_str()) else {
            continue;
        };
        let Some(kind) = spec.builtin else { continue };
        // Nodes reachable from each branch port (the first hop included).
        let mut reach: Vec<(String, BTreeSet<&str>)> = Vec::new();
        for port in spec.outputs.iter().filter(|p| kind.is_branch_port(&p.name)) {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&str> = downstream(&cond.id)
                .filter(|e| e.source_port == port.name)
                .map(|e| e.target.as_str())
                .collect();
            while let Some(n) = stack.pop() {
                if n != cond.id && seen.insert(n) {
                    stack.extend(downstream(n).map(|e| e.target.as_str()));
                }
            }
            reach.push((port.name.clone(), seen));
        }
        for join in &graph.nodes {
            if join.trigger != TriggerRule::AllSucceeded {
                continue;
            }
            let feeds = |port: &str, seen: &BTreeSet<&str>| {
                graph.edges.iter().any(|e| {
                    e.target == join.id
                        && (seen.contains(e.source.as_str())
                            || (e.source == cond.id && e.source_port == port))
                })
            };
            let fed_from: Vec<&str> = reach
                .iter()
                .filter(|(port, seen)| feeds(port, seen))
                .map(|(port, _)| port.as_str())
                .collect();
            // Only the first node where the branches meet: further down, the
            // warning would repeat itself.
            let merged_above = graph.edges.iter().any(|e| {
                e.target == join.id
                    && reach
                        .iter()
                        .filter(|(_, seen)| seen.contains(e.source.as_str()))
                        .count()
                        > 1
            });
            if fed_from.len() > 1 && !merged_above {
                problems.push(
                    Problem::warning(
                        "join_never_runs",
                        format!(
                            "this node waits for every upstream node, but they lie on different \
                             branches ({}) of condition '{}', so it is always skipped; set \
                             \"Runs when\" to none_failed_min_one_success",
                            fed_from.join(", "),
                            cond.id
                        ),
                    )
                    .node(&join.id),
                );
            }
        }
    }
    problems
}
