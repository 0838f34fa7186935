-- AI assistant: one row per call to the language model, for the usage view
-- and per-user accounting. The prompt and the answer are never stored, only
-- what was asked for, by whom, how big it was and how it ended.

CREATE TABLE ai_usage (
    usage_id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id           BIGINT UNSIGNED NOT NULL,
    feature           VARCHAR(32)     NOT NULL,
    model             VARCHAR(200)    NOT NULL,
    prompt_tokens     INT UNSIGNED    NOT NULL DEFAULT 0,
    completion_tokens INT UNSIGNED    NOT NULL DEFAULT 0,
    duration_ms       INT UNSIGNED    NOT NULL,
    outcome           VARCHAR(32)     NOT NULL,
    created_at        DATETIME(6)     NOT NULL,
    PRIMARY KEY (usage_id),
    KEY ix_ai_usage_created (created_at, user_id, feature),
    KEY ix_ai_usage_user (user_id, created_at),
    CONSTRAINT fk_ai_usage_user FOREIGN KEY (user_id) REFERENCES app_user (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
