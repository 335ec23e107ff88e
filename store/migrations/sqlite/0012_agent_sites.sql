-- Which sites an agent works for. An agent with no rows works for every site (a single-site
-- installation needs nothing); with rows, only for those: their chats, queue and tickets.
-- Admins work for every site whatever is stored here.
CREATE TABLE agent_sites (
    agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    site_id  TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, site_id)
) STRICT;
