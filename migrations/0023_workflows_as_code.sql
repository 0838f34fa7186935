-- Workflows kept as code. `source` says where a workflow is edited: in the
-- browser (`ui`) or in the cluster (`cluster`: applied with kubectl and
-- adopted by the API server). A workflow's Kubernetes resource is named by
-- `resource_namespace`/`resource_name`: cluster-authored workflows are
-- identified by it; UI workflows keep the name their manifests were
-- exported or uploaded under, so the same file updates the same workflow.
ALTER TABLE workflow
    ADD COLUMN source              VARCHAR(16)  NOT NULL DEFAULT 'ui',
    ADD COLUMN resource_namespace  VARCHAR(63)  NULL,
    ADD COLUMN resource_name       VARCHAR(63)  NULL,
    -- The resource's metadata.generation last stored, so re-lists of an
    -- unchanged resource store nothing.
    ADD COLUMN resource_generation BIGINT       NULL,
    -- One live workflow per resource: per namespace for the cluster's, per
    -- client for the browser's (deleted workflows free the name).
    ADD COLUMN live_resource VARCHAR(140) GENERATED ALWAYS AS (
        CASE
            WHEN deleted_at IS NOT NULL OR resource_name IS NULL THEN NULL
            WHEN source = 'cluster' THEN CONCAT('cluster:', COALESCE(resource_namespace, ''), '/', resource_name)
            ELSE CONCAT('ui:', client_id, '/', resource_name)
        END) STORED,
    ADD UNIQUE KEY uq_workflow_live_resource (live_resource),
    ADD CONSTRAINT ck_workflow_source CHECK (source IN ('ui', 'cluster'));

-- Who applied a cluster-authored revision: the field manager Kubernetes
-- recorded (e.g. `kubectl-client-side-apply`, `argocd-controller`).
ALTER TABLE workflow_revision
    ADD COLUMN author VARCHAR(128) NULL;
