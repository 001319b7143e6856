-- A TechPass username held by an open invitation (batch upload and Create account refuse a
-- second one): found through this index instead of reading every open invitation, which
-- each submitted chunk of a batch did.
CREATE INDEX invitations_open_username
    ON invitations (username) WHERE status IN ('invited', 'created', 'provisioning');
