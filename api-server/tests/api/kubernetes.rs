//! The API server in `kubernetes` executor mode against the in-memory
//! Kubernetes API (`katalusis_operator::fake_api`) with the real operator
//! controller running in-process and a fake kubelet that executes every Pod
//! the operator creates by running its container command — the real
//! `runner/pod_entrypoint.py` and runner — against this server's ingest
//! endpoint. Everything but the Kubernetes API server and the kubelet is real.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use base64::Engine;
use k8s_openapi::api::core::v1::Pod;
use katalusis_api::config::{ExecutorMode, Settings};
use katalusis_operator::controller::{self, Context};
use katalusis_operator::fake_api::FakeApi;
use katalusis_operator::metrics::Metrics;
use katalusis_operator::pods::{pod_name, PodSettings};
use kube::api::{Patch, PatchParams};
use kube::Api;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::runs::{
    cast, edge, file_pipeline, node, node_of, read_sse, start, template, text_out, text_pipeline,
    wait_final, workflow, Cast,
};
use crate::support::{spawn_app, spawn_app_on, test_settings, TestApp};

const PODS: &str = "/v1/pods";
const RUNS: &str = "katalusis.io/v1alpha1/runs";
const SECRETS: &str = "/v1/secrets";
const WORKFLOWS: &str = "katalusis.io/v1alpha1/workflows";

const CUSTOM_IMAGE: &str = "registry.example/nodes/pandas:1";

pub(crate) fn k8s_settings() -> Settings {
    Settings {
        image_allow_list: vec![CUSTOM_IMAGE.into()],
        executor: ExecutorMode::Kubernetes,
        k8s_namespace: Some("default".into()),
        k8s_resync_seconds: 1,
        ..test_settings()
    }
}

/// What the fake kubelet does with a Pod.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Run the container command (the real Pod entrypoint and runner).
    Execute,
    /// The container is killed for exceeding its memory limit.
    OomKill,
    /// The Pod runs past its `activeDeadlineSeconds`.
    Deadline,
}

pub(crate) struct Cluster {
    operator_stop: Option<oneshot::Sender<()>>,
    operator: Option<JoinHandle<()>>,
    kubelet: JoinHandle<()>,
    settings: controller::Settings,
    fake: FakeApi,
}

fn start_operator(
    fake: &FakeApi,
    settings: controller::Settings,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let ctx = Context::new(fake.client(), settings, Metrics::new());
    let (stop, stopped) = oneshot::channel::<()>();
    let operator = tokio::spawn(controller::run(ctx, async move {
        let _ = stopped.await;
    }));
    (stop, operator)
}

impl Cluster {
    /// Stops the operator and starts a fresh one (new caches, no memory).
    async fn restart_operator(&mut self) {
        if let Some(stop) = self.operator_stop.take() {
            let _ = stop.send(());
        }
        if let Some(op) = self.operator.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), op).await;
        }
        let (stop, op) = start_operator(&self.fake, self.settings.clone());
        self.operator_stop = Some(stop);
        self.operator = Some(op);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kubelet.abort();
        if let Some(stop) = self.operator_stop.take() {
            let _ = stop.send(());
        }
        if let Some(op) = self.operator.take() {
            op.abort();
        }
    }
}

fn repo_runner() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("runner")
}

/// Starts the operator (in-process) and the fake kubelet against `fake`;
/// node Pods post to `app`'s ingest endpoint.
fn start_cluster(fake: &FakeApi, app: &TestApp, fate: fn(&Pod) -> Fate) -> Cluster {
    let settings = controller::Settings {
        pods: PodSettings {
            ingest_url: format!("http://{}/internal", app.addr),
            image_allow_list: vec![CUSTOM_IMAGE.into()],
            ..PodSettings::default()
        },
        namespace: Some("default".into()),
        error_requeue: Duration::from_millis(100),
        ..controller::Settings::default()
    };
    let (stop, operator) = start_operator(fake, settings.clone());
    let kubelet = tokio::spawn(kubelet(fake.clone(), fate));
    Cluster {
        operator_stop: Some(stop),
        operator: Some(operator),
        kubelet,
        settings,
        fake: fake.clone(),
    }
}

/// The operator and a kubelet that executes every Pod.
pub(crate) fn start_cluster_executing(fake: &FakeApi, app: &TestApp) -> Cluster {
    start_cluster(fake, app, always_execute)
}

fn pods(fake: &FakeApi) -> Vec<Pod> {
    fake.objects(PODS)
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("a Pod"))
        .collect()
}

