//! The frozen graph of a run, with indices precomputed for the planner.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};

use super::state::TriggerRule;

/// How often and how patiently a node is retried after a retryable failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Total number of attempts, including the first one; at least 1.
    pub max_attempts: u32,
    /// Delay before the second attempt, in seconds.
    pub backoff_seconds: u32,
    /// Factor applied to the delay for each further attempt: the delay before
    /// attempt `k + 1` is `backoff_seconds * backoff_multiplier^(k - 1)`.
    pub backoff_multiplier: f64,
}

impl Default for RetryPolicy {
    /// A single attempt, no retries.
    fn default() -> Self {
        Self {
            max_attempts: 1,
            backoff_seconds: 0,
            backoff_multiplier: 1.0,
        }
    }
}

/// Largest retry delay the planner schedules (30 days), so that extreme
/// multipliers cannot overflow timestamps.
const MAX_RETRY_DELAY_MS: f64 = 30.0 * 24.0 * 3600.0 * 1000.0;

impl RetryPolicy {
    /// Whether a node that has started `attempts_started` attempts may start another.
    pub fn has_attempts_left(&self, attempts_started: u32) -> bool {
        attempts_started < self.max_attempts
    }

    /// Delay in milliseconds before the attempt that follows attempt number
    /// `attempts_started` (1-based), capped at 30 days.
    pub fn delay_ms(&self, attempts_started: u32) -> i64 {
        let exponent = attempts_started.saturating_sub(1).min(i32::MAX as u32) as i32;
        let delay =
            f64::from(self.backoff_seconds) * 1000.0 * self.backoff_multiplier.powi(exponent);
        if delay.is_nan() || delay <= 0.0 {
            0
        } else {
            // Truncation is intended: delay is finite and within 0..=MAX_RETRY_DELAY_MS.
            delay.min(MAX_RETRY_DELAY_MS).round() as i64
        }
    }
}

/// One node of a run as the planner sees it: an id and its retry policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanNode {
    /// Node id, unique within the graph.
    pub id: String,
    /// Retry policy for this node.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// When the node may start, judged from its upstream nodes.
    #[serde(default, skip_serializing_if = "TriggerRule::is_default")]
    pub trigger: TriggerRule,
}

impl PlanNode {
    /// A node with the default retry policy (a single attempt).
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            retry: RetryPolicy::default(),
            trigger: TriggerRule::default(),
        }
    }

    /// The same node with the given retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same node with the given trigger rule.
    pub fn with_trigger(mut self, trigger: TriggerRule) -> Self {
        self.trigger = trigger;
        self
    }
}

/// An edge that carries data only when its upstream node took `branch`
/// (a Condition's `true`/`false` or case port, an Approval's `approved` or
/// `rejected`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BranchEdge {
    /// Upstream node id.
    pub from: String,
    /// Downstream node id.
    pub to: String,
    /// The branch of `from` that activates the edge.
    pub branch: String,
}

/// A graph the planner cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanGraphError {
    /// Two nodes share an id.
    #[error("duplicate node id `{0}`")]
    DuplicateNode(String),
    /// An edge names a node that is not in the graph.
    #[error("edge `{from}` -> `{to}` refers to unknown node `{unknown}`")]
    UnknownNode {
        /// Upstream end of the edge.
        from: String,
        /// Downstream end of the edge.
        to: String,
        /// The end that is not a node of the graph.
        unknown: String,
    },
    /// The edges form a cycle through this node.
    #[error("the graph has a cycle through node `{0}`")]
    Cycle(String),
    /// A node's retry policy is unusable.
    #[error("node `{node}` has an invalid retry policy: {message}")]
    InvalidRetry {
        /// The node whose policy is invalid.
        node: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Serialized form of [`PlanGraph`]; deserializing goes through
/// [`PlanGraph::new`] so the indices are always consistent.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlanGraphRepr {
    nodes: Vec<PlanNode>,
    #[serde(default)]
    edges: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    branch_edges: Vec<BranchEdge>,
}

