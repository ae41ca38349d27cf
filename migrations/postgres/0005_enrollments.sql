-- Pairing codes: `nod enroll-link USER` hands one out (as a link); a phone redeems it once at
-- POST /v1/enroll (or /enroll/{code}) to become a device of that user. Kept as digests.
CREATE TABLE enrollments (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
