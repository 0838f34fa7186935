-- Several API server replicas on one database: who is alive, who holds the
-- work that must happen once, which replica drives which local run, and the
-- messages replicas pass to each other's live views.

-- One row per running API server; a replica whose heartbeat is older than
-- the lease TTL is dead, and its leases and runs go to others.
CREATE TABLE replica (
    replica_id   VARCHAR(100) NOT NULL,
    host         VARCHAR(255) NOT NULL,
    started_at   DATETIME(3)  NOT NULL,
    heartbeat_at DATETIME(3)  NOT NULL,
    PRIMARY KEY (replica_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Singleton work (the Run mirror, schedules, retention): held by one live replica.
CREATE TABLE lease (
    name        VARCHAR(64)  NOT NULL,
    holder      VARCHAR(100) NOT NULL,
    acquired_at DATETIME(3)  NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Live-view messages (run phases, task and notification events, cancel and
-- approval signals) for the other replicas; kept a few minutes.
CREATE TABLE replica_message (
    message_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    origin     VARCHAR(100)    NOT NULL,
    topic      VARCHAR(16)     NOT NULL,
    payload    MEDIUMTEXT      NOT NULL,
    created_at DATETIME(3)     NOT NULL,
    PRIMARY KEY (message_id),
    KEY ix_replica_message_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The replica driving a local run (NULL: on Kubernetes, or not claimed yet).
ALTER TABLE run
    ADD COLUMN claimed_by VARCHAR(100) NULL,
    ADD KEY ix_run_claimed (claimed_by);
