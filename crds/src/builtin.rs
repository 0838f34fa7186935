//! Node kinds the platform executes itself, without a sandboxed process.
//!
//! Each has a template in the library under the reserved `flow.` prefix,
//! installed by the platform, so the editor, the validator and run snapshots
//! treat them like any template; executors look at [`TemplateSpec::builtin`]
//! to run them in-process and create no runner job or Pod for them.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::template::{
    Limits, ParamKind, ParamSpec, PortSpec, RetrySpec, TemplateSpec, TrustLevel,
};
use crate::types::PortType;

/// The name prefix reserved for built-in templates.
pub const BUILTIN_PREFIX: &str = "flow.";

/// A node kind executed by the platform.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinKind {
    /// A CEL expression over the inputs picks the `true` or `false` branch.
    Condition,
    /// Waits for a duration or until a date-time, holding no slot.
    Wait,
    /// Pauses until a designated person approves or rejects (or a timeout
    /// policy decides), then takes the `approved` or `rejected` branch.
    Approval,
    /// Tells people in-app and by email, or posts to an allow-listed
    /// webhook, with a message rendered from the inputs.
    Notification,
    /// Creates a task from the inputs and goes on at once, or waits until
    /// the task is done.
    Task,
    /// A CEL expression's value picks one of up to four case branches, or
    /// `default`.
    Switch,
    /// Reads rows from, or writes rows to, a database connection the admin
    /// allowed for the run's client; the credentials never leave the server.
    Query,
}

