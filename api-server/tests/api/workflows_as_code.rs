//! Workflows as code: manifests rendered, parsed and uploaded through the
//! API (local mode), and in `kubernetes` mode against the in-memory
//! Kubernetes API: Workflows applied with another field manager adopted,
//! refused with a condition and an Event, archived when deleted; foreign
//! resources left alone; browser edits refused or written back with
//! conflict detection; Runs created in the cluster adopted and run by the
//! real operator and runner.

use std::time::{Duration, Instant};

use katalusis_api::executor::cluster::adopt::Adoption;
use katalusis_crds::resources::{Run, Workflow};
use katalusis_operator::fake_api::FakeApi;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::Api;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::kubernetes::{k8s_settings, start_cluster_executing};
use crate::runs::{cast, edge, text_pipeline, wait_final, Cast};
use crate::support::{spawn_app, spawn_app_on, TestApp};

const EVENTS: &str = "events.k8s.io/v1/events";

fn workflows(fake: &FakeApi) -> Api<DynamicObject> {
    Api::namespaced_with(
        fake.client(),
        "default",
        &ApiResource::erase::<Workflow>(&()),
    )
}

fn runs(fake: &FakeApi) -> Api<DynamicObject> {
    Api::namespaced_with(fake.client(), "default", &ApiResource::erase::<Run>(&()))
}

/// A Workflow manifest as someone would keep it in Git.
fn manifest(name: &str, client: &str, text: &str) -> Value {
    json!({
        "apiVersion": "katalusis.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name, "labels": {"katalusis.io/client": client}},
        "spec": {
            "displayName": format!("Greeting {text}"),
            "graph": {
                "nodes": [
                    {"id": "src", "template": {"name": "text.source", "version": 1},
                     "inputs": {"text": text}},
                    {"id": "upper", "template": {"name": "text.upper", "version": 1}}
                ],
                "edges": [edge("src", "text", "upper", "text")]
            }
        }
    })
}

