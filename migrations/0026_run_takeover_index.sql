-- Every few seconds each replica looks for unfinished local runs no live
-- replica drives (`replicas::db::claim_orphans`). Through the status index
-- it read the row of every unfinished run to see whether it was a cluster
-- run (an ingest token) or claimed: 20 ms a round on an idle host with
-- 5,000 unfinished cluster runs, more under load. Leading with whether a
-- run has a token (one character of it is enough to tell NULL apart), the
-- round reads only the local unfinished runs: 0.1 ms.
ALTER TABLE run
    ADD KEY ix_run_local_status (ingest_token_sha256(1), status, run_id);