impl BuiltinKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::Condition,
        Self::Switch,
        Self::Wait,
        Self::Approval,
        Self::Notification,
        Self::Task,
        Self::Query,
    ];

    /// The serialized name, e.g. `condition`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Condition => "condition",
            Self::Wait => "wait",
            Self::Approval => "approval",
            Self::Notification => "notification",
            Self::Task => "task",
            Self::Switch => "switch",
            Self::Query => "query",
        }
    }

    /// Whether the output port `port` of a node of this kind is a branch:
    /// its edges carry on only when the node takes that branch.
    pub fn is_branch_port(self, port: &str) -> bool {
        match self {
            Self::Condition => matches!(port, "true" | "false"),
            Self::Approval => matches!(port, "approved" | "rejected"),
            Self::Switch => matches!(port, "case1" | "case2" | "case3" | "case4" | "default"),
            Self::Wait | Self::Notification | Self::Task | Self::Query => false,
        }
    }

    /// The library template of this kind.
    pub fn template(self) -> TemplateSpec {
        let any = |name: &str, required: bool, description: &str| PortSpec {
            name: name.into(),
            port_type: PortType::Json,
            required,
            description: description.into(),
            default: None,
        };
        let param = |name: &str, label: &str, kind: ParamKind, help: &str| ParamSpec {
            name: name.into(),
            label: label.into(),
            kind,
            default: None,
            required: false,
            options: Vec::new(),
            min: None,
            max: None,
            help: help.into(),
        };
        let base = TemplateSpec {
            name: format!("{BUILTIN_PREFIX}{}", self.as_str()),
            title: String::new(),
            description: String::new(),
            category: "Flow".into(),
            code: String::new(),
            execution_mode: Default::default(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            parameters: Vec::new(),
            trust_level: TrustLevel::Restricted,
            limits: Limits::default(),
            retry: RetrySpec {
                max_attempts: 1,
                backoff_seconds: 0,
                backoff_multiplier: 1.0,
            },
            image: None,
            builtin: Some(self),
        };
        match self {
            Self::Condition => TemplateSpec {
                title: "Condition".into(),
                description: "Sends its input down the `true` or `false` branch, decided by a \
                    CEL expression over the input, e.g. `value.amount > 1000`. Nodes only \
                    reachable through the branch not taken end skipped."
                    .into(),
                inputs: vec![any(
                    "value",
                    false,
                    "The value the expression looks at, as `value`.",
                )],
                outputs: vec![
                    any("true", false, "The input, when the expression is true."),
                    any("false", false, "The input, when the expression is false."),
                ],
                parameters: vec![ParamSpec {
                    name: "expression".into(),
                    label: "Expression (CEL)".into(),
                    kind: ParamKind::Textarea,
                    default: None,
                    required: true,
                    options: Vec::new(),
                    min: None,
                    max: None,
                    help: "A Common Expression Language expression returning true or false, \
                        e.g. `value.amount > 1000 && value.currency == \"EUR\"`."
                        .into(),
                }],
                ..base
            },
            Self::Wait => TemplateSpec {
                title: "Wait".into(),
                description: "Pauses this branch for a number of seconds, or until the \
                    date-time given on `until`, then passes its input on. Holds no slot and \
                    survives restarts."
                    .into(),
                inputs: vec![
                    any("value", false, "Passed on unchanged when the wait ends."),
                    PortSpec {
                        name: "until".into(),
                        port_type: PortType::String,
                        required: false,
                        description: "An RFC 3339 date-time; wins over `seconds`.".into(),
                        default: None,
                    },
                ],
                outputs: vec![any("value", false, "The input, once the wait is over.")],
                parameters: vec![ParamSpec {
                    name: "seconds".into(),
                    label: "Seconds".into(),
                    kind: ParamKind::Number,
                    default: Some(json!(60)),
                    required: false,
                    options: Vec::new(),
                    min: Some(0.0),
                    max: Some(366.0 * 24.0 * 3600.0),
                    help: "How long to wait after the node starts.".into(),
                }],
                ..base
            },
            Self::Approval => TemplateSpec {
                title: "Approval".into(),
                description: "Pauses the run until one of the approvers approves or rejects \
                    what arrives on `value`, from the approval task, the run view or the API. \
                    The value goes on down `approved` or `rejected`; `decision` carries the \
                    verdict, the comment and who decided. Holds no slot while it waits."
                    .into(),
                inputs: vec![any(
                    "value",
                    false,
                    "What the approvers review; shown on the approval task.",
                )],
                outputs: vec![
                    any("approved", false, "The input, when approved."),
                    any("rejected", false, "The input, when rejected."),
                    any(
                        "decision",
                        false,
                        "The verdict, comment, decider and time of the decision.",
                    ),
                ],
                parameters: vec![
                    ParamSpec {
                        default: Some(json!("Approval needed")),
                        ..param(
                            "title",
                            "Task title",
                            ParamKind::Text,
                            "The title of the approval task.",
                        )
                    },
                    param(
                        "approvers",
                        "Approvers",
                        ParamKind::Text,
                        "Usernames or emails, separated by commas; each must be a manager or \
                         user of the run's client.",
                    ),
                    ParamSpec {
                        default: Some(json!(false)),
                        ..param(
                            "clientManagers",
                            "The client's managers may decide",
                            ParamKind::Boolean,
                            "Every manager assigned to the run's client may decide too.",
                        )
                    },
                    ParamSpec {
                        default: Some(json!(0)),
                        min: Some(0.0),
                        max: Some(366.0 * 24.0 * 3600.0),
                        ..param(
                            "timeoutSeconds",
                            "Timeout (seconds)",
                            ParamKind::Number,
                            "After this long without a decision the timeout policy applies; \
                             0 waits forever.",
                        )
                    },
                    ParamSpec {
                        default: Some(json!("reject")),
                        options: vec!["reject".into(), "approve".into(), "escalate".into()],
                        ..param(
                            "onTimeout",
                            "On timeout",
                            ParamKind::Select,
                            "Reject, approve, or hand the approval to the escalation \
                             approvers for another timeout (then reject).",
                        )
                    },
                    param(
                        "escalateTo",
                        "Escalate to",
                        ParamKind::Text,
                        "Usernames or emails who get the approval when it escalates.",
                    ),
                ],
                ..base
            },
            Self::Notification => TemplateSpec {
                title: "Notification".into(),
                description: "Tells people about the run: an in-app notification (and email \
                    when the server sends email) to the recipients, and a chat-compatible JSON \
                    POST to a webhook on the admin's allow-list. Subject and message are \
                    templates over the inputs, e.g. `Order {{ value.id }} needs a look`."
                    .into(),
                inputs: vec![any(
                    "value",
                    false,
                    "Available to the templates as `value`; passed on unchanged.",
                )],
                outputs: vec![
                    any("value", false, "The input, once the notification went out."),
                    any(
                        "delivered",
                        false,
                        "Who was notified in-app, how many emails were queued, the webhook's status.",
                    ),
                ],
                parameters: vec![
                    param(
                        "recipients",
                        "Recipients",
                        ParamKind::Text,
                        "Usernames or emails, separated by commas; each must be a manager or \
                         user of the run's client.",
                    ),
                    ParamSpec {
                        default: Some(json!(false)),
                        ..param(
                            "clientManagers",
                            "Notify the client's managers",
                            ParamKind::Boolean,
                            "Every manager assigned to the run's client is a recipient too.",
                        )
                    },
                    ParamSpec {
                        default: Some(json!(true)),
                        ..param(
                            "email",
                            "Also by email",
                            ParamKind::Boolean,
                            "Email the recipients too (when the server has SMTP configured and \
                             they have not turned workflow email off).",
                        )
                    },
                    param(
                        "webhookUrl",
                        "Webhook URL",
                        ParamKind::Text,
                        "POSTs `{\"text\": …}` (Slack and Teams incoming webhooks read it). \
                         Must be on the allow-list in Admin → Settings.",
                    ),
                    ParamSpec {
                        default: Some(json!("Workflow notification")),
                        ..param(
                            "subject",
                            "Subject",
                            ParamKind::Text,
                            "A template over the inputs, e.g. `Order {{ value.id }}`.",
                        )
                    },
                    param(
                        "message",
                        "Message",
                        ParamKind::Textarea,
                        "A template over the inputs (Jinja syntax: `{{ value.amount }}`, \
                         `{% if … %}`); HTML-escaped in email.",
                    ),
                ],
                ..base
            },
            Self::Switch => {
                let case = |i: u8| {
                    param(
                        &format!("case{i}"),
                        &format!("Case {i}"),
                        ParamKind::Text,
                        &format!("The value that sends the input down `case{i}`; empty for unused."),
                    )
                };
                let mut parameters = vec![ParamSpec {
                    required: true,
                    ..param(
                        "expression",
                        "Expression (CEL)",
                        ParamKind::Textarea,
                        "A Common Expression Language expression whose value picks the \
                         branch, e.g. `value.region`; compared as text with the cases.",
                    )
                }];
                parameters.extend((1..=4).map(case));
                let mut outputs: Vec<PortSpec> = (1..=4)
                    .map(|i| {
                        any(
                            &format!("case{i}"),
                            false,
                            &format!("The input, when the value is case {i}'s."),
                        )
                    })
                    .collect();
                outputs.push(any("default", false, "The input, when no case matches."));
                TemplateSpec {
                    title: "Switch".into(),
                    description: "Sends its input down one of up to four case branches, picked \
                        by the value of a CEL expression over the input (e.g. `value.region` \
                        with cases `eu`, `us`), or down `default`. Nodes only reachable \
                        through branches not taken end skipped."
                        .into(),
                    inputs: vec![any(
                        "value",
                        false,
                        "The value the expression looks at, as `value`.",
                    )],
                    outputs,
                    parameters,
                    ..base
                }
            }
            Self::Task => TemplateSpec {
                title: "Task".into(),
                description: "Creates a task for the run's client from its input: title and \
                    description are templates over the inputs, e.g. `Call {{ value.customer }}`. \
                    Goes on at once, or (with `wait`) waits until the task reaches a done \
                    status, holding no slot."
                    .into(),
                inputs: vec![any(
                    "value",
                    false,
                    "Available to the templates as `value`; passed on unchanged.",
                )],
                outputs: vec![
                    any("value", false, "The input."),
                    any(
                        "task",
                        false,
                        "The task: id, key, title, status, priority, assignees, completedAt.",
                    ),
                ],
                parameters: vec![
                    ParamSpec {
                        default: Some(json!("Follow up")),
                        required: true,
                        ..param(
                            "title",
                            "Title",
                            ParamKind::Text,
                            "A template over the inputs, e.g. `Call {{ value.customer }}`.",
                        )
                    },
                    param(
                        "description",
                        "Description",
                        ParamKind::Textarea,
                        "Markdown; a template over the inputs.",
                    ),
                    param(
                        "assignees",
                        "Assignees",
                        ParamKind::Text,
                        "Usernames or emails, separated by commas; each must be a manager or \
                         user of the run's client.",
                    ),
                    ParamSpec {
                        default: Some(json!("medium")),
                        options: vec![
                            "low".into(),
                            "medium".into(),
                            "high".into(),
                            "critical".into(),
                        ],
                        ..param("priority", "Priority", ParamKind::Select, "")
                    },
                    ParamSpec {
                        default: Some(json!(0)),
                        min: Some(0.0),
                        max: Some(366.0 * 24.0),
                        ..param(
                            "dueInHours",
                            "Due in (hours)",
                            ParamKind::Number,
                            "The due date, this many hours after the node starts; 0 for none.",
                        )
                    },
                    param(
                        "tags",
                        "Tags",
                        ParamKind::Text,
                        "Separated by commas.",
                    ),
                    ParamSpec {
                        default: Some(json!(false)),
                        ..param(
                            "wait",
                            "Wait until done",
                            ParamKind::Boolean,
                            "The run waits at this node until the task reaches a done status.",
                        )
                    },
                ],
                ..base
            },
            Self::Query => {
                let typed = |name: &str, port_type: PortType, description: &str| PortSpec {
                    port_type,
                    ..any(name, false, description)
                };
                let mut outputs = vec![
                    typed(
                        "rows",
                        PortType::Array,
                        "The rows read, as objects keyed by field name (writes: empty).",
                    ),
                    typed(
                        "rowCount",
                        PortType::Integer,
                        "How many rows were read, or written.",
                    ),
                    any("first", false, "The first row, or null when there is none."),
                ];
                outputs.extend((1..=4).map(|i| {
                    any(
                        &format!("field{i}"),
                        false,
                        &format!("The values of mapped field {i}, one per row."),
                    )
                }));
                TemplateSpec {
                    title: "Query".into(),
                    description: "Reads rows from a database connection (PostgreSQL, MySQL, \
                        MariaDB, SQL Server) with SQL whose `:named` parameters are bound from \
                        the `params` input, never spliced into the text, or from MongoDB with a \
                        JSON `find`/`aggregate` document; or inserts/upserts the `rows` input. \
                        Read-only connections never write. The server runs it: credentials \
                        never reach the workflow."
                        .into(),
                    inputs: vec![
                        typed(
                            "params",
                            PortType::Object,
                            "Values of the SQL's `:named` parameters, by name.",
                        ),
                        typed(
                            "rows",
                            PortType::Array,
                            "For insert and upsert: the rows to write, as objects.",
                        ),
                    ],
                    outputs,
                    parameters: vec![
                        ParamSpec {
                            required: true,
                            ..param(
                                "connection",
                                "Connection",
                                ParamKind::Text,
                                "The name of a connection an admin allowed for this client.",
                            )
                        },
                        ParamSpec {
                            default: Some(json!("read")),
                            options: vec!["read".into(), "insert".into(), "upsert".into()],
                            ..param(
                                "operation",
                                "Operation",
                                ParamKind::Select,
                                "Insert and upsert need a read-write connection.",
                            )
                        },
                        param(
                            "sql",
                            "SQL",
                            ParamKind::Textarea,
                            "For read: e.g. `SELECT id, total FROM orders WHERE region = \
                             :region`; `:region` is bound from `params.region`. MongoDB: \
                             `{\"find\": \"orders\", \"filter\": {\"region\": \":region\"}}`.",
                        ),
                        param(
                            "fields",
                            "Field mapping",
                            ParamKind::Textarea,
                            "One column per line: `column`, `column as name`, with an optional \
                             `: type` (string, number, integer, decimal, boolean, date, \
                             datetime, json, binary). Empty: every column as read. The first \
                             four fields also have ports `field1`…`field4`.",
                        ),
                        ParamSpec {
                            default: Some(json!("string")),
                            options: vec!["string".into(), "number".into()],
                            ..param(
                                "decimals",
                                "Decimal columns",
                                ParamKind::Select,
                                "Exact text, or JSON numbers (which may round).",
                            )
                        },
                        param(
                            "table",
                            "Table",
                            ParamKind::Text,
                            "For insert and upsert: `table` or `schema.table`.",
                        ),
                        param(
                            "columns",
                            "Columns",
                            ParamKind::Textarea,
                            "For insert and upsert: `column` or `column = key` of the input \
                             rows, separated by commas or lines. Empty: the first row's keys.",
                        ),
                        param(
                            "keyColumns",
                            "Key columns",
                            ParamKind::Text,
                            "For upsert: the unique columns that identify a row, separated by \
                             commas.",
                        ),
                        ParamSpec {
                            default: Some(json!(100_000)),
                            min: Some(1.0),
                            max: Some(1_000_000.0),
                            ..param(
                                "maxRows",
                                "Row limit",
                                ParamKind::Number,
                                "More rows than this fail the node.",
                            )
                        },
                        ParamSpec {
                            default: Some(json!(60)),
                            min: Some(1.0),
                            max: Some(3600.0),
                            ..param(
                                "timeoutSeconds",
                                "Time limit (s)",
                                ParamKind::Number,
                                "",
                            )
                        },
                    ],
                    ..base
                }
            }
        }
    }
}

/// Every built-in template, as installed in the library.
pub fn builtin_templates() -> Vec<TemplateSpec> {
    BuiltinKind::ALL.iter().map(|k| k.template()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::LimitMaxima;

    #[test]
    fn every_builtin_template_is_valid_and_named_with_the_reserved_prefix() {
        for spec in builtin_templates() {
            assert!(spec.name.starts_with(BUILTIN_PREFIX), "{}", spec.name);
            let errors = spec.validate(&LimitMaxima::default());
            assert!(errors.is_empty(), "{}: {errors:?}", spec.name);
        }
    }

    #[test]
    fn branch_ports_are_the_condition_outcomes_and_the_verdicts() {
        let condition = BuiltinKind::Condition.template();
        for port in &condition.outputs {
            assert!(BuiltinKind::Condition.is_branch_port(&port.name));
        }
        assert!(!BuiltinKind::Wait.is_branch_port("value"));
        let approval = BuiltinKind::Approval.template();
        let branches: Vec<_> = approval
            .outputs
            .iter()
            .filter(|p| BuiltinKind::Approval.is_branch_port(&p.name))
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(branches, ["approved", "rejected"]);
    }
}
