-- A TechPass username is held by one open invitation at most, whoever made it: the database
-- says so, not only the checks before a write. Create account and batch upload looked the
-- username up first, but two officers (two agencies) writing at the same moment could each
-- find it free and both store it, and a batch chunk stored before its locks had to count
-- every username it wrote again at its commit. A write that would hold a username twice is
-- now refused by this index, and the service tells the officer the username is taken.
-- (Fails if open invitations already share a username: close or revoke one of them first.)
DROP INDEX invitations_open_username;
CREATE UNIQUE INDEX invitations_one_open_per_username
    ON invitations (username) WHERE status IN ('invited', 'created', 'provisioning');
