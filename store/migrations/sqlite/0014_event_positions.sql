-- One order over all conversations: each event's position in the log, the order in which
-- events were committed (the writer hands positions out in its transaction; it is the only
-- one appending). Readers of the committed stream (ticket conversion, webhooks, …) keep
-- their place in it in `stream_cursors`, so after a crash they go on where they stopped.
--
-- Existing events get their insertion order (the rowid, which only this writer advanced).
ALTER TABLE events ADD COLUMN pos INTEGER;
UPDATE events SET pos = rowid;
CREATE UNIQUE INDEX events_by_pos ON events (pos);

CREATE TABLE stream_cursors (
    reader     TEXT PRIMARY KEY NOT NULL,
    -- The position of the last event the reader has finished with.
    pos        INTEGER NOT NULL CHECK (pos >= 0),
    updated_at INTEGER NOT NULL
) STRICT;
