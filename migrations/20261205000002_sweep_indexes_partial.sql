-- The reminder sweep reads only invitations whose email has gone (status invited or
-- created) and the directory refresh only those whose account was made (created): their
-- indexes hold just those rows. A batch's rows are stored as provisioning, so storing a
-- chunk no longer writes these two indexes for every row (they are written once the account
-- exists and the status changes).
DROP INDEX invitations_open_sent;
CREATE INDEX invitations_open_sent ON invitations (sent_at) WHERE status IN ('invited', 'created');
DROP INDEX invitations_status_checked;
CREATE INDEX invitations_created_checked ON invitations (checked_at) WHERE status = 'created';
