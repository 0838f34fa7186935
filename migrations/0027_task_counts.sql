-- Task counts for an admin's unfiltered dashboard, kept by the task writes
-- in their own transaction (`analytics::rollup`). Per request, grouping
-- every task of a 90-day window and every open task took most of the
-- dashboard's database time over 100,000 tasks.

-- Per 15-minute UTC slot: tasks created in it, how many of those are
-- completed now, tasks completed in it.
CREATE TABLE task_slot_count (
    slot_at       DATETIME NOT NULL,
    created       BIGINT   NOT NULL DEFAULT 0,
    created_done  BIGINT   NOT NULL DEFAULT 0,
    completed     BIGINT   NOT NULL DEFAULT 0,
    PRIMARY KEY (slot_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Per UTC day of creation, status and priority: open tasks, and those of
-- them with an SLA.
CREATE TABLE task_open_count (
    created_on  DATE            NOT NULL,
    status_id   BIGINT UNSIGNED NOT NULL,
    priority    VARCHAR(16)     NOT NULL,
    open_tasks  BIGINT          NOT NULL DEFAULT 0,
    with_sla    BIGINT          NOT NULL DEFAULT 0,
    PRIMARY KEY (created_on, status_id, priority)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Per UTC day of creation, priority and client, of the tasks with an SLA:
-- all, those completed after their deadline, those open.
CREATE TABLE task_sla_count (
    created_on     DATE            NOT NULL,
    priority       VARCHAR(16)     NOT NULL,
    client_id      BIGINT UNSIGNED NOT NULL,
    with_sla       BIGINT          NOT NULL DEFAULT 0,
    breached_done  BIGINT          NOT NULL DEFAULT 0,
    open_tasks     BIGINT          NOT NULL DEFAULT 0,
    PRIMARY KEY (created_on, priority, client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Open tasks whose deadline is still ahead: the few the counts above cannot
-- tell from breached ones, read as one range.
ALTER TABLE task
    ADD KEY ix_task_open_due (completed_at, sla_due_at, sla_risk_at, created_at, priority, client_id);

INSERT INTO task_slot_count (slot_at, created, created_done)
SELECT TIMESTAMPADD(MINUTE, TIMESTAMPDIFF(MINUTE, '1970-01-01', created_at) DIV 15 * 15, '1970-01-01') AS s,
       COUNT(*), SUM(completed_at IS NOT NULL)
FROM task GROUP BY s;

INSERT INTO task_slot_count (slot_at, completed)
SELECT TIMESTAMPADD(MINUTE, TIMESTAMPDIFF(MINUTE, '1970-01-01', completed_at) DIV 15 * 15, '1970-01-01') AS s,
       COUNT(*)
FROM task WHERE completed_at IS NOT NULL GROUP BY s
ON DUPLICATE KEY UPDATE completed = VALUES(completed);

INSERT INTO task_open_count (created_on, status_id, priority, open_tasks, with_sla)
SELECT DATE(created_at) AS d, status_id, priority, COUNT(*), SUM(sla_due_at IS NOT NULL)
FROM task WHERE completed_at IS NULL GROUP BY d, status_id, priority;

INSERT INTO task_sla_count (created_on, priority, client_id, with_sla, breached_done, open_tasks)
SELECT DATE(created_at) AS d, priority, client_id, COUNT(*), COALESCE(SUM(sla_due_at <= completed_at), 0),
       SUM(completed_at IS NULL)
FROM task WHERE sla_due_at IS NOT NULL GROUP BY d, priority, client_id;
