-- API keys (README "Authentication") and the UI's sign-in sessions. Only hashes are stored: a key is
-- isk_<lookup>_<secret>; lookup finds the row, sha256(secret) is compared in constant time. A session
-- cookie is a random token; its sha256 is the row's key. Revoking a key ends its sessions.

CREATE TABLE api_keys (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    lookup        text NOT NULL UNIQUE,        -- the public part of the key, to find its row
    secret_hash   bytea NOT NULL,              -- sha256 of the secret part
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,                 -- refreshed at most once a minute
    revoked_at    timestamptz
);

CREATE TABLE ui_sessions (
    token_hash  bytea PRIMARY KEY,             -- sha256 of the cookie's token
    key_id      bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX ui_sessions_key ON ui_sessions (key_id);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);
