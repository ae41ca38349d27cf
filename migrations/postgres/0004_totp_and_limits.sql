-- The TOTP fallback and attempt limits.

-- The second factor that approved a login: 'push' (the phone answered) or 'otp' (a code from
-- the authenticator app at /v1/login/totp). Becomes the token's amr ["pwd", factor].
ALTER TABLE approvals ADD COLUMN factor TEXT NOT NULL DEFAULT 'push';

-- Failure counters of the attempt limits (src/flows/limits.rs), by key such as
-- 'totp:<user id>'. Kept in the store so they hold across logins, restarts and instances.
CREATE TABLE limit_counters (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    -- start of the current counting window (Unix ms)
    window_start  BIGINT NOT NULL,
    -- no attempt is accepted before this time (Unix ms)
    blocked_until BIGINT
);
