-- SLA targets per priority, as admins set them. No row: the relay's default for that
-- priority (critical 1 h / 8 h, high 4 h / 24 h, medium 8 h / 72 h, low 24 h / 120 h of
-- business time).
CREATE TABLE sla_policies (
    priority               TEXT PRIMARY KEY NOT NULL
        CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    first_response_minutes INTEGER NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes     INTEGER NOT NULL CHECK (resolution_minutes >= first_response_minutes)
) STRICT;
