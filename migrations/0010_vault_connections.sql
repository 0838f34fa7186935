-- Database connections for Query nodes and ctx.query. The password is a
-- vault envelope (AES-256-GCM, key id inside), never plaintext.
-- Portable between MySQL 8 and MariaDB 10.11: JSON kept in LONGTEXT.
CREATE TABLE db_connection (
    connection_id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name             VARCHAR(100)    NOT NULL,
    kind             VARCHAR(16)     NOT NULL,
    host             VARCHAR(255)    NOT NULL,
    port             INT UNSIGNED    NOT NULL,
    database_name    VARCHAR(255)    NOT NULL,
    username         VARCHAR(255)    NOT NULL,
    password_sealed  TEXT            NULL,
    tls_mode         VARCHAR(16)     NOT NULL,
    ca_cert          TEXT            NULL,
    -- Driver options, a JSON object of strings.
    options          LONGTEXT        NOT NULL,
    read_only        BOOLEAN         NOT NULL,
    created_by       BIGINT UNSIGNED NOT NULL,
    created_at       DATETIME(6)     NOT NULL,
    updated_by       BIGINT UNSIGNED NOT NULL,
    updated_at       DATETIME(6)     NOT NULL,
    PRIMARY KEY (connection_id),
    UNIQUE KEY uq_db_connection_name (name),
    CONSTRAINT fk_db_connection_creator FOREIGN KEY (created_by) REFERENCES app_user (user_id),
    CONSTRAINT fk_db_connection_updater FOREIGN KEY (updated_by) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The clients whose workflows may use a connection.
CREATE TABLE db_connection_client (
    connection_id  BIGINT UNSIGNED NOT NULL,
    client_id      BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (connection_id, client_id),
    KEY ix_db_connection_client (client_id),
    CONSTRAINT fk_dbcc_connection FOREIGN KEY (connection_id) REFERENCES db_connection (connection_id) ON DELETE CASCADE,
    CONSTRAINT fk_dbcc_client FOREIGN KEY (client_id) REFERENCES app_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
