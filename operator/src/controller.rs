//! The I/O half of a reconcile: read the Run's Pods, call
//! [`reconcile_run`], create and delete Pods, write the status with a
//! server-side-apply status patch, publish Events.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Pod};
use k8s_openapi::jiff::Timestamp;
use katalusis_crds::resources::{Run, RunSnapshot};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};

use crate::backoff::ErrorBackoff;
use crate::metrics::Metrics;
use crate::pods::{is_managed_selector, PodSettings, LABEL_RUN};
use crate::reconcile::{is_active, reconcile_run, EventKind, Observed, ReconcileError};

/// Field manager of the operator's status patches.
pub const FIELD_MANAGER: &str = "katalusis-operator";

/// Controller settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Shapes every Pod.
    pub pods: PodSettings,
    /// Most active node Pods per namespace, across Runs.
    pub max_pods_per_namespace: u32,
    /// Watch only this namespace; `None` watches all.
    pub namespace: Option<String>,
    /// Delay before retrying a reconcile that failed once; it doubles with
    /// each further consecutive failure of the same Run.
    pub error_requeue: Duration,
    /// Longest delay before retrying a failed reconcile.
    pub error_requeue_max: Duration,
    /// Name reported on Events (`reportingController`).
    pub reporter: String,
    /// This replica's name (`reportingInstance`).
    pub instance: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pods: PodSettings::default(),
            max_pods_per_namespace: 50,
            namespace: None,
            error_requeue: Duration::from_secs(1),
            error_requeue_max: Duration::from_secs(5 * 60),
            reporter: FIELD_MANAGER.into(),
            instance: None,
        }
    }
}

/// Shared state of all reconciles.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Settings.
    pub settings: Settings,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    recorder: Recorder,
    /// Consecutive failed reconciles per Run (see [`error_policy`]).
    backoff: Mutex<ErrorBackoff>,
}

impl Context {
    /// A context for `client`.
    pub fn new(client: Client, settings: Settings, metrics: Arc<Metrics>) -> Arc<Self> {
        let reporter = Reporter {
            controller: settings.reporter.clone(),
            instance: settings.instance.clone(),
        };
        Arc::new(Self {
            recorder: Recorder::new(client.clone(), reporter),
            backoff: Mutex::new(ErrorBackoff::new(
                settings.error_requeue,
                settings.error_requeue_max,
            )),
            client,
            settings,
            metrics,
        })
    }

    /// The backoff bookkeeping. A panic while it was held cannot leave it
    /// inconsistent (each update is one map operation), so poisoning is ignored.
    fn backoff(&self) -> std::sync::MutexGuard<'_, ErrorBackoff> {
        self.backoff.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A reconcile that failed; retried with backoff (see [`error_policy`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The Run cannot be planned.
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    /// The Run has no usable snapshot.
    #[error("snapshot: {0}")]
    Snapshot(String),
}

/// The key of a Run's backoff and metrics: `namespace/name`.
fn run_key(run: &Run) -> String {
    let ns = run.namespace().unwrap_or_else(|| "default".into());
    format!("{ns}/{}", run.name_any())
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

async fn load_snapshot(run: &Run, ctx: &Context, ns: &str) -> Result<RunSnapshot, Error> {
    if let Some(snapshot) = &run.spec.snapshot {
        return Ok(snapshot.clone());
    }
    let Some(name) = &run.spec.snapshot_config_map else {
        return Err(Error::Snapshot(
            "neither spec.snapshot nor spec.snapshotConfigMap is set".into(),
        ));
    };
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let cm = config_maps.get(name).await?;
    let json = cm
        .data
        .as_ref()
        .and_then(|d| d.get(katalusis_crds::contract::SNAPSHOT_CONFIG_MAP_KEY))
        .ok_or_else(|| Error::Snapshot(format!("ConfigMap {name} has no key snapshot.json")))?;
    serde_json::from_str(json).map_err(|e| Error::Snapshot(format!("ConfigMap {name}: {e}")))
}

fn is_status(err: &kube::Error, code: u16) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == code)
}

/// One reconcile of one Run.
pub async fn reconcile(run: Arc<Run>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&run, &ctx).await;
    ctx.metrics.observe_reconcile(started.elapsed());
    if result.is_ok() {
        ctx.backoff().succeeded(&run_key(&run));
    }
    result
}