/// `kubectl apply --server-side --field-manager=<manager>`.
async fn kubectl_apply(fake: &FakeApi, manager: &str, object: &Value) -> DynamicObject {
    let name = object["metadata"]["name"].as_str().unwrap();
    workflows(fake)
        .patch(
            name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(object),
        )
        .await
        .expect("applied")
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn resource(fake: &FakeApi, name: &str) -> Option<Value> {
    fake.objects("katalusis.io/v1alpha1/workflows")
        .into_iter()
        .find(|w| w["metadata"]["name"] == name)
}

fn valid_condition(obj: &Value) -> Option<(String, String, String)> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Valid")
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
                c["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
}

fn events_for(fake: &FakeApi, name: &str) -> Vec<(String, String, String)> {
    fake.objects(EVENTS)
        .into_iter()
        .filter(|e| e["regarding"]["name"] == name)
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["reason"].as_str().unwrap_or_default().to_owned(),
                e["note"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn workflow_of(app: &TestApp, c: &Cast, resource_name: &str) -> Option<Value> {
    let list = app.get("/api/workflows?perPage=100", &c.manager).await;
    for w in list.body["items"].as_array()? {
        let full = app
            .get(&format!("/api/workflows/{}", w["id"]), &c.manager)
            .await;
        if full.body["resourceName"] == resource_name {
            return Some(full.body);
        }
    }
    None
}

#[sqlx::test(migrations = "../migrations")]
async fn a_workflow_applied_in_the_cluster_is_adopted_refused_when_invalid_and_archived_when_deleted(
    pool: MySqlPool,
) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool.clone(), k8s_settings(), Some(fake.client())).await;
    let c = cast(&app).await;
    // The templates, and a workflow edited in the browser (mirrored).
    let ui_wf = text_pipeline(&app, &c).await;

    // A valid manifest applied by another field manager is adopted.
    kubectl_apply(&fake, "kubectl", &manifest("greetings", "acme", "hello")).await;
    let adopted = eventually("adoption", || workflow_of(&app, &c, "greetings")).await;
    assert_eq!(adopted["source"], "cluster");
    assert_eq!(adopted["resourceNamespace"], "default");
    assert_eq!(adopted["name"], "Greeting hello");
    assert_eq!(adopted["clientId"], c.client.user_id);
    assert_eq!(adopted["revision"], 1);
    assert_eq!(adopted["editable"], false);
    let id = adopted["id"].as_u64().unwrap();
    let revs = app
        .get(&format!("/api/workflows/{id}/revisions"), &c.manager)
        .await;
    assert_eq!(revs.body[0]["author"], "kubectl", "{}", revs.body);
    // Its status says so, for `kubectl get kwf`.
    let obj = eventually("the status", || async {
        resource(&fake, "greetings").filter(|o| valid_condition(o).is_some())
    })
    .await;
    assert_eq!(valid_condition(&obj).unwrap().0, "True");
    assert_eq!(obj["status"]["source"], "cluster");
    assert_eq!(obj["status"]["client"], "acme");
    assert_eq!(obj["status"]["revision"], 1);
    assert_eq!(obj["status"]["workflowId"], id);
    assert!(events_for(&fake, "greetings")
        .iter()
        .any(|(t, r, _)| t == "Normal" && r == "Adopted"));

    // A change in the cluster is the next revision, credited to its manager.
    kubectl_apply(
        &fake,
        "argocd-controller",
        &manifest("greetings", "acme", "bonjour"),
    )
    .await;
    let changed = eventually("the second revision", || async {
        let w = app
            .get(&format!("/api/workflows/{id}"), &c.manager)
            .await
            .body;
        (w["revision"] == 2).then_some(w)
    })
    .await;
    assert_eq!(changed["graph"]["nodes"][0]["inputs"]["text"], "bonjour");
    let revs = app
        .get(&format!("/api/workflows/{id}/revisions"), &c.manager)
        .await;
    assert_eq!(revs.body[0]["author"], "argocd-controller");

    // Triggers in the manifest are synchronised by name; the graph is the
    // same, so no new revision.
    let mut with_trigger = manifest("greetings", "acme", "bonjour");
    with_trigger["spec"]["triggers"] = json!([{"name": "nightly",
        "config": {"kind": "schedule", "cron": "0 2 * * *", "timezone": "UTC"}}]);
    kubectl_apply(&fake, "argocd-controller", &with_trigger).await;
    let triggers = eventually("the trigger", || async {
        let t = app
            .get(&format!("/api/workflows/{id}/triggers"), &c.manager)
            .await
            .body;
        (t.as_array()?.len() == 1).then_some(t)
    })
    .await;
    assert_eq!(triggers[0]["name"], "nightly");
    assert!(triggers[0]["nextFireAt"].is_string(), "{triggers}");
    let same = app
        .get(&format!("/api/workflows/{id}"), &c.manager)
        .await
        .body;
    assert_eq!(same["revision"], 2);
    // A trigger that cannot work is refused like a bad graph.
    with_trigger["spec"]["triggers"][0]["config"]["cron"] = json!("every day");
    kubectl_apply(&fake, "argocd-controller", &with_trigger).await;
    let obj = eventually("the trigger refusal", || async {
        resource(&fake, "greetings").filter(|o| valid_condition(o).is_some_and(|c| c.0 == "False"))
    })
    .await;
    assert_eq!(valid_condition(&obj).unwrap().1, "InvalidTriggers");
    let kept = app
        .get(&format!("/api/workflows/{id}/triggers"), &c.manager)
        .await
        .body;
    assert_eq!(kept[0]["config"]["cron"], "0 2 * * *");
    // Back to a valid manifest with no triggers: the trigger is removed.
    with_trigger["spec"]["triggers"] = json!([]);
    kubectl_apply(&fake, "argocd-controller", &with_trigger).await;
    eventually("the trigger removed", || async {
        let t = app
            .get(&format!("/api/workflows/{id}/triggers"), &c.manager)
            .await
            .body;
        t.as_array()?.is_empty().then_some(())
    })
    .await;

    // An invalid manifest: a condition and an Event, nothing stored.
    let mut broken = manifest("broken", "acme", "x");
    broken["spec"]["graph"]["nodes"][1]["template"]["name"] = json!("no.such.template");
    kubectl_apply(&fake, "kubectl", &broken).await;
    let obj = eventually("the refusal", || async {
        resource(&fake, "broken").filter(|o| valid_condition(o).is_some())
    })
    .await;
    let (status, reason, message) = valid_condition(&obj).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InvalidGraph")
    );
    assert!(message.contains("no.such.template"), "{message}");
    assert!(events_for(&fake, "broken")
        .iter()
        .any(|(t, r, n)| t == "Warning" && r == "InvalidGraph" && n.contains("no.such.template")));
    assert!(workflow_of(&app, &c, "broken").await.is_none());
    // An unknown client is refused the same way.
    kubectl_apply(&fake, "kubectl", &manifest("stranger", "nobody", "x")).await;
    let obj = eventually("the unknown client", || async {
        resource(&fake, "stranger").filter(|o| valid_condition(o).is_some())
    })
    .await;
    assert_eq!(valid_condition(&obj).unwrap().1, "UnknownClient");

    // A resource without the client label is not ours: left alone, across re-lists.
    let foreign = json!({
        "apiVersion": "katalusis.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "other-team"},
        "spec": {"graph": {"nodes": [], "edges": []}}
    });
    kubectl_apply(&fake, "helm", &foreign).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let other = resource(&fake, "other-team").expect("still there");
    assert!(other["status"].is_null(), "{other}");
    assert!(other["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["manager"] != "katalusis-api"));
    // The browser workflow's mirror is still applied, with its status.
    let mirror = eventually("the mirror's status", || async {
        resource(&fake, &format!("wf-{ui_wf}")).filter(|o| o["status"]["source"] == "ui")
    })
    .await;
    assert_eq!(mirror["status"]["nodeCount"], 3);
    assert_eq!(mirror["status"]["client"], "acme");

    // The browser refuses to edit or delete it, and offers a copy.
    let current = app
        .get(&format!("/api/workflows/{id}"), &c.manager)
        .await
        .body;
    let put = app
        .put(
            &format!("/api/workflows/{id}"),
            &c.manager,
            json!({"revision": 2, "name": "mine now", "graph": current["graph"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::CONFLICT, "{}", put.body);
    assert_eq!(put.body["error"]["code"], "workflow_managed_in_cluster");
    let del = app
        .delete(&format!("/api/workflows/{id}"), &c.manager)
        .await;
    assert_eq!(del.status, StatusCode::CONFLICT);
    let copy = app
        .post(&format!("/api/workflows/{id}/copy"), &c.manager, json!({}))
        .await;
    assert_eq!(copy.status, StatusCode::CREATED, "{}", copy.body);
    assert_eq!(copy.body["source"], "ui");
    assert_eq!(copy.body["editable"], true);
    assert_eq!(copy.body["graph"], current["graph"]);
    let unchanged = app
        .get(&format!("/api/workflows/{id}"), &c.manager)
        .await
        .body;
    assert_eq!(unchanged["revision"], 2);

    // With write-back on, an edit is applied to the resource.
    let on = app
        .put(
            "/api/admin/settings/cluster-workflows",
            &c.admin,
            json!({"writeBack": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let before_edit = workflows(&fake).get("greetings").await.unwrap();
    let put = app
        .put(
            &format!("/api/workflows/{id}"),
            &c.manager,
            json!({"revision": 2, "name": "Edited in the browser", "graph": current["graph"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["revision"], 3);
    let obj = resource(&fake, "greetings").unwrap();
    assert_eq!(obj["spec"]["displayName"], "Edited in the browser");
    assert!(obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["manager"] == "katalusis-api" && f["operation"] == "Apply"));
    // Adopting its own write changes nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = app
        .get(&format!("/api/workflows/{id}"), &c.manager)
        .await
        .body;
    assert_eq!(after["revision"], 3, "{after}");
    // A re-list read before the write-back and handled after it is older
    // than what is stored: it does not undo the edit.
    let cluster = app.state.executor.cluster().unwrap().clone();
    let late = cluster.adopt_workflow(&before_edit).await.unwrap();
    assert_eq!(late, Adoption::Current);
    let after = app
        .get(&format!("/api/workflows/{id}"), &c.manager)
        .await
        .body;
    assert_eq!(after["revision"], 3, "{after}");
    assert_eq!(after["name"], "Edited in the browser");

    // The cluster changes it (here in a way that cannot be stored, so it
    // stays pending): a browser edit now is a conflict, and changes nothing.
    let mut pending = manifest("greetings", "acme", "hola");
    pending["spec"]["graph"]["nodes"][1]["template"]["name"] = json!("no.such.template");
    kubectl_apply(&fake, "kubectl", &pending).await;
    eventually("the pending change refused", || async {
        resource(&fake, "greetings").filter(|o| valid_condition(o).is_some_and(|c| c.0 == "False"))
    })
    .await;
    let put = app
        .put(
            &format!("/api/workflows/{id}"),
            &c.manager,
            json!({"revision": 3, "name": "Overwrite", "graph": current["graph"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::CONFLICT, "{}", put.body);
    assert_eq!(put.body["error"]["code"], "cluster_conflict");
    let obj = resource(&fake, "greetings").unwrap();
    assert_eq!(obj["spec"]["graph"]["nodes"][0]["inputs"]["text"], "hola");
    assert_eq!(
        app.get(&format!("/api/workflows/{id}"), &c.manager)
            .await
            .body["revision"],
        3
    );

    // Deleting the resource archives the workflow.
    workflows(&fake)
        .delete("greetings", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the archive", || async {
        let r = app.get(&format!("/api/workflows/{id}"), &c.manager).await;
        (r.status == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    // The browser workflow and its mirror are untouched.
    let ui = app
        .get(&format!("/api/workflows/{ui_wf}"), &c.manager)
        .await;
    assert_eq!(ui.status, StatusCode::OK);
    assert!(resource(&fake, &format!("wf-{ui_wf}")).is_some());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_created_in_the_cluster_is_adopted_runs_and_stores_its_results(pool: MySqlPool) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool.clone(), k8s_settings(), Some(fake.client())).await;
    let _cluster = start_cluster_executing(&fake, &app);
    let c = cast(&app).await;
    text_pipeline(&app, &c).await;
    kubectl_apply(&fake, "kubectl", &manifest("greetings", "acme", "hello")).await;
    let wf = eventually("adoption", || workflow_of(&app, &c, "greetings")).await;

    // `kubectl create -f run.yaml`: only the workflow's resource name.
    let run: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "katalusis.io/v1alpha1", "kind": "Run",
        "metadata": {"name": "nightly-greeting"},
        "spec": {"workflow": {"name": "greetings"}}
    }))
    .unwrap();
    runs(&fake)
        .create(&PostParams::default(), &run)
        .await
        .expect("created");
    let listed = eventually("the adopted run", || async {
        let r = app
            .get(&format!("/api/runs?workflowId={}", wf["id"]), &c.admin)
            .await;
        r.body["items"].as_array().and_then(|i| i.first().cloned())
    })
    .await;
    let id = listed["id"].as_u64().unwrap();
    let done = wait_final(&app, &c.manager, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let upper = done["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "upper")
        .unwrap();
    assert_eq!(upper["executions"][0]["outputs"]["text"], "HELLO");
    // Owned by the system user, and the Run says which run it became.
    let owner = app
        .get(&format!("/api/admin/users/{}", done["startedBy"]), &c.admin)
        .await;
    assert_eq!(owner.body["username"], "kubernetes", "{}", owner.body);
    let obj = runs(&fake).get("nightly-greeting").await.unwrap();
    assert_eq!(
        obj.metadata.labels.as_ref().unwrap()["katalusis.io/adopted-run-id"],
        id.to_string()
    );
    let finished = eventually("the Run's phase", || async {
        let o = runs(&fake).get("nightly-greeting").await.ok()?;
        (o.data["status"]["phase"] == "Succeeded").then_some(o)
    })
    .await;
    assert_eq!(finished.data["spec"]["runId"], id);

    // A Run naming no workflow fails with the reason; nothing is stored.
    let bad: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "katalusis.io/v1alpha1", "kind": "Run",
        "metadata": {"name": "typo"},
        "spec": {"workflow": {"name": "greetngs"}}
    }))
    .unwrap();
    runs(&fake)
        .create(&PostParams::default(), &bad)
        .await
        .unwrap();
    let failed = eventually("the refusal", || async {
        let o = runs(&fake).get("typo").await.ok()?;
        (o.data["status"]["phase"] == "Failed").then_some(o)
    })
    .await;
    assert!(failed.data["status"]["message"]
        .as_str()
        .unwrap()
        .contains("greetngs"));
    let all = app.get("/api/runs?perPage=100", &c.admin).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);

    // Archiving the workflow keeps the run readable.
    workflows(&fake)
        .delete("greetings", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the archive", || async {
        let r = app
            .get(&format!("/api/workflows/{}", wf["id"]), &c.manager)
            .await;
        (r.status == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    let still = app.get(&format!("/api/runs/{id}"), &c.manager).await;
    assert_eq!(still.status, StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn manifests_render_parse_and_upload_with_the_same_validator_and_scope(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;

    // A saved workflow's manifest: no database ids, the client by username.
    let m = app
        .get(&format!("/api/workflows/{wf}/manifest"), &c.manager)
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    let yaml = m.body["yaml"].as_str().unwrap().to_owned();
    let name = m.body["name"].as_str().unwrap().to_owned();
    assert!(yaml.contains("katalusis.io/client: acme"), "{yaml}");
    assert!(!yaml.contains("workflowId"), "{yaml}");
    assert!(yaml.contains(&format!("name: {name}")));
    // The same text again (stable), and the draft renders identically.
    let again = app
        .get(&format!("/api/workflows/{wf}/manifest"), &c.manager)
        .await;
    assert_eq!(again.body["yaml"], yaml.as_str());
    let saved = app
        .get(&format!("/api/workflows/{wf}"), &c.manager)
        .await
        .body;
    let draft = app
        .post(
            "/api/workflows/manifest/render",
            &c.manager,
            json!({"workflowId": wf, "clientId": c.client.user_id, "name": saved["name"],
                   "description": saved["description"], "graph": saved["graph"]}),
        )
        .await;
    assert_eq!(draft.body["yaml"], yaml.as_str(), "{}", draft.body);

    // Parsing gives the workflow back, with the validator's problems.
    let parsed = app
        .post(
            "/api/workflows/manifest/parse",
            &c.manager,
            json!({"yaml": yaml}),
        )
        .await;
    assert_eq!(parsed.body["valid"], true, "{}", parsed.body);
    assert_eq!(parsed.body["workflow"]["graph"], saved["graph"]);
    let bad_template = yaml.replace("text.upper", "text.nope");
    let parsed = app
        .post(
            "/api/workflows/manifest/parse",
            &c.manager,
            json!({"yaml": bad_template}),
        )
        .await;
    assert_eq!(parsed.body["valid"], false);
    assert!(parsed.body["error"].is_null());
    assert!(!parsed.body["problems"].as_array().unwrap().is_empty());
    let typo = yaml.replacen("sourcePort", "sourcePrt", 1);
    let parsed = app
        .post(
            "/api/workflows/manifest/parse",
            &c.manager,
            json!({"yaml": typo}),
        )
        .await;
    assert_eq!(parsed.body["valid"], false);
    assert!(
        parsed.body["error"]["line"].as_u64().unwrap() > 1,
        "{}",
        parsed.body
    );

    // Uploading the edited text saves a new revision of the same workflow.
    let edited = yaml.replace("hello world", "hello yaml");
    let up = app
        .post(
            "/api/workflows/manifest/apply",
            &c.manager,
            json!({"yaml": edited}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert_eq!(up.body["id"], wf);
    assert_eq!(up.body["revision"], 2);
    // Triggers travel with it; webhooks (a secret URL) cannot.
    let with_trigger = format!(
        "{edited}  triggers:\n  - name: hourly\n    config:\n      kind: schedule\n      cron: 0 * * * *\n      timezone: UTC\n"
    );
    let up = app
        .post(
            "/api/workflows/manifest/apply",
            &c.manager,
            json!({"yaml": with_trigger}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let triggers = app
        .get(&format!("/api/workflows/{wf}/triggers"), &c.manager)
        .await;
    assert_eq!(triggers.body[0]["name"], "hourly", "{}", triggers.body);
    let again = app
        .get(&format!("/api/workflows/{wf}/manifest"), &c.manager)
        .await;
    assert!(again.body["yaml"]
        .as_str()
        .unwrap()
        .contains("name: hourly"));
    let webhook =
        format!("{edited}  triggers:\n  - name: hook\n    config:\n      kind: webhook\n");
    let refused = app
        .post(
            "/api/workflows/manifest/apply",
            &c.manager,
            json!({"yaml": webhook}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.to_string().contains("secret URL"),
        "{}",
        refused.body
    );
    // Under another name it creates a new workflow.
    let other = edited.replace(&format!("name: {name}"), "name: imported-copy");
    let created = app
        .post(
            "/api/workflows/manifest/apply",
            &c.manager,
            json!({"yaml": other}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["resourceName"], "imported-copy");
    assert_ne!(created.body["id"], wf);

    // Bad text is a 422 with its line; nothing changes.
    let broken = app
        .post(
            "/api/workflows/manifest/apply",
            &c.manager,
            json!({"yaml": "apiVersion: katalusis.io/v1alpha1\nkind: Workflow\nmetadata: [\n"}),
        )
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(broken.body["error"]["code"], "invalid_manifest");
    // A client the manager does not work for is not found, and creates nothing.
    app.user(&c.admin, "globex", "client").await;
    let foreign = yaml.replace("katalusis.io/client: acme", "katalusis.io/client: globex");
    let r = app
        .post(
            "/api/workflows/manifest/apply",
            &c.manager,
            json!({"yaml": foreign}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let list = app.get("/api/workflows?perPage=100", &c.admin).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
}
