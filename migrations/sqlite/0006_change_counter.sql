-- Another process (the CLI) writes this file too: a running server learns of what it committed
-- by watching one small counter (src/store/sqlite/mod.rs `change_version`, src/app.rs) instead
-- of re-reading tables every few seconds. Triggers bump it, so every writer is covered. Only
-- what a running server holds in memory counts: revoked sessions (the session view) and
-- resource servers. Sessions are created only by the server itself, so their creation does not.
CREATE TABLE change_counter (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO change_counter (id, version) VALUES (1, 0);

CREATE TRIGGER sessions_count_revoked AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
    UPDATE change_counter SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER resource_servers_count_added AFTER INSERT ON resource_servers
BEGIN
    UPDATE change_counter SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER resource_servers_count_removed AFTER DELETE ON resource_servers
BEGIN
    UPDATE change_counter SET version = version + 1 WHERE id = 1;
END;

-- The session view is loaded from the live sessions at start.
CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL;
