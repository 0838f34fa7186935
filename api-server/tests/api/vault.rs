//! The vault: secret parameters are sealed at rest, write-only in the API,
//! opened only at dispatch; the startup check, the plaintext migration and
//! key rotation over the real database.

use katalusis_api::secrets::store;
use katalusis_vault::{is_sealed, Key, Keyring};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::runs::{cast, node_of, start, template, wait_final, Cast};
use crate::support::{spawn_app, TestApp};

const PLAIN: &str = "pa55-w0rd-plain";

/// A template with a secret `token` that outputs it reversed (so the test
/// sees what it received while the plaintext itself is stored nowhere).
async fn secret_workflow(app: &TestApp, c: &Cast) -> u64 {
    app.create_template(
        &c.admin,
        template(
            "secret.check",
            // The code must not contain the secret: run snapshots hold the code.
            "def run(inputs, params, ctx):\n    return {'rev': params['token'][::-1], 'n': len(params['token'])}\n",
            json!([]),
            json!([{"name": "rev", "type": "string"}, {"name": "n", "type": "integer"}]),
            json!({"parameters": [
                {"name": "token", "kind": "secret", "required": true},
                {"name": "note", "kind": "text"}
            ]}),
        ),
    )
    .await;
    let wf = app
        .create_workflow(
            &c.manager,
            c.client.user_id,
            json!({"nodes": [{"id": "a", "template": {"name": "secret.check", "version": 1},
                "params": {"token": PLAIN, "note": "visible"}}], "edges": []}),
        )
        .await;
    assert_eq!(
        wf["graph"]["nodes"][0]["params"]["token"],
        json!({"set": true})
    );
    assert_eq!(wf["graph"]["nodes"][0]["params"]["note"], json!("visible"));
    wf["id"].as_u64().unwrap()
}

