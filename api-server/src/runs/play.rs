//! Play: validate a workflow, freeze it with the templates it pins into a
//! run snapshot, insert the run and hand it to the executor. Nothing is
//! created when the workflow or the inputs are invalid, and nothing is left
//! behind when the cluster refuses the run.

use std::collections::BTreeMap;

use katalusis_crds::plan::FailurePolicy;
use katalusis_crds::resources::{RunSnapshot, RunTemplate};
use katalusis_crds::{validate_graph, FieldError, Graph, Problem};
use serde_json::Value;
use sqlx::MySqlPool;

use crate::auth::{ClientScope, CurrentUser};
use crate::db;
use crate::error::ApiError;
use crate::executor::{Executor, LaunchError};

/// What the caller asks for besides the workflow.
pub struct PlayRequest {
    /// Input values by node id and input port, replacing the nodes' literal inputs.
    pub inputs: BTreeMap<String, BTreeMap<String, Value>>,
    pub failure_policy: FailurePolicy,
    /// Whether the client sees the run from the start.
    pub published: bool,
}

/// Why a run was not started.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// No such workflow in the caller's scope.
    #[error("no such workflow")]
    WorkflowNotFound,
    /// The graph has errors; nothing was created.
    #[error("the workflow is not valid")]
    InvalidGraph(Vec<Problem>),
    /// The graph has no nodes.
    #[error("a workflow needs at least one node to run")]
    EmptyGraph,
    /// An input override names an unknown node or port, or has the wrong type.
    #[error("the run's inputs are not valid")]
    InvalidInputs(Vec<FieldError>),
    /// The cluster is unreachable or refused the run; nothing was started.
    #[error("the Kubernetes cluster is unavailable, nothing was started; try again later ({0})")]
    ClusterUnavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for PlayError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<PlayError> for ApiError {
    fn from(e: PlayError) -> Self {
        match e {
            PlayError::WorkflowNotFound => ApiError::NotFound,
            PlayError::InvalidGraph(problems) => ApiError::InvalidGraph(problems),
            PlayError::EmptyGraph => ApiError::field("graph.nodes", &e.to_string()),
            PlayError::InvalidInputs(errs) => ApiError::Validation(errs),
            PlayError::ClusterUnavailable(_) => ApiError::Unavailable(e.to_string()),
            PlayError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// Validates a workflow and freezes it, with the templates it pins and the
/// run's input overrides, into the snapshot a run executes.
pub async fn freeze(
    db: &MySqlPool,
    wf: &db::workflows::Row,
    inputs: &BTreeMap<String, BTreeMap<String, Value>>,
) -> Result<RunSnapshot, PlayError> {
    let mut graph: Graph = serde_json::from_str(&wf.graph)
        .map_err(|e| anyhow::anyhow!("stored graph unreadable: {e}"))?;
    let catalog = db::templates::catalog_for(db, &graph.template_refs()).await?;
    let problems: Vec<Problem> = validate_graph(&graph, &catalog)
        .into_iter()
        .filter(Problem::is_error)
        .collect();
    if !problems.is_empty() {
        return Err(PlayError::InvalidGraph(problems));
    }
    if graph.nodes.is_empty() {
        return Err(PlayError::EmptyGraph);
    }
    let templates: Vec<RunTemplate> = graph
        .template_refs()
        .into_iter()
        .filter_map(|r| {
            catalog
                .get(&r)
                .map(|(spec, _)| RunTemplate::new(r.version, spec.clone()))
        })
        .collect();
    let errs = crate::executor::job::apply_overrides(&mut graph, &templates, inputs);
    if !errs.is_empty() {
        return Err(PlayError::InvalidInputs(errs));
    }
    let snapshot = RunSnapshot {
        graph,
        templates,
        modules: Some(db::settings::modules(db).await?),
    };
    // The planner must accept what is stored, or the run could never be driven.
    if let Err(e) = snapshot.plan_graph() {
        return Err(PlayError::InvalidGraph(vec![Problem::error(
            "unplannable",
            format!("the workflow cannot be run: {e}"),
        )]));
    }
    Ok(snapshot)
}

/// Starts a run of workflow `workflow_id` for `user`; answers the run id.
/// A run the executor could not drive is recorded as failed with the
/// reason (the caller reads it there) and still counts as started.
pub async fn play(
    db: &MySqlPool,
    executor: &Executor,
    user: &CurrentUser,
    workflow_id: u64,
    req: PlayRequest,
) -> Result<u64, PlayError> {
    let wf = db::workflows::get(db, ClientScope::of(user), workflow_id)
        .await?
        .ok_or(PlayError::WorkflowNotFound)?;
    let snapshot = freeze(db, &wf, &req.inputs).await?;
    let run_id = db::runs::insert(
        db,
        &db::runs::NewRun {
            workflow_id: wf.workflow_id,
            workflow_revision: wf.revision,
            client_id: wf.client_id,
            started_by: user.id,
            failure_policy: req.failure_policy,
            published: req.published,
            snapshot: &snapshot,
        },
    )
    .await?;
    let row = db::runs::get(db, ClientScope::All, run_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("run {run_id} vanished"))?;
    match executor.launch(&row).await {
        Ok(()) => {}
        Err(LaunchError::Cluster(e)) => {
            // Nothing was left on the cluster; the run row goes too.
            db::runs::delete(db, run_id).await?;
            tracing::warn!(run_id, error = %e, "could not create the Run");
            return Err(PlayError::ClusterUnavailable(e.to_string()));
        }
        Err(LaunchError::Failed(e)) => {
            tracing::error!(run_id, error = format!("{e:#}"), "could not launch run");
        }
    }
    Ok(run_id)
}
