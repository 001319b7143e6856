-- Invite user status: the SEED licence state SEED reports, and the state of the last email
-- sent for each invitation (kept here by the relay, so the status list needs no join to the
-- outbox). Portable SQL (SQLite and PostgreSQL).

ALTER TABLE invitations ADD COLUMN seed_status TEXT NOT NULL DEFAULT 'not_requested';
ALTER TABLE invitations ADD COLUMN delivery TEXT NOT NULL DEFAULT 'queued';
UPDATE invitations SET seed_status = 'pending' WHERE seed_required = 1;
UPDATE invitations SET delivery = 'sent'
    WHERE id IN (SELECT invitation_id FROM outbox WHERE status = 'sent');
UPDATE invitations SET delivery = 'failed'
    WHERE id IN (SELECT invitation_id FROM outbox WHERE status = 'failed');

-- The status list: sorted by email within an agency, filtered by status, and the change
-- marker (the latest updated_at of an agency) read from an index.
CREATE INDEX invitations_agency_email ON invitations (inviter_agency, email_key);
CREATE INDEX invitations_agency_status ON invitations (inviter_agency, status, created_at);
CREATE INDEX invitations_agency_updated ON invitations (inviter_agency, updated_at);
CREATE INDEX outbox_invitation ON outbox (invitation_id);