/// The frozen, acyclic graph of a run: nodes with their retry policies and
/// edges from upstream to downstream node.
///
/// Built with [`PlanGraph::new`], which validates the graph and precomputes
/// the lookups the planner needs on every call (id index, upstream and
/// downstream lists, topological order), so planning is linear in the size of
/// the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PlanGraphRepr", into = "PlanGraphRepr")]
pub struct PlanGraph {
    nodes: Vec<PlanNode>,
    edges: Vec<(String, String)>,
    branch_edges: Vec<BranchEdge>,
    index: HashMap<String, usize>,
    /// `upstream[i]`: indices of the nodes with an edge into node `i`, deduplicated.
    upstream: Vec<Vec<usize>>,
    /// `gates[i][k]`: the branches of `upstream[i][k]` that activate its edge
    /// into `i`; `None` when some edge between them is unconditional.
    gates: Vec<Vec<Option<BTreeSet<String>>>>,
    /// `downstream[i]`: indices of the nodes node `i` has an edge to, deduplicated.
    downstream: Vec<Vec<usize>>,
    /// Node indices in topological order, ties broken by position in `nodes`.
    topo_order: Vec<usize>,
    /// `rank[i]`: position of node `i` in `topo_order`.
    rank: Vec<usize>,
}

impl TryFrom<PlanGraphRepr> for PlanGraph {
    type Error = PlanGraphError;

    fn try_from(repr: PlanGraphRepr) -> Result<Self, Self::Error> {
        Self::with_branch_edges(repr.nodes, repr.edges, repr.branch_edges)
    }
}

impl From<PlanGraph> for PlanGraphRepr {
    fn from(graph: PlanGraph) -> Self {
        Self {
            nodes: graph.nodes,
            edges: graph.edges,
            branch_edges: graph.branch_edges,
        }
    }
}

impl PlanGraph {
    /// Validates the graph and precomputes its indices.
    ///
    /// Duplicate edges are allowed and count once. Fails on duplicate node
    /// ids, edges naming unknown nodes, cycles (including self-edges) and
    /// retry policies with `max_attempts == 0` or a negative or non-finite
    /// multiplier.
    pub fn new(nodes: Vec<PlanNode>, edges: Vec<(String, String)>) -> Result<Self, PlanGraphError> {
        Self::with_branch_edges(nodes, edges, Vec::new())
    }

    /// Like [`PlanGraph::new`], with edges that are active only when their
    /// upstream node takes a given branch. A branch edge and a plain edge
    /// between the same nodes make the pair unconditional.
    pub fn with_branch_edges(
        nodes: Vec<PlanNode>,
        edges: Vec<(String, String)>,
        branch_edges: Vec<BranchEdge>,
    ) -> Result<Self, PlanGraphError> {
        let mut index = HashMap::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            if index.insert(node.id.clone(), i).is_some() {
                return Err(PlanGraphError::DuplicateNode(node.id.clone()));
            }
            let retry = &node.retry;
            if retry.max_attempts == 0 {
                return Err(PlanGraphError::InvalidRetry {
                    node: node.id.clone(),
                    message: "maxAttempts must be at least 1".into(),
                });
            }
            if !retry.backoff_multiplier.is_finite() || retry.backoff_multiplier < 0.0 {
                return Err(PlanGraphError::InvalidRetry {
                    node: node.id.clone(),
                    message: "backoffMultiplier must be a finite, non-negative number".into(),
                });
            }
        }

        // Pair -> gate: `None` once any unconditional edge joins the pair.
        let mut pairs: BTreeMap<(usize, usize), Option<BTreeSet<String>>> = BTreeMap::new();
        let plain = edges.iter().map(|(from, to)| (from, to, None));
        let gated = branch_edges
            .iter()
            .map(|e| (&e.from, &e.to, Some(&e.branch)));
        for (from, to, branch) in plain.chain(gated) {
            let lookup = |id: &String| {
                index
                    .get(id)
                    .copied()
                    .ok_or_else(|| PlanGraphError::UnknownNode {
                        from: from.clone(),
                        to: to.clone(),
                        unknown: id.clone(),
                    })
            };
            let key = (lookup(from)?, lookup(to)?);
            match (pairs.get_mut(&key), branch) {
                (None, None) => {
                    pairs.insert(key, None);
                }
                (None, Some(b)) => {
                    pairs.insert(key, Some(BTreeSet::from([b.clone()])));
                }
                (Some(gate), None) => *gate = None,
                (Some(Some(set)), Some(b)) => {
                    set.insert(b.clone());
                }
                (Some(None), Some(_)) => {}
            }
        }
        let mut upstream = vec![Vec::new(); nodes.len()];
        let mut gates = vec![Vec::new(); nodes.len()];
        let mut downstream = vec![Vec::new(); nodes.len()];
        for ((from, to), gate) in pairs {
            downstream[from].push(to);
            upstream[to].push(from);
            gates[to].push(gate);
        }

