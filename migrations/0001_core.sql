-- Core schema: users, sessions, assignments, node library, workflows, audit.
-- Portable between MySQL 8 and MariaDB 10.11: no JSON functions, JSON kept in LONGTEXT.

CREATE TABLE app_user (
    user_id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    username      VARCHAR(64)  NOT NULL,
    email         VARCHAR(254) NOT NULL,
    display_name  VARCHAR(200) NOT NULL,
    role          VARCHAR(16)  NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    active        BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (user_id),
    UNIQUE KEY uq_user_username (username),
    UNIQUE KEY uq_user_email (email),
    KEY ix_user_role (role),
    CONSTRAINT ck_user_role CHECK (role IN ('admin', 'manager', 'client'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A login session; refresh tokens rotate within it and access tokens name it,
-- so revoking the session ends both at once.
CREATE TABLE user_session (
    session_id   CHAR(36)        NOT NULL,
    user_id      BIGINT UNSIGNED NOT NULL,
    created_at   DATETIME(6)     NOT NULL,
    expires_at   DATETIME(6)     NOT NULL,
    revoked_at   DATETIME(6)     NULL,
    client_ip    VARCHAR(45)     NULL,
    PRIMARY KEY (session_id),
    KEY ix_session_user (user_id),
    CONSTRAINT fk_session_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE refresh_token (
    token_hash   CHAR(64)    NOT NULL,
    session_id   CHAR(36)    NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    used_at      DATETIME(6) NULL,
    PRIMARY KEY (token_hash),
    KEY ix_refresh_session (session_id),
    CONSTRAINT fk_refresh_session FOREIGN KEY (session_id) REFERENCES user_session (session_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Failed-login counters keyed by account identifier or by client IP. Keyed by the
-- identifier typed, not the user row, so unknown names lock out exactly like real ones.
CREATE TABLE login_throttle (
    throttle_key  VARCHAR(300) NOT NULL,
    failures      INT          NOT NULL,
    window_start  DATETIME(6)  NOT NULL,
    locked_until  DATETIME(6)  NULL,
    PRIMARY KEY (throttle_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE manager_client (
    manager_id  BIGINT UNSIGNED NOT NULL,
    client_id   BIGINT UNSIGNED NOT NULL,
    created_at  DATETIME(6)     NOT NULL,
    created_by  BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (manager_id, client_id),
    KEY ix_manager_client_client (client_id),
    CONSTRAINT fk_mc_manager FOREIGN KEY (manager_id) REFERENCES app_user (user_id),
    CONSTRAINT fk_mc_client FOREIGN KEY (client_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per template version; versions are immutable once written.
CREATE TABLE node_template (
    template_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name         VARCHAR(100)    NOT NULL,
    version      INT UNSIGNED    NOT NULL,
    title        VARCHAR(200)    NOT NULL,
    category     VARCHAR(100)    NOT NULL,
    spec         LONGTEXT        NOT NULL,
    spec_sha256  CHAR(64)        NOT NULL,
    created_by   BIGINT UNSIGNED NOT NULL,
    created_at   DATETIME(6)     NOT NULL,
    deleted_at   DATETIME(6)     NULL,
    PRIMARY KEY (template_id),
    UNIQUE KEY uq_template_name_version (name, version),
    KEY ix_template_category (category),
    CONSTRAINT fk_template_creator FOREIGN KEY (created_by) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE workflow (
    workflow_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    client_id    BIGINT UNSIGNED NOT NULL,
    name         VARCHAR(200)    NOT NULL,
    description  TEXT            NOT NULL,
    graph        LONGTEXT        NOT NULL,
    revision     INT UNSIGNED    NOT NULL,
    created_by   BIGINT UNSIGNED NOT NULL,
    created_at   DATETIME(6)     NOT NULL,
    updated_by   BIGINT UNSIGNED NOT NULL,
    updated_at   DATETIME(6)     NOT NULL,
    deleted_at   DATETIME(6)     NULL,
    PRIMARY KEY (workflow_id),
    KEY ix_workflow_client (client_id),
    CONSTRAINT fk_workflow_client FOREIGN KEY (client_id) REFERENCES app_user (user_id),
    CONSTRAINT fk_workflow_creator FOREIGN KEY (created_by) REFERENCES app_user (user_id),
    CONSTRAINT fk_workflow_updater FOREIGN KEY (updated_by) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every saved revision, including the current one, so history and restore need no joins.
CREATE TABLE workflow_revision (
    workflow_id  BIGINT UNSIGNED NOT NULL,
    revision     INT UNSIGNED    NOT NULL,
    name         VARCHAR(200)    NOT NULL,
    description  TEXT            NOT NULL,
    graph        LONGTEXT        NOT NULL,
    created_by   BIGINT UNSIGNED NOT NULL,
    created_at   DATETIME(6)     NOT NULL,
    PRIMARY KEY (workflow_id, revision),
    CONSTRAINT fk_revision_workflow FOREIGN KEY (workflow_id) REFERENCES workflow (workflow_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
    audit_id     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    at           DATETIME(6)     NOT NULL,
    user_id      BIGINT UNSIGNED NULL,
    role         VARCHAR(16)     NULL,
    action       VARCHAR(100)    NOT NULL,
    object_type  VARCHAR(32)     NULL,
    object_id    VARCHAR(100)    NULL,
    outcome      VARCHAR(16)     NOT NULL,
    status       SMALLINT        NOT NULL,
    request_id   VARCHAR(64)     NOT NULL,
    client_ip    VARCHAR(45)     NULL,
    PRIMARY KEY (audit_id),
    KEY ix_audit_at (at),
    KEY ix_audit_user (user_id, at),
    KEY ix_audit_action (action, at),
    KEY ix_audit_object (object_type, object_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
