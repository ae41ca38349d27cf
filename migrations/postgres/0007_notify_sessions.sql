-- More announcements on `nod_changes` (see 0006_notify.sql): a session created on one instance
-- must verify on every other at once (the live-session view, src/auth/sessions.rs), and a
-- resource server added or removed by the CLI must be known to every instance.
-- Payloads: `session <sid> <user id> <expires_at>` and `resource_servers`.

CREATE FUNCTION nod_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nod_changes',
        'session ' || NEW.id || ' ' || NEW.user_id || ' ' || NEW.expires_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_notify_created AFTER INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION nod_notify_session();

-- One notification per statement: every instance reloads the (small) list.
CREATE FUNCTION nod_notify_resource_servers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nod_changes', 'resource_servers');
    RETURN NULL;
END
$$;
CREATE TRIGGER resource_servers_notify AFTER INSERT OR DELETE ON resource_servers
    FOR EACH STATEMENT EXECUTE FUNCTION nod_notify_resource_servers();

-- The session view is loaded from the live sessions at start and after a reconnection.
CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL;
