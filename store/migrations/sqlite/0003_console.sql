-- For the agent console: support levels, canned responses, internal notes.

ALTER TABLE agents ADD COLUMN support_level TEXT NOT NULL DEFAULT 'L1'
    CHECK (support_level IN ('L1', 'L2', 'L3'));

-- Answers agents insert by typing `/shortcut`.
CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Notes agents leave on a conversation. Never part of the event stream, so a visitor can
-- never receive one.
CREATE TABLE conversation_notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_id        INTEGER NOT NULL REFERENCES agents (id),
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX conversation_notes_by_conversation ON conversation_notes (conversation_id, id);
