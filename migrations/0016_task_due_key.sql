-- The due-date order as one indexable column: tasks without a due date sort
-- last (as if due at the end of time), so `ORDER BY due_sort, task_id` can
-- walk an index instead of sorting every matching task by an expression.
ALTER TABLE task ADD COLUMN due_sort DATETIME(6)
    AS (COALESCE(due_at, TIMESTAMP '9999-12-31 00:00:00')) STORED;
CREATE INDEX ix_task_due_sort ON task (due_sort);
CREATE INDEX ix_task_status_due_sort ON task (status_id, due_sort);
CREATE INDEX ix_task_client_due_sort ON task (client_id, due_sort);
