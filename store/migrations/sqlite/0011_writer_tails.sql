-- The group-commit writer keeps each conversation's last sequence number and the client ids
-- it has stored in memory (it is the only writer of events; store/src/sqlite/writer/tails.rs),
-- so a plain message is one insert into `events`. Before, each message also rewrote its
-- conversation's row (`last_seq`) and a leaf of the dedup index: three random pages per
-- message instead of one.
--
-- Readers take `last_seq` from the events' primary key (`MAX(seq)`, one index seek).
DROP INDEX events_dedup;
ALTER TABLE conversations DROP COLUMN last_seq;
