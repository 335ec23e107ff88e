-- A canned response may belong to one site (only that site's agents are offered it); NULL:
-- every site, as before.
ALTER TABLE canned_responses ADD COLUMN site_id TEXT REFERENCES sites (id) ON DELETE CASCADE;