        // Kahn's algorithm with a min-heap, so ready nodes come out in graph order.
        let mut in_degree: Vec<usize> = upstream.iter().map(Vec::len).collect();
        let mut ready: BinaryHeap<Reverse<usize>> = (0..nodes.len())
            .filter(|&i| in_degree[i] == 0)
            .map(Reverse)
            .collect();
        let mut topo_order = Vec::with_capacity(nodes.len());
        while let Some(Reverse(i)) = ready.pop() {
            topo_order.push(i);
            for &d in &downstream[i] {
                in_degree[d] -= 1;
                if in_degree[d] == 0 {
                    ready.push(Reverse(d));
                }
            }
        }
        if topo_order.len() < nodes.len() {
            let stuck = (0..nodes.len()).find(|&i| in_degree[i] > 0).unwrap_or(0);
            return Err(PlanGraphError::Cycle(nodes[stuck].id.clone()));
        }

        let mut rank = vec![0; nodes.len()];
        for (position, &i) in topo_order.iter().enumerate() {
            rank[i] = position;
        }

        Ok(Self {
            nodes,
            edges,
            branch_edges,
            index,
            upstream,
            gates,
            downstream,
            topo_order,
            rank,
        })
    }

    /// The nodes, in the order given to [`PlanGraph::new`].
    pub fn nodes(&self) -> &[PlanNode] {
        &self.nodes
    }

    /// The edges as given to [`PlanGraph::new`], upstream id first.
    pub fn edges(&self) -> &[(String, String)] {
        &self.edges
    }

    /// The branch edges as given to [`PlanGraph::with_branch_edges`].
    pub fn branch_edges(&self) -> &[BranchEdge] {
        &self.branch_edges
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node with this id, if any.
    pub fn node(&self, id: &str) -> Option<&PlanNode> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    /// Ids of the nodes with an edge into `id` (empty for unknown ids).
    pub fn upstream_of(&self, id: &str) -> impl Iterator<Item = &str> {
        self.neighbours(id, &self.upstream)
    }

    /// Ids of the nodes `id` has an edge to (empty for unknown ids).
    pub fn downstream_of(&self, id: &str) -> impl Iterator<Item = &str> {
        self.neighbours(id, &self.downstream)
    }

    /// Node ids in the order the planner starts ready nodes: topological,
    /// ties broken by position in [`PlanGraph::nodes`].
    pub fn topological_order(&self) -> impl Iterator<Item = &str> {
        self.topo_order.iter().map(|&i| self.nodes[i].id.as_str())
    }

    fn neighbours<'a>(
        &'a self,
        id: &str,
        lists: &'a [Vec<usize>],
    ) -> impl Iterator<Item = &'a str> {
        let list = self.index.get(id).map_or(&[][..], |&i| lists[i].as_slice());
        list.iter().map(|&j| self.nodes[j].id.as_str())
    }

    pub(super) fn upstream_indices(&self, i: usize) -> &[usize] {
        &self.upstream[i]
    }

    /// Upstream indices of `i` with the branches that activate each edge.
    pub(super) fn upstream_gates(
        &self,
        i: usize,
    ) -> impl Iterator<Item = (usize, Option<&BTreeSet<String>>)> {
        self.upstream[i]
            .iter()
            .zip(&self.gates[i])
            .map(|(&u, gate)| (u, gate.as_ref()))
    }

    pub(super) fn topo_indices(&self) -> &[usize] {
        &self.topo_order
    }

    pub(super) fn rank(&self, i: usize) -> usize {
        self.rank[i]
    }
}
