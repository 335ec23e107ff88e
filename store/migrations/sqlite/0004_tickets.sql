-- Tickets: a chat that could not be finished live follows a support workflow.
--
-- A conversation becomes at most one ticket (conversation_id UNIQUE; NULL for tickets that
-- never were a chat). SLA due times are computed by the relay in the site's business hours
-- and stored, so the list can sort by them; `sla_due_at` is the next target still open
-- (first response, then resolution), NULL once resolved or closed or while paused.

-- A site's business hours: IANA time zone and, per weekday (Monday first), the opening
-- window in minutes after local midnight, as JSON. No row: Mon–Fri 08:00–17:00 Europe/Berlin.
CREATE TABLE site_business_hours (
    site_id  TEXT PRIMARY KEY NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    timezone TEXT NOT NULL,
    week     TEXT NOT NULL
) STRICT;

-- The configurable category list; `position` is the display order.
CREATE TABLE ticket_categories (
    name     TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL
) STRICT;
INSERT INTO ticket_categories (name, position) VALUES
    ('technical_problem', 1),
    ('billing_question', 2),
    ('product_information', 3),
    ('complaint', 4),
    ('feature_request', 5);

CREATE TABLE tickets (
    id                    INTEGER PRIMARY KEY,
    conversation_id       INTEGER UNIQUE REFERENCES conversations (id),
    site_id               TEXT NOT NULL REFERENCES sites (id),
    customer_name         TEXT,
    customer_contact      TEXT,
    customer_number       TEXT,
    channel               TEXT NOT NULL CHECK (channel IN ('live_chat', 'offline_form')),
    subject               TEXT NOT NULL,
    description           TEXT NOT NULL,
    priority              TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    category              TEXT NOT NULL REFERENCES ticket_categories (name),
    status                TEXT NOT NULL
        CHECK (status IN ('new', 'open', 'pending_customer', 'resolved', 'closed')),
    assignee_id           INTEGER REFERENCES agents (id),
    support_level         TEXT NOT NULL CHECK (support_level IN ('L1', 'L2', 'L3')),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    first_response_at     INTEGER,
    resolved_at           INTEGER,
    first_response_due_at INTEGER NOT NULL,
    resolution_due_at     INTEGER NOT NULL,
    -- Set while pending on the customer; the business time since then is not counted.
    pending_since         INTEGER,
    -- Business milliseconds spent pending on the customer so far (already in the due times).
    paused_ms             INTEGER NOT NULL DEFAULT 0 CHECK (paused_ms >= 0),
    sla_due_at            INTEGER,
    -- Optimistic concurrency: every update checks and raises it.
    version               INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX tickets_by_due ON tickets (sla_due_at, id);
CREATE INDEX tickets_by_status ON tickets (status);
CREATE INDEX tickets_by_assignee ON tickets (assignee_id) WHERE assignee_id IS NOT NULL;

-- The history: every change, note and reply, oldest first by id.
CREATE TABLE ticket_events (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    -- Who did it (NULL for the system, e.g. an offline message becoming a ticket).
    agent_id  INTEGER REFERENCES agents (id),
    kind      TEXT NOT NULL,
    -- The store's `TicketEventKind` as JSON.
    payload   TEXT NOT NULL
) STRICT;
CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id);
