//! Workflows authored in the cluster (`kubectl apply`, GitOps): a
//! `Workflow` without our managed-by label that names its client with the
//! label `katalusis.io/client` is adopted. Each new generation is checked
//! with the same validator as a browser save and stored as a revision
//! (author: the field manager that applied it); an invalid one is refused
//! with a `Valid=False` condition and a Warning Event, and what MySQL holds
//! stays as it was. Deleting the resource archives the workflow (its runs
//! stay). Resources without the client label are left alone.
//!
//! Browser edits reach such a workflow only when the admin enabled
//! write-back: they are server-side-applied to the resource, and refused as
//! a conflict when the cluster changed it since it was last adopted.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use katalusis_crds::manifest;
use katalusis_crds::resources::{Workflow, WorkflowSource, WorkflowStatus};
use katalusis_crds::Graph;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Resource, ResourceExt};
use serde_json::{json, Value};

use super::resources::{FIELD_MANAGER, MANAGED_BY};
use super::{cluster_error, Cluster, ClusterError};
use crate::db;

/// Why a browser edit could not be written back.
#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// What adopting one observed resource came to (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adoption {
    /// Not ours to adopt: a mirror, or no client label.
    Ignored,
    /// This generation is stored already.
    Current,
    /// Stored as this revision of this workflow.
    Stored { workflow_id: u64, revision: u32 },
    /// Refused; the condition and Event say why.
    Invalid { reason: &'static str },
}

/// What one snapshot of a resource came to.
enum Snapshot {
    Adopted(Adoption),
    /// Older than the generation stored (`stored`): not adopted.
    Outdated {
        stored: i64,
    },
}

/// The condition type the API server writes on Workflows.
pub const CONDITION_VALID: &str = "Valid";

fn workflow_resource() -> ApiResource {
    ApiResource::erase::<Workflow>(&())
}

/// A resource the API server mirrors from MySQL (never adopted).
fn is_mirror(obj: &DynamicObject) -> bool {
    obj.labels().get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
}

fn client_label(obj: &DynamicObject) -> Option<&str> {
    obj.labels()
        .get(katalusis_crds::contract::api::LABEL_CLIENT)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
}

