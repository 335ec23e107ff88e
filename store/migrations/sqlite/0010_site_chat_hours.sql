-- Whether live chat closes outside the site's business hours (the offline form instead).
-- Off by default: business hours then count for SLA due times only.
ALTER TABLE sites ADD COLUMN chat_within_hours INTEGER NOT NULL DEFAULT 0
    CHECK (chat_within_hours IN (0, 1));
