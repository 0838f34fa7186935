-- Flow control: a run (and a node) can wait for a person or a time.
-- DROP CONSTRAINT works on MariaDB 10.2+ and MySQL 8.0.19+.
ALTER TABLE run DROP CONSTRAINT ck_run_status;
ALTER TABLE run ADD CONSTRAINT ck_run_status
    CHECK (status IN ('pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'));
