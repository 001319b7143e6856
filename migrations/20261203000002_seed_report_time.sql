-- The signed time of the last SEED report applied to an invitation (Unix seconds): an older or
-- replayed report changes nothing.
ALTER TABLE invitations ADD COLUMN seed_reported_at BIGINT NOT NULL DEFAULT 0;
