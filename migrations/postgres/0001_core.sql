-- The core of nod: people, their phones, login approvals waiting for a phone, and the sessions
-- an approval opens. Times are Unix milliseconds (BIGINT), booleans 0/1 BIGINTs, ids random hex
-- TEXT: the same shapes the SQLite schema uses, so both stores decode into the same records
-- (src/store/records.rs reads `disabled` as an i64, hence no BOOLEAN).

-- A person who signs in. `username` is normalised (trimmed, lowercase) before it gets here.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    -- argon2id PHC string
    password_hash TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    BIGINT NOT NULL
);

-- A paired phone. Its secret is shown once and kept only as a SHA-256 digest.
CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id),
    name           TEXT NOT NULL,
    secret_hash    TEXT NOT NULL UNIQUE,
    -- JSON array of {"provider","address"?}, tried in order
    channels       TEXT NOT NULL,
    -- AES-256-GCM sealed TOTP secret (base64 of nonce || ciphertext || tag)
    totp_secret    TEXT NOT NULL,
    -- last accepted TOTP time step, to refuse replays
    totp_last_step BIGINT,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX devices_by_user ON devices (user_id);

-- A login waiting for (or decided by) a phone. `expires_at` is authoritative: a row still
-- marked 'pending' after it is expired for every reader.
CREATE TABLE approvals (
    id             TEXT PRIMARY KEY,
    -- SHA-256 of the auth_req_id the client holds
    req_hash       TEXT NOT NULL UNIQUE,
    user_id        TEXT NOT NULL REFERENCES users (id),
    binding_code   TEXT NOT NULL,
    state          TEXT NOT NULL
                   CHECK (state IN ('pending', 'approved', 'denied', 'fraud', 'redeemed')),
    client_name    TEXT NOT NULL,
    ip             TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    decided_by     TEXT REFERENCES devices (id),
    -- when a token request without `wait` last asked (for `slow_down`)
    last_polled_at BIGINT
);
CREATE INDEX approvals_pending_by_user ON approvals (user_id, state, expires_at);

-- The one-time links in notifications: one per approval and device, kept as digests.
CREATE TABLE approval_links (
    link_hash   TEXT PRIMARY KEY,
    approval_id TEXT NOT NULL REFERENCES approvals (id),
    device_id   TEXT NOT NULL REFERENCES devices (id),
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

-- What an approval opens. One approval opens at most one session (UNIQUE approval_id).
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    approval_id TEXT NOT NULL UNIQUE REFERENCES approvals (id),
    device_id   TEXT REFERENCES devices (id),
    client_name TEXT NOT NULL,
    ip          TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    -- JSON array, e.g. ["pwd","push"]
    amr         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Refresh tokens, by digest. A rotated token stays here (rotated_at set) to detect reuse.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    created_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
