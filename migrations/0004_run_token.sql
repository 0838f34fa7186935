-- Runs started in `kubernetes` mode: their node Pods authenticate at the
-- ingest endpoint with a per-run token; only its SHA-256 is stored.
-- NULL for runs of the local executor.
ALTER TABLE run ADD COLUMN ingest_token_sha256 CHAR(64) NULL;
