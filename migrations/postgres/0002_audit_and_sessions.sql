-- The audit feed, resource servers, and who revoked a session.

-- Every event of a user's feed: token uses, logins, decisions, revocations. Appended in
-- batches by the audit writer (one INSERT … SELECT FROM UNNEST per batch), read newest first
-- by (user_id, id) keyset pages. No foreign key on user_id: the insert path stays a plain
-- append. `id` comes from an identity sequence; several instances append, so each batch takes
-- a transaction-scoped advisory lock first (src/store/postgres/audit.rs): ids then become
-- visible in the order they were drawn, which the live feed relies on.
CREATE TABLE audit_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         TEXT NOT NULL,
    at              BIGINT NOT NULL,
    -- token_used, token_rejected, token_issued, token_refreshed, refresh_reuse,
    -- login_requested, notification_sent, notification_failed, approved, denied, fraud,
    -- session_revoked
    kind            TEXT NOT NULL,
    sid             TEXT,
    jti             TEXT,
    device_id       TEXT,
    ip              TEXT,
    user_agent      TEXT,
    method          TEXT,
    host            TEXT,
    path            TEXT,
    resource_server TEXT,
    -- JSON object with anything kind-specific
    detail          TEXT
);
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);
CREATE INDEX audit_events_by_session ON audit_events (sid, kind);
-- No index on `at`: every index costs each batch more page writes, and retention finds old
-- events by id order instead (ids grow with time).

-- Callers of /v1/introspect. The secret is shown once by `nod resource-server add`.
CREATE TABLE resource_servers (
    name        TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Why and by whom a session ended (a device id, 'user', 'refresh_reuse', 'admin').
ALTER TABLE sessions ADD COLUMN revoked_by TEXT;
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
