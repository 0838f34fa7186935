-- Lists that stay fast at a million rows: every list filter is followed by the
-- list's order key in one index, so a page is a short index range read in order
-- (no filesort, no OFFSET scan), and the list reads summary columns instead of
-- the LONGTEXT snapshot and node states. InnoDB appends the primary key to every
-- secondary index, which is why `(client_id)` alone would do; the key is spelled
-- out so the intent survives a reader and a primary-key change.

ALTER TABLE run
    -- How many nodes the run's graph has and how many of them ended failed, by
    -- failure reason (a small JSON object such as {"timeout":1}); written with
    -- the node states on every transition. NULL for runs written before 0008.
    ADD COLUMN node_count       INT UNSIGNED NULL,
    ADD COLUMN failed_nodes     INT UNSIGNED NULL,
    ADD COLUMN failure_reasons  VARCHAR(500) NULL,
    ADD KEY ix_run_client_id (client_id, run_id),
    ADD KEY ix_run_workflow_id (workflow_id, run_id),
    ADD KEY ix_run_status_id (status, run_id),
    ADD KEY ix_run_starter_id (started_by, run_id),
    -- Retention looks for finished runs by age.
    ADD KEY ix_run_finished (finished_at),
    DROP KEY ix_run_client,
    DROP KEY ix_run_workflow,
    DROP KEY ix_run_status;

-- The log page without an attempt filter reads one node's lines in seq order;
-- retention finds old lines by time.
ALTER TABLE node_log
    ADD KEY ix_log_node_seq (run_id, node_id, seq),
    ADD KEY ix_log_ts (ts);

-- Retention deletes by age in small batches.
ALTER TABLE run_event
    ADD KEY ix_event_created (created_at);
ALTER TABLE run_file
    ADD KEY ix_file_created (created_at);

-- Audit filters followed by the list order (newest id first).
ALTER TABLE audit_log
    ADD KEY ix_audit_user_id (user_id, audit_id),
    ADD KEY ix_audit_outcome_id (outcome, audit_id),
    DROP KEY ix_audit_user;

-- Task list sorts: each sort key followed by task_id, and the client scope
-- followed by the common sorts.
ALTER TABLE task
    -- The priority as a number, kept by the database, so "priority, newest
    -- first" is an index order rather than a CASE expression sorted per request.
    ADD COLUMN priority_rank TINYINT UNSIGNED AS (CASE priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2
        WHEN 'medium' THEN 1 ELSE 0 END) STORED,
    ADD KEY ix_task_created_id (created_at, task_id),
    ADD KEY ix_task_updated_id (updated_at, task_id),
    ADD KEY ix_task_due_id (due_at, task_id),
    ADD KEY ix_task_rank_created (priority_rank, created_at, task_id),
    ADD KEY ix_task_client_created_id (client_id, created_at, task_id),
    ADD KEY ix_task_client_updated_id (client_id, updated_at, task_id),
    DROP KEY ix_task_created,
    DROP KEY ix_task_updated,
    DROP KEY ix_task_due;
