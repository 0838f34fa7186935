-- Workflow templates: a graph with named parameters (and triggers) that
-- managers instantiate for a client. Built-in ones ship with the server
-- (`library/workflow-templates/`); others are saved from a workflow, private
-- to their owner or shared by an admin.
CREATE TABLE workflow_template (
    template_id  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    slug         VARCHAR(100)    NULL,
    name         VARCHAR(200)    NOT NULL,
    description  TEXT            NOT NULL,
    category     VARCHAR(100)    NOT NULL,
    -- {graph, parameters, triggers} as JSON.
    document     LONGTEXT        NOT NULL,
    builtin      BOOLEAN         NOT NULL DEFAULT FALSE,
    shared       BOOLEAN         NOT NULL DEFAULT FALSE,
    owner_id     BIGINT UNSIGNED NULL,
    created_at   DATETIME(6)     NOT NULL,
    updated_at   DATETIME(6)     NOT NULL,
    PRIMARY KEY (template_id),
    UNIQUE KEY uq_workflow_template_slug (slug),
    KEY ix_workflow_template_owner (owner_id),
    CONSTRAINT fk_workflow_template_owner FOREIGN KEY (owner_id) REFERENCES app_user (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
