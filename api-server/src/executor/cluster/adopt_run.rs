//! Runs created in the cluster: a `Run` without a run id that names a
//! workflow by its resource name (`spec.workflow.name`: a cluster-managed
//! workflow's name, or a mirror's `wf-<id>`) is adopted as a run of that
//! workflow, owned by the system user (`KATALUSIS_K8S_SYSTEM_USER`). The
//! workflow is frozen exactly as Play freezes it, the run row inserted, and
//! the Run's spec completed (run id, snapshot, token Secret) so the operator
//! starts it; from then on it is mirrored like any other run. Who may create
//! Runs is Kubernetes RBAC's to decide. A Run that cannot be adopted gets
//! the phase `Failed` with the reason, and nothing is stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use katalusis_crds::plan::RunPhase;
use katalusis_crds::resources::Run;
use kube::api::{Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;

use super::resources::{self, workflow_name, LABEL_ADOPTED_RUN_ID, LABEL_RUN_ID};
use super::{cluster_error, Cluster, ClusterError};
use crate::auth::ClientScope;
use crate::db;
use crate::runs::play::{freeze, PlayError};

impl Cluster {
    /// Adopts `run` if it is a Run created in the cluster that waits for it.
    pub(super) async fn adopt_run(self: &Arc<Self>, run: &Run) {
        if run.spec.run_id != 0 || run.labels().contains_key(LABEL_ADOPTED_RUN_ID) {
            return;
        }
        // A Run we already refused keeps its Failed phase.
        if run.status.as_ref().is_some_and(|s| s.phase.is_terminal()) {
            return;
        }
        let name = run.name_any();
        if let Err(e) = self.adopt_run_inner(run).await {
            tracing::warn!(run = %name, error = %e, "could not adopt a Run created in the cluster");
        }
    }

    async fn adopt_run_inner(&self, run: &Run) -> Result<(), ClusterError> {
        let db_err = |e: sqlx::Error| ClusterError(format!("database: {e}"));
        let wanted = run.spec.workflow.name.trim().to_owned();
        let Some(wf) = self.workflow_named(&wanted).await.map_err(db_err)? else {
            return self
                .refuse_run(
                    run,
                    &format!("no workflow named '{wanted}' in this namespace (spec.workflow.name)"),
                )
                .await;
        };
        let snapshot = match freeze(&self.db, &wf, &BTreeMap::new()).await {
            Ok(s) => s,
            Err(PlayError::Internal(e)) => return Err(ClusterError(format!("{e:#}"))),
            Err(e) => {
                let detail = match &e {
                    PlayError::InvalidGraph(p) => p
                        .iter()
                        .map(|p| p.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                return self
                    .refuse_run(run, &format!("the workflow cannot run: {detail}"))
                    .await;
            }
        };
        let owner = self.system_user().await?;
        let run_id = db::runs::insert(
            &self.db,
            &db::runs::NewRun {
                workflow_id: wf.workflow_id,
                workflow_revision: wf.revision,
                client_id: wf.client_id,
                started_by: owner,
                failure_policy: run.spec.failure_policy,
                published: false,
                snapshot: &snapshot,
            },
        )
        .await
        .map_err(db_err)?;
        if let Ok(mut c) = self.creating.lock() {
            c.insert(run_id);
        }
        let result = self.complete(run, run_id, &wf, &snapshot).await;
        if let Ok(mut c) = self.creating.lock() {
            c.remove(&run_id);
        }
        if let Err(e) = result {
            // Nothing half-adopted: the row goes, the Run is tried again.
            if let Err(d) = db::runs::delete(&self.db, run_id).await {
                tracing::error!(run_id, error = %d, "could not delete a half-adopted run");
            }
            return Err(e);
        }
        tracing::info!(run_id, run = %run.name_any(), workflow_id = wf.workflow_id, "adopted a Run created in the cluster");
        Ok(())
    }

    /// A live workflow by the resource name a Run gives.
    async fn workflow_named(&self, name: &str) -> Result<Option<db::workflows::Row>, sqlx::Error> {
        if let Some(row) =
            db::workflows::by_cluster_resource(&self.db, &self.namespace, name).await?
        {
            return Ok(Some(row));
        }
        let mirror_id = name
            .strip_prefix("wf-")
            .and_then(|id| id.parse::<u64>().ok());
        match mirror_id {
            Some(id) if workflow_name(id) == name => {
                db::workflows::get(&self.db, ClientScope::All, id).await
            }
            _ => Ok(None),
        }
    }

    /// Fills in the Run's spec and creates its token Secret (and snapshot
    /// ConfigMap), both owned by the Run.
    async fn complete(
        &self,
        run: &Run,
        run_id: u64,
        wf: &db::workflows::Row,
        snapshot: &katalusis_crds::resources::RunSnapshot,
    ) -> Result<(), ClusterError> {
        let token = crate::auth::tokens::new_refresh_token();
        db::runs::set_ingest_token(&self.db, run_id, &crate::auth::tokens::sha256_hex(&token))
            .await
            .map_err(|e| ClusterError(format!("database: {e}")))?;
        let (built, config_map) = resources::run_object(
            &resources::NewRun {
                run_id,
                workflow_id: wf.workflow_id,
                workflow_revision: wf.revision,
                client_id: wf.client_id,
                failure_policy: run.spec.failure_policy,
                max_parallel: run
                    .spec
                    .max_parallel
                    .or(self.settings.max_parallel_nodes_per_run),
                snapshot,
            },
            &self.namespace,
        );
        let name = run.name_any();
        let config_map_name = config_map.as_ref().and_then(|c| c.metadata.name.clone());
        // The resourceVersion makes a second adopter (another replica, or
        // a later event for the same Run) fail instead of adopting twice.
        let patch = json!({
            "metadata": {
                "resourceVersion": run.resource_version(),
                "labels": {
                    LABEL_ADOPTED_RUN_ID: run_id.to_string(),
                    LABEL_RUN_ID: run_id.to_string(),
                },
            },
            "spec": {
                "runId": run_id,
                "clientId": wf.client_id,
                "workflow": {
                    "workflowId": wf.workflow_id,
                    "name": run.spec.workflow.name,
                    "revision": wf.revision,
                },
                "snapshot": built.spec.snapshot,
                "snapshotConfigMap": config_map_name,
                "maxParallel": built.spec.max_parallel,
                "tokenSecret": built.spec.token_secret,
            },
        });
        let runs = self.runs_api();
        let adopted = runs
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| cluster_error("adopting the Run", &e))?;
        let owned = self.create_owned(&adopted, config_map, &token).await;
        if let Err(e) = owned {
            // Back to waiting for adoption: the run id leaves the spec.
            let undo = json!({
                "metadata": {"labels": {LABEL_ADOPTED_RUN_ID: null, LABEL_RUN_ID: null}},
                "spec": {"runId": 0, "tokenSecret": "", "snapshot": null, "snapshotConfigMap": null},
            });
            if let Err(u) = runs
                .patch(&name, &PatchParams::default(), &Patch::Merge(&undo))
                .await
            {
                tracing::error!(run = %name, error = %u, "could not undo a half-adopted Run");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Marks a Run that cannot be adopted as failed, with the reason.
    async fn refuse_run(&self, run: &Run, message: &str) -> Result<(), ClusterError> {
        tracing::warn!(run = %run.name_any(), message, "refused a Run created in the cluster");
        let patch = json!({"status": {"phase": RunPhase::Failed, "message": message}});
        self.runs_api()
            .patch_status(
                &run.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map(drop)
            .map_err(|e| cluster_error("failing the Run", &e))
    }
}