async fn reconcile_inner(run: &Run, ctx: &Context) -> Result<Action, Error> {
    // A Run created in the cluster waits for the API server to adopt it
    // (run id, snapshot, token Secret); adoption changes its spec.
    if !run.spec.is_ready() {
        return Ok(Action::await_change());
    }
    let ns = run.namespace().unwrap_or_else(|| "default".into());
    let name = run.name_any();
    let snapshot = load_snapshot(run, ctx, &ns).await?;
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    // Read live rather than from the watch cache, so a Pod created by the
    // previous reconcile is never mistaken for a deleted one.
    let managed = pods_api
        .list(&ListParams::default().labels(&is_managed_selector()))
        .await?;
    let active_in_namespace = managed.items.iter().filter(|p| is_active(p)).count();
    let pods: Vec<Pod> = managed
        .items
        .into_iter()
        .filter(|p| p.labels().get(LABEL_RUN) == Some(&name))
        .collect();
    let cap = ctx.settings.max_pods_per_namespace as usize;
    let free = u32::try_from(cap.saturating_sub(active_in_namespace)).unwrap_or(u32::MAX);
    let now = now_ms();
    let plan = reconcile_run(
        Observed {
            run,
            snapshot: &snapshot,
            pods: &pods,
            free_namespace_slots: free,
            now_ms: now,
        },
        &ctx.settings.pods,
    )?;

    for pod in &plan.create {
        match pods_api.create(&PostParams::default(), pod).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for pod_name in &plan.delete {
        match pods_api.delete(pod_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if plan.status_changed {
        let runs: Api<Run> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({
            "apiVersion": Run::api_version(&()),
            "kind": Run::kind(&()),
            "status": plan.status,
        });
        runs.patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    }
    let reference = run.object_ref(&());
    for event in &plan.events {
        let published = ctx
            .recorder
            .publish(
                &Event {
                    type_: match event.kind {
                        EventKind::Normal => EventType::Normal,
                        EventKind::Warning => EventType::Warning,
                    },
                    reason: event.reason.clone(),
                    note: Some(event.note.clone()),
                    action: "Reconcile".into(),
                    secondary: event.pod.as_ref().map(|pod| ObjectReference {
                        api_version: Some("v1".into()),
                        kind: Some("Pod".into()),
                        name: Some(pod.clone()),
                        namespace: Some(ns.clone()),
                        ..ObjectReference::default()
                    }),
                },
                &reference,
            )
            .await;
        if let Err(e) = published {
            tracing::warn!(run = %name, error = %e, "could not publish an event");
        }
    }
    ctx.metrics
        .set_running_pods(&run_key(run), plan.active_pods);

    if plan.status.phase.is_terminal() {
        return Ok(Action::await_change());
    }
    Ok(match plan.wake_at_ms {
        Some(at) => Action::requeue(Duration::from_millis(
            u64::try_from(at.saturating_sub(now)).unwrap_or(0).max(100),
        )),
        // Pod and Run watches trigger the next reconcile; the periodic
        // requeue also frees namespace slots held by other Runs.
        None => Action::requeue(Duration::from_secs(60)),
    })
}

/// Requeues a failed reconcile with exponential backoff per Run:
/// `Settings::error_requeue` after the first failure, doubling with each
/// consecutive one up to `Settings::error_requeue_max`. A successful
/// reconcile of the Run resets it.
pub fn error_policy(run: Arc<Run>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.observe_error();
    let key = run_key(&run);
    let (delay, failures) = {
        let mut backoff = ctx.backoff();
        let delay = backoff.failed(&key, Instant::now());
        (delay, backoff.failures(&key))
    };
    tracing::warn!(
        run = %run.name_any(),
        error = %error,
        failures,
        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// Runs the controller until `shutdown` completes.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let client = ctx.client.clone();
    let (runs, pods): (Api<Run>, Api<Pod>) = match &ctx.settings.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    Controller::new(runs, watcher::Config::default())
        .owns(
            pods,
            watcher::Config::default().labels(&is_managed_selector()),
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}

#[cfg(test)]
mod tests;
