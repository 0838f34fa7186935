-- Analytics: the run metrics read every attempt of the runs created in the
-- window. Through `run` that was a join of 100,000 runs to their 161,000
-- attempts (about 230 ms in MariaDB for the admin's 90 days). Each attempt
-- now carries its run's creation time, workflow and client, so the read is
-- one range of a covering index on `node_execution` alone.
--
-- A run never changes its creation time, workflow or client, so the copies
-- never go stale. They are written by the attempt's INSERT (copied from
-- `run` in the same statement, `db::runs`); NOT NULL, so a writer that
-- forgets them fails instead of leaving attempts out of the dashboard.
-- `published` is not copied: it changes, and only a client's scope reads it.

ALTER TABLE node_execution
    ADD COLUMN run_created_at DATETIME(6)     NULL,
    ADD COLUMN workflow_id    BIGINT UNSIGNED NULL,
    ADD COLUMN client_id      BIGINT UNSIGNED NULL;

UPDATE node_execution ne JOIN run r ON r.run_id = ne.run_id
SET ne.run_created_at = r.created_at, ne.workflow_id = r.workflow_id, ne.client_id = r.client_id;

ALTER TABLE node_execution
    MODIFY run_created_at DATETIME(6)     NOT NULL,
    MODIFY workflow_id    BIGINT UNSIGNED NOT NULL,
    MODIFY client_id      BIGINT UNSIGNED NOT NULL,
    -- Everything the per-node, failure and duration metrics read, by window
    -- (all clients) or by client then window (a manager's or a client's
    -- scope: 3 ms instead of 60 ms for a manager's 90 days, measured);
    -- InnoDB appends the primary key (run_id, node_id, attempt).
    ADD KEY ix_exec_window (run_created_at, client_id, workflow_id, status, reason, duration_ms),
    ADD KEY ix_exec_client_window (client_id, run_created_at, workflow_id, status, reason, duration_ms),
    -- Its only reader was the analytics join this index replaces.
    DROP KEY ix_exec_run_stats;

-- Analytics: workload (open tasks per assignee). Joining every open task to
-- its assignees cost 160 ms of a 185 ms statement for 86,000 open tasks
-- (a lookup per task); with the task's openness on each assignment the
-- admin's count is one range of an index of `task_assignee` (18 ms,
-- measured). Unlike the client, openness changes: `tasks::db` writes it
-- with the assignment and again whenever the task's `completed_at` is
-- written. NOT NULL, so a writer that forgets it fails.
ALTER TABLE task_assignee ADD COLUMN task_open BOOLEAN NULL;

UPDATE task_assignee a JOIN task t ON t.task_id = a.task_id SET a.task_open = (t.completed_at IS NULL);

ALTER TABLE task_assignee
    MODIFY task_open BOOLEAN NOT NULL,
    ADD KEY ix_task_assignee_open (task_open, user_id, client_id);
