//! The chat model's tools. All of them read, none writes, and each runs
//! through the same scoped query as the API endpoint it mirrors: the task
//! list's visibility rule, the run scope (unpublished runs and hidden logs
//! included), the workflow scope. Something outside the caller's scope is
//! "not found", exactly as the API says it.

use chrono::Utc;
use katalusis_crds::Graph;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ai::client::{Tool, ToolCall};
use crate::auth::{ClientScope, CurrentUser, Role};
use crate::db;
use crate::db::paging::Start;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tasks::db::{self as tasks_db, Viewer};
use crate::tasks::model::TaskSort;

use super::model::{clip, TOOL_RESULT_CHARS};

/// What a tool is called by the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolName {
    SearchTasks,
    GetTask,
    GetRunStatus,
    ExplainWorkflowProblems,
}

impl ToolName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SearchTasks => "search_tasks",
            Self::GetTask => "get_task",
            Self::GetRunStatus => "get_run_status",
            Self::ExplainWorkflowProblems => "explain_workflow_problems",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::SearchTasks,
            Self::GetTask,
            Self::GetRunStatus,
            Self::ExplainWorkflowProblems,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// Workflows are staff objects: clients are not offered that tool.
    fn offered_to(self, role: Role) -> bool {
        !(self == Self::ExplainWorkflowProblems && role == Role::Client)
    }
}

