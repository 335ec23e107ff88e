-- Webhooks: subscriptions, the events they receive, and the delivery outbox/log.
--
-- An event is stored once (`webhook_events`, keyed by a natural key so emitting it twice is
-- harmless); each subscription that wants it gets one `webhook_deliveries` row, written
-- before anything is sent (the outbox). The worker sends due deliveries and records every
-- attempt in `webhook_attempts` (the log admins read), so a restart resumes pending ones.

CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    url         TEXT NOT NULL,
    -- Space-separated event types (`ticket.created ticket.resolved`).
    events      TEXT NOT NULL,
    -- The HMAC key. Kept in clear: the relay must sign with it (shown once to the admin).
    secret      TEXT NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES agents (id),
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER
) STRICT;

CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    -- e.g. `ticket.updated:42:7`; the same key twice is one event.
    dedup_key   TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    -- The `data` object of the body, JSON.
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id     INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    -- When the next attempt is due (pending only).
    next_at      INTEGER,
    created_at   INTEGER NOT NULL,
    UNIQUE (webhook_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    -- The receiver's status code, or NULL with `error` when no response came.
    status_code  INTEGER,
    error        TEXT
) STRICT;
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, attempt);
