//! `KATALUSIS_DEMO=true` (`make demo`): a demo manager and client, two
//! workflows built from the starter library, and one finished run of each, so
//! a new installation shows what the platform does. Idempotent: every start
//! looks its objects up by name and creates only what is missing, and
//! passwords are printed only on the start that created the accounts.

use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::auth::tokens::generate_password;
use crate::auth::{CurrentUser, Role};
use crate::db;
use crate::runs::play::{play, PlayRequest};
use crate::state::AppState;
use crate::tasks::model::Priority;

pub const MANAGER_USERNAME: &str = "demo-manager";
pub const CLIENT_USERNAME: &str = "demo-client";

/// The starter templates the demo workflows use (looked up by name, latest version).
const TEMPLATES: &[&str] = &[
    "csv.read",
    "table.aggregate",
    "chart.svg",
    "table.sort",
    "text.template",
];

const ORDERS_CSV: &str = "order,customer,region,amount\n\
1001,Ada Lovelace,North,120.50\n\
1002,Grace Hopper,South,80.00\n\
1003,Alan Turing,North,42.25\n\
1004,Edsger Dijkstra,East,310.00\n\
1005,Barbara Liskov,South,99.90\n\
1006,Donald Knuth,East,15.75\n";

/// What `seed` did, for the log and the tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DemoReport {
    pub created_users: usize,
    pub created_workflows: usize,
    pub started_runs: usize,
    pub created_tasks: usize,
}

/// The demo's task board: title, status name, priority, days until due, assigned to the client.
const TASKS: &[(&str, &str, Priority, i64, bool)] = &[
    (
        "Review the monthly sales report",
        "New",
        Priority::High,
        2,
        true,
    ),
    (
        "Fix the CSV export encoding",
        "In Progress",
        Priority::Critical,
        1,
        false,
    ),
    (
        "Onboard the new data source",
        "On Hold",
        Priority::Medium,
        10,
        false,
    ),
    (
        "Archive last quarter's invoices",
        "Completed",
        Priority::Low,
        -3,
        true,
    ),
];

/// Seeds the demo board once: nothing happens when the client has tasks already.
async fn seed_tasks(
    state: &AppState,
    manager: u64,
    client: u64,
    report: &mut DemoReport,
) -> anyhow::Result<()> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM task WHERE client_id = ?")
        .bind(client)
        .fetch_one(&state.db)
        .await?;
    if existing > 0 {
        return Ok(());
    }
    let statuses = crate::tasks::db::statuses(&state.db).await?;
    let now = chrono::Utc::now();
    let ctx = || crate::tasks::service::Ctx {
        db: &state.db,
        viewer: crate::tasks::db::Viewer {
            user_id: manager,
            role: Role::Manager,
        },
        now,
    };
    for (title, status, priority, due_days, for_client) in TASKS {
        let status_id = statuses
            .iter()
            .find(|s| s.name == *status)
            .map(|s| s.status_id);
        let task = crate::tasks::service::NewTask {
            client_id: client,
            title: (*title).into(),
            description: format!("Demo task: *{title}*."),
            status_id,
            priority: *priority,
            due_at: Some(now + chrono::Duration::days(*due_days)),
            assignee_ids: if *for_client {
                vec![client]
            } else {
                vec![manager]
            },
            watcher_ids: vec![manager],
            shared_with: vec![],
            tags: vec!["demo".into()],
            source_kind: crate::tasks::model::SourceKind::Manual,
            source_ref_id: None,
            source_node: None,
        };
        let (_, out) = crate::tasks::service::create(ctx(), task)
            .await
            .map_err(|e| anyhow::anyhow!("demo task {title}: {e}"))?;
        // The assignment notifications land in the demo users' inboxes.
        out.deliver(&state.live, state.mailer.as_ref());
        report.created_tasks += 1;
    }
    Ok(())
}

/// The latest version of a template the demo uses, by name.
type VersionOf<'a> = &'a dyn Fn(&str) -> u32;