/// The field manager that last changed the spec: the newest managedFields
/// entry other than ours. Kubernetes records managers, not users; this is
/// the identity a revision is credited to.
pub fn author(obj: &DynamicObject) -> String {
    obj.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|f| f.manager.as_deref().is_some_and(|m| m != FIELD_MANAGER))
        .filter(|f| f.subresource.as_deref().unwrap_or_default() != "status")
        .max_by_key(|f| f.time.as_ref().map(|t| t.0))
        .and_then(|f| f.manager.clone())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Cluster {
    /// The namespace this server creates and watches resources in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn workflows_dynamic(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &workflow_resource())
    }

    /// Adopts one observed Workflow (see the module doc).
    ///
    /// A snapshot can be older than what is stored: a re-list read before
    /// a browser edit was written back reaches us after it. Such a snapshot
    /// is never stored (it would undo the edit); the resource is read again
    /// and that is adopted instead. Generations only grow on one resource,
    /// so a fresh read older than the stored generation is a resource
    /// deleted and created again while the watch was down: that one is
    /// adopted as the workflow's next revision.
    pub async fn adopt_workflow(&self, obj: &DynamicObject) -> Result<Adoption, ClusterError> {
        let mut outcome = self.adopt_snapshot(obj, None).await?;
        // Each retry follows a write-back that landed meanwhile: a few
        // suffice, the next event or re-list catches up after that.
        for _ in 0..3 {
            let Snapshot::Outdated { stored } = outcome else {
                break;
            };
            let Some(fresh) = self
                .workflows_dynamic()
                .get_opt(&obj.name_any())
                .await
                .map_err(|e| cluster_error("reading the Workflow", &e))?
            else {
                // Gone: its Delete event archives the workflow.
                return Ok(Adoption::Current);
            };
            let recreated = fresh.metadata.generation.unwrap_or(1) < stored;
            outcome = self
                .adopt_snapshot(&fresh, recreated.then_some(stored))
                .await?;
        }
        Ok(match outcome {
            Snapshot::Adopted(a) => a,
            Snapshot::Outdated { .. } => Adoption::Current,
        })
    }

    /// Adopts `obj` unless it is older than the stored generation; an older
    /// one is taken only when the stored generation is still `older_than`
    /// (a recreated resource, see [`Self::adopt_workflow`]).
    async fn adopt_snapshot(
        &self,
        obj: &DynamicObject,
        older_than: Option<i64>,
    ) -> Result<Snapshot, ClusterError> {
        let outdated = |row: &db::workflows::Row, generation: i64| {
            row.resource_generation
                .filter(|&stored| stored > generation && older_than != Some(stored))
                .map(|stored| Snapshot::Outdated { stored })
        };
        if is_mirror(obj) {
            return Ok(Snapshot::Adopted(Adoption::Ignored));
        }
        let Some(client_name) = client_label(obj).map(str::to_owned) else {
            return Ok(Snapshot::Adopted(Adoption::Ignored));
        };
        let name = obj.name_any();
        let generation = obj.metadata.generation.unwrap_or(1);
        let db_err = |e: sqlx::Error| ClusterError(format!("database: {e}"));
        let existing = db::workflows::by_cluster_resource(&self.db, &self.namespace, &name)
            .await
            .map_err(db_err)?;
        let observed = obj
            .data
            .get("status")
            .and_then(|s| s.get("observedGeneration"))
            .and_then(Value::as_i64);
        if let Some(row) = &existing {
            if let Some(outdated) = outdated(row, generation) {
                return Ok(outdated);
            }
            if row.resource_generation == Some(generation) && observed == Some(generation) {
                return Ok(Snapshot::Adopted(Adoption::Current));
            }
        }
        let mut status = WorkflowStatus {
            observed_generation: Some(generation),
            client: Some(client_name.clone()),
            source: Some(WorkflowSource::Cluster),
            workflow_id: existing.as_ref().map(|r| r.workflow_id),
            revision: existing.as_ref().map(|r| r.revision),
            ..WorkflowStatus::default()
        };
        let object = serde_json::to_value(obj).map_err(|e| ClusterError(e.to_string()))?;
        let checked = self.check(object, &client_name, existing.as_ref()).await?;
        let (m, client_id, graph, wanted) = match checked {
            Err((reason, message)) => {
                self.refuse(obj, status, reason, &message).await;
                return Ok(Snapshot::Adopted(Adoption::Invalid { reason }));
            }
            Ok(ok) => ok,
        };
        let graph_json = serde_json::to_string(&graph).map_err(|e| ClusterError(e.to_string()))?;
        let by = self.system_user().await?;
        let author = author(obj);
        let title = m.title().to_owned();
        let mut tx = self.db.begin().await.map_err(db_err)?;
        // Read again under the row lock: a browser edit being written back
        // may have stored this very generation meanwhile.
        let existing = db::workflows::by_cluster_resource_locked(&mut tx, &self.namespace, &name)
            .await
            .map_err(db_err)?;
        if let Some(outdated) = existing.as_ref().and_then(|r| outdated(r, generation)) {
            tx.rollback().await.map_err(db_err)?;
            return Ok(outdated);
        }
        if let Some(row) = existing
            .as_ref()
            .filter(|r| r.resource_generation == Some(generation))
        {
            tx.commit().await.map_err(db_err)?;
            status.workflow_id = Some(row.workflow_id);
            status.revision = Some(row.revision);
            status.node_count = u32::try_from(graph.nodes.len()).ok();
            status.conditions = vec![condition(
                true,
                "Adopted",
                &format!(
                    "stored as revision {} of workflow {}",
                    row.revision, row.workflow_id
                ),
                generation,
            )];
            self.write_status(&name, &status).await?;
            return Ok(Snapshot::Adopted(Adoption::Current));
        }
        let (workflow_id, revision, changed) = match &existing {
            None => {
                let id = db::workflows::insert(
                    &mut tx,
                    &db::workflows::NewWorkflow {
                        source: WorkflowSource::Cluster,
                        resource: Some((Some(&self.namespace), &name)),
                        generation: Some(generation),
                        author: Some(&author),
                        ..db::workflows::NewWorkflow::ui(
                            client_id,
                            &title,
                            &m.description,
                            &graph_json,
                            by,
                        )
                    },
                )
                .await
                .map_err(db_err)?;
                (id, 1, true)
            }
            Some(row)
                if row.name == title
                    && row.description == m.description
                    && serde_json::from_str::<Graph>(&row.graph).ok().as_ref() == Some(&graph) =>
            {
                db::workflows::set_resource_generation(&mut *tx, row.workflow_id, generation)
                    .await
                    .map_err(db_err)?;
                (row.workflow_id, row.revision, false)
            }
            Some(row) => {
                let rev = db::workflows::update_from_cluster(
                    &mut tx,
                    row,
                    &db::workflows::ClusterChange {
                        name: &title,
                        description: &m.description,
                        graph: &graph_json,
                        by,
                        author: Some(&author),
                        generation,
                    },
                )
                .await
                .map_err(db_err)?;
                (row.workflow_id, rev, true)
            }
        };
        tx.commit().await.map_err(db_err)?;
        crate::triggers::manifest::sync(&self.db, workflow_id, by, &wanted)
            .await
            .map_err(|e| ClusterError(format!("triggers: {e}")))?;
        status.workflow_id = Some(workflow_id);
        status.revision = Some(revision);
        status.node_count = u32::try_from(graph.nodes.len()).ok();
        status.conditions = vec![condition(
            true,
            "Adopted",
            &format!("stored as revision {revision} of workflow {workflow_id}"),
            generation,
        )];
        self.write_status(&name, &status).await?;
        if changed {
            tracing::info!(workflow_id, revision, resource = %name, author = %author, "adopted a Workflow from the cluster");
            self.event(
                obj,
                EventType::Normal,
                "Adopted",
                &format!("stored as revision {revision} of workflow {workflow_id}"),
            )
            .await;
        }
        Ok(Snapshot::Adopted(Adoption::Stored {
            workflow_id,
            revision,
        }))
    }

    /// The manifest, its client and the graph to store, or why not.
    #[allow(clippy::type_complexity)]
    async fn check(
        &self,
        object: Value,
        client_name: &str,
        existing: Option<&db::workflows::Row>,
    ) -> Result<
        Result<
            (
                manifest::Manifest,
                u64,
                Graph,
                Vec<crate::triggers::manifest::Wanted>,
            ),
            (&'static str, String),
        >,
        ClusterError,
    > {
        let db_err = |e: sqlx::Error| ClusterError(format!("database: {e}"));
        let m = match manifest::from_object(object) {
            Ok(m) => m,
            Err(e) => return Ok(Err(("InvalidManifest", e.message))),
        };
        let Some(client) = crate::manifests::client_by_username(&self.db, client_name)
            .await
            .map_err(db_err)?
        else {
            return Ok(Err((
                "UnknownClient",
                format!("no active client named '{client_name}' (label katalusis.io/client)"),
            )));
        };
        if let Some(row) = existing {
            if row.client_id != client.id {
                return Ok(Err((
                    "ClientChanged",
                    "a workflow cannot move to another client; create a new resource for it".into(),
                )));
            }
        }
        let problems = crate::manifests::problems(&self.db, client.id, &m.graph)
            .await
            .map_err(|e| ClusterError(e.to_string()))?;
        let errors: Vec<String> = problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| p.message.clone())
            .collect();
        if !errors.is_empty() {
            return Ok(Err(("InvalidGraph", errors.join("; "))));
        }
        let catalog = db::templates::catalog_for(&self.db, &m.graph.template_refs())
            .await
            .map_err(|e| ClusterError(e.to_string()))?;
        let spec_of = |r: &katalusis_crds::TemplateRef| catalog.get(r).map(|(s, _)| s);
        let plain = crate::secrets::params::plain_secrets(&m.graph, spec_of);
        if !plain.is_empty() {
            return Ok(Err((
                "SecretInManifest",
                format!(
                    "secret parameters must not be written into a resource ({}): keep credentials in a database connection",
                    plain.join(", ")
                ),
            )));
        }
        let wanted = match crate::triggers::manifest::check(
            &self.db,
            crate::auth::ClientScope::All,
            existing.map(|r| r.workflow_id),
            client.id,
            &m.graph,
            &m.triggers,
        )
        .await
        {
            Ok(w) => w,
            Err(errs) => {
                let msg = errs
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Ok(Err(("InvalidTriggers", msg)));
            }
        };
        let previous = existing.and_then(|r| serde_json::from_str::<Graph>(&r.graph).ok());
        let mut graph = m.graph.clone();
        if let Err(errs) = crate::secrets::params::seal_incoming(
            &mut graph,
            spec_of,
            previous.as_ref(),
            &self.settings.vault,
        ) {
            let msg = errs
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            return Ok(Err(("InvalidGraph", msg)));
        }
        Ok(Ok((m, client.id, graph, wanted)))
    }

    async fn refuse(
        &self,
        obj: &DynamicObject,
        mut status: WorkflowStatus,
        reason: &'static str,
        message: &str,
    ) {
        let generation = status.observed_generation.unwrap_or(1);
        let message = truncate(message, 1000);
        status.conditions = vec![condition(false, reason, &message, generation)];
        tracing::warn!(resource = %obj.name_any(), reason, message = %message, "refused a Workflow from the cluster");
        if let Err(e) = self.write_status(&obj.name_any(), &status).await {
            tracing::warn!(error = %e, "could not write a Workflow's status");
        }
        self.event(obj, EventType::Warning, reason, &message).await;
    }

    pub(super) async fn write_status(
        &self,
        name: &str,
        status: &WorkflowStatus,
    ) -> Result<(), ClusterError> {
        let patch = json!({
            "apiVersion": manifest::api_version(),
            "kind": "Workflow",
            "status": status,
        });
        self.workflows_dynamic()
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await
            .map(drop)
            .map_err(|e| cluster_error("writing the Workflow status", &e))
    }

    async fn event(&self, obj: &DynamicObject, type_: EventType, reason: &str, note: &str) {
        let recorder = Recorder::new(
            self.client.clone(),
            Reporter {
                controller: FIELD_MANAGER.into(),
                instance: None,
            },
        );
        let reference = ObjectReference {
            api_version: Some(manifest::api_version()),
            kind: Some("Workflow".into()),
            name: Some(obj.name_any()),
            namespace: Some(self.namespace.clone()),
            uid: obj.meta().uid.clone(),
            resource_version: obj.meta().resource_version.clone(),
            field_path: None,
        };
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(truncate(note, 1000)),
            action: "Adopt".into(),
            secondary: None,
        };
        if let Err(e) = recorder.publish(&event, &reference).await {
            tracing::warn!(error = %e, "could not record a Workflow event");
        }
    }

    /// The resource of a cluster-managed workflow is gone: the workflow is
    /// archived (deleted for the browser; its runs stay readable).
    pub async fn archive_workflow(&self, name: &str) -> Result<(), ClusterError> {
        let db_err = |e: sqlx::Error| ClusterError(format!("database: {e}"));
        if let Some(row) = db::workflows::by_cluster_resource(&self.db, &self.namespace, name)
            .await
            .map_err(db_err)?
        {
            db::workflows::soft_delete(&self.db, row.workflow_id)
                .await
                .map_err(db_err)?;
            tracing::info!(workflow_id = row.workflow_id, resource = %name, "archived a workflow whose resource was deleted");
        }
        Ok(())
    }

    /// Re-lists every Workflow: adopts what a broken watch missed and
    /// archives cluster-managed workflows whose resource is gone.
    pub(super) async fn resync_adopted(&self) -> Result<(), ClusterError> {
        let listed = self
            .workflows_dynamic()
            .list(&ListParams::default())
            .await
            .map_err(|e| cluster_error("listing Workflows", &e))?;
        let mut present = HashSet::new();
        for obj in &listed.items {
            present.insert(obj.name_any());
            if let Err(e) = self.adopt_workflow(obj).await {
                tracing::warn!(resource = %obj.name_any(), error = %e, "could not adopt a Workflow");
            }
        }
        let stored = db::workflows::cluster_resources(&self.db, &self.namespace)
            .await
            .map_err(|e| ClusterError(format!("database: {e}")))?;
        for (_, name) in stored {
            if !present.contains(&name) {
                self.archive_workflow(&name).await?;
            }
        }
        Ok(())
    }

    /// Server-side-applies a browser edit to a cluster-managed workflow's
    /// resource; its new generation. A resource whose spec changed since it
    /// was last adopted is a conflict, and so is one changed between our
    /// read and our write (the apply carries the resourceVersion read).
    pub async fn write_back(
        &self,
        row: &db::workflows::Row,
        name: &str,
        description: &str,
        graph: &Graph,
    ) -> Result<i64, WriteBackError> {
        let resource = row.resource_name.clone().unwrap_or_default();
        let api = self.workflows_dynamic();
        let current = api
            .get(&resource)
            .await
            .map_err(|e| cluster_error("reading the Workflow", &e))?;
        if current.metadata.generation != row.resource_generation {
            return Err(WriteBackError::Conflict(format!(
                "the Workflow {}/{resource} was changed in the cluster since it was last stored here; reload to see that change first",
                self.namespace
            )));
        }
        let mut masked = graph.clone();
        crate::secrets::params::mask_sealed(&mut masked);
        let patch = json!({
            "apiVersion": manifest::api_version(),
            "kind": "Workflow",
            "metadata": {
                "name": resource,
                "resourceVersion": current.metadata.resource_version,
            },
            "spec": {
                "displayName": name,
                "description": description,
                "graph": masked,
            },
        });
        match api
            .patch(
                &resource,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await
        {
            Ok(applied) => Ok(applied.metadata.generation.unwrap_or(1)),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(WriteBackError::Conflict(format!(
                "the Workflow {}/{resource} was changed in the cluster meanwhile: {}",
                self.namespace, s.message
            ))),
            Err(e) => Err(cluster_error("applying the Workflow", &e).into()),
        }
    }

    /// The user cluster-authored revisions and adopted runs are recorded
    /// as: `KATALUSIS_K8S_SYSTEM_USER`, created (unable to log in) when missing.
    pub(crate) async fn system_user(&self) -> Result<u64, ClusterError> {
        crate::bootstrap::system_user(&self.db, &self.settings.k8s_system_user)
            .await
            .map_err(|e| ClusterError(format!("system user: {e:#}")))
    }

    /// Watches every Workflow of the namespace for adoption until `stop` ends.
    pub(super) async fn watch_workflows(self: Arc<Self>) {
        use futures::StreamExt;
        use kube::runtime::{watcher, WatchStreamExt};
        let events =
            watcher(self.workflows_dynamic(), watcher::Config::default()).default_backoff();
        futures::pin_mut!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                    if let Err(e) = self.adopt_workflow(&obj).await {
                        tracing::warn!(resource = %obj.name_any(), error = %e, "could not adopt a Workflow");
                    }
                }
                Ok(watcher::Event::Delete(obj)) => {
                    if !is_mirror(&obj) {
                        if let Err(e) = self.archive_workflow(&obj.name_any()).await {
                            tracing::warn!(error = %e, "could not archive a workflow");
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "watching Workflows"),
            }
        }
    }
}