/// The tools offered to a user of `role`.
pub fn definitions(role: Role) -> Vec<Tool> {
    let all = [
        (
            ToolName::SearchTasks,
            "List the tasks the user can see, most recently updated first. Optional filters: \
             text in the title or key, a status name, a tag.",
            json!({"type": "object", "additionalProperties": false, "properties": {
                "query": {"type": "string", "description": "text to look for in titles and keys"},
                "status": {"type": "string", "description": "a status name such as Done"},
                "tag": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20}
            }}),
        ),
        (
            ToolName::GetTask,
            "One task with its description, comments and activity.",
            json!({"type": "object", "additionalProperties": false, "required": ["taskId"],
                "properties": {"taskId": {"type": "integer", "minimum": 1}}}),
        ),
        (
            ToolName::GetRunStatus,
            "A workflow run's status: the run's phase and message, each node's phase, \
             failure reason and message, and the log tail of failed nodes.",
            json!({"type": "object", "additionalProperties": false, "required": ["runId"],
                "properties": {"runId": {"type": "integer", "minimum": 1}}}),
        ),
        (
            ToolName::ExplainWorkflowProblems,
            "Run the platform's workflow validator on a saved workflow and return every \
             problem it reports (code, message, node, edge, port).",
            json!({"type": "object", "additionalProperties": false, "required": ["workflowId"],
                "properties": {"workflowId": {"type": "integer", "minimum": 1}}}),
        ),
    ];
    all.into_iter()
        .filter(|(name, ..)| name.offered_to(role))
        .map(|(name, description, parameters)| {
            Tool::function(name.as_str(), description, parameters)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchArgs {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskArgs {
    task_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunArgs {
    run_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkflowArgs {
    workflow_id: u64,
}

fn not_found(what: &str) -> Value {
    json!({"error": format!("{what} not found (or not visible to this user)")})
}

fn args<T: for<'de> Deserialize<'de>>(call: &ToolCall) -> Result<T, Value> {
    let text = if call.function.arguments.trim().is_empty() {
        "{}"
    } else {
        &call.function.arguments
    };
    serde_json::from_str(text).map_err(|e| json!({"error": format!("bad arguments: {e}")}))
}

/// Runs one tool call for `user`; the result text for the model. Bad
/// arguments, unknown tools and objects out of scope are results too (the
/// model may try again); only database failures are errors.
pub async fn run(
    state: &AppState,
    user: &CurrentUser,
    call: &ToolCall,
) -> Result<String, ApiError> {
    let result = match ToolName::parse(&call.function.name).filter(|t| t.offered_to(user.role)) {
        None => json!({"error": format!("no tool named '{}'", clip(&call.function.name, 60))}),
        Some(ToolName::SearchTasks) => match args::<SearchArgs>(call) {
            Ok(a) => search_tasks(state, user, a).await?,
            Err(e) => e,
        },
        Some(ToolName::GetTask) => match args::<TaskArgs>(call) {
            Ok(a) => match crate::ai::summaries::task_context(state, user, a.task_id).await {
                Ok((v, _)) => v,
                Err(ApiError::NotFound) => not_found("task"),
                Err(e) => return Err(e),
            },
            Err(e) => e,
        },
        Some(ToolName::GetRunStatus) => match args::<RunArgs>(call) {
            Ok(a) => match crate::ai::summaries::run_context(state, user, a.run_id).await {
                Ok((v, _)) => v,
                Err(ApiError::NotFound) => not_found("run"),
                Err(e) => return Err(e),
            },
            Err(e) => e,
        },
        Some(ToolName::ExplainWorkflowProblems) => match args::<WorkflowArgs>(call) {
            Ok(a) => workflow_problems(state, user, a.workflow_id).await?,
            Err(e) => e,
        },
    };
    Ok(clip(&result.to_string(), TOOL_RESULT_CHARS))
}

async fn search_tasks(
    state: &AppState,
    user: &CurrentUser,
    a: SearchArgs,
) -> Result<Value, ApiError> {
    let statuses = tasks_db::statuses(&state.db).await?;
    let status_ids = match a.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => {
            let ids: Vec<u64> = statuses
                .iter()
                .filter(|s| s.name.eq_ignore_ascii_case(name))
                .map(|s| s.status_id)
                .collect();
            if ids.is_empty() {
                let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
                return Ok(
                    json!({"error": format!("no status named '{}'", clip(name, 60)), "statuses": names}),
                );
            }
            ids
        }
        None => Vec::new(),
    };
    let filter = tasks_db::Filter {
        status_ids,
        priorities: Vec::new(),
        assignee_id: None,
        tag: a
            .tag
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
        client_id: None,
        due_from: None,
        due_to: None,
        sla: None,
        q: a.query
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty()),
        source_kind: None,
        source_ref_id: None,
        reporter_id: None,
    };
    let viewer = Viewer {
        user_id: user.id,
        role: user.role,
    };
    let limit = a.limit.unwrap_or(10).clamp(1, 20);
    let (window, _) = tasks_db::list(
        &state.db,
        viewer,
        &filter,
        TaskSort::UpdatedDesc,
        &Start::First,
        limit,
        false,
        Utc::now(),
    )
    .await?;
    let status_name = |id: u64| {
        statuses
            .iter()
            .find(|s| s.status_id == id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let tasks: Vec<Value> = window
        .items
        .iter()
        .map(|t| {
            json!({"taskId": t.task_id, "key": t.task_key, "title": clip(&t.title, 200),
                "status": status_name(t.status_id), "priority": t.priority,
                "dueAt": t.due_at, "updatedAt": t.updated_at, "completedAt": t.completed_at})
        })
        .collect();
    Ok(json!({"tasks": tasks, "more": window.has_more}))
}

async fn workflow_problems(
    state: &AppState,
    user: &CurrentUser,
    id: u64,
) -> Result<Value, ApiError> {
    let Some(row) = db::workflows::get(&state.db, ClientScope::of(user), id).await? else {
        return Ok(not_found("workflow"));
    };
    let graph: Graph = serde_json::from_str(&row.graph)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored graph unreadable: {e}")))?;
    let mut problems = crate::http::workflows::problems_of(state, &graph).await?;
    problems
        .extend(crate::http::workflows::connection_problems(state, row.client_id, &graph).await?);
    Ok(json!({
        "workflow": {"id": row.workflow_id, "name": row.name, "revision": row.revision,
            "nodes": graph.nodes.len(), "edges": graph.edges.len()},
        "valid": !problems.iter().any(|p| p.is_error()),
        "problems": problems,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_not_offered_the_workflow_tool() {
        let names = |role| -> Vec<&'static str> {
            definitions(role).iter().map(|t| t.function.name).collect()
        };
        assert_eq!(names(Role::Manager).len(), 4);
        assert!(!names(Role::Client).contains(&"explain_workflow_problems"));
        assert!(names(Role::Client).contains(&"get_run_status"));
    }

    #[test]
    fn names_round_trip() {
        for t in [
            ToolName::SearchTasks,
            ToolName::GetTask,
            ToolName::GetRunStatus,
            ToolName::ExplainWorkflowProblems,
        ] {
            assert_eq!(ToolName::parse(t.as_str()), Some(t));
        }
        assert_eq!(ToolName::parse("delete_task"), None);
    }
}