async fn raw_graph(app: &TestApp, wf: u64) -> String {
    sqlx::query_scalar("SELECT graph FROM workflow WHERE workflow_id = ?")
        .bind(wf)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn dump_everything(app: &TestApp) -> String {
    let mut all = String::new();
    for q in [
        "SELECT graph FROM workflow",
        "SELECT graph FROM workflow_revision",
        "SELECT snapshot FROM run",
        "SELECT COALESCE(outputs, '') FROM node_execution",
        "SELECT CONCAT(action, COALESCE(object_id, '')) FROM audit_log",
        "SELECT data FROM run_event",
        "SELECT message FROM node_log",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(q).fetch_all(&app.db).await.unwrap();
        all.push_str(&rows.join("\n"));
    }
    all
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn secret_parameters_are_sealed_at_rest_write_only_and_opened_at_dispatch(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = secret_workflow(&app, &c).await;

    let raw = raw_graph(&app, wf).await;
    assert!(!raw.contains(PLAIN), "plaintext at rest: {raw}");
    let stored: Value = serde_json::from_str(&raw).unwrap();
    assert!(is_sealed(
        stored["nodes"][0]["params"]["token"].as_str().unwrap()
    ));

    let got = app.get(&format!("/api/workflows/{wf}"), &c.manager).await;
    assert_eq!(
        got.body["graph"]["nodes"][0]["params"]["token"],
        json!({"set": true})
    );
    assert!(
        !got.body.to_string().contains("katalusis:v1:"),
        "ciphertext in response"
    );
    let rev = app
        .get(&format!("/api/workflows/{wf}/revisions/1"), &c.manager)
        .await;
    assert_eq!(
        rev.body["graph"]["nodes"][0]["params"]["token"],
        json!({"set": true})
    );

    // Sending the placeholder back keeps the value; the graph stays valid.
    let mut graph = got.body["graph"].clone();
    graph["nodes"][0]["params"]["note"] = json!("edited");
    let put = app
        .put(
            &format!("/api/workflows/{wf}"),
            &c.manager,
            json!({"revision": 1, "name": "flow", "graph": graph}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["problems"], json!([]));
    let after: Value = serde_json::from_str(&raw_graph(&app, wf).await).unwrap();
    assert_eq!(
        after["nodes"][0]["params"]["token"],
        stored["nodes"][0]["params"]["token"]
    );

    let run = start(&app, &c.manager, wf, json!({})).await;
    let run = wait_final(&app, &c.manager, run).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let outputs = &node_of(&run, "a")["executions"][0]["outputs"];
    let reversed: String = PLAIN.chars().rev().collect();
    assert_eq!(outputs["rev"], json!(reversed), "{run}");
    assert_eq!(outputs["n"], json!(PLAIN.len()));

    assert!(
        !dump_everything(&app).await.contains(PLAIN),
        "plaintext stored somewhere"
    );
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn a_placeholder_without_a_stored_secret_is_refused_and_changes_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = secret_workflow(&app, &c).await;
    let before = raw_graph(&app, wf).await;
    let graph = json!({"nodes": [{"id": "other", "template": {"name": "secret.check", "version": 1},
        "params": {"token": {"set": true}}}], "edges": []});
    let put = app
        .put(
            &format!("/api/workflows/{wf}"),
            &c.manager,
            json!({"revision": 1, "name": "flow", "graph": graph}),
        )
        .await;
    assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", put.body);
    assert_eq!(
        put.body["error"]["code"], "validation_failed",
        "{}",
        put.body
    );
    assert_eq!(raw_graph(&app, wf).await, before);
}

/// Writes a pre-vault (plaintext) secret into the workflow, its revisions and a run.
async fn plant_plaintext(app: &TestApp, wf: u64) {
    let graph = json!({"nodes": [{"id": "a", "template": {"name": "secret.check", "version": 1},
        "params": {"token": PLAIN, "note": "visible"}}], "edges": []})
    .to_string();
    sqlx::query("UPDATE workflow SET graph = ? WHERE workflow_id = ?")
        .bind(&graph)
        .bind(wf)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE workflow_revision SET graph = ? WHERE workflow_id = ?")
        .bind(&graph)
        .bind(wf)
        .execute(&app.db)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn plaintext_secret_parameters_are_sealed_by_the_startup_migration_once(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = secret_workflow(&app, &c).await;
    plant_plaintext(&app, wf).await;
    let ring = &app.state.settings.vault;

    let first = store::check_and_migrate(&app.db, ring).await.unwrap();
    assert_eq!(first.changed, 2, "workflow and its revision");
    let raw = raw_graph(&app, wf).await;
    assert!(!raw.contains(PLAIN));
    let stored: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        ring.open(stored["nodes"][0]["params"]["token"].as_str().unwrap())
            .unwrap(),
        PLAIN
    );
    assert_eq!(stored["nodes"][0]["params"]["note"], "visible");

    let second = store::check_and_migrate(&app.db, ring).await.unwrap();
    assert_eq!(second.changed, 0);
    assert_eq!(raw_graph(&app, wf).await, raw);
    assert!(!dump_everything(&app).await.contains(PLAIN));
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn a_wrong_key_names_every_undecryptable_value_and_overwrites_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = secret_workflow(&app, &c).await;
    let before = raw_graph(&app, wf).await;
    let wrong = Keyring::new(Key::generate().0, vec![]);

    let err = store::check_and_migrate(&app.db, &wrong).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&format!("workflow {wf}, node 'a', parameter 'token'")),
        "{msg}"
    );
    assert!(msg.contains(&format!("workflow {wf} revision 1")), "{msg}");
    assert!(msg.contains("nothing was changed"), "{msg}");
    assert!(store::rotate(&app.db, &wrong.rotated_to(Key::generate().0))
        .await
        .is_err());
    assert_eq!(raw_graph(&app, wf).await, before);
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn rotation_reseals_everything_and_the_old_key_is_no_longer_needed(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = secret_workflow(&app, &c).await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    wait_final(&app, &c.manager, run).await;
    let old = app.state.settings.vault.clone();
    let new_key = Key::generate().0;
    let new_id = new_key.id();

    let report = store::rotate(&app.db, &old.rotated_to(new_key.clone()))
        .await
        .unwrap();
    assert_eq!(
        report.changed, 3,
        "workflow, revision and run snapshot: {report:?}"
    );

    let only_new = Keyring::new(new_key, vec![]);
    let check = store::check_and_migrate(&app.db, &only_new).await.unwrap();
    assert_eq!((check.sealed, check.changed), (3, 0));
    let stored: Value = serde_json::from_str(&raw_graph(&app, wf).await).unwrap();
    let token = stored["nodes"][0]["params"]["token"].as_str().unwrap();
    assert_eq!(katalusis_vault::key_id_of(token).unwrap(), new_id);
    assert_eq!(only_new.open(token).unwrap(), PLAIN);
    assert!(
        store::check_and_migrate(&app.db, &old).await.is_err(),
        "old key alone no longer opens"
    );
}
