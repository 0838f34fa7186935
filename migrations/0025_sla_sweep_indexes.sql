-- The SLA sweep looks for open tasks past a deadline and not yet notified.
-- With the flag after the deadline (or not indexed at all) it walked every
-- open task past the deadline and read each row for its flag: 120 ms a
-- sweep with 100,000 tasks, each minute, growing with the backlog. With the
-- flag before the deadline it reads only the tasks it will notify.
ALTER TABLE task
    DROP KEY ix_task_sla_sweep,
    ADD KEY ix_task_sla_breach_sweep (completed_at, sla_breach_notified_at, sla_due_at),
    ADD KEY ix_task_sla_risk_sweep (completed_at, sla_risk_notified_at, sla_risk_at);
