-- Readers of the committed stream (ticket conversion, webhooks, …) keep their place in the
-- log here, so after a crash they go on where they stopped.
--
-- An event's position in the log (one order over all conversations, the order of commits)
-- is its rowid: the group-commit writer is the only one inserting events and none is ever
-- deleted, so rowids are 1, 2, 3, … in commit order, cost nothing extra per message, and a
-- VACUUM (which renumbers rowids densely in their order) leaves them as they are.
CREATE TABLE stream_cursors (
    reader     TEXT PRIMARY KEY NOT NULL,
    -- The position of the last event the reader has finished with.
    pos        INTEGER NOT NULL CHECK (pos >= 0),
    updated_at INTEGER NOT NULL
) STRICT;
