-- Which pre-chat fields the widget asks for (the wire `PrechatFields`, as JSON).
ALTER TABLE sites ADD COLUMN prechat TEXT NOT NULL DEFAULT '{}';
