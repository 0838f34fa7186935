-- Runs of workflows, one row per node attempt, logs, files and the per-run event log.
-- Portable between MySQL 8 and MariaDB 10.11: no JSON functions, JSON kept in LONGTEXT.

CREATE TABLE run (
    run_id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    workflow_id             BIGINT UNSIGNED NOT NULL,
    workflow_revision       INT UNSIGNED    NOT NULL,
    client_id               BIGINT UNSIGNED NOT NULL,
    started_by              BIGINT UNSIGNED NOT NULL,
    status                  VARCHAR(16)     NOT NULL,
    failure_policy          VARCHAR(16)     NOT NULL,
    cancel_requested        BOOLEAN         NOT NULL DEFAULT FALSE,
    -- The frozen graph (with run input overrides merged in) and the exact
    -- template specs it pins, so later edits never change this run.
    snapshot                LONGTEXT        NOT NULL,
    -- The executor's node state map (planner NodeState by node id), rewritten
    -- on every transition; the source of truth when a run is resumed.
    node_states             LONGTEXT        NOT NULL,
    -- Ready nodes waiting for a free slot, in the order they will start (JSON array).
    queued                  TEXT            NULL,
    published               BOOLEAN         NOT NULL DEFAULT TRUE,
    logs_visible_to_client  BOOLEAN         NOT NULL DEFAULT FALSE,
    message                 TEXT            NULL,
    created_at              DATETIME(6)     NOT NULL,
    started_at              DATETIME(6)     NULL,
    finished_at             DATETIME(6)     NULL,
    PRIMARY KEY (run_id),
    KEY ix_run_client (client_id, created_at),
    KEY ix_run_workflow (workflow_id, created_at),
    KEY ix_run_status (status),
    CONSTRAINT fk_run_workflow FOREIGN KEY (workflow_id) REFERENCES workflow (workflow_id),
    CONSTRAINT fk_run_client FOREIGN KEY (client_id) REFERENCES app_user (user_id),
    CONSTRAINT fk_run_starter FOREIGN KEY (started_by) REFERENCES app_user (user_id),
    CONSTRAINT ck_run_status CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per attempt of a node.
CREATE TABLE node_execution (
    run_id        BIGINT UNSIGNED NOT NULL,
    node_id       VARCHAR(64)     NOT NULL,
    attempt       INT UNSIGNED    NOT NULL,
    status        VARCHAR(16)     NOT NULL,
    reason        VARCHAR(32)     NULL,
    message       TEXT            NULL,
    started_at    DATETIME(6)     NOT NULL,
    finished_at   DATETIME(6)     NULL,
    duration_ms   BIGINT          NULL,
    outputs       LONGTEXT        NULL,
    output_bytes  BIGINT          NULL,
    PRIMARY KEY (run_id, node_id, attempt),
    CONSTRAINT fk_exec_run FOREIGN KEY (run_id) REFERENCES run (run_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Log lines, inserted in batches. `seq` is the run_event id of the same line.
CREATE TABLE node_log (
    run_id    BIGINT UNSIGNED NOT NULL,
    seq       BIGINT UNSIGNED NOT NULL,
    node_id   VARCHAR(64)     NOT NULL,
    attempt   INT UNSIGNED    NOT NULL,
    ts        DATETIME(6)     NOT NULL,
    level     VARCHAR(16)     NOT NULL,
    stream    VARCHAR(16)     NOT NULL,
    message   MEDIUMTEXT      NOT NULL,
    PRIMARY KEY (run_id, seq),
    KEY ix_log_node (run_id, node_id, attempt, seq),
    CONSTRAINT fk_log_run FOREIGN KEY (run_id) REFERENCES run (run_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- File and binary outputs.
CREATE TABLE run_file (
    file_id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    run_id        BIGINT UNSIGNED NOT NULL,
    node_id       VARCHAR(64)     NOT NULL,
    attempt       INT UNSIGNED    NOT NULL,
    port          VARCHAR(64)     NOT NULL,
    name          VARCHAR(255)    NOT NULL,
    content_type  VARCHAR(100)    NOT NULL,
    size          BIGINT UNSIGNED NOT NULL,
    sha256        CHAR(64)        NOT NULL,
    content       LONGBLOB        NOT NULL,
    created_at    DATETIME(6)     NOT NULL,
    PRIMARY KEY (file_id),
    KEY ix_file_node (run_id, node_id, attempt),
    CONSTRAINT fk_file_run FOREIGN KEY (run_id) REFERENCES run (run_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Everything the SSE stream of a run shows, in order; `seq` increases by one
-- per run and is the SSE event id, so a client resumes with Last-Event-ID.
CREATE TABLE run_event (
    run_id      BIGINT UNSIGNED NOT NULL,
    seq         BIGINT UNSIGNED NOT NULL,
    kind        VARCHAR(16)     NOT NULL,
    data        MEDIUMTEXT      NOT NULL,
    created_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (run_id, seq),
    CONSTRAINT fk_event_run FOREIGN KEY (run_id) REFERENCES run (run_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
