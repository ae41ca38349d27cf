-- Each session's use, kept on write: the audit writer adds every batch's `token_used` events
-- to their session's row in the batch's own transaction (src/store/session_uses.rs), so the
-- session list (/phone, /activity, GET /v1/device/sessions) reads these two columns instead of
-- counting a history that grows with traffic. 0008 fills them for events written before.
ALTER TABLE sessions ADD COLUMN use_count INTEGER NOT NULL DEFAULT 0;
-- Unix ms of the session's newest `token_used`; NULL while it has none.
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
