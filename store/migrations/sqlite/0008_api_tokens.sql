-- API tokens for integrations: scoped, revocable, created by an admin. Like session
-- tokens, only the SHA-256 of the secret is stored; the secret is shown once at creation.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    -- Space-separated scope names (`tickets:read tickets:write`); the relay validates them.
    scopes      TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The admin who created it: the token acts on their behalf (ticket history names them).
    created_by  INTEGER NOT NULL REFERENCES agents (id),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;
