-- Bulk import of tasks from CSV/XLSX: sessions (upload → mapping → dry run →
-- background apply → undo), saved mappings, and the external ids that make
-- a second import of the same rows update instead of duplicate.
-- Portable between MySQL 8 and MariaDB 10.11.

CREATE TABLE import_session (
    import_id        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    -- The creator; only they see the session (admins may list and undo).
    owner_id         BIGINT UNSIGNED NOT NULL,
    -- The client the tasks go into, chosen with the mapping.
    client_id        BIGINT UNSIGNED NULL,
    file_name        VARCHAR(255)    NOT NULL,
    format           VARCHAR(8)      NOT NULL,
    size             BIGINT UNSIGNED NOT NULL,
    sha256           CHAR(64)        NOT NULL,
    -- The uploaded file; cleared when the session no longer needs it.
    content          LONGBLOB        NULL,
    sheet            VARCHAR(255)    NULL,
    -- The header choice and the mapping as JSON text (see katalusis-import).
    header           VARCHAR(64)     NULL,
    mapping          MEDIUMTEXT      NULL,
    state            VARCHAR(16)     NOT NULL,
    mode             VARCHAR(16)     NULL,
    rows_total       INT UNSIGNED    NOT NULL DEFAULT 0,
    rows_done        INT UNSIGNED    NOT NULL DEFAULT 0,
    valid_count      INT UNSIGNED    NULL,
    invalid_count    INT UNSIGNED    NULL,
    created_count    INT UNSIGNED    NOT NULL DEFAULT 0,
    updated_count    INT UNSIGNED    NOT NULL DEFAULT 0,
    skipped_count    INT UNSIGNED    NOT NULL DEFAULT 0,
    message          VARCHAR(1000)   NULL,
    -- A queued or applying session is held by the replica whose lease has
    -- not expired; an expired lease is taken over and the apply rerun (its
    -- single transaction died with the old holder, so nothing is half done).
    lease_owner      VARCHAR(64)     NULL,
    lease_expires_at DATETIME(6)     NULL,
    attempts         INT UNSIGNED    NOT NULL DEFAULT 0,
    created_at       DATETIME(6)     NOT NULL,
    updated_at       DATETIME(6)     NOT NULL,
    applied_at       DATETIME(6)     NULL,
    undone_at        DATETIME(6)     NULL,
    PRIMARY KEY (import_id),
    KEY ix_import_owner (owner_id, import_id),
    KEY ix_import_state (state, lease_expires_at),
    KEY ix_import_sha (client_id, sha256),
    CONSTRAINT fk_import_owner FOREIGN KEY (owner_id) REFERENCES app_user (user_id),
    CONSTRAINT fk_import_client FOREIGN KEY (client_id) REFERENCES app_user (user_id),
    CONSTRAINT ck_import_format CHECK (format IN ('csv', 'xlsx')),
    CONSTRAINT ck_import_state CHECK (state IN ('uploaded', 'queued', 'applying', 'applied', 'failed', 'undone')),
    CONSTRAINT ck_import_mode CHECK (mode IS NULL OR mode IN ('all_or_nothing', 'valid_only'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Mappings saved by name, per user.
CREATE TABLE import_mapping (
    mapping_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    owner_id    BIGINT UNSIGNED NOT NULL,
    name        VARCHAR(100)    NOT NULL,
    mapping     MEDIUMTEXT      NOT NULL,
    created_at  DATETIME(6)     NOT NULL,
    updated_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (mapping_id),
    UNIQUE KEY uq_import_mapping_name (owner_id, name),
    CONSTRAINT fk_import_mapping_owner FOREIGN KEY (owner_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The source system's id of an imported task, unique per client: applying
-- a row whose id is here updates that task.
CREATE TABLE import_external_id (
    client_id    BIGINT UNSIGNED NOT NULL,
    external_id  VARCHAR(128)    NOT NULL,
    task_id      BIGINT UNSIGNED NOT NULL,
    import_id    BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (client_id, external_id),
    UNIQUE KEY uq_import_external_task (task_id),
    KEY ix_import_external_import (import_id),
    -- No foreign key to import_session: its check would share-lock the
    -- session row inside the apply's transaction and block the progress
    -- updates written beside it.
    CONSTRAINT fk_import_external_task FOREIGN KEY (task_id) REFERENCES task (task_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
