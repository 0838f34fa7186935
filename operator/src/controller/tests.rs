//! The real controller loop against the in-memory API server in
//! [`crate::fake_api`]. The tests play the kubelet: they move Pod phases with
//! status patches and read back what the operator wrote.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use katalusis_crds::plan::{FailureReason, NodePhase, RunPhase};
use katalusis_crds::resources::{Run, RunSnapshot};
use katalusis_crds::RetrySpec;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::Api;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;
use crate::fake_api::FakeApi;
use crate::leader::{try_acquire, LeaseOutcome, LeaseSettings};
use crate::pods::pod_name;
use crate::testdata::{run_with, snapshot_chain};

const RUNS: &str = "katalusis.io/v1alpha1/runs";
const PODS: &str = "/v1/pods";
const EVENTS: &str = "events.k8s.io/v1/events";

struct Operator {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    metrics: Arc<Metrics>,
    ctx: Arc<Context>,
}

fn start(fake: &FakeApi) -> Operator {
    let metrics = Metrics::new();
    let settings = Settings {
        error_requeue: Duration::from_millis(100),
        ..Settings::default()
    };
    let ctx = Context::new(fake.client(), settings, metrics.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(ctx.clone(), async move {
        let _ = stopped.await;
    }));
    Operator {
        stop,
        task,
        metrics,
        ctx,
    }
}

impl Operator {
    async fn shutdown(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the controller stops on shutdown")
            .expect("the controller task does not panic");
    }
}

/// Polls `check` until it returns `Some`, failing the test after 10 s.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pods(fake: &FakeApi) -> Vec<Pod> {
    fake.objects(PODS)
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect()
}

fn pod_names(fake: &FakeApi) -> Vec<String> {
    pods(fake)
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect()
}

fn the_run(fake: &FakeApi) -> Run {
    serde_json::from_value(fake.objects(RUNS).pop().expect("a Run")).unwrap()
}

fn run_phase_is(fake: &FakeApi, phase: RunPhase) -> Option<Run> {
    let run = the_run(fake);
    (run.status.as_ref()?.phase == phase).then_some(run)
}

