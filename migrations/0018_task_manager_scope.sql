-- A manager's task list is three disjoint parts: the tasks of their clients,
-- the tasks of other clients they reported, and the tasks of other clients
-- assigned to them. Finding the last two used to read every task the manager
-- reported or was assigned (most of them of their own clients) and look each
-- one up in `task` for its client. With the client next to the reporter and
-- the assignee in an index, `client_id NOT IN (<the manager's clients>)`
-- becomes index ranges that skip the manager's own clients without reading them.

-- A task never changes client, so the copy in task_assignee never goes stale.
ALTER TABLE task_assignee ADD COLUMN client_id BIGINT UNSIGNED NULL;
UPDATE task_assignee a JOIN task t ON t.task_id = a.task_id SET a.client_id = t.client_id;
ALTER TABLE task_assignee
    MODIFY client_id BIGINT UNSIGNED NOT NULL,
    ADD KEY ix_task_assignee_user_client (user_id, client_id, task_id),
    DROP KEY ix_task_assignee_user;

ALTER TABLE task
    ADD KEY ix_task_reporter_client (reporter_id, client_id),
    DROP KEY ix_task_reporter,
    -- The same entries as ix_task_client_created_id (InnoDB appends task_id).
    DROP KEY ix_task_client_created;
