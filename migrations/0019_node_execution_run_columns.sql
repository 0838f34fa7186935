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
    -- then scope; InnoDB appends the primary key (run_id, node_id, attempt).
    ADD KEY ix_exec_window (run_created_at, client_id, workflow_id, status, reason, duration_ms),
    -- Its only reader was the analytics join this index replaces.
    DROP KEY ix_exec_run_stats;