fn event_reasons(fake: &FakeApi) -> Vec<String> {
    fake.objects(EVENTS)
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn create_run(fake: &FakeApi, snapshot: RunSnapshot) -> Run {
    let mut run = run_with(snapshot);
    run.metadata.uid = None;
    run.metadata.generation = None;
    Api::<Run>::namespaced(fake.client(), "default")
        .create(&PostParams::default(), &run)
        .await
        .unwrap()
}

/// Plays the kubelet: sets a Pod's status.
async fn kubelet(fake: &FakeApi, pod: &str, status: Value) {
    Api::<Pod>::namespaced(fake.client(), "default")
        .patch_status(
            pod,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .unwrap();
}

fn running() -> Value {
    json!({"phase": "Running", "containerStatuses": [{
        "name": "node", "image": "x", "imageID": "", "ready": true, "restartCount": 0,
        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]})
}

fn terminated(phase: &str, reason: &str, exit_code: i32) -> Value {
    json!({"phase": phase, "containerStatuses": [{
        "name": "node", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": exit_code, "reason": reason}}}]})
}

fn succeeded() -> Value {
    terminated("Succeeded", "Completed", 0)
}

fn created_pods(fake: &FakeApi) -> usize {
    fake.seen()
        .iter()
        .filter(|s| s.method == http::Method::POST && s.path.ends_with("/pods") && s.status == 201)
        .count()
}

/// Writes the Pods the operator created to `$OPERATOR_TEST_POD_DUMP_DIR`, where
/// `scripts/validate-manifests.sh` validates them against the Kubernetes schema.
fn dump_pods(fake: &FakeApi, test: &str) {
    let Ok(dir) = std::env::var("OPERATOR_TEST_POD_DUMP_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for pod in fake.objects(PODS) {
        let mut pod = pod;
        if let Some(o) = pod.as_object_mut() {
            o.remove("status");
        }
        let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
        let path = std::path::Path::new(&dir).join(format!("{test}-{name}.json"));
        std::fs::write(path, serde_json::to_string_pretty(&pod).unwrap()).unwrap();
    }
}

/// Writes the Run as the operator left it next to the dumped Pods; the
/// validation script checks spec and status against the generated CRD schema.
fn dump_run(fake: &FakeApi, test: &str) {
    let Ok(dir) = std::env::var("OPERATOR_TEST_POD_DUMP_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let run = fake.objects(RUNS).pop().expect("a Run");
    let path = std::path::Path::new(&dir).join(format!("{test}-run.json"));
    std::fs::write(path, serde_json::to_string_pretty(&run).unwrap()).unwrap();
}

async fn with_operator<F, Fut>(test: F)
where
    F: FnOnce(FakeApi) -> Fut,
    Fut: Future<Output = ()>,
{
    let fake = FakeApi::new();
    let operator = start(&fake);
    test(fake).await;
    operator.shutdown().await;
}

#[tokio::test]
async fn a_run_gets_one_pod_per_node_in_order_and_its_status_follows_the_pods() {
    let fake = FakeApi::new();
    let operator = start(&fake);
    let run = create_run(&fake, snapshot_chain(&["a", "b", "c"])).await;
    let uid = run.metadata.uid.clone().unwrap();

    let a = pod_name("demo", "a", 1);
    eventually("Pod a", || pod_names(&fake).contains(&a).then_some(())).await;
    assert_eq!(pod_names(&fake), std::slice::from_ref(&a), "b waits for a");
    let pod = pods(&fake).remove(0);
    assert_eq!(pod.metadata.owner_references.unwrap()[0].uid, uid);
    let spec = pod.spec.unwrap();
    let limits = spec.containers[0]
        .resources
        .clone()
        .unwrap()
        .limits
        .unwrap();
    assert_eq!(
        (limits["cpu"].0.as_str(), limits["memory"].0.as_str()),
        ("500m", "256Mi")
    );
    assert_eq!(spec.automount_service_account_token, Some(false));
    eventually("Run Running", || run_phase_is(&fake, RunPhase::Running)).await;

    kubelet(&fake, &a, running()).await;
    kubelet(&fake, &a, succeeded()).await;
    let b = pod_name("demo", "b", 1);
    eventually("Pod b", || pod_names(&fake).contains(&b).then_some(())).await;
    let run = the_run(&fake);
    assert_eq!(
        run.status.as_ref().unwrap().nodes["a"].phase,
        NodePhase::Succeeded
    );
    kubelet(&fake, &b, succeeded()).await;
    let c = pod_name("demo", "c", 1);
    eventually("Pod c", || pod_names(&fake).contains(&c).then_some(())).await;
    kubelet(&fake, &c, succeeded()).await;

    let run = eventually("Run Succeeded", || run_phase_is(&fake, RunPhase::Succeeded)).await;
    let status = run.status.unwrap();
    assert_eq!(status.progress, "3/3");
    assert!(status.finished_at.is_some());
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(created_pods(&fake), 3);
    let reasons = event_reasons(&fake);
    assert_eq!(
        reasons.iter().filter(|r| *r == "NodeStarted").count(),
        3,
        "{reasons:?}"
    );
    assert!(reasons.contains(&"RunSucceeded".to_owned()), "{reasons:?}");
    assert!(operator.metrics.reconciles() >= 4);
    assert!(operator
        .metrics
        .render()
        .contains("katalusis_operator_running_pods 0"));
    // The status is written with apply patches on the status subresource only.
    assert!(fake
        .seen()
        .iter()
        .filter(|s| s.method == http::Method::PATCH && s.path.contains("/runs/"))
        .all(|s| s.path.ends_with("/status")));
    dump_pods(&fake, "chain");
    dump_run(&fake, "chain");
    operator.shutdown().await;
}

#[tokio::test]
async fn oom_killed_and_deadline_exceeded_pods_fail_their_nodes_with_memory_and_timeout() {
    with_operator(|fake| async move {
        let mut snapshot = snapshot_chain(&["a", "b"]);
        snapshot.graph.edges.clear();
        create_run(&fake, snapshot).await;
        let (a, b) = (pod_name("demo", "a", 1), pod_name("demo", "b", 1));
        eventually("both Pods", || (pod_names(&fake).len() == 2).then_some(())).await;
        kubelet(&fake, &a, terminated("Failed", "OOMKilled", 137)).await;
        kubelet(
            &fake,
            &b,
            json!({"phase": "Failed", "reason": "DeadlineExceeded",
                   "message": "Pod was active on the node longer than the specified deadline"}),
        )
        .await;
        let run = eventually("Run Failed", || run_phase_is(&fake, RunPhase::Failed)).await;
        let nodes = run.status.unwrap().nodes;
        assert_eq!(nodes["a"].reason, Some(FailureReason::Memory));
        assert_eq!(nodes["a"].pod_reason.as_deref(), Some("OOMKilled"));
        assert_eq!(nodes["b"].reason, Some(FailureReason::Timeout));
        assert_eq!(nodes["b"].pod_reason.as_deref(), Some("DeadlineExceeded"));
        let warnings: Vec<Value> = fake
            .objects(EVENTS)
            .into_iter()
            .filter(|e| e["type"] == "Warning")
            .collect();
        assert!(warnings.iter().any(|e| e["reason"] == "RunFailed"));
        assert_eq!(
            warnings
                .iter()
                .filter(|e| e["reason"] == "NodeFailed")
                .count(),
            2
        );
        dump_run(&fake, "oom-deadline");
    })
    .await;
}

#[tokio::test]
async fn a_restarted_operator_creates_no_duplicate_pods_and_keeps_the_status() {
    let fake = FakeApi::new();
    let first = start(&fake);
    create_run(&fake, snapshot_chain(&["a", "b"])).await;
    let a = pod_name("demo", "a", 1);
    eventually("Pod a", || pod_names(&fake).contains(&a).then_some(())).await;
    eventually("status written", || run_phase_is(&fake, RunPhase::Running)).await;
    first.shutdown().await;

    let second = start(&fake);
    eventually("the new operator reconciled", || {
        (second.metrics.reconciles() >= 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(pod_names(&fake), std::slice::from_ref(&a));
    let nodes = the_run(&fake).status.unwrap().nodes;
    assert_eq!(
        (nodes["a"].phase, nodes["a"].attempt),
        (NodePhase::Running, 1)
    );

    kubelet(&fake, &a, succeeded()).await;
    let b = pod_name("demo", "b", 1);
    eventually("Pod b", || pod_names(&fake).contains(&b).then_some(())).await;
    kubelet(&fake, &b, succeeded()).await;
    eventually("Run Succeeded", || run_phase_is(&fake, RunPhase::Succeeded)).await;
    assert_eq!(
        created_pods(&fake),
        2,
        "one Pod per node across both operators"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn an_externally_deleted_pod_is_retried_with_the_next_attempt() {
    with_operator(|fake| async move {
        let mut snapshot = snapshot_chain(&["a"]);
        snapshot.templates[0].template.retry = RetrySpec {
            max_attempts: 2,
            backoff_seconds: 0,
            backoff_multiplier: 1.0,
        };
        create_run(&fake, snapshot).await;
        let first = pod_name("demo", "a", 1);
        eventually("Pod a-1", || {
            pod_names(&fake).contains(&first).then_some(())
        })
        .await;
        kubelet(&fake, &first, running()).await;
        Api::<Pod>::namespaced(fake.client(), "default")
            .delete(&first, &DeleteParams::default())
            .await
            .unwrap();
        let second = pod_name("demo", "a", 2);
        eventually("Pod a-2", || {
            pod_names(&fake).contains(&second).then_some(())
        })
        .await;
        let node = the_run(&fake).status.unwrap().nodes["a"].clone();
        assert_eq!((node.phase, node.attempt), (NodePhase::Running, 2));
        assert!(event_reasons(&fake).contains(&"NodeInterrupted".to_owned()));
        dump_pods(&fake, "retry");
        kubelet(&fake, &second, succeeded()).await;
        eventually("Run Succeeded", || run_phase_is(&fake, RunPhase::Succeeded)).await;
    })
    .await;
}

#[tokio::test]
async fn cancel_deletes_the_running_pods_and_ends_the_run_cancelled() {
    with_operator(|fake| async move {
        create_run(&fake, snapshot_chain(&["a", "b"])).await;
        let a = pod_name("demo", "a", 1);
        eventually("Pod a", || pod_names(&fake).contains(&a).then_some(())).await;
        kubelet(&fake, &a, running()).await;
        Api::<Run>::namespaced(fake.client(), "default")
            .patch(
                "demo",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"cancel": true}})),
            )
            .await
            .unwrap();
        let run = eventually("Run Cancelled", || run_phase_is(&fake, RunPhase::Cancelled)).await;
        assert!(pod_names(&fake).is_empty(), "the running Pod was deleted");
        let status = run.status.unwrap();
        assert_eq!(status.nodes["a"].phase, NodePhase::Cancelled);
        assert_eq!(status.nodes["b"].phase, NodePhase::Cancelled);
        assert_eq!(
            status.observed_generation,
            Some(2),
            "the cancel bumped the generation"
        );
        assert!(event_reasons(&fake).contains(&"RunCancelled".to_owned()));
        dump_run(&fake, "cancel");
    })
    .await;
}

#[tokio::test]
async fn deleting_a_run_deletes_its_pods_through_owner_references() {
    with_operator(|fake| async move {
        let mut snapshot = snapshot_chain(&["a", "b"]);
        snapshot.graph.edges.clear();
        create_run(&fake, snapshot).await;
        eventually("both Pods", || (pod_names(&fake).len() == 2).then_some(())).await;
        Api::<Run>::namespaced(fake.client(), "default")
            .delete("demo", &DeleteParams::default())
            .await
            .unwrap();
        assert!(pod_names(&fake).is_empty());
    })
    .await;
}

#[tokio::test]
async fn only_one_of_two_replicas_holds_the_lease_until_it_expires() {
    let fake = FakeApi::new();
    let api: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(fake.client(), "default");
    let settings = |identity: &str| LeaseSettings {
        name: "katalusis-operator".into(),
        namespace: "default".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(15),
        renew_every: Duration::from_secs(5),
    };
    let (one, two) = (settings("one"), settings("two"));
    let t0 = Timestamp::now();
    assert_eq!(
        try_acquire(&api, &one, t0).await.unwrap(),
        LeaseOutcome::Held
    );
    assert_eq!(
        try_acquire(&api, &two, t0).await.unwrap(),
        LeaseOutcome::Taken
    );
    let t1 = t0 + SignedDuration::from_secs(10);
    assert_eq!(
        try_acquire(&api, &one, t1).await.unwrap(),
        LeaseOutcome::Held,
        "renewal"
    );
    let t2 = t1 + SignedDuration::from_secs(10);
    assert_eq!(
        try_acquire(&api, &two, t2).await.unwrap(),
        LeaseOutcome::Taken,
        "renewed 10 s ago"
    );
    let t3 = t1 + SignedDuration::from_secs(16);
    assert_eq!(
        try_acquire(&api, &two, t3).await.unwrap(),
        LeaseOutcome::Held,
        "expired"
    );
    assert_eq!(
        try_acquire(&api, &one, t3).await.unwrap(),
        LeaseOutcome::Taken
    );
    let lease = api.get("katalusis-operator").await.unwrap().spec.unwrap();
    assert_eq!(lease.holder_identity.as_deref(), Some("two"));
    assert_eq!(lease.lease_transitions, Some(1));
}

#[tokio::test]
async fn a_large_snapshot_is_read_from_its_config_map() {
    with_operator(|fake| async move {
        let snapshot = snapshot_chain(&["a"]);
        let cm = k8s_openapi::api::core::v1::ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some("demo-snapshot".into()),
                ..Default::default()
            },
            data: Some(
                [(
                    "snapshot.json".to_owned(),
                    serde_json::to_string(&snapshot).unwrap(),
                )]
                .into(),
            ),
            immutable: Some(true),
            ..Default::default()
        };
        Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(fake.client(), "default")
            .create(&PostParams::default(), &cm)
            .await
            .unwrap();
        let mut run = run_with(snapshot);
        run.metadata.uid = None;
        run.spec.snapshot = None;
        run.spec.snapshot_config_map = Some("demo-snapshot".into());
        Api::<Run>::namespaced(fake.client(), "default")
            .create(&PostParams::default(), &run)
            .await
            .unwrap();
        let a = pod_name("demo", "a", 1);
        eventually("Pod a", || pod_names(&fake).contains(&a).then_some(())).await;
        kubelet(&fake, &a, succeeded()).await;
        eventually("Run Succeeded", || run_phase_is(&fake, RunPhase::Succeeded)).await;
    })
    .await;
}

#[tokio::test]
async fn a_run_without_a_snapshot_is_retried_as_an_error_and_gets_no_pods() {
    let fake = FakeApi::new();
    let operator = start(&fake);
    let mut run = run_with(snapshot_chain(&["a"]));
    run.metadata.uid = None;
    run.spec.snapshot = None;
    Api::<Run>::namespaced(fake.client(), "default")
        .create(&PostParams::default(), &run)
        .await
        .unwrap();
    eventually("two failed reconciles", || {
        operator
            .metrics
            .render()
            .lines()
            .any(|l| {
                l.strip_prefix("katalusis_operator_reconcile_errors_total ")
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n >= 2)
            })
            .then_some(())
    })
    .await;
    assert!(pod_names(&fake).is_empty());
    assert!(the_run(&fake).status.is_none());
    operator.shutdown().await;
}

#[tokio::test]
async fn failed_reconciles_back_off_per_run_and_a_success_resets_the_backoff() {
    let fake = FakeApi::new();
    let operator = start(&fake);
    let snapshot = snapshot_chain(&["a"]);
    let mut run = run_with(snapshot.clone());
    run.metadata.uid = None;
    run.spec.snapshot = None;
    run.spec.snapshot_config_map = Some("late-snapshot".into());
    Api::<Run>::namespaced(fake.client(), "default")
        .create(&PostParams::default(), &run)
        .await
        .unwrap();
    let failures = || operator.ctx.backoff().failures("default/demo");
    eventually("three failed reconciles", || {
        (failures() >= 3).then_some(())
    })
    .await;
    assert_eq!(
        operator.ctx.backoff().failures("other/demo"),
        0,
        "the backoff is kept per namespace/name"
    );

    let cm = k8s_openapi::api::core::v1::ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("late-snapshot".into()),
            ..Default::default()
        },
        data: Some(
            [(
                "snapshot.json".to_owned(),
                serde_json::to_string(&snapshot).unwrap(),
            )]
            .into(),
        ),
        ..Default::default()
    };
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(fake.client(), "default")
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    let a = pod_name("demo", "a", 1);
    eventually("Pod a after the backoff", || {
        pod_names(&fake).contains(&a).then_some(())
    })
    .await;
    eventually("the backoff is reset", || (failures() == 0).then_some(())).await;
    operator.shutdown().await;
}

#[tokio::test]
async fn a_standby_replica_takes_over_only_after_the_leader_stops_renewing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let fake = FakeApi::new();
    let settings = |identity: &str| LeaseSettings {
        name: "katalusis-operator".into(),
        namespace: "default".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(2),
        renew_every: Duration::from_millis(100),
    };
    let working = |flag: Arc<AtomicBool>| async move {
        flag.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
        Ok(())
    };
    let (one_works, two_works) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let one = tokio::spawn(crate::leader::run_as_leader(
        fake.client(),
        settings("one"),
        Metrics::new(),
        working(one_works.clone()),
    ));
    eventually("replica one leads", || {
        one_works.load(Ordering::SeqCst).then_some(())
    })
    .await;
    let two = tokio::spawn(crate::leader::run_as_leader(
        fake.client(),
        settings("two"),
        Metrics::new(),
        working(two_works.clone()),
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !two_works.load(Ordering::SeqCst),
        "one keeps renewing, so two waits"
    );
    one.abort();
    eventually("replica two takes over", || {
        two_works.load(Ordering::SeqCst).then_some(())
    })
    .await;
    two.abort();
}
