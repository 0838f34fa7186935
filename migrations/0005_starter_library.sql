-- Template versions written by the starter library installer. A template whose
-- newest version is listed here is still the shipped content (editing creates
-- a new, unlisted version), so a newer shipped version may replace it.
CREATE TABLE starter_template (
    name          VARCHAR(100)    NOT NULL,
    version       INT UNSIGNED    NOT NULL,
    spec_sha256   CHAR(64)        NOT NULL,
    installed_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (name, version),
    CONSTRAINT fk_starter_template_version FOREIGN KEY (name, version)
        REFERENCES node_template (name, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
