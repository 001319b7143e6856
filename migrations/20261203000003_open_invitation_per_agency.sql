-- An open invitation is one agency's business: another agency may invite the same person, and
-- nothing tells an officer that another agency has (no call learns other agencies' pending
-- invitations). At most one open invitation per address within an agency, whatever the race.
DROP INDEX invitations_one_open_per_email;
CREATE UNIQUE INDEX invitations_one_open_per_agency
    ON invitations (inviter_agency, email_key) WHERE status IN ('invited', 'created');
CREATE INDEX invitations_email_open ON invitations (email_key, status);
