-- What a person needs to recognise their own sessions ("Firefox on the
-- laptop, seen 5 minutes ago") before revoking one. `last_seen_at` is
-- refreshed at most once a minute per session, not on every request.
ALTER TABLE user_session
    ADD COLUMN user_agent   VARCHAR(255) NULL AFTER client_ip,
    ADD COLUMN last_seen_at DATETIME(6)  NULL AFTER user_agent,
    ADD KEY ix_session_user_active (user_id, revoked_at, expires_at);
