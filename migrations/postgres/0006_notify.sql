-- Several nod instances share this database; each learns what the others commit from
-- notifications on the channel `nod_changes` (src/store/postgres/changes.rs, src/cluster.rs).
-- Triggers send them, so every writer is covered — the API of any instance, the CLI, a script
-- — and a notification is delivered only when (and only if) its transaction commits, in
-- commit order. Payloads are short words and ids: `approval <id>`, `revoked <sid> <at>`,
-- `feed <user id>`.

-- An approval changed state (decided, redeemed): long-polls on it wake and re-read it.
CREATE FUNCTION nod_notify_approval() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nod_changes', 'approval ' || NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER approvals_notify AFTER UPDATE OF state ON approvals
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION nod_notify_approval();

-- A session was revoked: every instance refuses its access tokens from the next use on.
CREATE FUNCTION nod_notify_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nod_changes', 'revoked ' || NEW.id || ' ' || NEW.revoked_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_notify_revoked AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION nod_notify_revoked();

-- Audit events were appended: one notification per user per batch (a statement-level trigger
-- over the inserted rows), and feed streams of that user read the new events from the table.
CREATE FUNCTION nod_notify_feed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nod_changes', 'feed ' || user_id)
        FROM (SELECT DISTINCT user_id FROM appended) AS users;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_events_notify AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION nod_notify_feed();
