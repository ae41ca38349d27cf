-- Sender-constrained tokens (DPoP, RFC 9449; docs/dpop.md).

-- The RFC 7638 thumbprint (base64url SHA-256) of the key whose DPoP proof came with the login:
-- the approval's auth_req_id is then redeemable only with a proof from that key. NULL: unbound.
ALTER TABLE approvals ADD COLUMN dpop_jkt TEXT;

-- The thumbprint of the key the session's tokens are bound to: its access tokens carry
-- cnf.jkt, and its refresh tokens are accepted only with a proof from that key. Set when the
-- session is created (or on its first refresh with a proof); never changed once set.
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;

-- Proof jti replay state is not kept here: it lives in a bounded in-memory cache per
-- instance (src/auth/dpop.rs), since a proof is only good for its short iat window.
