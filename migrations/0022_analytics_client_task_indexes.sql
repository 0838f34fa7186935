-- Analytics: a manager's dashboard reads the tasks of their clients as one
-- part (the others: tasks of other clients they reported or are assigned
-- to, as in the lists since migration 0018). Through the range indexes of
-- migration 0017 that part walked every client's tasks of the range and
-- kept a tenth of them. These hold the same columns behind the client, so
-- the part reads only its clients' entries, without a row lookup: by
-- creation (created vs completed, the cumulative flow's start, SLA
-- breaches) and by completion (open tasks: `completed_at IS NULL`;
-- completions, cycle times, workload).
ALTER TABLE task
    ADD KEY ix_task_client_created_stats (client_id, created_at, completed_at, priority, sla_due_at),
    ADD KEY ix_task_client_completed_stats (client_id, completed_at, created_at, status_id, priority,
        sla_risk_at, sla_due_at);