pub(super) fn condition(ok: bool, reason: &str, message: &str, generation: i64) -> Condition {
    Condition {
        type_: CONDITION_VALID.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: Some(generation),
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::now()),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(labels: Value, managed: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "katalusis.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "w", "labels": labels, "managedFields": managed},
            "spec": {"graph": {}}
        }))
        .unwrap()
    }

    #[test]
    fn the_author_is_the_newest_spec_writer_other_than_the_api_server() {
        let obj = object(
            json!({"katalusis.io/client": "acme"}),
            json!([
                {"manager": "kubectl", "operation": "Apply", "time": "2026-01-01T10:00:00Z"},
                {"manager": "argocd-controller", "operation": "Apply", "time": "2026-01-01T11:00:00Z"},
                {"manager": "katalusis-api", "operation": "Apply", "time": "2026-01-01T12:00:00Z"},
                {"manager": "status-writer", "operation": "Update", "subresource": "status",
                 "time": "2026-01-01T13:00:00Z"}
            ]),
        );
        assert_eq!(author(&obj), "argocd-controller");
        assert_eq!(author(&object(json!({}), json!([]))), "unknown");
    }

    #[test]
    fn mirrors_and_unlabelled_resources_are_not_adopted() {
        let mirror = object(
            json!({"app.kubernetes.io/managed-by": "katalusis-api", "katalusis.io/client": "acme"}),
            json!([]),
        );
        assert!(is_mirror(&mirror));
        let foreign = object(json!({"team": "x"}), json!([]));
        assert!(!is_mirror(&foreign));
        assert_eq!(client_label(&foreign), None);
        let blank = object(json!({"katalusis.io/client": "  "}), json!([]));
        assert_eq!(client_label(&blank), None);
        let ours = object(json!({"katalusis.io/client": "acme"}), json!([]));
        assert_eq!(client_label(&ours), Some("acme"));
    }
}