/// Plays the kubelet: every new Pod is started and its fate decided.
async fn kubelet(fake: FakeApi, fate: fn(&Pod) -> Fate) {
    let mut seen = HashSet::new();
    loop {
        for pod in pods(&fake) {
            let name = pod.metadata.name.clone().unwrap_or_default();
            if seen.insert(name) {
                tokio::spawn(run_pod(fake.clone(), pod, fate));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reports a Pod's status, retrying while the API is unreachable, as a kubelet does.
async fn set_status(fake: &FakeApi, pod: &str, status: Value) {
    let pods = Api::<Pod>::namespaced(fake.client(), "default");
    let patch = Patch::Merge(json!({ "status": status }));
    for _ in 0..600 {
        match pods
            .patch_status(pod, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => return,
            Err(kube::Error::Api(e)) if e.code == 404 => return,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn terminated(phase: &str, reason: &str, exit_code: i32, message: &str) -> Value {
    json!({"phase": phase, "containerStatuses": [{
        "name": "node", "image": "katalusis-runner", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": exit_code, "reason": reason, "message": message}}}]})
}

fn exists(fake: &FakeApi, pod: &str) -> bool {
    fake.objects(PODS)
        .iter()
        .any(|p| p["metadata"]["name"] == pod)
}

async fn run_pod(fake: FakeApi, pod: Pod, fate: fn(&Pod) -> Fate) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    set_status(
        &fake,
        &name,
        json!({"phase": "Running", "startTime": now, "containerStatuses": [{
            "name": "node", "image": "katalusis-runner", "imageID": "", "ready": true, "restartCount": 0,
            "state": {"running": {"startedAt": now}}}]}),
    )
    .await;
    match fate(&pod) {
        Fate::OomKill => {
            set_status(&fake, &name, terminated("Failed", "OOMKilled", 137, "")).await;
            return;
        }
        Fate::Deadline => {
            let mut status = terminated("Failed", "Error", 137, "");
            status["reason"] = json!("DeadlineExceeded");
            status["message"] =
                json!("Pod was active on the node longer than the specified deadline");
            set_status(&fake, &name, status).await;
            return;
        }
        Fate::Execute => {}
    }
    let spec = pod.spec.expect("spec");
    let container = &spec.containers[0];
    let command = container.command.clone().expect("a command");
    assert_eq!(command[0], "python3");
    // The image holds the runner under /opt/katalusis; here it is the repository's runner/.
    let script = repo_runner().join(
        std::path::Path::new(&command[1])
            .file_name()
            .expect("script name"),
    );
    // Tests run in parallel and every test's first run is run 1: each Pod
    // gets its own files, as each container has its own filesystem.
    let unique = NEXT_POD.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let termination = std::env::temp_dir().join(format!(
        "katalusis-termination-{}-{unique}",
        std::process::id()
    ));
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KATALUSIS_TERMINATION_LOG", &termination)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for e in container.env.clone().unwrap_or_default() {
        let value = match (e.value, e.value_from) {
            (Some(v), _) => v,
            (None, Some(from)) => {
                let key = from.secret_key_ref.expect("only Secret references");
                let secret = fake
                    .objects(SECRETS)
                    .into_iter()
                    .find(|s| s["metadata"]["name"] == key.name.as_str())
                    .expect("the token Secret exists before the Pod runs");
                let b64 = secret["data"][&key.key].as_str().expect("key in Secret");
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .expect("base64"),
                )
                .expect("utf-8")
            }
            (None, None) => String::new(),
        };
        cmd.env(e.name, value);
    }
    // /tmp of the Pod is an emptyDir; TMPDIR/HOME point there.
    let tmp = tempdir(unique);
    cmd.env("TMPDIR", &tmp).env("HOME", &tmp);
    let mut child = cmd.spawn().expect("spawn the Pod's command");
    let status = loop {
        tokio::select! {
            status = child.wait() => break Some(status.expect("wait")),
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if !exists(&fake, &name) {
                    // Deleted (cancel): the kubelet kills the container.
                    let _ = child.kill().await;
                    break None;
                }
            }
        }
    };
    let _ = std::fs::remove_dir_all(&tmp);
    let Some(status) = status else {
        return;
    };
    let message = std::fs::read_to_string(&termination).unwrap_or_default();
    let _ = std::fs::remove_file(&termination);
    let code = status.code().unwrap_or(137);
    let (phase, reason) = if code == 0 {
        ("Succeeded", "Completed")
    } else {
        ("Failed", "Error")
    };
    set_status(&fake, &name, terminated(phase, reason, code, &message)).await;
}

static NEXT_POD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn tempdir(unique: u64) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("katalusis-pod-{}-{unique}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("pod tmp");
    dir
}

/// Writes the Pods to `$OPERATOR_TEST_POD_DUMP_DIR`, where `make validate-k8s`
/// checks them against the Kubernetes schema.
fn dump_pods(fake: &FakeApi, test: &str) {
    let Ok(dir) = std::env::var("OPERATOR_TEST_POD_DUMP_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for mut pod in fake.objects(PODS) {
        if let Some(o) = pod.as_object_mut() {
            o.remove("status");
        }
        let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
        let path = std::path::Path::new(&dir).join(format!("{test}-{name}.json"));
        std::fs::write(path, serde_json::to_string_pretty(&pod).unwrap()).unwrap();
    }
}

fn always_execute(_: &Pod) -> Fate {
    Fate::Execute
}

async fn eventually<T>(what: &str, secs: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The stored outcome of every node: status, reason, outputs and log messages.
async fn results(app: &TestApp, c: &Cast, run: &Value) -> BTreeMap<String, Value> {
    let id = run["id"].as_u64().unwrap();
    let mut out = BTreeMap::new();
    for n in run["nodes"].as_array().unwrap() {
        let node = n["id"].as_str().unwrap();
        let logs = app
            .get(&format!("/api/runs/{id}/nodes/{node}/logs"), &c.manager)
            .await;
        let lines: Vec<Value> = logs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| json!([l["level"], l["stream"], l["message"]]))
            .collect();
        let execs: Vec<Value> = n["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| json!([e["attempt"], e["status"], e["reason"], e["outputs"]]))
            .collect();
        out.insert(
            node.to_owned(),
            json!({"status": n["status"], "executions": execs, "logs": lines}),
        );
    }
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn a_workflow_played_in_kubernetes_mode_runs_one_locked_down_pod_per_node_and_stores_what_the_local_executor_stores(
    pool: MySqlPool,
) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool.clone(), k8s_settings(), Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;

    // Saving applied the Workflow mirror with our field manager.
    let applied = eventually("the Workflow resource", 10, || {
        fake.objects(WORKFLOWS)
            .into_iter()
            .find(|w| w["metadata"]["name"] == format!("wf-{wf}"))
    })
    .await;
    assert_eq!(applied["spec"]["workflowId"], wf);
    assert_eq!(
        applied["spec"]["graph"]["nodes"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        applied["metadata"]["managedFields"][0]["manager"],
        "katalusis-api"
    );

    let id = start(&app, &c.manager, wf, json!({})).await;
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");

    // One Pod per node, named <run>-<node>-<attempt>, with the node's limits
    // and the locked-down security context.
    let mut names: Vec<String> = pods(&fake)
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    let run_name = format!("run-{id}");
    let mut expected: Vec<String> = ["src", "upper", "count"]
        .iter()
        .map(|n| pod_name(&run_name, n, 1))
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    for pod in pods(&fake) {
        let spec = pod.spec.unwrap();
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
        assert_eq!(spec.automount_service_account_token, Some(false));
        assert!(spec.active_deadline_seconds.unwrap() > 0);
        let c0 = &spec.containers[0];
        let limits = c0.resources.as_ref().unwrap().limits.as_ref().unwrap();
        let node = &pod.metadata.annotations.as_ref().unwrap()["katalusis.io/node-id"];
        let name = node_of(&run, node)["template"]["name"].as_str().unwrap();
        let stored = app.get(&format!("/api/templates/{name}"), &c.admin).await;
        let template = &stored.body["limits"];
        assert_eq!(limits["memory"].0, format!("{}Mi", template["memoryMib"]));
        assert_eq!(limits["cpu"].0, format!("{}m", template["cpuMillicores"]));
        let sc = c0.security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_owned()][..])
        );
        let token = c0
            .env
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.name == "KATALUSIS_RUN_TOKEN")
            .unwrap();
        assert!(token.value.is_none(), "the token comes from the Secret");
    }
    dump_pods(&fake, "api-kubernetes-mode");
    // The token Secret is owned by the Run, so deleting the Run removes it.
    let the_run = fake.objects(RUNS).pop().unwrap();
    let secret = fake.objects(SECRETS).pop().unwrap();
    assert_eq!(secret["metadata"]["name"], format!("run-{id}-token"));
    assert_eq!(
        secret["metadata"]["ownerReferences"][0]["uid"],
        the_run["metadata"]["uid"]
    );
    assert_eq!(the_run["status"]["phase"], "Succeeded");
    assert_eq!(the_run["status"]["progress"], "3/3");

    // Outputs flowed through MySQL from Pod to Pod.
    let count = node_of(&run, "count");
    assert_eq!(count["executions"][0]["outputs"]["count"], 11);
    assert_eq!(
        node_of(&run, "upper")["executions"][0]["outputs"]["text"],
        "HELLO WORLD"
    );

    // The SSE stream of the run shows every node turning succeeded, with logs.
    let events = read_sse(&app, &c.manager, id, None).await;
    for n in ["src", "upper", "count"] {
        assert!(
            events
                .iter()
                .any(|(_, k, d)| k == "node" && d["node"] == n && d["status"] == "succeeded"),
            "node {n} succeeded event missing: {events:?}"
        );
    }
    assert!(events.iter().any(|(_, k, d)| k == "log"
        && d["node"] == "src"
        && d["message"] == "emitting hello world"));
    let seqs: Vec<u64> = events.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gap-free sequence numbers"
    );
    assert_eq!(events.last().unwrap().2["status"], "succeeded");

    // The local executor stores the same results for the same workflow.
    let local = spawn_app(pool.clone()).await;
    let local_id = start(&local, &c.manager, wf, json!({})).await;
    let local_run = wait_final(&local, &c.manager, local_id).await;
    assert_eq!(
        results(&app, &c, &run).await,
        results(&local, &c, &local_run).await
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unreachable_cluster_answers_503_and_leaves_nothing_half_created(pool: MySqlPool) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool, k8s_settings(), Some(fake.client())).await;
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;

    fake.set_offline(true);
    let r = app
        .post(&format!("/api/workflows/{wf}/runs"), &c.manager, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "unavailable");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nothing was started"));
    assert_eq!(app.count("run").await, 0);
    fake.set_offline(false);
    assert!(fake.objects(RUNS).is_empty());

    // The Run is created but its Secret cannot be: the Run is deleted again.
    let blocker = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "run-2-token", "namespace": "default"}, "data": {}});
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(fake.client(), "default");
    secrets
        .create(
            &Default::default(),
            &serde_json::from_value(blocker).unwrap(),
        )
        .await
        .unwrap();
    let r = app
        .post(&format!("/api/workflows/{wf}/runs"), &c.manager, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(app.count("run").await, 0);
    assert!(
        fake.objects(RUNS).is_empty(),
        "the half-created Run is gone"
    );
    assert_eq!(fake.objects(SECRETS).len(), 1, "only the unrelated Secret");
}

fn node_id(pod: &Pod) -> String {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("katalusis.io/node-id"))
        .cloned()
        .unwrap_or_default()
}

fn oom_kill_upper(pod: &Pod) -> Fate {
    if node_id(pod) == "upper" {
        Fate::OomKill
    } else {
        Fate::Execute
    }
}

fn deadline_for_count(pod: &Pod) -> Fate {
    if node_id(pod) == "count" {
        Fate::Deadline
    } else {
        Fate::Execute
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_pod_past_its_deadline_fails_its_node_with_reason_timeout(pool: MySqlPool) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool, k8s_settings(), Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, deadline_for_count);
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;
    let id = start(&app, &c.manager, wf, json!({})).await;
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(node_of(&run, "upper")["status"], "succeeded", "{run}");
    let count = node_of(&run, "count");
    assert_eq!(count["reason"], "timeout", "{count}");
    assert_eq!(count["executions"][0]["reason"], "timeout");
    assert_eq!(node_of(&run, "upper")["status"], "succeeded");
    let the_run = fake.objects(RUNS).pop().unwrap();
    assert_eq!(
        the_run["status"]["nodes"]["count"]["podReason"],
        "DeadlineExceeded"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_oom_killed_pod_fails_its_node_with_reason_memory_in_mysql_and_sse(pool: MySqlPool) {
    let fake = FakeApi::new();
    let settings = Settings {
        k8s_run_ttl_seconds: 0,
        ..k8s_settings()
    };
    let app = spawn_app_on(pool, settings, Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, oom_kill_upper);
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;
    let id = start(&app, &c.manager, wf, json!({})).await;
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let upper = node_of(&run, "upper");
    assert_eq!(upper["status"], "failed");
    assert_eq!(upper["reason"], "memory");
    let attempts = upper["executions"].as_array().unwrap();
    assert!(!attempts.is_empty());
    assert!(attempts
        .iter()
        .all(|e| e["status"] == "failed" && e["reason"] == "memory"));
    assert_eq!(node_of(&run, "count")["status"], "skipped");
    assert_eq!(node_of(&run, "src")["status"], "succeeded");
    let events = read_sse(&app, &c.manager, id, None).await;
    assert!(events.iter().any(|(_, k, d)| k == "node"
        && d["node"] == "upper"
        && d["status"] == "failed"
        && d["reason"] == "memory"));
    // With a TTL of 0 the finished Run leaves the cluster with its Pods and
    // Secret at the next re-list; MySQL keeps the run.
    eventually("the finished Run deleted", 10, || {
        (fake.objects(RUNS).is_empty()
            && fake.objects(PODS).is_empty()
            && fake.objects(SECRETS).is_empty())
        .then_some(())
    })
    .await;
    let kept = app.get(&format!("/api/runs/{id}"), &c.manager).await;
    assert_eq!(kept.body["status"], "failed");
}

/// An app in Kubernetes mode with its cluster, and a workflow of one node
/// `slow` that logs "sleeping" and sleeps 30 s: (fake API, app, cluster, cast, workflow id).
async fn slow_workflow_in_a_cluster(pool: MySqlPool) -> (FakeApi, TestApp, Cluster, Cast, u64) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool, k8s_settings(), Some(fake.client())).await;
    let cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template(
            "slow",
            "import time\ndef run(inputs, params, ctx):\n    ctx.log('sleeping')\n    time.sleep(30)\n    return {'text': 'late'}\n",
            json!([]),
            text_out(),
            json!({}),
        ),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("slow", "slow")],
        vec![],
    )
    .await;
    (fake, app, cluster, c, wf)
}

