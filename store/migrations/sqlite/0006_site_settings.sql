-- Site management in the console (issue 4): how the widget looks and behaves per site, and
-- the two ticket settings the relay reads (issue 5, path 4). Defaults keep old sites as
-- they were: accent from the widget's stylesheet, launcher at the right, the offline form.
ALTER TABLE sites ADD COLUMN accent TEXT;
ALTER TABLE sites ADD COLUMN widget_position TEXT NOT NULL DEFAULT 'right'
    CHECK (widget_position IN ('left', 'right'));
ALTER TABLE sites ADD COLUMN greeting TEXT;
ALTER TABLE sites ADD COLUMN offline_behaviour TEXT NOT NULL DEFAULT 'form'
    CHECK (offline_behaviour IN ('form', 'hide'));
-- After how many seconds of waiting a queued visitor is offered "leave a message instead".
ALTER TABLE sites ADD COLUMN queue_offer_message_after_secs INTEGER NOT NULL DEFAULT 120
    CHECK (queue_offer_message_after_secs >= 0);
-- 1: an unresolved ended chat, or a visitor leaving while queued, becomes a ticket.
ALTER TABLE sites ADD COLUMN unresolved_to_ticket INTEGER NOT NULL DEFAULT 0
    CHECK (unresolved_to_ticket IN (0, 1));

-- The visitor's browser (User-Agent of the WebSocket upgrade) shown to the agent.
ALTER TABLE conversations ADD COLUMN visitor_browser TEXT;