struct DemoWorkflow {
    name: &'static str,
    description: &'static str,
    graph: fn(VersionOf<'_>) -> Value,
}

fn node(id: &str, template: &str, version: u32, x: f64, params: Value, inputs: Value) -> Value {
    json!({
        "id": id,
        "template": {"name": template, "version": version},
        "position": {"x": x, "y": 80.0},
        "params": params,
        "inputs": inputs,
    })
}

fn edge(id: &str, source: &str, source_port: &str, target: &str, target_port: &str) -> Value {
    json!({"id": id, "source": source, "sourcePort": source_port,
           "target": target, "targetPort": target_port})
}

const WORKFLOWS: &[DemoWorkflow] = &[
    DemoWorkflow {
        name: "Demo: revenue by region",
        description: "Totals the month's orders per region and draws them as a bar chart. \
                      Results: the totals table (orders and revenue per region) and the chart.",
        graph: |v| {
            json!({
                "nodes": [
                    node("orders", "csv.read", v("csv.read"), 0.0, json!({}), json!({"text": ORDERS_CSV})),
                    node("totals", "table.aggregate", v("table.aggregate"), 320.0,
                        json!({"group_by": "region", "aggregations": "orders = count(), revenue = sum(amount)"}), json!({})),
                    node("chart", "chart.svg", v("chart.svg"), 640.0,
                        json!({"kind": "bar", "x": "region", "y": "revenue", "title": "Revenue by region"}), json!({})),
                ],
                "edges": [
                    edge("e1", "orders", "table", "totals", "table"),
                    edge("e2", "totals", "table", "chart", "table"),
                ]
            })
        },
    },
    DemoWorkflow {
        name: "Demo: order confirmations",
        description: "Writes one confirmation line per order, sorted by customer. \
                      Result: the confirmation text, ready to paste into an email.",
        graph: |v| {
            json!({
                "nodes": [
                    node("orders", "csv.read", v("csv.read"), 0.0, json!({}), json!({"text": ORDERS_CSV})),
                    node("sorted", "table.sort", v("table.sort"), 320.0, json!({"by": "customer"}), json!({})),
                    node("letters", "text.template", v("text.template"), 640.0,
                        json!({"template": "Dear {{ customer }}, your order {{ order }} ({{ amount }} EUR) is on its way to the {{ region }} depot."}),
                        json!({})),
                ],
                "edges": [
                    edge("e1", "orders", "table", "sorted", "table"),
                    edge("e2", "sorted", "table", "letters", "table"),
                ]
            })
        },
    },
];

async fn user_id(db: &MySqlPool, username: &str) -> anyhow::Result<Option<u64>> {
    Ok(db::users::credentials(db, username)
        .await?
        .map(|c| c.user_id))
}

/// The demo user `username`, created with a generated password (logged once) when missing.
async fn ensure_user(
    state: &AppState,
    username: &str,
    display_name: &str,
    role: Role,
    report: &mut DemoReport,
) -> anyhow::Result<u64> {
    if let Some(id) = user_id(&state.db, username).await? {
        return Ok(id);
    }
    let password = generate_password();
    let hash = state
        .hasher
        .hash(password.clone())
        .await
        .map_err(|e| anyhow::anyhow!("hashing a demo password: {e}"))?;
    let email = format!("{username}@demo.invalid");
    let created = db::users::insert(
        &state.db,
        &db::users::NewUser {
            username,
            email: &email,
            display_name,
            role,
            password_hash: &hash,
        },
    )
    .await?;
    match created {
        Some(id) => {
            report.created_users += 1;
            // Printed exactly once, on the start that created the account.
            tracing::warn!(username, password = %password, role = role.as_str(),
                "created a demo user with a generated password");
            Ok(id)
        }
        // Another replica created it at the same moment.
        None => user_id(&state.db, username)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo user {username} vanished")),
    }
}

/// The latest version of each template the demo needs, installing the
/// starter library when one is missing (it may have been opted out).
async fn template_versions(
    state: &AppState,
    admin: u64,
) -> anyhow::Result<Option<std::collections::HashMap<&'static str, u32>>> {
    let mut installed = false;
    loop {
        let mut versions = std::collections::HashMap::new();
        for name in TEMPLATES {
            if let Some(row) = db::templates::latest(&state.db, name).await? {
                if row.deleted_at.is_none() {
                    versions.insert(*name, row.version);
                }
            }
        }
        if versions.len() == TEMPLATES.len() {
            return Ok(Some(versions));
        }
        if installed {
            tracing::warn!(
                needed = ?TEMPLATES,
                "demo: some starter templates are deleted; the demo workflows were not created"
            );
            return Ok(None);
        }
        crate::library::service::install(&state.db, &state.settings.limit_maxima, admin).await?;
        installed = true;
    }
}

/// Seeds the demo; safe to call on every start.
pub async fn seed(state: &AppState) -> anyhow::Result<DemoReport> {
    let mut report = DemoReport::default();
    let admin = db::users::first_admin(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo needs an administrator"))?;
    let manager = ensure_user(
        state,
        MANAGER_USERNAME,
        "Demo Manager",
        Role::Manager,
        &mut report,
    )
    .await?;
    let client = ensure_user(
        state,
        CLIENT_USERNAME,
        "Demo Client",
        Role::Client,
        &mut report,
    )
    .await?;
    db::assignments::link(&state.db, manager, client, admin).await?;
    let Some(versions) = template_versions(state, admin).await? else {
        return Ok(report);
    };
    let as_manager = CurrentUser {
        id: manager,
        username: MANAGER_USERNAME.into(),
        role: Role::Manager,
        session_id: String::new(),
    };
    let existing = db::workflows::list(
        &state.db,
        crate::auth::ClientScope::All,
        &db::workflows::Filter {
            client_id: Some(client),
            created_by: None,
            q: None,
        },
        100,
        0,
    )
    .await?
    .0;
    for wf in WORKFLOWS {
        if existing.iter().any(|w| w.name == wf.name) {
            continue;
        }
        let graph = (wf.graph)(&|name| versions.get(name).copied().unwrap_or(1));
        let mut tx = state.db.begin().await?;
        let id = db::workflows::insert(
            &mut tx,
            &db::workflows::NewWorkflow::ui(
                client,
                wf.name,
                wf.description,
                &graph.to_string(),
                manager,
            ),
        )
        .await?;
        tx.commit().await?;
        report.created_workflows += 1;
        let request = PlayRequest {
            inputs: Default::default(),
            failure_policy: Default::default(),
            published: true,
        };
        match play(&state.db, &state.executor, &as_manager, id, request).await {
            Ok(_) => report.started_runs += 1,
            Err(e) => tracing::warn!(workflow = wf.name, error = %e, "demo: the run did not start"),
        }
    }
    seed_tasks(state, manager, client, &mut report).await?;
    tracing::info!(
        users = report.created_users,
        tasks = report.created_tasks,
        workflows = report.created_workflows,
        runs = report.started_runs,
        manager = MANAGER_USERNAME,
        client = CLIENT_USERNAME,
        "demo data is in place"
    );
    Ok(report)
}
