-- TechPass accounts are provisioned in the directory (built-in or SCIM) through a queue
-- written in the invitation's transaction, as email goes through the outbox.
--
-- An invitation made with its account (Create account, batch) starts as 'provisioning' and
-- becomes 'created' once the directory has the account; 'provisioning_failed' (not open)
-- when the directory refused it, with the directory's reason in provision_error.
DROP INDEX invitations_one_open_per_agency;
CREATE UNIQUE INDEX invitations_one_open_per_agency
    ON invitations (inviter_agency, email_key) WHERE status IN ('invited', 'created', 'provisioning');

-- The names an invitation knows (given with the account, or at sign-up): the status list
-- reads them from here, not from a directory it cannot join.
ALTER TABLE invitations ADD COLUMN first_name TEXT;
ALTER TABLE invitations ADD COLUMN last_name TEXT;
ALTER TABLE invitations ADD COLUMN provision_error TEXT;
-- When the status refresher last asked the directory about this invitation's account.
ALTER TABLE invitations ADD COLUMN checked_at BIGINT NOT NULL DEFAULT 0;
UPDATE invitations SET
    first_name = (SELECT a.first_name FROM accounts a WHERE a.id = invitations.account_id),
    last_name = (SELECT a.last_name FROM accounts a WHERE a.id = invitations.account_id)
    WHERE account_id IS NOT NULL;
CREATE INDEX invitations_status_checked ON invitations (status, checked_at);

-- The built-in directory keeps the externalId (the invitation's id) as SCIM does, so a
-- create retried after a lost answer finds the account instead of making a second one.
ALTER TABLE accounts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX accounts_external_id ON accounts (external_id);

-- One directory operation to do: 'create' (payload: the user, JSON) or 'deactivate'
-- (payload: the directory's id of the account). Claimed with a lease like the outbox.
CREATE TABLE provisioning (
    id TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL,
    op TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX provisioning_due ON provisioning (status, next_attempt_at);
CREATE INDEX provisioning_invitation ON provisioning (invitation_id);
