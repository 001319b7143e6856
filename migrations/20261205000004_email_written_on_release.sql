-- The activation email of an account made for someone (Create account, batch) is written
-- when the directory has made the account, not beside the invitation: storing a batch chunk
-- no longer writes 500 emails that wait. The invitation keeps the id the email will have
-- (its link's token is made from it: app/src/server/links.rs).
ALTER TABLE invitations ADD COLUMN mail_id TEXT;
-- Emails held by older code: their ids go to their invitations, and the rows go (the
-- release writes them again, the same). A held email is its invitation's only one.
UPDATE invitations SET mail_id =
    (SELECT o.id FROM outbox o WHERE o.invitation_id = invitations.id AND o.status = 'held')
    WHERE status = 'provisioning'
    AND id IN (SELECT invitation_id FROM outbox WHERE status = 'held');
-- A failed account's email was cancelled, and held again by Retry.
UPDATE invitations SET mail_id =
    (SELECT o.id FROM outbox o WHERE o.invitation_id = invitations.id AND o.status = 'cancelled')
    WHERE status = 'provisioning_failed'
    AND id IN (SELECT invitation_id FROM outbox WHERE status = 'cancelled');
DELETE FROM outbox WHERE status = 'held';
DELETE FROM outbox WHERE status = 'cancelled' AND invitation_id IN
    (SELECT id FROM invitations WHERE status = 'provisioning_failed');
