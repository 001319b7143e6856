-- Invite user status at scale (100,000 invitations in an agency): search, sort and counts
-- from indexes instead of reading every invitation of the agency (app/src/server/search.rs,
-- status.rs). Portable SQL (SQLite and PostgreSQL).

-- The sort by name: "last first", lowercased; empty while the names are unknown.
ALTER TABLE invitations ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
-- Which version of the search terms code wrote this row's terms; 0: none yet (the server
-- indexes such rows at start-up, so invitations from before this migration are found too).
ALTER TABLE invitations ADD COLUMN terms_version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX invitations_terms_version ON invitations (terms_version);

-- Search terms: the words of each invitation's email address and names, as bytes (BYTEA;
-- SQLite keeps them as BLOBs), so that a prefix is a byte range under every collation.
CREATE TABLE invitation_terms (
    agency TEXT NOT NULL,
    term BYTEA NOT NULL,
    invitation_id TEXT NOT NULL
);
CREATE UNIQUE INDEX invitation_terms_lookup ON invitation_terms (agency, term, invitation_id);
CREATE INDEX invitation_terms_invitation ON invitation_terms (invitation_id);

-- Every sort ends with the id (pages never overlap), so the sort indexes end with it too.
CREATE INDEX invitations_agency_name ON invitations (inviter_agency, name_key, id);
DROP INDEX invitations_agency_email;
CREATE INDEX invitations_agency_email ON invitations (inviter_agency, email_key, id);
DROP INDEX invitations_agency_created;
CREATE INDEX invitations_agency_created ON invitations (inviter_agency, created_at, id);
-- The status filter and the sort by status read one status at a time in date order and stop
-- at the page's end; expires_at and delivery let the conditions on them be checked in the index.
DROP INDEX invitations_agency_status;
CREATE INDEX invitations_agency_status
    ON invitations (inviter_agency, status, created_at, id, expires_at, delivery);
-- When the next open invitation of an agency expires: how long a cached count of the
-- Invited, Created, Expired and Delivery failed filters stays right.
CREATE INDEX invitations_agency_open_expiry ON invitations (inviter_agency, status, expires_at);