#[sqlx::test(migrations = "../migrations")]
async fn cancel_sets_spec_cancel_and_the_run_ends_cancelled_with_its_pod_deleted(pool: MySqlPool) {
    let (fake, app, _cluster, c, wf) = slow_workflow_in_a_cluster(pool).await;
    let id = start(&app, &c.manager, wf, json!({})).await;
    // Wait until the node's Pod is running and has posted its first log line.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = app
            .get(&format!("/api/runs/{id}/nodes/slow/logs"), &c.manager)
            .await;
        if logs.body["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "the node never logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = app
        .post(&format!("/api/runs/{id}/cancel"), &c.manager, json!({}))
        .await;
    assert!(
        r.status.is_success(),
        "{}: {} {}",
        r.body,
        app.get(&format!("/api/runs/{id}"), &c.manager).await.body,
        fake.objects(RUNS).pop().unwrap()
    );
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(
        run["status"],
        "cancelled",
        "{run}\n{}",
        fake.objects(RUNS).pop().unwrap()
    );
    assert_eq!(node_of(&run, "slow")["status"], "cancelled");
    let the_run = fake.objects(RUNS).pop().unwrap();
    assert_eq!(the_run["spec"]["cancel"], true);
    eventually("the Pod deleted", 10, || {
        (!exists(&fake, &pod_name(&format!("run-{id}"), "slow", 1))).then_some(())
    })
    .await;
}

/// A Run deleted from the cluster while its run is unfinished fails the run
/// with that reason; the re-lists every second meanwhile (which look the Run
/// up before calling it gone) keep the runs whose Run exists.
#[sqlx::test(migrations = "../migrations")]
async fn a_run_whose_run_resource_is_deleted_fails_with_that_reason(pool: MySqlPool) {
    let (fake, app, _cluster, c, wf) = slow_workflow_in_a_cluster(pool).await;
    let kept = start(&app, &c.manager, wf, json!({})).await;
    let gone = start(&app, &c.manager, wf, json!({})).await;
    eventually("both Runs created", 10, || {
        (fake.objects(RUNS).len() == 2).then_some(())
    })
    .await;
    let runs: Api<katalusis_crds::resources::Run> = Api::namespaced(fake.client(), "default");
    runs.delete(&format!("run-{gone}"), &kube::api::DeleteParams::default())
        .await
        .expect("delete the Run");
    let failed = wait_final(&app, &c.manager, gone).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(
        failed["message"], "the run's Run resource was deleted from the cluster",
        "{failed}"
    );
    // Several re-lists later the other run is still running.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let other = app.get(&format!("/api/runs/{kept}"), &c.manager).await;
    assert_eq!(other.body["status"], "running", "{}", other.body);
}

pub(crate) async fn token_of(fake: &FakeApi, run: u64) -> String {
    let secret = fake
        .objects(SECRETS)
        .into_iter()
        .find(|s| s["metadata"]["name"] == format!("run-{run}-token"))
        .expect("token Secret");
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(secret["data"]["token"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_ingest_endpoint_accepts_only_the_runs_own_token(pool: MySqlPool) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool, k8s_settings(), Some(fake.client())).await;
    // No operator: the runs stay pending, which is what this test needs.
    let c = cast(&app).await;
    let wf = text_pipeline(&app, &c).await;
    let a = start(&app, &c.manager, wf, json!({})).await;
    let b = start(&app, &c.manager, wf, json!({})).await;
    let (token_a, token_b) = (token_of(&fake, a).await, token_of(&fake, b).await);
    let job =
        |run: u64, node: &str| app.url(&format!("/internal/runs/{run}/nodes/{node}/job?attempt=1"));

    let ok = app
        .http
        .get(job(a, "src"))
        .bearer_auth(&token_a)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["type"], "job");
    assert_eq!(body["job"], "src#1");
    assert_eq!(body["inputs"]["text"], "hello world");
    assert_eq!(body["limits"]["memory_mib"], 256);

    for (run, token) in [
        (a, "wrong"),
        (a, token_b.as_str()),
        (999_999, token_a.as_str()),
    ] {
        let r = app
            .http
            .get(job(run, "src"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "run {run}");
    }
    let r = app.http.get(job(a, "src")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no token");
    // A user's JWT is no run token.
    let r = app
        .http
        .get(job(a, "src"))
        .bearer_auth(&c.manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .get(job(a, "nope"))
        .bearer_auth(&token_a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Malformed events are refused and change nothing.
    let r = app
        .http
        .post(app.url(&format!("/internal/runs/{a}/nodes/src/events?attempt=1")))
        .bearer_auth(&token_a)
        .body("{not json\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("node_log").await, 0);
    // A well-formed log line is stored and attributed to the node.
    let line = json!({"v": 1, "type": "log", "job": "src#1", "ts": 1.0, "level": "info", "stream": "stdout", "msg": "hi"});
    let r = app
        .http
        .post(app.url(&format!("/internal/runs/{a}/nodes/src/events?attempt=1")))
        .bearer_auth(&token_a)
        .body(format!("{line}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("node_log").await, 1);
    // The ingest routes exist only in kubernetes mode.
    let local = spawn_app(app.db.clone()).await;
    let r = local
        .http
        .get(local.url(&format!("/internal/runs/{a}/nodes/src/job?attempt=1")))
        .bearer_auth(&token_a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_mirror_catches_up_after_an_api_server_restart_an_operator_restart_and_a_cluster_outage(
    pool: MySqlPool,
) {
    let fake = FakeApi::new();
    let first = spawn_app_on(pool.clone(), k8s_settings(), Some(fake.client())).await;
    let c = cast(&first).await;
    let wf = text_pipeline(&first, &c).await;
    let id = start(&first, &c.manager, wf, json!({})).await;
    // The first server stops mirroring (shut down, handing its leases over) before anything ran.
    first.state.executor.replica().leave().await;
    first.state.executor.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A second server takes over; the cluster then drops out for a moment.
    let second = spawn_app_on(pool.clone(), k8s_settings(), Some(fake.client())).await;
    let mut cluster = start_cluster(&fake, &second, always_execute);
    eventually("the first Pod", 20, || {
        (!fake.objects(PODS).is_empty()).then_some(())
    })
    .await;
    cluster.restart_operator().await;
    fake.set_offline(true);
    tokio::time::sleep(Duration::from_millis(700)).await;
    fake.set_offline(false);
    let run = wait_final(&second, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        node_of(&run, "count")["executions"][0]["outputs"]["count"],
        11
    );
    // Every node's transitions made it into the stored event log once.
    let events = read_sse(&second, &c.manager, id, None).await;
    for n in ["src", "upper", "count"] {
        let succeeded = events
            .iter()
            .filter(|(_, k, d)| k == "node" && d["node"] == n && d["status"] == "succeeded")
            .count();
        assert_eq!(succeeded, 1, "node {n}: {events:?}");
    }
    // The Run the first server created is the one that ran, with one Pod per
    // node despite the operator restart.
    assert_eq!(fake.objects(RUNS).len(), 1);
    let created = fake
        .seen()
        .iter()
        .filter(|r| {
            r.method == reqwest::Method::POST && r.path.ends_with("/pods") && r.status == 201
        })
        .count();
    assert_eq!(created, 3, "no duplicate Pods");
}

#[sqlx::test(migrations = "../migrations")]
async fn with_two_replicas_one_mirrors_and_the_other_takes_over_when_it_dies(pool: MySqlPool) {
    let fake = FakeApi::new();
    let settings = |id: &str| Settings {
        replica_id: id.into(),
        lease_ttl_seconds: 2,
        ..k8s_settings()
    };
    let a = spawn_app_on(pool.clone(), settings("api-a"), Some(fake.client())).await;
    let b = spawn_app_on(pool.clone(), settings("api-b"), Some(fake.client())).await;
    let holder = || async {
        sqlx::query_scalar::<_, String>("SELECT holder FROM lease WHERE name = 'run-mirror'")
            .fetch_optional(&pool)
            .await
            .unwrap()
    };
    assert_eq!(holder().await.as_deref(), Some("api-a"));
    assert!(a
        .state
        .executor
        .replica()
        .holds(katalusis_api::replicas::Lease::RunMirror));
    assert!(!b
        .state
        .executor
        .replica()
        .holds(katalusis_api::replicas::Lease::RunMirror));

    let c = cast(&a).await;
    let wf = text_pipeline(&a, &c).await;
    // Node Pods report to B, which stores nothing while A mirrors (503: the
    // Pod sends again later, as it would through a Service to another replica).
    let _cluster = start_cluster(&fake, &b, always_execute);
    let id = start(&a, &c.manager, wf, json!({})).await;
    eventually("the first Pod", 30, || {
        (!fake.objects(PODS).is_empty()).then_some(())
    })
    .await;
    // A mirrors the Run's phases meanwhile.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = a.get(&format!("/api/runs/{id}"), &c.manager).await.body;
        if run["status"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "A never mirrored the Run: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A dies without handing over; after the lease TTL, B mirrors.
    a.state.executor.replica().halt();
    a.state.executor.shutdown();
    let run = wait_final(&b, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(holder().await.as_deref(), Some("api-b"));
    assert_eq!(
        node_of(&run, "count")["executions"][0]["outputs"]["count"],
        11
    );
    let events = read_sse(&b, &c.manager, id, None).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    for n in ["src", "upper", "count"] {
        let succeeded = events
            .iter()
            .filter(|(_, k, d)| k == "node" && d["node"] == n && d["status"] == "succeeded")
            .count();
        assert_eq!(succeeded, 1, "node {n}: {events:?}");
    }
    let finished = events
        .iter()
        .filter(|(_, k, d)| k == "run" && d["status"] == "succeeded")
        .count();
    assert_eq!(finished, 1, "the run's status reached MySQL once");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_template_may_name_an_allow_listed_image_and_its_pods_run_it(pool: MySqlPool) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool, k8s_settings(), Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    let code = "def run(inputs, params, ctx):\n    return {'text': 'from the custom image'}\n";
    for (image, field_error) in [
        ("registry.example/other:2", true),
        ("Not An Image", true),
        (CUSTOM_IMAGE, false),
    ] {
        let spec = template(
            "custom",
            code,
            json!([]),
            text_out(),
            json!({"image": image}),
        );
        let r = app.post("/api/templates", &c.admin, spec).await;
        if field_error {
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{image}: {}",
                r.body
            );
            assert_eq!(
                r.body["error"]["details"][0]["field"], "image",
                "{}",
                r.body
            );
        } else {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            assert_eq!(r.body["image"], CUSTOM_IMAGE);
        }
    }
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("n", "custom")],
        vec![],
    )
    .await;
    let id = start(&app, &c.manager, wf, json!({})).await;
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let pod = pods(&fake).pop().expect("a Pod");
    assert_eq!(
        pod.spec.unwrap().containers[0].image.as_deref(),
        Some(CUSTOM_IMAGE)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn nodes_held_back_by_the_run_cap_show_their_queue_positions(pool: MySqlPool) {
    let fake = FakeApi::new();
    let settings = Settings {
        max_parallel_nodes_per_run: Some(1),
        ..k8s_settings()
    };
    let app = spawn_app_on(pool, settings, Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    app.create_template(
        &c.admin,
        template(
            "nap",
            "import time\ndef run(inputs, params, ctx):\n    time.sleep(1)\n    return {}\n",
            json!([]),
            json!([]),
            json!({}),
        ),
    )
    .await;
    let nodes = vec![node("a", "nap"), node("b", "nap"), node("c", "nap")];
    let wf = workflow(&app, &c.manager, c.client.user_id, nodes, vec![]).await;
    let id = start(&app, &c.manager, wf, json!({})).await;
    assert_eq!(
        fake.objects(RUNS).pop().unwrap()["spec"]["maxParallel"],
        1,
        "the cap travels in the Run"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let positions = loop {
        let run = app.get(&format!("/api/runs/{id}"), &c.manager).await.body;
        let mut positions: Vec<u64> = run["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["queuePosition"].as_u64())
            .collect();
        positions.sort_unstable();
        if positions.len() == 2 {
            break positions;
        }
        assert!(Instant::now() < deadline, "no queue positions: {run}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(positions, [1, 2]);
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["queuePosition"].is_null()));
}

#[sqlx::test(migrations = "../migrations")]
async fn file_and_binary_outputs_travel_between_pods_and_download_as_in_local_mode(
    pool: MySqlPool,
) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool, k8s_settings(), Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    let wf = file_pipeline(&app, &c).await;
    let id = start(&app, &c.manager, wf, json!({})).await;
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(node_of(&run, "l")["executions"][0]["outputs"]["n"], 5);
    let file = &node_of(&run, "r")["executions"][0]["outputs"]["report"]["$file"];
    assert_eq!(file["name"], "report.csv");
    assert_eq!(file["size"], 8);
    let resp = app
        .http
        .get(app.url(&format!("/api/runs/{id}/nodes/r/outputs/report")))
        .bearer_auth(&c.manager.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"a,b\n1,2\n");
}

/// `results` with the approval's decision time left out (it is when the
/// approver clicked, different in every run).
async fn flow_results(app: &TestApp, c: &Cast, run: &Value) -> BTreeMap<String, Value> {
    let mut out = results(app, c, run).await;
    for v in out.values_mut() {
        if let Some(execs) = v["executions"].as_array_mut() {
            for e in execs {
                if let Some(d) = e[3].get_mut("decision").and_then(Value::as_object_mut) {
                    d.remove("decidedAt");
                }
            }
        }
    }
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn flow_nodes_run_in_kubernetes_mode_without_pods_and_store_what_the_local_executor_stores(
    pool: MySqlPool,
) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool.clone(), k8s_settings(), Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    let noah = app.user(&c.admin, "noah", "manager").await;
    app.assign(&c.admin, noah.user_id, c.client.user_id).await;
    crate::runs::num_source(&app, &c.admin).await;
    crate::runs::num_tag(&app, &c.admin).await;
    let mut src = node("src", "num.source");
    src["inputs"] = json!({"amount": 0});
    let mut cond = node("cond", "flow.condition");
    cond["params"] = json!({"expression": "value.amount > 1000"});
    let mut gate = node("gate", "flow.approval");
    gate["params"] = json!({"approvers": "noah"});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![
            src,
            cond,
            gate,
            node("low", "num.tag"),
            node("yes", "num.tag"),
        ],
        vec![
            edge("src", "value", "cond", "value"),
            edge("cond", "true", "gate", "value"),
            edge("cond", "false", "low", "value"),
            edge("gate", "approved", "yes", "value"),
        ],
    )
    .await;

    let play = |app: &TestApp| {
        let app_url = app.url("");
        let token = c.manager.token.clone();
        let http = app.http.clone();
        async move {
            let r = http
                .post(format!("{app_url}/api/workflows/{wf}/runs"))
                .bearer_auth(token)
                .json(&json!({"inputs": {"src": {"amount": 1500}}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::ACCEPTED);
            r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
        }
    };
    let approve = |app: &TestApp, run: u64| {
        let app_url = app.url("");
        let token = noah.token.clone();
        let http = app.http.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let r = http
                    .post(format!("{app_url}/api/runs/{run}/nodes/gate/decision"))
                    .bearer_auth(&token)
                    .json(&json!({"verdict": "approve", "comment": "ok"}))
                    .send()
                    .await
                    .unwrap();
                if r.status() == StatusCode::OK {
                    return;
                }
                assert!(Instant::now() < deadline, "never decidable: {}", r.status());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    let id = play(&app).await;
    // The run waits at the approval, with no Pod for either flow node.
    // (It also waits, briefly, while the API server decides the Condition.)
    let run_cr = eventually("the Run waiting at the approval", 60, || {
        fake.objects(RUNS).into_iter().find(|r| {
            r["status"]["phase"] == "Waiting" && r["status"]["nodes"]["gate"]["phase"] == "Waiting"
        })
    })
    .await;
    assert_eq!(
        run_cr["status"]["nodes"]["cond"]["phase"], "Succeeded",
        "{run_cr}"
    );
    assert_eq!(run_cr["status"]["nodes"]["cond"]["branch"], "true");
    assert_eq!(run_cr["status"]["nodes"]["gate"]["phase"], "Waiting");
    let names: Vec<String> = pods(&fake)
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, [pod_name(&format!("run-{id}"), "src", 1)]);
    approve(&app, id).await;
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(node_of(&run, "gate")["branch"], "approved");
    assert_eq!(node_of(&run, "low")["reason"], "branch");
    assert_eq!(
        node_of(&run, "yes")["executions"][0]["outputs"]["seen"],
        1500
    );
    let the_run = fake
        .objects(RUNS)
        .into_iter()
        .find(|r| r["spec"]["runId"] == id)
        .unwrap();
    assert_eq!(the_run["spec"]["decisions"]["gate"]["branch"], "approved");
    assert!(
        !pods(&fake).iter().any(|p| p
            .metadata
            .name
            .as_deref()
            .is_some_and(|n| n.contains("-cond-") || n.contains("-gate-"))),
        "flow nodes got Pods"
    );

    // The local executor stores the same results for the same workflow.
    let local = spawn_app(pool.clone()).await;
    let local_id = play(&local).await;
    approve(&local, local_id).await;
    let local_run = wait_final(&local, &c.manager, local_id).await;
    assert_eq!(
        flow_results(&app, &c, &run).await,
        flow_results(&local, &c, &local_run).await
    );
}

/// The shipped workflow templates run on the Kubernetes executor too: an
/// approval, a schedule and a task event, with Pods only for Python nodes.
#[sqlx::test(migrations = "../migrations")]
async fn the_shipped_templates_run_end_to_end_in_kubernetes_mode(pool: MySqlPool) {
    let fake = FakeApi::new();
    let app = spawn_app_on(pool.clone(), k8s_settings(), Some(fake.client())).await;
    katalusis_api::triggers::service::spawn_event_listener(app.state.clone());
    let _cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    let noah = app.user(&c.admin, "noah", "manager").await;
    app.assign(&c.admin, noah.user_id, c.client.user_id).await;
    let r = app
        .post("/api/admin/library/starter", &c.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let gallery = app.get("/api/workflow-templates", &c.manager).await.body;
    let id_of = |name: &str| {
        gallery
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    };
    let instantiate = |id: u64, values: Value| {
        let app = &app;
        let manager = c.manager.clone();
        let client = c.client.user_id;
        async move {
            let r = app
                .post(
                    &format!("/api/workflow-templates/{id}/instantiate"),
                    &manager,
                    json!({"clientId": client, "name": format!("t{id}"), "values": values}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r.body
        }
    };
    let first_run = |wf: u64| {
        let db = app.db.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let id: Option<u64> =
                    sqlx::query_scalar("SELECT run_id FROM run WHERE workflow_id = ?")
                        .bind(wf)
                        .fetch_optional(&db)
                        .await
                        .unwrap();
                if let Some(id) = id {
                    return id;
                }
                assert!(Instant::now() < deadline, "no run of workflow {wf}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    // Approve high-value rows: csv.read → table.filter → Condition → Approval → Notifications.
    let made = instantiate(
        id_of("Approve high-value rows"),
        json!({"approvers": "noah", "recipients": "mia"}),
    )
    .await;
    let wf = made["workflowId"].as_u64().unwrap();
    let run = start(&app, &c.manager, wf, json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = app
            .post(
                &format!("/api/runs/{run}/nodes/approve/decision"),
                &noah,
                json!({"verdict": "approve"}),
            )
            .await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approval never opened: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(node_of(&body, "rejected")["reason"], "branch");
    let inbox = app
        .get("/api/notifications", &c.manager)
        .await
        .body
        .to_string();
    assert!(inbox.contains("2 rows were approved"), "{inbox}");

    // Daily digest: the schedule fires once, the notification reaches noah.
    let made = instantiate(
        id_of("Daily digest"),
        json!({"recipients": "noah", "cron": "*/5 * * * *"}),
    )
    .await;
    let wf = made["workflowId"].as_u64().unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(
        made["triggers"][0]["trigger"]["nextFireAt"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .with_timezone(&chrono::Utc);
    let fired =
        katalusis_api::triggers::service::tick(&app.state, next + chrono::Duration::seconds(1))
            .await
            .unwrap();
    assert_eq!(fired, 1);
    let body = wait_final(&app, &c.manager, first_run(wf).await).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let inbox = app.get("/api/notifications", &noah).await.body.to_string();
    assert!(inbox.contains("Good morning, the team"), "{inbox}");

    // Escalate tasks put on hold: the event opens a follow-up task.
    let made = instantiate(
        id_of("Escalate tasks put on hold"),
        json!({"owner": "noah", "recipients": "mia"}),
    )
    .await;
    let wf = made["workflowId"].as_u64().unwrap();
    let task = app
        .post(
            "/api/tasks",
            &c.manager,
            json!({"clientId": c.client.user_id, "title": "Ship it"}),
        )
        .await;
    let r = app
        .patch(
            &format!("/api/tasks/{}", task.body["id"]),
            &c.manager,
            json!({"version": task.body["version"], "statusId": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let body = wait_final(&app, &c.manager, first_run(wf).await).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let follow_up = &node_of(&body, "follow_up")["executions"][0]["outputs"]["task"];
    assert!(
        follow_up["title"]
            .as_str()
            .unwrap_or("")
            .ends_with(": Ship it"),
        "{follow_up}"
    );

    // Pods only for the Python nodes.
    for p in pods(&fake) {
        let node = node_id(&p);
        assert!(
            ![
                "any",
                "approve",
                "approved",
                "rejected",
                "send",
                "follow_up",
                "tell"
            ]
            .contains(&node.as_str()),
            "a flow node got a Pod: {node}"
        );
    }
}

/// A Query node (run by the API server) and a Python node's `ctx.query`
/// (asked from its Pod with the run token) on Kubernetes: no credential in
/// any Pod, and the same stored results as the local executor.
#[sqlx::test(migrations = "../migrations")]
async fn queries_run_in_kubernetes_mode_with_no_credential_in_pods_and_match_local_results(
    pool: MySqlPool,
) {
    let fake = FakeApi::new();
    let settings = k8s_settings();
    // Both servers open the password with the same vault key, as replicas do.
    let vault = settings.vault.clone();
    let app = spawn_app_on(pool.clone(), settings, Some(fake.client())).await;
    let _cluster = start_cluster(&fake, &app, always_execute);
    let c = cast(&app).await;
    crate::query_node::pg_exec(&[
        "DROP TABLE IF EXISTS qk_items",
        "CREATE TABLE qk_items (id int PRIMARY KEY, label text NOT NULL, price numeric(8,2))",
        "INSERT INTO qk_items VALUES (1, 'pen', 1.20), (2, 'ink', 7.00), (3, 'pad', 3.45)",
    ])
    .await;
    crate::query_node::connection(&app, &c, "shop", true, vec![c.client.user_id]).await;
    app.create_template(
        &c.admin,
        crate::runs::template(
            "qk.lookup",
            "def run(inputs, params, ctx):\n    ids = [r['id'] for r in inputs['rows']]\n    rows = ctx.query('shop', 'SELECT label FROM qk_items WHERE id = :id', {'id': max(ids)})\n    return {'label': rows[0]['label'], 'n': len(ids)}\n",
            json!([{"name": "rows", "type": "array", "required": true}]),
            json!([{"name": "label", "type": "string"}, {"name": "n", "type": "integer"}]),
            json!({}),
        ),
    )
    .await;
    let mut read = node("read", "flow.query");
    read["params"] = json!({"connection": "shop",
        "sql": "SELECT id, label, price FROM qk_items WHERE price > :min ORDER BY id",
        "fields": "id: integer\nlabel\nprice: decimal"});
    read["inputs"] = json!({"params": {"min": 2}});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![read, node("look", "qk.lookup")],
        vec![edge("read", "rows", "look", "rows")],
    )
    .await;
    let play = |app: &TestApp| {
        let (url, token, http) = (app.url(""), c.manager.token.clone(), app.http.clone());
        async move {
            let r = http
                .post(format!("{url}/api/workflows/{wf}/runs"))
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::ACCEPTED);
            r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
        }
    };
    let id = play(&app).await;
    let run = wait_final(&app, &c.manager, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let read_out = &node_of(&run, "read")["executions"][0]["outputs"];
    assert_eq!(read_out["rowCount"], 2);
    assert_eq!(read_out["field3"], json!(["7.00", "3.45"]));
    let look = &node_of(&run, "look")["executions"][0]["outputs"];
    assert_eq!((&look["label"], &look["n"]), (&json!("pad"), &json!(2)));
    // Only the Python node got a Pod, and nothing in any Pod, Secret or the
    // Run names the connection's password.
    let names: Vec<String> = pods(&fake)
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, [pod_name(&format!("run-{id}"), "look", 1)]);
    for kind in [PODS, SECRETS, RUNS] {
        for o in fake.objects(kind) {
            assert!(!o.to_string().contains("unused-by-trust-auth"), "{o}");
        }
    }

    let local = crate::support::spawn_app_with(
        pool.clone(),
        Settings {
            vault,
            ..test_settings()
        },
    )
    .await;
    let local_id = play(&local).await;
    let local_run = wait_final(&local, &c.manager, local_id).await;
    assert_eq!(
        results(&app, &c, &run).await,
        results(&local, &c, &local_run).await
    );
}
