-- Invite user status at scale (100,000 invitations in an agency): the status filter.
-- Invited, Created, Expired and Delivery failed depend on the expiry time and the delivery as
-- well as the stored status, so the count behind each filtered list read every matching row
-- of the table (tens of milliseconds). With expires_at and delivery in the index the count
-- reads the index alone, and the page itself still comes in created_at order from the same
-- index, as before. Replaces the index of the same name from 20261122000004.
-- Portable SQL (SQLite and PostgreSQL).

DROP INDEX invitations_agency_status;
CREATE INDEX invitations_agency_status
    ON invitations (inviter_agency, status, created_at, expires_at, delivery);
