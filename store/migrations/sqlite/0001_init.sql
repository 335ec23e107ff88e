-- Switchboard schema, version 1.
--
-- Times are milliseconds since the Unix epoch. Enumerations are snake_case text with CHECK
-- constraints, so the database stays readable with the sqlite3 shell. Tables are STRICT so a
-- wrongly typed bind fails loudly instead of being stored as whatever SQLite coerces it to.
-- Later tables (tickets) reference conversations(id) and agents(id); nothing here is
-- denormalised into JSON except the event payload, which is the wire `EventKind` verbatim.

CREATE TABLE sites (
    id   TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
) STRICT;

-- One row per allowed origin; `position` keeps the order the admin entered them in.
CREATE TABLE site_origins (
    site_id  TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    origin   TEXT NOT NULL,
    PRIMARY KEY (site_id, origin)
) STRICT;

CREATE TABLE agents (
    id                   INTEGER PRIMARY KEY,
    -- NOCASE: `Anna@Example.com` and `anna@example.com` are one account.
    email                TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    max_concurrent_chats INTEGER NOT NULL CHECK (max_concurrent_chats >= 0),
    disabled             INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at           INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 of a session token is stored.
CREATE TABLE agent_sessions (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE INDEX agent_sessions_by_agent ON agent_sessions (agent_id);

CREATE TABLE visitors (
    id           INTEGER PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites (id),
    token_hash   BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;

CREATE TABLE conversations (
    id                      INTEGER PRIMARY KEY,
    site_id                 TEXT NOT NULL REFERENCES sites (id),
    visitor_id              INTEGER NOT NULL REFERENCES visitors (id),
    status                  TEXT NOT NULL
        CHECK (status IN ('queued', 'active', 'ended', 'awaiting_ticket')),
    agent_id                INTEGER REFERENCES agents (id),
    visitor_name            TEXT,
    visitor_email           TEXT,
    visitor_customer_number TEXT,
    visitor_page_url        TEXT,
    visitor_locale          TEXT,
    -- Highest sequence number handed out; only the group-commit writer raises it.
    last_seq                INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    queue_rank              INTEGER,
    created_at              INTEGER NOT NULL,
    queued_at               INTEGER,
    assigned_at             INTEGER,
    ended_at                INTEGER,
    visitor_delivered       INTEGER NOT NULL DEFAULT 0,
    visitor_read            INTEGER NOT NULL DEFAULT 0,
    agent_delivered         INTEGER NOT NULL DEFAULT 0,
    agent_read              INTEGER NOT NULL DEFAULT 0
) STRICT;

-- open_conversations: only the (few) open rows are indexed, not the ever-growing history.
CREATE INDEX conversations_open ON conversations (status)
    WHERE status IN ('queued', 'active');
-- latest_conversation_for_visitor.
CREATE INDEX conversations_by_visitor ON conversations (visitor_id, created_at);
-- recent_handle_times.
CREATE INDEX conversations_handled ON conversations (ended_at)
    WHERE ended_at IS NOT NULL AND assigned_at IS NOT NULL;
CREATE INDEX conversations_by_agent ON conversations (agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE events (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL CHECK (seq >= 1),
    at              INTEGER NOT NULL,
    -- The `kind` tag of the payload, for queries that should not parse JSON.
    kind            TEXT NOT NULL,
    -- Who caused the event (NULL for system events such as `started`).
    side            TEXT CHECK (side IN ('visitor', 'agent')),
    -- The sender's message id; with (conversation_id, side) the dedup key.
    client_id       TEXT,
    -- The `EventKind` as JSON, exactly as it goes on the wire.
    payload         TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) STRICT;

CREATE UNIQUE INDEX events_dedup ON events (conversation_id, side, client_id)
    WHERE client_id IS NOT NULL;
