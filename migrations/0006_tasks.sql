-- Work management: tasks with data-driven statuses, comments, attachments,
-- activity, notifications and task settings.
-- Portable between MySQL 8 and MariaDB 10.11: no JSON functions, no generated
-- columns, no partial indexes.

-- Statuses are data: admins rename, add, reorder and mark them done.
CREATE TABLE task_status (
    status_id   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name        VARCHAR(64)     NOT NULL,
    position    INT             NOT NULL,
    is_done     BOOLEAN         NOT NULL DEFAULT FALSE,
    created_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (status_id),
    UNIQUE KEY uq_task_status_name (name),
    KEY ix_task_status_position (position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The allowed moves between statuses; anything not listed answers 422.
CREATE TABLE task_transition (
    from_status_id  BIGINT UNSIGNED NOT NULL,
    to_status_id    BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (from_status_id, to_status_id),
    CONSTRAINT fk_transition_from FOREIGN KEY (from_status_id) REFERENCES task_status (status_id) ON DELETE CASCADE,
    CONSTRAINT fk_transition_to FOREIGN KEY (to_status_id) REFERENCES task_status (status_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO task_status (status_id, name, position, is_done, created_at) VALUES
    (1, 'New', 1, FALSE, NOW(6)),
    (2, 'In Progress', 2, FALSE, NOW(6)),
    (3, 'On Hold', 3, FALSE, NOW(6)),
    (4, 'Completed', 4, TRUE, NOW(6));

-- Forward along the board, pause and resume, reopen a completed task, and
-- send a started task back to New; skipping straight from New to Completed
-- is not allowed by default.
INSERT INTO task_transition (from_status_id, to_status_id) VALUES
    (1, 2), (1, 3),
    (2, 1), (2, 3), (2, 4),
    (3, 2), (3, 4),
    (4, 2);

-- Per-client key counter (`ACME-42`): locked and bumped in the transaction
-- that inserts the task, so numbers are dense and never reused.
CREATE TABLE task_counter (
    client_id    BIGINT UNSIGNED NOT NULL,
    prefix       VARCHAR(16)     NOT NULL,
    last_number  BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (client_id),
    CONSTRAINT fk_task_counter_client FOREIGN KEY (client_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE task (
    task_id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    client_id        BIGINT UNSIGNED NOT NULL,
    task_number      BIGINT UNSIGNED NOT NULL,
    task_key         VARCHAR(40)     NOT NULL,
    title            VARCHAR(500)    NOT NULL,
    -- Markdown, stored and returned as text; the server never renders it.
    description      MEDIUMTEXT      NOT NULL,
    status_id        BIGINT UNSIGNED NOT NULL,
    priority         VARCHAR(16)     NOT NULL,
    reporter_id      BIGINT UNSIGNED NOT NULL,
    due_at           DATETIME(6)     NULL,
    -- Order within a Kanban column; the board picks a value between the
    -- neighbours of the drop point, ties broken by task_id.
    position         DOUBLE          NOT NULL,
    source_kind      VARCHAR(16)     NOT NULL,
    -- import batch, workflow run or approval id, by source_kind.
    source_ref_id    BIGINT UNSIGNED NULL,
    source_node      VARCHAR(64)     NULL,
    -- SLA deadlines frozen from the priority's target when the task was
    -- created or its priority changed; NULL when the priority has no target.
    sla_risk_at      DATETIME(6)     NULL,
    sla_due_at       DATETIME(6)     NULL,
    -- Claimed by the SLA sweep with UPDATE … WHERE … IS NULL, so each
    -- notification is raised once across replicas.
    sla_risk_notified_at    DATETIME(6) NULL,
    sla_breach_notified_at  DATETIME(6) NULL,
    version          INT UNSIGNED    NOT NULL DEFAULT 1,
    created_at       DATETIME(6)     NOT NULL,
    updated_at       DATETIME(6)     NOT NULL,
    completed_at     DATETIME(6)     NULL,
    PRIMARY KEY (task_id),
    UNIQUE KEY uq_task_client_number (client_id, task_number),
    UNIQUE KEY uq_task_key (task_key),
    KEY ix_task_client_status (client_id, status_id, position),
    KEY ix_task_client_created (client_id, created_at),
    KEY ix_task_status_position (status_id, position, task_id),
    KEY ix_task_created (created_at),
    KEY ix_task_updated (updated_at),
    KEY ix_task_due (due_at),
    KEY ix_task_priority (priority, created_at),
    KEY ix_task_status_priority (status_id, priority, created_at),
    KEY ix_task_reporter (reporter_id),
    KEY ix_task_source (source_kind, source_ref_id),
    KEY ix_task_sla_due (sla_due_at),
    KEY ix_task_sla_sweep (completed_at, sla_risk_at),
    CONSTRAINT fk_task_client FOREIGN KEY (client_id) REFERENCES app_user (user_id),
    CONSTRAINT fk_task_status FOREIGN KEY (status_id) REFERENCES task_status (status_id),
    CONSTRAINT fk_task_reporter FOREIGN KEY (reporter_id) REFERENCES app_user (user_id),
    CONSTRAINT ck_task_priority CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    CONSTRAINT ck_task_source CHECK (source_kind IN ('manual', 'import', 'workflow', 'approval'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE task_assignee (
    task_id  BIGINT UNSIGNED NOT NULL,
    user_id  BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (task_id, user_id),
    KEY ix_task_assignee_user (user_id, task_id),
    CONSTRAINT fk_assignee_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE,
    CONSTRAINT fk_assignee_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE task_watcher (
    task_id  BIGINT UNSIGNED NOT NULL,
    user_id  BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (task_id, user_id),
    KEY ix_task_watcher_user (user_id, task_id),
    CONSTRAINT fk_watcher_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE,
    CONSTRAINT fk_watcher_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE task_tag (
    task_id  BIGINT UNSIGNED NOT NULL,
    tag      VARCHAR(64)     NOT NULL,
    PRIMARY KEY (task_id, tag),
    KEY ix_task_tag_tag (tag, task_id),
    CONSTRAINT fk_tag_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Explicit sharing with client users beyond the assignees.
CREATE TABLE task_share (
    task_id     BIGINT UNSIGNED NOT NULL,
    user_id     BIGINT UNSIGNED NOT NULL,
    created_by  BIGINT UNSIGNED NOT NULL,
    created_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (task_id, user_id),
    KEY ix_task_share_user (user_id, task_id),
    CONSTRAINT fk_share_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE,
    CONSTRAINT fk_share_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE task_comment (
    comment_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    task_id     BIGINT UNSIGNED NOT NULL,
    author_id   BIGINT UNSIGNED NOT NULL,
    body        MEDIUMTEXT      NOT NULL,
    created_at  DATETIME(6)     NOT NULL,
    updated_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (comment_id),
    KEY ix_comment_task (task_id, comment_id),
    CONSTRAINT fk_comment_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE,
    CONSTRAINT fk_comment_author FOREIGN KEY (author_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The body a comment had before each edit.
CREATE TABLE task_comment_edit (
    edit_id     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    comment_id  BIGINT UNSIGNED NOT NULL,
    body        MEDIUMTEXT      NOT NULL,
    edited_at   DATETIME(6)     NOT NULL,
    PRIMARY KEY (edit_id),
    KEY ix_comment_edit_comment (comment_id, edit_id),
    CONSTRAINT fk_comment_edit_comment FOREIGN KEY (comment_id) REFERENCES task_comment (comment_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE task_attachment (
    attachment_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    task_id        BIGINT UNSIGNED NOT NULL,
    comment_id     BIGINT UNSIGNED NULL,
    name           VARCHAR(255)    NOT NULL,
    -- Judged from the content, never from the name or the request header.
    content_type   VARCHAR(128)    NOT NULL,
    size           BIGINT UNSIGNED NOT NULL,
    sha256         CHAR(64)        NOT NULL,
    content        LONGBLOB        NOT NULL,
    uploaded_by    BIGINT UNSIGNED NOT NULL,
    created_at     DATETIME(6)     NOT NULL,
    PRIMARY KEY (attachment_id),
    KEY ix_attachment_task (task_id, attachment_id),
    KEY ix_attachment_comment (comment_id),
    CONSTRAINT fk_attachment_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE,
    CONSTRAINT fk_attachment_comment FOREIGN KEY (comment_id) REFERENCES task_comment (comment_id) ON DELETE CASCADE,
    CONSTRAINT fk_attachment_uploader FOREIGN KEY (uploaded_by) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every change to a task: field, old → new, who, when.
CREATE TABLE task_activity (
    activity_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    task_id      BIGINT UNSIGNED NOT NULL,
    actor_id     BIGINT UNSIGNED NULL,
    field        VARCHAR(32)     NOT NULL,
    old_value    MEDIUMTEXT      NULL,
    new_value    MEDIUMTEXT      NULL,
    at           DATETIME(6)     NOT NULL,
    PRIMARY KEY (activity_id),
    KEY ix_activity_task (task_id, activity_id),
    CONSTRAINT fk_activity_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE notification (
    notification_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id          BIGINT UNSIGNED NOT NULL,
    kind             VARCHAR(32)     NOT NULL,
    task_id          BIGINT UNSIGNED NULL,
    actor_id         BIGINT UNSIGNED NULL,
    title            VARCHAR(600)    NOT NULL,
    created_at       DATETIME(6)     NOT NULL,
    read_at          DATETIME(6)     NULL,
    PRIMARY KEY (notification_id),
    KEY ix_notification_user (user_id, notification_id),
    KEY ix_notification_unread (user_id, read_at),
    KEY ix_notification_task (task_id),
    CONSTRAINT fk_notification_user FOREIGN KEY (user_id) REFERENCES app_user (user_id),
    CONSTRAINT fk_notification_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Absent rows mean the defaults: in-app on, email on.
CREATE TABLE notification_preference (
    user_id  BIGINT UNSIGNED NOT NULL,
    kind     VARCHAR(32)     NOT NULL,
    in_app   BOOLEAN         NOT NULL,
    email    BOOLEAN         NOT NULL,
    PRIMARY KEY (user_id, kind),
    CONSTRAINT fk_preference_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Resolution targets per priority; NULL means no SLA for that priority.
CREATE TABLE task_sla_target (
    priority        VARCHAR(16) NOT NULL,
    target_minutes  INT UNSIGNED NULL,
    PRIMARY KEY (priority)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO task_sla_target (priority, target_minutes) VALUES
    ('critical', 240), ('high', 1440), ('medium', 4320), ('low', NULL);

-- The single row of task settings.
CREATE TABLE task_setting (
    setting_id            TINYINT UNSIGNED NOT NULL,
    attachment_max_bytes  BIGINT UNSIGNED  NOT NULL,
    updated_by            BIGINT UNSIGNED  NULL,
    updated_at            DATETIME(6)      NOT NULL,
    PRIMARY KEY (setting_id),
    CONSTRAINT ck_task_setting_single CHECK (setting_id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO task_setting (setting_id, attachment_max_bytes, updated_at) VALUES (1, 10485760, NOW(6));
