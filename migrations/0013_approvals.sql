-- Approval nodes: the durable record of who may decide and what was decided.
-- The run's node state only says "waiting"; this row is the source of truth
-- for the decision, so a decision taken while the server restarts is kept.
CREATE TABLE approval (
    approval_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    run_id       BIGINT UNSIGNED NOT NULL,
    node_id      VARCHAR(64)     NOT NULL,
    attempt      INT UNSIGNED    NOT NULL,
    client_id    BIGINT UNSIGNED NOT NULL,
    task_id      BIGINT UNSIGNED NULL,
    status       VARCHAR(16)     NOT NULL DEFAULT 'pending',
    -- The reviewed value (the node's `value` input), shown to approvers.
    subject      LONGTEXT        NULL,
    escalated    BOOLEAN         NOT NULL DEFAULT FALSE,
    deadline_at  DATETIME(3)     NULL,
    decided_by   BIGINT UNSIGNED NULL,
    decided_via  VARCHAR(16)     NULL,
    comment      TEXT            NULL,
    created_at   DATETIME(6)     NOT NULL,
    decided_at   DATETIME(6)     NULL,
    PRIMARY KEY (approval_id),
    UNIQUE KEY uq_approval_node (run_id, node_id, attempt),
    KEY ix_approval_task (task_id),
    CONSTRAINT ck_approval_status CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
    CONSTRAINT ck_approval_via CHECK (decided_via IS NULL OR decided_via IN ('person', 'timeout')),
    CONSTRAINT fk_approval_run FOREIGN KEY (run_id) REFERENCES run (run_id) ON DELETE CASCADE,
    CONSTRAINT fk_approval_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE SET NULL,
    CONSTRAINT fk_approval_decider FOREIGN KEY (decided_by) REFERENCES app_user (user_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Everyone who may decide; `escalation` marks those added by a timeout.
CREATE TABLE approval_approver (
    approval_id  BIGINT UNSIGNED NOT NULL,
    user_id      BIGINT UNSIGNED NOT NULL,
    escalation   BOOLEAN         NOT NULL DEFAULT FALSE,
    PRIMARY KEY (approval_id, user_id),
    KEY ix_approval_approver_user (user_id),
    CONSTRAINT fk_approval_approver_approval FOREIGN KEY (approval_id) REFERENCES approval (approval_id) ON DELETE CASCADE,
    CONSTRAINT fk_approval_approver_user FOREIGN KEY (user_id) REFERENCES app_user (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
