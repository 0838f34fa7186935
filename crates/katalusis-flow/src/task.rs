//! Task: the task a Task node creates from its inputs, and whether the run
//! waits for it to be done.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::notify::{render_plain, NotifyError};

/// Longest title, as the task module allows.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest description rendered.
pub const MAX_DESCRIPTION_CHARS: usize = 100_000;
/// Furthest due date, in hours from the start (one year).
pub const MAX_DUE_HOURS: f64 = 366.0 * 24.0;
/// The priorities a task may have.
pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Why a Task node cannot create its task.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskNodeError {
    #[error("`priority` must be one of low, medium, high, critical")]
    Priority,
    #[error("`dueInHours` must be between 0 and {MAX_DUE_HOURS}")]
    Due,
    #[error("the title is empty once rendered")]
    EmptyTitle,
    #[error(transparent)]
    Template(#[from] NotifyError),
}

/// A Task node's parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskNodeSpec {
    pub title: String,
    pub description: String,
    /// Usernames or emails of the assignees.
    pub assignees: Vec<String>,
    pub priority: String,
    /// Due this many hours after the node starts; `None` has no due date.
    pub due_in_hours: Option<f64>,
    pub tags: Vec<String>,
    /// Wait until the task is done before the run goes on.
    pub wait: bool,
}

fn list(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = v
        .and_then(Value::as_str)
        .unwrap_or("")
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    out.dedup();
    out
}

impl TaskNodeSpec {
    pub fn from_params(params: &BTreeMap<String, Value>) -> Result<Self, TaskNodeError> {
        let text = |n: &str| {
            params
                .get(n)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let priority = match params.get("priority").and_then(Value::as_str) {
            None | Some("") => "medium".to_owned(),
            Some(p) if PRIORITIES.contains(&p) => p.to_owned(),
            Some(_) => return Err(TaskNodeError::Priority),
        };
        let due_in_hours = match params.get("dueInHours") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let h = v
                    .as_f64()
                    .filter(|h| (0.0..=MAX_DUE_HOURS).contains(h))
                    .ok_or(TaskNodeError::Due)?;
                (h > 0.0).then_some(h)
            }
        };
        Ok(Self {
            title: text("title"),
            description: text("description"),
            assignees: list(params.get("assignees")),
            priority,
            due_in_hours,
            tags: list(params.get("tags")),
            wait: params.get("wait").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// The title and description rendered over the inputs.
    pub fn render(
        &self,
        inputs: &BTreeMap<String, Value>,
    ) -> Result<(String, String), TaskNodeError> {
        let title = render_plain("title", &self.title, inputs, MAX_TITLE_CHARS * 4)?;
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        let title: String = title.chars().take(MAX_TITLE_CHARS).collect();
        if title.is_empty() {
            return Err(TaskNodeError::EmptyTitle);
        }
        let description = render_plain(
            "description",
            &self.description,
            inputs,
            MAX_DESCRIPTION_CHARS,
        )?;
        Ok((title, description))
    }

    /// The due date's offset in milliseconds.
    pub fn due_after_ms(&self) -> Option<i64> {
        self.due_in_hours.map(|h| (h * 3_600_000.0) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).expect("params")
    }

    #[test]
    fn the_task_is_rendered_from_the_inputs() {
        let spec = TaskNodeSpec::from_params(&params(json!({
            "title": "Call {{ value.customer }}\nabout {{ value.amount }}",
            "description": "Breached: {{ value.key }}",
            "assignees": "mia, noah@example.com",
            "priority": "high",
            "dueInHours": 1.5,
            "tags": "sla, ops",
            "wait": true,
        })))
        .expect("spec");
        let (title, description) = spec
            .render(&params(
                json!({"value": {"customer": "Acme", "amount": 3, "key": "AC-1"}}),
            ))
            .expect("rendered");
        assert_eq!(title, "Call Acme about 3");
        assert_eq!(description, "Breached: AC-1");
        assert_eq!(spec.assignees, ["mia", "noah@example.com"]);
        assert_eq!(spec.tags, ["sla", "ops"]);
        assert_eq!(spec.due_after_ms(), Some(5_400_000));
        assert!(spec.wait);
    }

    #[test]
    fn bad_parameters_and_empty_titles_are_refused() {
        assert_eq!(
            TaskNodeSpec::from_params(&params(json!({"priority": "urgent"}))),
            Err(TaskNodeError::Priority)
        );
        assert_eq!(
            TaskNodeSpec::from_params(&params(json!({"dueInHours": -1}))),
            Err(TaskNodeError::Due)
        );
        let spec = TaskNodeSpec::from_params(&params(json!({"title": "{{ value.missing }}"})))
            .expect("spec");
        assert_eq!(spec.priority, "medium");
        assert_eq!(spec.due_after_ms(), None);
        assert_eq!(
            spec.render(&params(json!({"value": {}}))),
            Err(TaskNodeError::EmptyTitle)
        );
    }
}
