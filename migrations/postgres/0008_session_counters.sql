-- Each session's use, kept on write: every audit batch adds its `token_used` events to their
-- session's row in the batch's own statement (src/store/postgres/audit.rs), so the session list
-- (/phone, /activity, GET /v1/device/sessions) reads these two columns instead of counting a
-- history that grows with traffic. 0009 fills them for events written before.
-- A constant default: PostgreSQL adds the column without rewriting the table.
ALTER TABLE sessions ADD COLUMN use_count BIGINT NOT NULL DEFAULT 0;
-- Unix ms of the session's newest `token_used`; NULL while it has none.
ALTER TABLE sessions ADD COLUMN last_used_at BIGINT;
