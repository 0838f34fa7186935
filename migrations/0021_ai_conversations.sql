-- AI assistant: the chat panel's conversations, each owned by one user and
-- read and deleted only by them. A message keeps the page the user was on
-- when they asked (workflow, run or task) and which read-only tools the
-- model used to answer.

CREATE TABLE ai_conversation (
    conversation_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id         BIGINT UNSIGNED NOT NULL,
    title           VARCHAR(200)    NOT NULL,
    created_at      DATETIME(6)     NOT NULL,
    updated_at      DATETIME(6)     NOT NULL,
    PRIMARY KEY (conversation_id),
    KEY ix_ai_conversation_user (user_id, updated_at),
    CONSTRAINT fk_ai_conversation_user FOREIGN KEY (user_id) REFERENCES app_user (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ai_message (
    message_id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    conversation_id BIGINT UNSIGNED NOT NULL,
    role            VARCHAR(16)     NOT NULL,
    content         MEDIUMTEXT      NOT NULL,
    context_kind    VARCHAR(16)     NULL,
    context_id      BIGINT UNSIGNED NULL,
    tools_used      VARCHAR(1000)   NULL,
    created_at      DATETIME(6)     NOT NULL,
    PRIMARY KEY (message_id),
    KEY ix_ai_message_conversation (conversation_id, message_id),
    CONSTRAINT fk_ai_message_conversation FOREIGN KEY (conversation_id) REFERENCES ai_conversation (conversation_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
