-- Triggers start runs without anyone pressing Play: on a schedule, from a
-- webhook, or on an event. Each firing is recorded; a schedule's firing is
-- keyed by its instant, so no instant fires twice across restarts or replicas.
CREATE TABLE workflow_trigger (
    trigger_id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    workflow_id   BIGINT UNSIGNED NOT NULL,
    kind          VARCHAR(16)     NOT NULL,
    name          VARCHAR(200)    NOT NULL,
    enabled       BOOLEAN         NOT NULL DEFAULT TRUE,
    -- The kind's settings as JSON (cron and zone, input mapping, event filter).
    config        LONGTEXT        NOT NULL,
    -- Webhooks: SHA-256 of the secret URL token (the token is shown once).
    token_sha256  CHAR(64)        NULL,
    -- Webhooks: the HMAC key, sealed by the vault (write-only).
    hmac_secret   TEXT            NULL,
    -- Runs start as this user, with their scope at firing time.
    owner_id      BIGINT UNSIGNED NOT NULL,
    next_fire_at  DATETIME(3)     NULL,
    created_at    DATETIME(6)     NOT NULL,
    updated_at    DATETIME(6)     NOT NULL,
    PRIMARY KEY (trigger_id),
    UNIQUE KEY uq_trigger_token (token_sha256),
    KEY ix_trigger_workflow (workflow_id),
    KEY ix_trigger_due (kind, enabled, next_fire_at),
    CONSTRAINT ck_trigger_kind CHECK (kind IN ('schedule', 'webhook', 'event')),
    CONSTRAINT fk_trigger_workflow FOREIGN KEY (workflow_id) REFERENCES workflow (workflow_id) ON DELETE CASCADE,
    CONSTRAINT fk_trigger_owner FOREIGN KEY (owner_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE trigger_firing (
    firing_id   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    trigger_id  BIGINT UNSIGNED NOT NULL,
    -- Schedule: the instant (RFC 3339); events: the event's identity; webhooks: unique per call.
    fire_key    VARCHAR(120)    NOT NULL,
    fired_at    DATETIME(6)     NOT NULL,
    outcome     VARCHAR(16)     NOT NULL,
    run_id      BIGINT UNSIGNED NULL,
    message     VARCHAR(1000)   NULL,
    PRIMARY KEY (firing_id),
    UNIQUE KEY uq_firing_key (trigger_id, fire_key),
    KEY ix_firing_trigger (trigger_id, firing_id),
    CONSTRAINT ck_firing_outcome CHECK (outcome IN ('started', 'failed', 'skipped', 'refused')),
    CONSTRAINT fk_firing_trigger FOREIGN KEY (trigger_id) REFERENCES workflow_trigger (trigger_id) ON DELETE CASCADE,
    CONSTRAINT fk_firing_run FOREIGN KEY (run_id) REFERENCES run (run_id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
