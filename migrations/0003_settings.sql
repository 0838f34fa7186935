-- Admin-editable platform settings, one JSON document per key.
CREATE TABLE app_setting (
    setting_key  VARCHAR(100)    NOT NULL,
    value        LONGTEXT        NOT NULL,
    updated_by   BIGINT UNSIGNED NULL,
    updated_at   DATETIME(6)     NOT NULL,
    PRIMARY KEY (setting_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
