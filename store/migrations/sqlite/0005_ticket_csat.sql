-- What a ticket's customer thought of the answer, tags for finding tickets again, and the
-- rules that pick a support level and an assignee for new tickets.

-- CSAT per ticket: asked for in the widget once the ticket is resolved; one rating per
-- ticket, stored against the agent who held the ticket when it was rated.
CREATE TABLE ticket_ratings (
    ticket_id INTEGER PRIMARY KEY NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    agent_id  INTEGER REFERENCES agents (id),
    score     INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment   TEXT,
    rated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX ticket_ratings_by_agent ON ticket_ratings (agent_id) WHERE agent_id IS NOT NULL;

-- Free-form labels (lower case, trimmed); a tag appears once per ticket.
CREATE TABLE ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
) STRICT, WITHOUT ROWID;
CREATE INDEX ticket_tags_by_tag ON ticket_tags (tag, ticket_id);

-- Which support level handles a category, and how a new ticket of it gets an agent:
-- `manual` (nobody until someone assigns it), `round_robin` (the enabled agent of the
-- level who got a ticket longest ago) or `least_loaded` (fewest open tickets). No row:
-- L1, manual.
CREATE TABLE assignment_rules (
    category      TEXT PRIMARY KEY NOT NULL REFERENCES ticket_categories (name) ON DELETE CASCADE,
    support_level TEXT NOT NULL CHECK (support_level IN ('L1', 'L2', 'L3')),
    strategy      TEXT NOT NULL CHECK (strategy IN ('manual', 'round_robin', 'least_loaded'))
) STRICT;
